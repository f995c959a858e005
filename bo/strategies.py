"""The functional core: search strategies as pure init / ask / tell on immutable states.

    strategy = GPSearch(space)            # static configuration
    state = strategy.init(seed)
    U, state = strategy.ask(key, state, n, pending)   # (n, dim) unit-cube proposals
    state = strategy.tell(state, U, values, noise)    # values are minimised; noise: optional
                                                      # per-value noise variances (None: none)

States are frozen dataclasses of numpy arrays, replaced (never mutated) by `ask` and `tell`.
The compiled pieces (hyperparameter objective, conditioning, acquisition maximisation) are jitted
once per (capacity bucket, dimension) and reused across strategies with equal spaces.

The sign flip between the user's minimisation and the maximised utilities happens in one place:
`GPSearch.tell` stores `-value` as the GP's target.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import log_ndtr
import scipy.special
from scipy.stats import qmc

from bo import acquisition as acq
from bo import gp as gplib
from bo import pareto
from bo.cmaes import CMAES
from bo.turbo import Turbo
from bo.space import Categorical, Space, SpaceError

ACQUISITIONS = ("logei", "ei", "pi", "ucb", "ts", "mes", "qlogei")
MULTIOBJECTIVE = ("ehvi", "parego")
FANTASIES = ("believer", "liar")
PREPAD_ROWS = 256  # GPSearch pads to its budget up to here; beyond, early asks cost more than compiles
_DUPLICATE_TOL = 1e-9


def _freeze(x):
    x = np.array(x, copy=True)
    x.setflags(write=False)
    return x


# ----------------------------------------------------------------------------------------------
# Space-filling and exhaustive strategies


@dataclasses.dataclass(frozen=True)
class CounterState:
    """State of a sequence-driven strategy: how many points it has proposed."""

    index: int = 0


@dataclasses.dataclass(frozen=True)
class RandomSearch:
    """Uniform random points in the unit cube, discrete coordinates rounded."""

    space: Space

    def init(self, seed: int = 0) -> CounterState:
        return CounterState()

    def ask(self, key, state: CounterState, n: int = 1, pending=None, constraints=None):
        if not constraints:
            u = np.asarray(self.space.round(jax.random.uniform(key, (n, self.space.dim))))
        else:
            u = np.asarray(_random_new_points(key, self.space, n, [], constraints, distinct=False))
        return u, dataclasses.replace(state, index=state.index + n)

    def tell(self, state, U, values, noise=None):
        return state


@dataclasses.dataclass(frozen=True)
class SobolSearch:
    """A scrambled Sobol sequence (Owen scrambling, scipy.stats.qmc), discrete coordinates rounded."""

    space: Space
    seed: int = 0

    def init(self, seed: int = 0) -> CounterState:
        return CounterState()

    def ask(self, key, state: CounterState, n: int = 1, pending=None, constraints=None):
        if not constraints:
            u = np.asarray(self.space.round(sobol_points(self.space.dim, state.index, n, self.seed)))
            return u, dataclasses.replace(state, index=state.index + n)
        # Skip infeasible points of the sequence, a block at a time.
        chosen, index, tried = [], state.index, []
        while len(chosen) < n:
            block = np.asarray(self.space.round(sobol_points(self.space.dim, index, 64, self.seed)))
            tried.append(block)
            for u, ok in zip(block, constraints.feasible(block)):
                index += 1
                if ok:
                    chosen.append(u)
                    if len(chosen) == n:
                        break
            if not chosen and len(tried) >= 64:
                raise SpaceError(constraints.explain(np.vstack(tried)))
        return np.asarray(chosen), dataclasses.replace(state, index=index)

    def tell(self, state, U, values, noise=None):
        return state


def sobol_points(dim: int, start: int, n: int, seed: int) -> np.ndarray:
    """Points start .. start+n-1 of a scrambled Sobol sequence, shape (n, dim)."""
    sampler = qmc.Sobol(dim, scramble=True, seed=seed)
    if start:
        sampler.fast_forward(start)
    return sampler.random(n)


@dataclasses.dataclass(frozen=True)
class GridSearch:
    """Full factorial grid, proposed in order.

    Args:
        space: the space.
        levels: levels per dimension: an int for all (reals and integers get that many evenly
            spaced values in their own scale, integers de-duplicated; categoricals all choices),
            or a dict mapping a parameter name to an int or an explicit list of values.
    """

    space: Space
    levels: Any = 5

    def points(self) -> list[dict]:
        per_param = []
        levels = self.levels if isinstance(self.levels, dict) else {}
        unknown = set(levels) - set(self.space.names)
        if unknown:
            raise SpaceError(f"grid levels name unknown parameters: {', '.join(sorted(unknown))}")
        for p in self.space.params:
            spec = levels.get(p.name, self.levels if not isinstance(self.levels, dict) else 5)
            if isinstance(spec, (list, tuple)):
                values = list(spec)
                for v in values:
                    self.space.validate({**{q.name: _any_value(q) for q in self.space.params}, p.name: v})
            elif isinstance(p, Categorical):
                values = list(p.choices)
            else:
                if int(spec) < 1:
                    raise SpaceError(f"grid levels for {p.name!r} must be >= 1, got {spec!r}")
                unit = np.linspace(0.0, 1.0, int(spec)) if int(spec) > 1 else np.array([0.5])
                levels_only = Space(self.space.params)  # levels ignore conditions
                values = [levels_only.decode(self._axis(p, t))[0][p.name] for t in unit]
                values = list(dict.fromkeys(values))  # integers may coincide
            per_param.append(values)
        return [dict(zip(self.space.names, combo)) for combo in itertools.product(*per_param)]

    def _axis(self, p, t):
        u = np.full(self.space.dim, 0.0)
        s = self.space.slices[self.space.names.index(p.name)]
        u[s] = t
        for q, sq in zip(self.space.params, self.space.slices):
            if isinstance(q, Categorical):
                u[sq.start] = 1.0
        return u[None]

    def init(self, seed: int = 0) -> CounterState:
        return CounterState()

    def ask(self, key, state: CounterState, n: int = 1, pending=None, constraints=None):
        grid = self.space.encode(self.points())
        if self.space.conditions:  # points that differ only in inactive parameters coincide
            grid = grid[np.sort(np.unique(grid.round(12), axis=0, return_index=True)[1])]
        rest = grid[state.index:]
        ok = constraints.feasible(rest) if constraints else np.ones(len(rest), bool)
        take = np.flatnonzero(ok)[:n]
        if len(take) < n:
            feasible = "feasible " if constraints else ""
            raise SpaceError(f"the grid has {len(grid)} points and {state.index} were already passed; "
                             f"only {len(take)} {feasible}points are left: ask for fewer or use finer levels")
        return rest[take], dataclasses.replace(state, index=state.index + int(take[-1]) + 1)

    def tell(self, state, U, values, noise=None):
        return state


def _any_value(p):
    return p.choices[0] if isinstance(p, Categorical) else p.low


# ----------------------------------------------------------------------------------------------
# Gaussian-process Bayesian optimisation


@dataclasses.dataclass(frozen=True)
class GPState:
    """Observations and the last MAP hyperparameters.

    Attributes:
        X: (n, dim) every told point in the unit cube (failed ones included, for de-duplication).
        y: (n,) the GP's targets, -value; NaN for failed trials.
        params: the last MAP hyperparameters (warm start), or None.
        fit_capacity: the capacity bucket `params` were fitted in.
        fit_n: how many successful observations they were fitted to.
        n_initial_asked: how many points of the initial Sobol design have been drawn. The design
            runs while fewer than `n_initial` points are told or pending, so points told
            without being asked count towards it.
        noise: (n,) known noise variances of the values (0 where none was told), or None while
            no value came with one.
    """

    X: np.ndarray
    y: np.ndarray
    params: gplib.GPParams | None = None
    fit_capacity: int = 0
    fit_n: int = 0
    n_initial_asked: int = 0
    noise: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class GPSearch:
    """Bayesian optimisation with a GP surrogate.

    Args:
        space: the space.
        acquisition: "logei" (default), "ei", "pi", "ucb", "ts" (Thompson), "mes", or "qlogei":
            a batch from `ask(n)` is optimised jointly under Monte Carlo qLogEI, starting from
            the greedy log-EI batch and kept only where it scores higher (the other acquisitions
            build batches greedily with Kriging-believer fantasies).
        kernel: "matern52" (default), "matern32", "matern12" or "rbf".
        n_initial: size of the scrambled-Sobol initial design.
        noise: learn a noise variance (False for noiseless objectives pins it at the floor).
        power_transform: model the Yeo-Johnson transform of the values (`bo.gp.power_transform`,
            exponent refitted at every ask; known noise variances follow by the delta method)
            instead of the values themselves. It leaves near-normal values almost unchanged and
            tames heavy tails: on the suite's Rosenbrock and Styblinski-Tang it cut the median
            regret at 100 evaluations 2.8x and 2.2x (`benchmarks/results/suite_power_transform.md`).
        beta: UCB exploration weight (utility = mean + sqrt(beta) std).
        raw_samples: Sobol candidates scored before gradient refinement.
        n_starts: best candidates refined by gradient ascent.
        steps: Adam steps of that refinement.
        fit_restarts: random prior draws screened as starts of a cold hyperparameter fit, besides
            the prior centre; the best `fit_refine` are refined by L-BFGS-B. A cold fit runs
            whenever the data enter a new capacity bucket (16, 32, 64, ... rows); in between,
            the previous MAP (or the prior centre, if better) is refined alone, which takes a few
            evaluations because one new point moves the MAP little.
        fit_refine: see `fit_restarts`.
        refit_growth: within a bucket, the MAP is refined once the data have grown by this
            fraction since the last fit (1/64: every ask up to 64 points, every 8th at 500),
            a change far inside the posterior's width that would cost most of an ask.
        mes_samples: sampled maxima for MES.
        ts_features: random Fourier features per Thompson path.
        fantasy: what pending points and earlier members of a greedy batch are assumed to have
            returned: "believer" (Kriging believer: the posterior mean) or "liar" (constant liar
            at the worst value observed so far, which spreads a batch out more; Ginsbourger,
            Le Riche & Carraro 2010).
        mc_samples: quasi-Monte Carlo samples of the joint posterior in qLogEI (scrambled Sobol
            base samples, fixed while one batch is optimised).
        budget: the evaluations the run plans, 0 when unknown (`Optimizer` and `minimize` pass
            theirs). The data are then padded to that many rows, up to `PREPAD_ROWS`, from the
            first ask: the GP compiles once instead of at 16, 32, 64, ... rows (seconds each).
            The fit schedule follows the data's own bucket, so results are the same up to float
            rounding; a padded ask costs a little more.
        seed: seeds the initial design and the fit's random starts.
    """

    space: Space
    acquisition: str = "logei"
    kernel: str = "matern52"
    n_initial: int = 10
    noise: bool = True
    power_transform: bool = True
    beta: float = 4.0
    raw_samples: int = 1024
    n_starts: int = 8
    steps: int = 100
    fit_restarts: int = 16
    fit_refine: int = 2
    refit_growth: float = 1 / 64
    mes_samples: int = 16
    ts_features: int = 1024
    fantasy: str = "believer"
    mc_samples: int = 512
    budget: int = 0
    seed: int = 0

    def __post_init__(self):
        if self.fantasy not in FANTASIES:
            raise SpaceError(f"fantasy={self.fantasy!r} is not one of {FANTASIES}")
        if self.acquisition not in ACQUISITIONS:
            raise SpaceError(f"acquisition={self.acquisition!r} is not one of {ACQUISITIONS}")
        if self.kernel not in gplib.KERNELS:
            raise SpaceError(f"kernel={self.kernel!r} is not one of {gplib.KERNELS}")
        if int(self.n_initial) < 1:
            raise SpaceError(f"n_initial={self.n_initial!r} must be at least 1")

    def init(self, seed: int = 0) -> GPState:
        return GPState(_freeze(np.zeros((0, self.space.dim))), _freeze(np.zeros(0)))

    def tell(self, state: GPState, U, values, noise=None) -> GPState:
        """Append observations; `noise` (n,) are their known noise variances in the units of
        `values` (the GP adds them to its learned noise), None for none."""
        U = np.asarray(U, np.float64).reshape(-1, self.space.dim)
        values = np.asarray(values, np.float64).reshape(-1)
        target = np.where(np.isfinite(values), -values, np.nan)  # the one sign flip
        new = dict(X=_freeze(np.vstack([state.X, U])), y=_freeze(np.concatenate([state.y, target])))
        if noise is not None or state.noise is not None:
            old = np.zeros(len(state.y)) if state.noise is None else state.noise
            told = np.zeros(len(values)) if noise is None else _noise_variances(noise, len(values))
            new["noise"] = _freeze(np.concatenate([old, told]))
        return dataclasses.replace(state, **new)

    def ask(self, key, state: GPState, n: int = 1, pending=None, constraints=None):
        pending = np.zeros((0, self.space.dim)) if pending is None else np.asarray(pending, np.float64)
        ok = np.isfinite(state.y)
        chosen: list[np.ndarray] = []
        while len(chosen) < n and (len(state.X) + len(pending) + len(chosen) < self.n_initial
                                   or ok.sum() < 2):
            index = state.n_initial_asked
            state = dataclasses.replace(state, n_initial_asked=index + 1)
            if index > 64 * self.n_initial + 1000:
                break  # the space is too small for a design of this size: let the GP take over
            u = np.asarray(self.space.round(sobol_points(self.space.dim, index, 1, self.seed)))[0]
            if (not _is_duplicate(u, [state.X, pending, np.reshape(chosen, (-1, self.space.dim))])
                    and (not constraints or constraints.feasible(u)[0])):
                chosen.append(u)
        if len(chosen) < n:
            avoid = [state.X, pending, np.reshape(chosen, (-1, self.space.dim))]
            if ok.sum() < 2:
                chosen.extend(_random_new_points(key, self.space, n - len(chosen), avoid, constraints))
            else:
                with gplib.single_threaded_blas():
                    new, state = self._ask_gp(key, state, n - len(chosen), np.vstack(avoid[1:]), constraints)
                chosen.extend(new)
        return np.asarray(chosen).reshape(n, self.space.dim), state

    def uses_model(self, state: GPState, n: int = 1, pending: int = 0) -> bool:
        """Whether an ask of n points, with `pending` points in flight, reaches the GP: False while
        the initial design serves it, and before two successes (random points then)."""
        return (len(state.X) + int(pending) + int(n) > self.n_initial
                and int(np.isfinite(state.y).sum()) >= 2)

    def warm_up(self, n: int = 1, pending: int = 0, noise: bool = False) -> None:
        """Compiles the programs of the first GP ask (n points, `pending` in flight, values told
        with known noise variances or not) by running one on synthetic data of its shapes, and
        discards the result. JAX compiles once per shape, so the real ask then only runs:
        `bo.Optimizer.warm_up` does this in a background thread while the initial design is
        evaluated. Nothing to do when the budget ends within the initial design."""
        if 0 < self.budget <= self.n_initial:
            return
        rng = np.random.default_rng(self.seed)
        rows = max(int(self.n_initial) - int(pending), 2)  # told when the first GP ask comes
        U = np.asarray(self.space.round(rng.random((rows + int(pending), self.space.dim))))
        values = self._synthetic_values(rng, rows)
        state = self.tell(self.init(self.seed), U[:rows], values,
                          noise=0.01 * rng.random(values.shape) if noise else None)
        self._ask_gp(jax.random.key(self.seed), state, int(n), U[rows:], None)

    def _synthetic_values(self, rng, rows: int) -> np.ndarray:
        return rng.standard_normal(rows)

    def _padding(self, rows: int) -> tuple[int, int]:
        """(bucket, capacity) for `rows` rows of data: the data's own capacity bucket, which sets
        the fit schedule, and the padded size, at least the budget's (see `budget`)."""
        bucket = gplib.capacity(rows)
        return bucket, max(bucket, gplib.capacity(min(self.budget, PREPAD_ROWS)))

    def _hyperparameters(self, previous, fit_capacity, bucket, fit_n, Xp, ys, mask, obs_noise, n_obs):
        """MAP hyperparameters on the schedule: a cold fit when the data enter a new capacity
        bucket, a warm refinement once they grew by `refit_growth`, else `previous` itself."""
        if previous is None or fit_capacity != bucket:
            return gplib.fit_params(Xp, ys, mask, self.kernel, self.noise, restarts=self.fit_restarts,
                                    refine=self.fit_refine, seed=self.seed + n_obs, obs_noise=obs_noise)
        if n_obs - fit_n >= self.refit_growth * n_obs:
            return gplib.fit_params(Xp, ys, mask, self.kernel, self.noise, init=previous,
                                    restarts=0, refine=1, obs_noise=obs_noise)
        return previous

    def _ask_gp(self, key, state: GPState, n: int, pending: np.ndarray, constraints):
        ok = np.isfinite(state.y)
        X, y = state.X[ok], state.y[ok]
        noise = None if state.noise is None else state.noise[ok]
        if self.power_transform:
            y, slope = gplib.power_transform(y)
            noise = None if noise is None else noise * slope ** 2
        bucket, cap = self._padding(len(X) + len(pending) + n)
        Xp, yp, mask = gplib.pad(X, y, cap)
        mean, std = gplib.standardize(yp, mask)
        ys = (yp - mean) / std * mask
        obs_noise = None
        if noise is not None:  # standardised like y; fantasies and padding get none
            obs_noise = jnp.asarray(gplib.pad(X, noise, cap)[1] / std ** 2)
        params = self._hyperparameters(state.params, state.fit_capacity, bucket, state.fit_n, Xp, ys,
                                       mask, obs_noise, len(X))
        if params is not state.params:
            state = dataclasses.replace(state, params=params, fit_capacity=bucket, fit_n=len(X))
        feasibility = None if ok.all() else _failure_model(state, params, self.kernel)

        avoid = np.vstack([state.X, pending])
        avoid_cap = max(gplib.capacity(len(avoid) + n), cap)
        avoid_p, _, avoid_mask = gplib.pad(avoid, np.zeros(len(avoid)), avoid_cap)
        # Pending points enter as fantasies (Kriging believer or constant liar).
        fantasies = list(pending)
        gp = gplib.condition(params, jnp.asarray(Xp), jnp.asarray(ys), jnp.asarray(mask),
                             jnp.asarray(mean), jnp.asarray(std), kernel=self.kernel, obs_noise=obs_noise)
        if fantasies:
            gp = gplib.add_fantasies(gp, np.asarray(fantasies), self.fantasy)
        raw = _raw_points(self.space.dim, self.raw_samples)
        chosen = []
        joint_gp = gp  # the greedy loop below adds its batch as fantasies; qLogEI takes the batch jointly
        for i in range(n):
            k_shift, k = jax.random.split(jax.random.fold_in(key, i))
            shifted, raw_ok = _shifted_candidates(k_shift, raw, self.space, constraints)
            greedy = "logei" if self.acquisition == "qlogei" else self.acquisition
            cands, scores = _propose(k, gp, feasibility, jnp.asarray(shifted), jnp.asarray(raw_ok),
                                     jnp.asarray(avoid_p),
                                     jnp.asarray(avoid_mask), self.beta, space=self.space,
                                     acquisition=greedy, n_starts=self.n_starts, steps=self.steps,
                                     mes_samples=self.mes_samples, ts_features=self.ts_features)
            u = _first_usable(k, cands, scores, self.space, avoid_p, avoid_mask, constraints)
            chosen.append(u)
            avoid_p[len(avoid) + i] = u
            avoid_mask[len(avoid) + i] = 1.0
            if i + 1 < n:
                gp = gplib.add_fantasies(gp, u[None], self.fantasy)
        if self.acquisition == "qlogei":
            chosen = self._joint_batch(key, joint_gp, feasibility, raw, np.asarray(chosen), avoid, constraints)
        return chosen, state

    def _joint_batch(self, key, gp, feasibility, raw, greedy, avoid, constraints):
        """The greedy batch (q, dim) refined jointly under qLogEI, with random batches as further
        starts (`_propose_batch`); the greedy batch itself if the joint one is infeasible or
        repeats a point (avoided or within the batch)."""
        q = len(greedy)
        k_batch, k_base = jax.random.split(jax.random.fold_in(key, q))  # the greedy loop used 0 .. q-1
        batch = np.asarray(_propose_batch(k_batch, gp, feasibility, jnp.asarray(raw), jnp.asarray(greedy),
                                          jnp.asarray(qmc_normal(k_base, self.mc_samples, q)), space=self.space,
                                          n_starts=self.n_starts, steps=self.steps))
        feasible = constraints.feasible(batch).all() if constraints else True
        repeats = any(_is_duplicate(u, [avoid, batch[:i]]) for i, u in enumerate(batch))
        return list(batch) if feasible and not repeats else list(greedy)


