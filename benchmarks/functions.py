"""Synthetic test functions for black-box optimisation, with their published optima.

Each function is an instance of :class:`Benchmark`: call it on a numpy array shaped
``(..., d)`` to get values shaped ``(...)``, call :meth:`Benchmark.from_params` on a
``{"x1": ..., "xd": ...}`` dict (what ``bo.Optimizer.ask`` returns), and get the matching
search space from :meth:`Benchmark.space`. All functions are minimised.

Definitions, domains and optima follow the Virtual Library of Simulation Experiments
(Surjanovic & Bingham, sfu.ca/~ssurjano), which BoTorch's ``botorch.test_functions``
also follows:

============== ===================== ===== =================================================
function       domain                d     minimum
============== ===================== ===== =================================================
Branin         [-5, 10] x [0, 15]    2     0.397887 at (-pi, 12.275), (pi, 2.275), (3pi, 2.475)
Hartmann6      [0, 1]^6              6     -3.32237 at (0.20169, 0.150011, 0.476874, ...)
Ackley         [-32.768, 32.768]^d   6*    0 at the origin
Levy           [-10, 10]^d           6*    0 at (1, ..., 1)
Rosenbrock     [-5, 10]^d            6*    0 at (1, ..., 1)
Styblinski-Tang [-5, 5]^d            6*    -39.16617 d at x_i = -2.903534
============== ===================== ===== =================================================

(*) The dimension of the last four is a constructor argument. The default, d = 6, is our
choice: it matches Hartmann6, so the default suite holds one 2-d and five 6-d problems,
which a 50-evaluation budget with 10 initial points can still make progress on (BoTorch's
own default is d = 2, which most GP optimisers solve almost at once).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "Benchmark",
    "Branin",
    "Hartmann6",
    "Ackley",
    "Levy",
    "Rosenbrock",
    "StyblinskiTang",
    "suite",
]


class Benchmark:
    """A test function on a box, with its known global minimum.

    Subclasses set ``name``, ``bounds``, ``optimum`` and ``argmins`` and implement
    :meth:`_evaluate`.

    Attributes:
        name: short identifier, e.g. ``"branin"``.
        dim: number of inputs ``d``.
        bounds: array shaped ``(d, 2)`` of lower and upper bounds.
        optimum: the global minimum value.
        argmins: array shaped ``(k, d)`` of the known global minimisers.
    """

    name: str = "benchmark"

    def __init__(self, bounds: Sequence[Sequence[float]], optimum: float,
                 argmins: Sequence[Sequence[float]]):
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.dim = int(self.bounds.shape[0])
        self.optimum = float(optimum)
        self.argmins = np.atleast_2d(np.asarray(argmins, dtype=np.float64))

    @property
    def names(self) -> list[str]:
        """Parameter names ``x1`` ... ``xd``."""
        return [f"x{i + 1}" for i in range(self.dim)]

    def __call__(self, x) -> np.ndarray:
        """Evaluate on points.

        Args:
            x: array-like shaped ``(..., d)``.

        Returns:
            Array shaped ``(...)`` of function values (a 0-d array for one point).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"{self.name}: expected points shaped (..., {self.dim}), got {x.shape}")
        return self._evaluate(x)

    def _evaluate(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def from_params(self, params: Mapping[str, float]) -> float:
        """Evaluate one point given as a dict ``{"x1": ..., "xd": ...}``."""
        missing = [k for k in self.names if k not in params]
        if missing:
            raise KeyError(f"{self.name}: point lacks parameters {missing}")
        return float(self(np.array([float(params[k]) for k in self.names])))

    def to_array(self, params: Mapping[str, float]) -> np.ndarray:
        """The point ``params`` as an array shaped ``(d,)``."""
        return np.array([float(params[k]) for k in self.names])

    def space(self):
        """The search space as a ``bo.Space`` of ``bo.Real`` dimensions ``x1`` ... ``xd``."""
        import bo  # imported here so the functions work without the optimiser

        return bo.Space([bo.Real(n, float(lo), float(hi))
                         for n, (lo, hi) in zip(self.names, self.bounds)])

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points drawn uniformly from the box, shaped ``(n, d)``."""
        rng = np.random.default_rng(seed)
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return lo + (hi - lo) * rng.random((n, self.dim))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Branin(Benchmark):
    """Branin-Hoo, 2-d, three global minima of 5/(4 pi) = 0.397887."""

    name = "branin"

    def __init__(self):
        super().__init__(
            bounds=[(-5.0, 10.0), (0.0, 15.0)],
            optimum=5.0 / (4.0 * math.pi),
            argmins=[(-math.pi, 12.275), (math.pi, 2.275), (3.0 * math.pi, 2.475)],
        )

    def _evaluate(self, x):
        x1, x2 = x[..., 0], x[..., 1]
        b = 5.1 / (4.0 * math.pi**2)
        c = 5.0 / math.pi
        t = 1.0 / (8.0 * math.pi)
        return (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * np.cos(x1) + 10.0


class Hartmann6(Benchmark):
    """Hartmann 6-d on the unit cube, global minimum -3.32237."""

    name = "hartmann6"
    _alpha = np.array([1.0, 1.2, 3.0, 3.2])
    _A = np.array([
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ])
    _P = 1e-4 * np.array([
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ])

    def __init__(self):
        # The published minimiser has six digits; the value at the exact minimiser, found by
        # refining it with L-BFGS-B, is -3.322368011415514 (published: -3.32237).
        super().__init__(
            bounds=[(0.0, 1.0)] * 6,
            optimum=-3.322368011415514,
            argmins=[(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)],
        )

    def _evaluate(self, x):
        sq = (x[..., None, :] - self._P) ** 2              # (..., 4, 6)
        inner = np.sum(self._A * sq, axis=-1)               # (..., 4)
        return -np.sum(self._alpha * np.exp(-inner), axis=-1)


class Ackley(Benchmark):
    """Ackley (a=20, b=0.2, c=2 pi) on [-32.768, 32.768]^d, minimum 0 at the origin."""

    name = "ackley"

    def __init__(self, dim: int = 6):
        _check_dim(dim, 1)
        super().__init__(bounds=[(-32.768, 32.768)] * dim, optimum=0.0, argmins=[(0.0,) * dim])

    def _evaluate(self, x):
        a, b, c = 20.0, 0.2, 2.0 * math.pi
        r = np.sqrt(np.mean(x**2, axis=-1))
        s = np.mean(np.cos(c * x), axis=-1)
        value = -a * np.exp(-b * r) - np.exp(s) + a + math.e
        return np.maximum(value, 0.0)  # rounding must never go below the minimum


class Levy(Benchmark):
    """Levy on [-10, 10]^d, minimum 0 at (1, ..., 1)."""

    name = "levy"

    def __init__(self, dim: int = 6):
        _check_dim(dim, 1)
        super().__init__(bounds=[(-10.0, 10.0)] * dim, optimum=0.0, argmins=[(1.0,) * dim])

    def _evaluate(self, x):
        w = 1.0 + (x - 1.0) / 4.0
        head = np.sin(math.pi * w[..., 0]) ** 2
        wi = w[..., :-1]
        middle = np.sum((wi - 1.0) ** 2 * (1.0 + 10.0 * np.sin(math.pi * wi + 1.0) ** 2), axis=-1)
        wd = w[..., -1]
        tail = (wd - 1.0) ** 2 * (1.0 + np.sin(2.0 * math.pi * wd) ** 2)
        return head + middle + tail


class Rosenbrock(Benchmark):
    """Rosenbrock on [-5, 10]^d, minimum 0 at (1, ..., 1)."""

    name = "rosenbrock"

    def __init__(self, dim: int = 6):
        _check_dim(dim, 2)
        super().__init__(bounds=[(-5.0, 10.0)] * dim, optimum=0.0, argmins=[(1.0,) * dim])

    def _evaluate(self, x):
        xi, xn = x[..., :-1], x[..., 1:]
        return np.sum(100.0 * (xn - xi**2) ** 2 + (xi - 1.0) ** 2, axis=-1)


class StyblinskiTang(Benchmark):
    """Styblinski-Tang on [-5, 5]^d, minimum -39.16617 d at x_i = -2.903534."""

    name = "styblinski_tang"
    # The minimiser solves 4 x^3 - 32 x + 5 = 0; these are its value to double precision.
    _x_star = -2.903534027771177
    _f_star = -39.16616570377142

    def __init__(self, dim: int = 6):
        _check_dim(dim, 1)
        super().__init__(bounds=[(-5.0, 5.0)] * dim, optimum=self._f_star * dim,
                         argmins=[(self._x_star,) * dim])

    def _evaluate(self, x):
        return 0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x, axis=-1)


def _check_dim(dim: int, minimum: int) -> None:
    if int(dim) != dim or dim < minimum:
        raise ValueError(f"dim must be an integer >= {minimum}, got {dim!r}")


def suite(dim: int = 6) -> list[Benchmark]:
    """The six benchmarks, the dimension-free ones at ``dim``."""
    return [Branin(), Hartmann6(), Ackley(dim), Levy(dim), Rosenbrock(dim), StyblinskiTang(dim)]
