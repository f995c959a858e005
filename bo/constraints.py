"""Known constraints: functions of a decoded point that are <= 0 where the point is feasible.

    total_neurons = lambda p: p["w1"] + p["w2"] + p["w3"] - 3000
    bo.minimize(fun, space, budget, constraints=[total_neurons])

Known constraints are cheap and checked before a point is proposed, so every proposal is
feasible. (Constraints that are only learned by evaluating — a training that diverges — are
failed trials: tell NaN.)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from bo.space import Space, SpaceError


class Constraints:
    """A list of known constraints over a space.

    Args:
        space: the space whose points the constraints take (as dicts).
        functions: callables point -> float, feasible when <= 0.
    """

    def __init__(self, space: Space, functions: Sequence[Callable[[dict], float]]):
        if callable(functions):
            functions = [functions]
        for f in functions:
            if not callable(f):
                raise SpaceError(f"constraint {f!r} is not callable; give functions point -> float (<= 0 feasible)")
        self.space = space
        self.functions = tuple(functions)
        self.names = tuple(getattr(f, "__name__", f"constraint {i}") for i, f in enumerate(self.functions))
        self.names = tuple(f"#{i} ({n})" if n == "<lambda>" else n for i, n in enumerate(self.names))

    def __bool__(self):
        return bool(self.functions)

    def violations(self, U) -> np.ndarray:
        """(n, k) constraint values at unit-cube points (n, dim); > 0 means violated."""
        points = self.space.decode(np.asarray(U).reshape(-1, self.space.dim))
        out = np.empty((len(points), len(self.functions)))
        for i, p in enumerate(points):
            for j, f in enumerate(self.functions):
                try:
                    out[i, j] = float(f(p))
                except Exception as e:  # a constraint that cannot be evaluated is a user error
                    raise SpaceError(f"constraint {self.names[j]} failed at {p!r}: {e}") from e
        return np.where(np.isnan(out), np.inf, out)

    def feasible(self, U) -> np.ndarray:
        """(n,) True where every constraint is <= 0."""
        if not self.functions:
            return np.ones(len(np.asarray(U).reshape(-1, self.space.dim)), bool)
        return np.all(self.violations(U) <= 0, axis=1)

    def explain(self, U) -> str:
        """Which constraint blocks the points U and how close the best of them came."""
        v = self.violations(U)
        worst = np.max(v, axis=1)
        best = int(np.argmin(worst))
        j = int(np.argmax(v[best]))
        never = [self.names[k] for k in range(v.shape[1]) if not (v[:, k] <= 0).any()]
        return (f"no feasible point among {len(v)} tried: "
                + (f"{', '.join(never)} never held; " if never else "the constraints never held together; ")
                + f"the closest point {self.space.decode(U[best:best + 1])[0]!r} misses {self.names[j]} "
                f"by {v[best, j]:.4g}. Loosen the constraint or widen the space")