def _shifted_candidates(key, raw, space: Space, constraints):
    """The Sobol candidates under a random shift (Cranley-Patterson rotation: fresh candidates at
    every call) and which of them, rounded, satisfy the known constraints."""
    shifted = np.mod(raw + np.asarray(jax.random.uniform(key, (space.dim,))), 1.0)
    ok = constraints.feasible(np.asarray(space.round(shifted))) if constraints else np.ones(len(raw), bool)
    return shifted, ok


def _first_usable(key, cands, scores, space: Space, avoid_p, avoid_mask, constraints) -> np.ndarray:
    """The best-ranked candidate with a finite score that satisfies the known constraints, else a
    random feasible point that repeats no avoided one."""
    cands, scores = np.asarray(cands), np.asarray(scores)
    usable = np.isfinite(scores) & (constraints.feasible(cands) if constraints else True)
    if usable.any():
        return cands[np.argmax(usable)]
    return _random_new_points(key, space, 1, [avoid_p[avoid_mask > 0]], constraints)[0]


_LABEL_NOISE = np.exp(-4.0)


def _failure_model(state: GPState, params: gplib.GPParams, kernel: str) -> gplib.GP:
    """A GP on +1 (succeeded) / -1 (failed) labels of every told point; p(success) = Phi(mean / std).

    Failed trials (a diverged training) are unknown constraints (Gardner et al. 2014); this
    regression-on-labels probit model borrows the objective's hyperparameters: fitted on its own,
    a step in the labels drives the length scales so short that p(success) reverts to the base
    rate a little way from each failure and the acquisition walks straight back in.
    """
    ok = np.isfinite(state.y)
    X, labels, mask = gplib.pad(state.X, np.where(ok, 1.0, -1.0))
    mean, std = gplib.standardize(labels, mask)
    # Labels step from +1 to -1 at the failure boundary; a GP interpolating them with the noise of
    # a deterministic objective (the floor) rings around the step and lets p(success) rise again
    # inside the failing region, so the label regression keeps a noise variance of at least
    # _LABEL_NOISE (least-squares classification, Rasmussen & Williams 2006, sec. 6.5).
    params = params._replace(log_noise=jnp.maximum(params.log_noise, np.log(_LABEL_NOISE)))
    return gplib.condition(params, jnp.asarray(X), jnp.asarray((labels - mean) / std * mask),
                           jnp.asarray(mask), jnp.asarray(mean), jnp.asarray(std), kernel=kernel)


