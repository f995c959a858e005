"""The object-oriented front: `Optimizer` (ask / tell with dicts) and `minimize`.

`Optimizer` keeps the history a user needs (every trial, failed ones included, pending
proposals, timings) around a functional strategy from `bo.strategies`.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
from typing import Callable, Sequence

import jax
import numpy as np

from bo import pareto
from bo.constraints import Constraints
from bo.space import Space, SpaceError
from bo.strategies import make_strategy


@dataclasses.dataclass(frozen=True)
class Result:
    """Outcome of `minimize`.

    Attributes:
        x: the best point (a dict), over finite values only; with several objectives, the list
            of Pareto-optimal points (sorted by the first objective).
        fun: its value; with several objectives, their values, shape (k, M).
        xs: every evaluated point, in order.
        ys: (n,) their values, or (n, M) with M objectives; NaN or inf for failed evaluations.
        ask_seconds: (iterations,) wall time of each `ask`.
        tell_seconds: (iterations,) wall time of each `tell`.
        method: the method used.
    """

    x: dict
    fun: float
    xs: list
    ys: np.ndarray
    ask_seconds: np.ndarray
    tell_seconds: np.ndarray
    method: str

    @property
    def n_failed(self) -> int:
        return int((~np.isfinite(self.ys.reshape(len(self.ys), -1)).all(axis=1)).sum())

    def best_so_far(self) -> np.ndarray:
        """(n,) the best finite value after each evaluation (inf before the first)."""
        if self.ys.ndim > 1:
            raise SpaceError("best_so_far needs one objective; with several use pareto_front() or "
                             "bo.hypervolume on the values told so far")
        return np.minimum.accumulate(np.where(np.isfinite(self.ys), self.ys, np.inf))

    def pareto_front(self) -> tuple[list, np.ndarray]:
        """The non-dominated points and their values (k, M), sorted by the first objective."""
        return _pareto_front(self.xs, self.ys)


class Optimizer:
    """Ask/tell optimiser over a `Space`; values are minimised.

    Args:
        space: a `bo.Space` (or a list of parameters).
        method: "gp" (default), "turbo", "cmaes", "random", "sobol" or "grid".
        seed: makes the run reproducible.
        constraints: known constraints, functions point -> float that are <= 0 where the point
            is feasible (see `bo.constraints`); every proposal satisfies them.
        budget: the evaluations planned, if known: "gp" then compiles its GP once for the run
            (see `bo.strategies.GPSearch`); `minimize` passes its own.
        objectives: M, the number of objectives, all minimised; with M >= 2 `tell` takes one row
            of M values per point and method "gp" proposes by EHVI (M = 2) or ParEGO (options
            multiobjective="ehvi" | "parego", reference, rho; see
            `bo.strategies.MultiObjectiveGPSearch`); "random", "sobol" and "grid" work too.
        **options: options of the method's strategy (for "gp": acquisition, kernel, n_initial,
            noise, ...; for "cmaes": sigma0, popsize, restarts; for "grid": levels); see
            `bo.strategies` and `bo.cmaes`.

    Example:
        >>> opt = Optimizer(Space([Real("x", -2, 2)]), seed=0)
        >>> [p] = opt.ask()
        >>> opt.tell([p], [p["x"] ** 2])
    """

    def __init__(self, space: Space | Sequence, method: str = "gp", seed: int = 0,
                 constraints: Sequence[Callable[[dict], float]] = (), objectives: int = 1,
                 budget: int | None = None, **options):
        self.space = space if isinstance(space, Space) else Space(space)
        self.method = method
        self.seed = int(seed)
        self.objectives = objectives
        self.strategy = make_strategy(method, self.space, self.seed, objectives=objectives, budget=budget,
                                      **options)
        self.constraints = Constraints(self.space, constraints)
        if self.constraints and "constraints" not in inspect.signature(self.strategy.ask).parameters:
            raise SpaceError(f"method {method!r} does not take known constraints yet; "
                             "use method='gp', 'random', 'sobol' or 'grid'")
        self._tell_takes_noise = "noise" in inspect.signature(self.strategy.tell).parameters
        self.state = self.strategy.init(self.seed)
        self._key = jax.random.key(self.seed)
        self._asks = 0
        self.xs: list[dict] = []
        self.ys: list[float] = []
        self._pending: list[np.ndarray] = []
        self.ask_seconds: list[float] = []
        self.tell_seconds: list[float] = []
        self._warming: threading.Thread | None = None

    def warm_up(self, n: int = 1, pending: int = 0, noise: bool = False) -> None:
        """Starts compiling the surrogate's programs for the first model-based ask of n points
        with `pending` points in flight, after tells with known noise variances or without
        (`GPSearch.warm_up`), in a background thread, so that they compile while the initial
        design is evaluated; that ask waits for the thread. Other shapes compile as usual.
        Proposals are unchanged. Does nothing for methods without a surrogate, or once the next
        ask reaches it anyway."""
        if (self._warming is None and hasattr(self.strategy, "warm_up")
                and not self.strategy.uses_model(self.state, int(n), len(self._pending))):
            self._warming = threading.Thread(target=self.strategy.warm_up,
                                             args=(int(n), int(pending), bool(noise)),
                                             name="bo-warm-up")
            self._warming.start()

    def ask(self, n: int = 1) -> list[dict]:
        """Propose n points (dicts); they stay pending until told."""
        if int(n) < 1:
            raise SpaceError(f"ask(n={n!r}): n must be at least 1")
        start = time.perf_counter()
        key = jax.random.fold_in(self._key, self._asks)
        self._asks += 1
        pending = np.reshape(self._pending, (-1, self.space.dim))
        if self._warming is not None and self.strategy.uses_model(self.state, int(n), len(pending)):
            self._warming.join()  # one compilation, not two racing ones
            self._warming = None
        if self.constraints:
            U, self.state = self.strategy.ask(key, self.state, int(n), pending, constraints=self.constraints)
        else:
            U, self.state = self.strategy.ask(key, self.state, int(n), pending)
        points = self.space.decode(U)
        self._pending.extend(self.space.encode(points))
        self.ask_seconds.append(time.perf_counter() - start)
        return points

    def tell(self, points: Sequence[dict], values: Sequence[float],
             noise: Sequence[float] | None = None) -> None:
        """Report values of points (asked or not). Non-finite values mark failed trials.

        Args:
            points: the points (dicts), n of them.
            values: (n,) their values; (n, M) with M objectives (a row with a non-finite entry
                marks a failed trial).
            noise: optional noise variances of the values, shaped like them, in the units of
                `values` squared (e.g. the squared standard error of a mean over seeds). The GP
                adds them to the noise it learns; methods without a surrogate ignore them.
                None: none known.
        """
        if isinstance(points, dict):
            raise SpaceError("tell(points, values) takes a list of points; wrap a single point in [ ]")
        m = self.objectives
        values = np.asarray(values, dtype=np.float64)
        values = values.reshape(-1) if m == 1 else values
        if m > 1 and values.shape != (len(points), m):
            raise SpaceError(f"tell got {len(points)} points and values shaped {values.shape}; with "
                             f"objectives={m} give one row of {m} values per point")
        if len(points) != len(values):
            raise SpaceError(f"tell got {len(points)} points and {len(values)} values")
        if noise is not None:
            noise = np.asarray(noise, dtype=np.float64)
            noise = noise.reshape(-1) if m == 1 else noise
            if noise.shape != values.shape:
                raise SpaceError(f"tell got {len(values)} values and {noise.size} noise variances; "
                                 "give one per value (shaped like the values) or noise=None")
            if not (np.isfinite(noise).all() and (noise >= 0).all()):
                raise SpaceError(f"tell: noise variances must be finite and >= 0, got {noise.tolist()}")
        start = time.perf_counter()
        points = [self.space.validate(p) for p in points]
        U = self.space.encode(points)
        if noise is not None and self._tell_takes_noise:
            self.state = self.strategy.tell(self.state, U, values, noise=noise)
        else:
            self.state = self.strategy.tell(self.state, U, values)
        for u in U:
            for i, p in enumerate(self._pending):
                if np.max(np.abs(p - u)) <= 1e-9:
                    del self._pending[i]
                    break
        self.xs.extend(points)
        self.ys.extend(values.tolist())
        self.tell_seconds.append(time.perf_counter() - start)

    @property
    def pending(self) -> list[dict]:
        """Points asked and not yet told."""
        return self.space.decode(np.reshape(self._pending, (-1, self.space.dim))) if self._pending else []

    def best(self) -> tuple[dict, float]:
        """The best point told so far and its value, ignoring failed (non-finite) trials."""
        if self.objectives > 1:
            raise SpaceError(f"with objectives={self.objectives} no single point is best; "
                             "use pareto_front() or result()")
        ys = np.asarray(self.ys, dtype=np.float64)
        finite = np.isfinite(ys)
        if not finite.any():
            raise SpaceError("no successful trial yet: every told value was NaN or infinite")
        i = int(np.argmin(np.where(finite, ys, np.inf)))
        return self.xs[i], float(ys[i])

    def pareto_front(self) -> tuple[list[dict], np.ndarray]:
        """The non-dominated points told so far and their values, shape (k, M), sorted by the
        first objective; failed trials are never on it. With one objective: the best point(s)."""
        return _pareto_front(self.xs, self._values())

    def _values(self) -> np.ndarray:
        ys = np.asarray(self.ys, dtype=np.float64)
        return ys.reshape(len(self.ys), self.objectives) if self.objectives > 1 else ys.reshape(-1)

    def result(self) -> Result:
        if self.objectives > 1:
            x, fun = self.pareto_front()
            if not x:
                raise SpaceError("no successful trial yet: every told value had a NaN or infinite entry")
        else:
            x, fun = self.best()
        return Result(x, fun, list(self.xs), self._values(), np.asarray(self.ask_seconds),
                      np.asarray(self.tell_seconds), self.method)


def _pareto_front(xs, ys) -> tuple[list, np.ndarray]:
    values = np.asarray(ys, dtype=np.float64).reshape(len(ys), -1)
    indices, front = pareto.pareto_front(values)
    return [xs[i] for i in indices], front


def minimize(fun: Callable[[dict], float], space: Space | Sequence, budget: int, method: str = "gp",
             seed: int = 0, batch_size: int = 1, constraints: Sequence[Callable[[dict], float]] = (),
             callback: Callable | None = None, objectives: int = 1, **options) -> Result:
    """Minimise `fun` over `space` with `budget` evaluations.

    Args:
        fun: maps a point (dict) to a float, or with `objectives` = M >= 2 to a sequence of M
            floats (all minimised); NaN or inf marks a failed evaluation.
        space: a `bo.Space` or a list of parameters.
        budget: number of evaluations.
        method: "gp", "turbo", "cmaes", "random", "sobol" or "grid".
        seed: reproducibility.
        batch_size: points proposed per `ask` (the last batch may be smaller).
        constraints: known constraints, functions point -> float, <= 0 where feasible.
        callback: called as callback(optimizer) after each batch is told.
        objectives: M, the number of objectives (see `Optimizer`).
        **options: strategy options (see `Optimizer`).

    Returns:
        A `Result`; with several objectives its x and fun are the Pareto front.
    """
    if int(budget) < 1:
        raise SpaceError(f"budget={budget!r} must be at least 1")
    if int(batch_size) < 1:
        raise SpaceError(f"batch_size={batch_size!r} must be at least 1")
    opt = Optimizer(space, method=method, seed=seed, constraints=constraints, objectives=objectives,
                    budget=budget, **options)
    while len(opt.ys) < budget:
        points = opt.ask(min(int(batch_size), int(budget) - len(opt.ys)))
        if opt.objectives == 1:
            values = [_as_float(fun(p), p) for p in points]
        else:
            values = [_as_vector(fun(p), p, opt.objectives) for p in points]
        opt.tell(points, values)
        if callback is not None:
            callback(opt)
    return opt.result()


def _as_vector(value, point, m: int) -> list[float]:
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        vector = None
    if vector is None or vector.shape != (m,):
        raise SpaceError(f"the objective returned {value!r} at {point!r}; with objectives={m} it must "
                         f"return {m} floats")
    return vector.tolist()


def _as_float(value, point) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpaceError(f"the objective returned {value!r} at {point!r}; it must return a float") from None
