"""Known constraints: functions of a decoded point that are <= 0 where the point is feasible.

    total_neurons = lambda p: p["w1"] + p["w2"] + p["w3"] - 3000
    bo.minimize(fun, space, budget, constraints=[total_neurons])

Known constraints are cheap and checked before a point is proposed, so every proposal is
feasible. (Constraints that are only learned by evaluating — a training that diverges — are
failed trials: tell NaN.)

The optimiser checks thousands of candidates per proposal. A constraint written with array
arithmetic can take them all in one call: mark it `vectorized` and it receives columns
(`Space.decode_columns`: ``{name: (n,) array}``) and returns (n,) values:

    @bo.constraints.vectorized
    def total_neurons(c):
        return c["w1"] + c["w2"] + c["w3"] - 3000
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from bo.space import Space, SpaceError


class vectorized:
    """A known constraint that takes columns (``{name: (n,) array}``) and returns (n,) values,
    <= 0 where feasible; called on a single point (a dict) it returns that point's float."""

    def __init__(self, function: Callable[[dict], np.ndarray]):
        if not callable(function):
            raise SpaceError(f"vectorized({function!r}): give a function columns -> (n,) values")
        functools.update_wrapper(self, function)
        self.function = function

    def __call__(self, point: dict) -> float:
        return float(self.columns({k: np.asarray([v]) for k, v in point.items()})[0])

    def columns(self, columns: dict) -> np.ndarray:
        """The (n,) constraint values of n points given as columns."""
        n = len(next(iter(columns.values()))) if columns else 0
        values = np.asarray(self.function(columns), dtype=float)
        if values.ndim > 1 or values.size not in (1, n):
            raise ValueError(f"it returned shape {values.shape} for {_points(n)}; return one value "
                             f"per point, shape ({n},)")
        return np.broadcast_to(values.reshape(-1), (n,))


def _points(n: int) -> str:
    return f"{n} point" + "s" * (n != 1)


class Constraints:
    """A list of known constraints over a space.

    Args:
        space: the space whose points the constraints take (as dicts).
        functions: callables point -> float, feasible when <= 0, or `vectorized` ones.
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
        U = np.asarray(U).reshape(-1, self.space.dim)
        out = np.empty((len(U), len(self.functions)))
        columns = points = None  # each decoded once, when a constraint needs it
        for j, f in enumerate(self.functions):
            p = None
            try:
                if isinstance(f, vectorized):
                    columns = self.space.decode_columns(U) if columns is None else columns
                    out[:, j] = f.columns(columns)
                    continue
                points = self.space.decode(U) if points is None else points
                for i, p in enumerate(points):
                    out[i, j] = float(f(p))
            except Exception as e:  # a constraint that cannot be evaluated is a user error
                where = repr(p) if p is not None else f"{_points(len(U))} given as columns"
                raise SpaceError(f"constraint {self.names[j]} failed at {where}: {e}") from e
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