@functools.lru_cache(maxsize=32)
def _raw_points(dim, n):
    """The first n points of an unscrambled Sobol net; `_propose` shifts them randomly."""
    return _freeze(qmc.Sobol(dim, scramble=False).random_base2(max(1, math.ceil(math.log2(n))))[:n])


def _noise_variances(noise, n: int) -> np.ndarray:
    """Validated (n,) observation-noise variances."""
    noise = np.asarray(noise, np.float64).reshape(-1)
    if noise.shape != (n,):
        raise SpaceError(f"tell got {n} values and {noise.size} noise variances; give one per value or None")
    if not (np.isfinite(noise).all() and (noise >= 0).all()):
        raise SpaceError(f"noise variances must be finite and >= 0, got {noise.tolist()}")
    return noise


def _is_duplicate(u, groups) -> bool:
    for g in groups:
        g = np.asarray(g).reshape(-1, len(u))
        if len(g) and (np.max(np.abs(g - u), axis=1) <= _DUPLICATE_TOL).any():
            return True
    return False


def _random_new_points(key, space: Space, n: int, avoid_groups, constraints=None, tries: int = 4096,
                       distinct: bool = True):
    """n random valid (and feasible) points, distinct from each other and from the avoided ones."""
    out = []
    u = np.asarray(space.round(jax.random.uniform(key, (tries, space.dim))))
    feasible = constraints.feasible(u) if constraints else np.ones(tries, bool)
    for row in u[feasible]:
        if not distinct or not _is_duplicate(row, list(avoid_groups) + [np.reshape(out, (-1, space.dim))]):
            out.append(row)
            if len(out) == n:
                return out
    if not feasible.any():
        raise SpaceError(constraints.explain(u))
    raise SpaceError(f"no unevaluated point left to propose among {tries} random draws: the space has "
                     f"{space.size():.0f} points and the feasible ones are all observed or pending")


@partial(jax.jit, static_argnames=("space", "acquisition", "n_starts", "steps", "mes_samples",
                                   "ts_features"))
def _propose(key, gp, feasibility, raw, raw_ok, avoid, avoid_mask, beta, *, space, acquisition, n_starts,
             steps, mes_samples, ts_features):
    """Maximise the acquisition: score candidates, refine the best by Adam, round, rank.

    Args:
        gp: the objective's GP; feasibility: the GP of success labels, or None without failures.
            With it, EI and MES are multiplied by p(success) and the other utilities (log-EI,
            log-PI, UCB, Thompson) get log p(success) added.
        raw: (r, dim) candidates in the unit cube; raw_ok: (r,) False for infeasible ones.
        avoid, avoid_mask: padded points that must not be proposed again.

    Besides the best raw candidates, the refinement always starts from the incumbent and from
    copies of it perturbed by 1e-3 (`_local_starts`): once the model is confident, the
    acquisition's highest peak is usually a narrow one next to the incumbent that no raw
    candidate lands in, and refining raw candidates alone then proposes far, poor points instead.
    Optuna's GPSampler warm-starts its local search at the best trial for this reason, and
    BoTorch's `sample_around_best` perturbs the best points by sigma = 1e-3.

    Returns candidates (2 n_starts + _N_LOCAL_STARTS, dim) and their utilities, best first;
    candidates that repeat an avoided point score -inf. Refined candidates may violate known
    constraints: the caller checks.
    """
    raw_rounded = space.round(raw)
    best = gplib.incumbent(gp)
    local = _local_starts(key, gplib.incumbent_point(gp))

    if acquisition == "ts":
        objective_utility = acq.sample_path(key, gp, ts_features)
    else:
        if acquisition == "mes":
            m, v = gplib.posterior(gp, raw_rounded)
            max_samples = acq.gumbel_max_samples(key, m, jnp.sqrt(v), best, mes_samples)

        def objective_utility(x):
            mean, var = gplib.posterior(gp, x)
            std = jnp.sqrt(var)
            if acquisition == "logei":
                return acq.log_ei(mean, std, best)
            if acquisition == "ei":
                return acq.ei(mean, std, best)
            if acquisition == "pi":
                return acq.log_pi(mean, std, best)
            if acquisition == "ucb":
                return acq.ucb(mean, std, beta)
            return acq.mes(mean, std, max_samples)

    def utility(x):
        u = objective_utility(x)
        if feasibility is None:
            return u
        log_p = _log_p_success(feasibility, x)
        return u * jnp.exp(log_p) if acquisition in ("ei", "mes") else u + log_p

    return _maximize(utility, raw, raw_rounded, raw_ok, avoid, avoid_mask, space=space, n_starts=n_starts,
                     steps=steps, extra_starts=local)


_N_LOCAL_STARTS = 4
_LOCAL_SIGMA = 1e-3
_ADAM_LR = 0.05


def _local_starts(key, x_best):
    """The incumbent and `_N_LOCAL_STARTS - 1` copies perturbed by N(0, 1e-3^2) per coordinate,
    clipped to the unit cube: (_N_LOCAL_STARTS, dim) starts of the acquisition's refinement."""
    noise = _LOCAL_SIGMA * jax.random.normal(jax.random.fold_in(key, 7), (_N_LOCAL_STARTS - 1, x_best.shape[0]))
    return jnp.clip(jnp.concatenate([x_best[None], x_best[None] + noise]), 0.0, 1.0)


def _maximize(utility, raw, raw_rounded, raw_ok, avoid, avoid_mask, *, space, n_starts, steps, extra_starts=None):
    """Score the candidates, refine the best `n_starts` (and `extra_starts`, (k, dim), if given)
    by Adam with straight-through rounding, round, rank (traced inside a jitted caller). Returns
    candidates and utilities, best first; repeats of avoided points, of earlier candidates and
    non-finite scores get -inf."""
    raw_values = jnp.where(raw_ok, utility(raw_rounded), -jnp.inf)
    top = jnp.argsort(-raw_values)[:n_starts]
    x = raw[top] if extra_starts is None else jnp.concatenate([raw[top], extra_starts])
    # Extra (local) starts take steps _LOCAL_SIGMA / _ADAM_LR as long: the peak they look for is
    # narrower than a raw start's first step, which would throw them off it.
    row_scale = jnp.ones(len(x))
    if extra_starts is not None:
        row_scale = row_scale.at[len(top):].set(_LOCAL_SIGMA / _ADAM_LR)

    schedule = optax.cosine_decay_schedule(_ADAM_LR, steps, alpha=0.02)
    opt = optax.adam(schedule)

    def objective(x):
        return -jnp.sum(utility(space.round_straight_through(x)))

    def step(carry, _):
        x, opt_state = carry
        g = jax.grad(objective)(x)
        g = jnp.where(jnp.isfinite(g), g, 0.0)
        updates, opt_state = opt.update(g, opt_state)
        return (jnp.clip(x + row_scale[:, None] * updates, 0.0, 1.0), opt_state), None

    (x, _), _ = jax.lax.scan(step, (x, opt.init(x)), None, length=steps)
    refined = space.round(x)
    cands = jnp.concatenate([refined, raw_rounded[top]])
    values = jnp.concatenate([utility(refined), raw_values[top]])
    dist = jnp.max(jnp.abs(cands[:, None, :] - avoid[None, :, :]), axis=-1)
    repeats = jnp.any((dist <= _DUPLICATE_TOL) & (avoid_mask[None, :] > 0), axis=-1)
    # Within the candidate list, keep the first copy of each point.
    same = jnp.max(jnp.abs(cands[:, None, :] - cands[None, :, :]), axis=-1) <= _DUPLICATE_TOL
    earlier = jnp.tril(same, k=-1).any(axis=1)
    values = jnp.where(repeats | earlier | ~jnp.isfinite(values), -jnp.inf, values)
    order = jnp.argsort(-values)
    return cands[order], values[order]


def _log_p_success(feasibility, x):
    """log p(success) at (m, dim) points under the label GP: log Phi(mean / std) of the labels."""
    fm, fv = gplib.posterior(feasibility, x)
    return log_ndtr((feasibility.y_mean + feasibility.y_std * fm) / (feasibility.y_std * jnp.sqrt(fv)))


def qmc_normal(key, n: int, q: int) -> np.ndarray:
    """(n, q) quasi-random standard normal base samples: a scrambled Sobol net through the normal
    quantile function, seeded from `key`. Their average estimates q-EI with a smaller error than
    as many pseudo-random draws."""
    seed = int(jax.random.randint(key, (), 0, 2 ** 31 - 1))
    u = qmc.Sobol(q, scramble=True, seed=seed).random(n)
    return scipy.special.ndtri(np.clip(u, 1e-10, 1.0 - 1e-10))


@partial(jax.jit, static_argnames=("space", "n_starts", "steps", "n_raw_batches"))
def _propose_batch(key, gp, feasibility, raw, start, base, *, space, n_starts, steps, n_raw_batches=256):
    """Jointly maximise qLogEI over q points by Adam with straight-through rounding, from `start`
    (q, dim) (the greedy batch) and the best `n_starts - 1` of `n_raw_batches` random q-subsets of
    the candidates `raw`; return the batch (q, dim) of highest qLogEI among the refined ones and
    `start` itself, so it is never worse than `start`.

    `base` (s, q): standard normal base samples, fixed for the whole optimisation (sample average
    approximation). With a failure model (`feasibility`, the label GP, or None) each point's
    improvement is weighted by its probability of success, as the greedy acquisitions are.
    Adam's first steps are about its learning rate in every coordinate, so the rate is small
    (0.02): late in a run the improvement sits in peaks narrower than 0.05, and larger first
    steps jump out of them and can collapse the batch onto one point.
    """
    q = start.shape[0]
    k_pick, k_shift = jax.random.split(key)
    shifted = jnp.mod(raw + jax.random.uniform(k_shift, (raw.shape[1],)), 1.0)
    best = gplib.incumbent(gp)

    def utility(Xq):
        Xq = space.round_straight_through(Xq)
        mean, cov = acq.joint_posterior(gp, Xq)
        log_weights = None if feasibility is None else _log_p_success(feasibility, Xq)
        return acq.qlog_ei(mean, cov, best, base, log_weights=log_weights)

    batches = shifted[jax.random.choice(k_pick, raw.shape[0], (n_raw_batches, q))]
    values = jax.vmap(utility)(batches)
    x = jnp.concatenate([start[None], batches[jnp.argsort(-values)[:n_starts - 1]]])
    opt = optax.adam(optax.cosine_decay_schedule(0.02, steps, alpha=0.02))

    def step(carry, _):
        x, opt_state = carry
        g = jax.grad(lambda x: -jnp.sum(jax.vmap(utility)(x)))(x)
        updates, opt_state = opt.update(jnp.where(jnp.isfinite(g), g, 0.0), opt_state)
        return (jnp.clip(optax.apply_updates(x, updates), 0.0, 1.0), opt_state), None

    (x, _), _ = jax.lax.scan(step, (x, opt.init(x)), None, length=steps)
    cands = jnp.concatenate([space.round(x), space.round(start)[None]])
    final = jax.vmap(utility)(cands)
    return cands[jnp.argmax(jnp.where(jnp.isfinite(final), final, -jnp.inf))]

# ----------------------------------------------------------------------------------------------
# Several objectives


@dataclasses.dataclass(frozen=True)
class MultiObjectiveGPState(GPState):
    """`GPState` for M minimised objectives.

    Attributes:
        Y: (n, M) the told objective vectors; rows of failed trials are NaN.
        Y_noise: (n, M) their known noise variances (0 where none was told), or None.
        objective_params: EHVI's MAP hyperparameters, one `GPParams` per objective, or None.
        (`y` only marks success: 0 for a trial that returned M finite values, NaN otherwise;
        `params` are the hyperparameters of ParEGO's scalarised GP.)
    """

    Y: np.ndarray | None = None
    Y_noise: np.ndarray | None = None
    objective_params: tuple | None = None


@dataclasses.dataclass(frozen=True)
class MultiObjectiveGPSearch(GPSearch):
    """Bayesian optimisation of M >= 2 objectives, all minimised, on GP surrogates.

    Two proposal rules, both with the initial design, pending points, batches (Kriging believer
    or constant liar fantasies), known constraints and the failure model of `GPSearch`:

    - "ehvi" (default for M = 2): one GP per objective, independent, and the closed-form 2-D
      expected hypervolume improvement over the observed Pareto front (`bo.pareto.ehvi_2d`),
      maximised in log form; a fantasised batch member joins the front with its predicted mean.
    - "parego" (any M; the default for M > 2): Knowles (2006). Each proposal draws a weight
      vector uniformly on the simplex, scalarises the observed objectives by the augmented
      Chebyshev function (normalised by the observed ideal and nadir, `bo.pareto`) and proposes
      by the single-objective `acquisition` on one GP of that scalarisation.

    `power_transform` is off here (ParEGO's scalarisation is already normalised by the observed
    ideal and nadir; transformed, it lost hypervolume on ZDT1: median 118.9 against 120.5 over
    seeds 0-5 at 16 evaluations). EHVI's GPs never use it.

    Args (besides those of `GPSearch`):
        objectives: M, the number of objectives (>= 2).
        multiobjective: "ehvi" (M = 2 only) or "parego"; None picks "ehvi" for M = 2.
        reference: EHVI's reference point, (M,) in the objectives' units, or None for the
            observed nadir plus 10 % of the observed range in each objective (as BoTorch's
            `infer_reference_point`), recomputed at every ask.
        rho: ParEGO's augmentation weight (Knowles: 0.05).
    """

    objectives: int = 2
    power_transform: bool = False
    multiobjective: str | None = None
    reference: Any = None
    rho: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        if int(self.objectives) != self.objectives or self.objectives < 2:
            raise SpaceError(f"objectives={self.objectives!r}: a multi-objective search needs at least 2")
        if self.method_name not in MULTIOBJECTIVE:
            raise SpaceError(f"multiobjective={self.multiobjective!r} is not one of {MULTIOBJECTIVE}")
        if self.method_name == "ehvi" and self.objectives != 2:
            raise SpaceError(f"multiobjective='ehvi' handles 2 objectives, not {self.objectives}; "
                             "use multiobjective='parego' for more")
        if self.reference is not None:
            ref = np.asarray(self.reference, np.float64)
            if ref.shape != (self.objectives,) or not np.isfinite(ref).all():
                raise SpaceError(f"reference={self.reference!r} must be {self.objectives} finite numbers, "
                                 "one per objective")

    @property
    def method_name(self) -> str:
        if self.multiobjective is None:
            return "ehvi" if self.objectives == 2 else "parego"
        return self.multiobjective

    def init(self, seed: int = 0) -> MultiObjectiveGPState:
        d, m = self.space.dim, int(self.objectives)
        return MultiObjectiveGPState(_freeze(np.zeros((0, d))), _freeze(np.zeros(0)), Y=_freeze(np.zeros((0, m))))

    def tell(self, state: MultiObjectiveGPState, U, values, noise=None) -> MultiObjectiveGPState:
        """Append observations: U (n, dim), values (n, M), noise None or (n, M) variances."""
        m = int(self.objectives)
        U = np.asarray(U, np.float64).reshape(-1, self.space.dim)
        values = np.asarray(values, np.float64)
        if values.shape != (len(U), m):
            raise SpaceError(f"tell got {len(U)} points and values shaped {values.shape}; "
                             f"with {m} objectives give one row of {m} values per point")
        ok = np.isfinite(values).all(axis=1)
        new = dict(X=_freeze(np.vstack([state.X, U])),
                   y=_freeze(np.concatenate([state.y, np.where(ok, 0.0, np.nan)])),
                   Y=_freeze(np.vstack([state.Y, np.where(ok[:, None], values, np.nan)])))
        if noise is not None or state.Y_noise is not None:
            old = np.zeros((len(state.y), m)) if state.Y_noise is None else state.Y_noise
            told = (np.zeros((len(U), m)) if noise is None
                    else _noise_variances(noise, len(U) * m).reshape(len(U), m))
            new["Y_noise"] = _freeze(np.vstack([old, told]))
        return dataclasses.replace(state, **new)

    def _synthetic_values(self, rng, rows: int) -> np.ndarray:
        return rng.standard_normal((rows, int(self.objectives)))

    def _ask_gp(self, key, state: MultiObjectiveGPState, n: int, pending: np.ndarray, constraints):
        if self.method_name == "parego":
            return self._ask_parego(key, state, n, pending, constraints)
        return self._ask_ehvi(key, state, n, pending, constraints)

    def _ask_parego(self, key, state, n, pending, constraints):
        ok = np.isfinite(state.y)
        Y = state.Y[ok]
        ideal, nadir = Y.min(axis=0), Y.max(axis=0)
        chosen = []
        for i in range(n):
            k_weights, k_ask = jax.random.split(jax.random.fold_in(key, i))
            weights = np.asarray(pareto.random_chebyshev_weights(k_weights, self.objectives, 1))[0]
            target = np.full(len(state.y), np.nan)
            target[ok] = -np.asarray(pareto.chebyshev_scalarize(Y, weights, ideal, nadir, self.rho))
            noise = None
            if state.Y_noise is not None:
                noise = np.zeros(len(state.y))
                noise[ok] = _chebyshev_variance(Y, state.Y_noise[ok], weights, ideal, nadir, self.rho)
            # A new scalarisation is a new function: refine the hyperparameters once per ask.
            inner = GPState(state.X, _freeze(target), state.params, state.fit_capacity,
                            -1 if i == 0 else state.fit_n, state.n_initial_asked, noise)
            new, inner = GPSearch._ask_gp(self, k_ask, inner, 1,
                                          np.vstack([pending, np.reshape(chosen, (-1, self.space.dim))]),
                                          constraints)
            chosen.extend(new)
            state = dataclasses.replace(state, params=inner.params, fit_capacity=inner.fit_capacity,
                                        fit_n=inner.fit_n)
        return chosen, state

    def _ask_ehvi(self, key, state, n, pending, constraints):
        ok = np.isfinite(state.y)
        X, Y = state.X[ok], state.Y[ok]
        bucket, cap = self._padding(len(X) + len(pending) + n)
        previous = state.objective_params or (None,) * self.objectives
        gps, fitted = [], []
        for j in range(self.objectives):
            Xp, yp, mask = gplib.pad(X, -Y[:, j], cap)  # the GPs model -value, as `GPSearch` does
            mean, std = gplib.standardize(yp, mask)
            ys = (yp - mean) / std * mask
            obs_noise = (None if state.Y_noise is None
                         else jnp.asarray(gplib.pad(X, state.Y_noise[ok, j], cap)[1] / std ** 2))
            params = self._hyperparameters(previous[j], state.fit_capacity, bucket, state.fit_n, Xp, ys, mask,
                                           obs_noise, len(X))
            fitted.append(params)
            gps.append(gplib.condition(params, jnp.asarray(Xp), jnp.asarray(ys), jnp.asarray(mask),
                                       jnp.asarray(mean), jnp.asarray(std), kernel=self.kernel,
                                       obs_noise=obs_noise))
        if any(a is not b for a, b in zip(fitted, previous)):
            state = dataclasses.replace(state, objective_params=tuple(fitted), fit_capacity=bucket, fit_n=len(X))
        feasibility = None if ok.all() else _failure_model(state, fitted[0], self.kernel)
        reference = (np.asarray(self.reference, np.float64) if self.reference is not None
                     else default_reference(Y))
        observed_front = pareto.pareto_front(Y)[1]
        front = np.full((cap, self.objectives), np.nan)
        n_front = len(observed_front)
        front[:n_front] = observed_front

        avoid = np.vstack([state.X, pending])
        avoid_p, _, avoid_mask = gplib.pad(avoid, np.zeros(len(avoid)), max(gplib.capacity(len(avoid) + n), cap))
        n_real = len(X)

        def add_fantasies(U):
            nonlocal n_real, n_front
            outcome = np.empty((len(U), self.objectives))
            for j, gp in enumerate(gps):
                gps[j] = gp = gplib.add_fantasies(gp, U, self.fantasy)
                outcome[:, j] = -(float(gp.y_mean) + float(gp.y_std) * np.asarray(gp.y[n_real:n_real + len(U)]))
            front[n_front:n_front + len(U)] = outcome
            n_real, n_front = n_real + len(U), n_front + len(U)

        if len(pending):
            add_fantasies(pending)
        raw = _raw_points(self.space.dim, self.raw_samples)
        chosen = []
        for i in range(n):
            k_shift, k = jax.random.split(jax.random.fold_in(key, i))
            shifted, raw_ok = _shifted_candidates(k_shift, raw, self.space, constraints)
            cands, scores = _propose_ehvi(tuple(gps), feasibility, jnp.asarray(shifted), jnp.asarray(raw_ok),
                                          jnp.asarray(avoid_p), jnp.asarray(avoid_mask), jnp.asarray(front),
                                          jnp.asarray(reference), space=self.space, n_starts=self.n_starts,
                                          steps=self.steps)
            u = _first_usable(k, cands, scores, self.space, avoid_p, avoid_mask, constraints)
            chosen.append(u)
            avoid_p[len(avoid) + i] = u
            avoid_mask[len(avoid) + i] = 1.0
            if i + 1 < n:
                add_fantasies(u[None])
        return chosen, state


def default_reference(values) -> np.ndarray:
    """A reference point from observed (n, M) minimised values: the nadir plus 10 % of the range
    (of |nadir|, or 1, in an objective whose values are all equal)."""
    values = np.asarray(values, np.float64)
    ideal, nadir = values.min(axis=0), values.max(axis=0)
    span = nadir - ideal
    span = np.where(span > 0, span, np.maximum(np.abs(nadir), 1.0))
    return nadir + 0.1 * span


def _chebyshev_variance(values, variances, weights, ideal, nadir, rho):
    """Variance of the augmented Chebyshev scalarisation of noisy (n, M) values, to first order:
    sum_j (d s / d f_j)^2 var_j, the derivative taken at the active (largest) weighted term."""
    scale = np.where(nadir - ideal > 0, nadir - ideal, 1.0)
    weighted = weights * (values - ideal) / scale
    active = np.arange(values.shape[1]) == np.argmax(weighted, axis=1)[:, None]
    slope = (weights * active + rho * weights) / scale
    return np.sum(slope ** 2 * variances, axis=1)


@partial(jax.jit, static_argnames=("space", "n_starts", "steps"))
def _propose_ehvi(gps, feasibility, raw, raw_ok, avoid, avoid_mask, front, reference, *, space, n_starts,
                  steps):
    """Maximise log EHVI (two objectives, GPs of -value) + log p(success); see `_maximize`.

    front: (cap, 2) observed and fantasised outcomes, NaN rows for padding; reference: (2,).
    """
    def utility(x):
        means, stds = [], []
        for gp in gps:
            m, v = gplib.posterior(gp, x)
            means.append(-(gp.y_mean + gp.y_std * m))
            stds.append(gp.y_std * jnp.sqrt(v))
        value = pareto._ehvi_2d(jnp.stack(means, -1), jnp.stack(stds, -1), front, reference)
        u = jnp.log(jnp.maximum(value, 1e-300))
        return u if feasibility is None else u + _log_p_success(feasibility, x)

    return _maximize(utility, raw, space.round(raw), raw_ok, avoid, avoid_mask, space=space, n_starts=n_starts,
                     steps=steps)


STRATEGIES = {"gp": GPSearch, "cmaes": CMAES, "random": RandomSearch, "sobol": SobolSearch, "grid": GridSearch,
              "turbo": Turbo}


_IGNORES_VALUES = ("random", "sobol", "grid")


def make_strategy(method: str, space: Space, seed: int = 0, objectives: int = 1, budget: int | None = None,
                  **options):
    """Build the strategy for `method` with its options; unknown names raise SpaceError. `seed`
    and `budget` (planned evaluations, if known) go to the strategies that take them.

    objectives > 1 gives `MultiObjectiveGPSearch` for "gp"; the space-filling methods ignore
    the values, so they take any number; other methods optimise one objective only.
    """
    if method not in STRATEGIES:
        raise SpaceError(f"method={method!r} is not one of {sorted(STRATEGIES)}")
    if int(objectives) != objectives or objectives < 1:
        raise SpaceError(f"objectives={objectives!r} must be a whole number >= 1")
    cls = STRATEGIES[method]
    if objectives > 1 and method == "gp":
        cls = MultiObjectiveGPSearch
        options = {"objectives": int(objectives), **options}
    elif objectives > 1 and method not in _IGNORES_VALUES:
        raise SpaceError(f"method {method!r} optimises one objective; for objectives={objectives} use "
                         f"method='gp' (EHVI or ParEGO), {', '.join(map(repr, _IGNORES_VALUES))}")
    elif objectives == 1 and {"multiobjective", "reference", "rho"} & set(options) and method == "gp":
        raise SpaceError(f"options {sorted({'multiobjective', 'reference', 'rho'} & set(options))} need "
                         "several objectives: pass objectives=M (M >= 2)")
    fields = {f.name for f in dataclasses.fields(cls)} - {"space"}
    unknown = set(options) - fields
    if unknown:
        raise SpaceError(f"method {method!r} has no option {', '.join(sorted(unknown))}; "
                         f"options: {', '.join(sorted(fields - {'seed'})) or 'none'}")
    if "seed" in fields:
        options = {"seed": seed, **options}
    if "budget" in fields and budget is not None:
        options = {"budget": int(budget), **options}
    return cls(space, **options)
