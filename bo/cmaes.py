"""CMA-ES in JAX: a functional core, a `bo` strategy, and a vmapped driver for JAX objectives.

The algorithm is Hansen's standard (mu/mu_w, lambda)-CMA-ES as given in "The CMA Evolution
Strategy: A Tutorial" (2016, arXiv:1604.00772): weighted recombination with the default positive
and negative ("active") weights, cumulative step-size adaptation, rank-one and rank-mu covariance
updates, default population lambda = 4 + floor(3 ln n), and the tutorial's default constants
(c_mu with the 1/4 offset of its current revision, as pycma). The covariance matrix is
decomposed lazily, as the tutorial (appendix B.2) and pycma do: after an update once at least
1 / (10 n (c_1 + c_mu)) generations have passed since the last decomposition, which is every
generation up to n of about 60 with the default population and every second one at n = 100;
in between, sampling and C^(-1/2) use the last decomposition.

Integer coordinates use the margin correction of CMA-ES with Margin (Hamano, Saito, Nomura &
Shirakawa 2022, "CMA-ES with Margin: Lower-Bounding Marginal Probability for Mixed-Integer
Black-Box Optimization"). Candidates are x = m + sigma * A y with y ~ N(0, C) and A a positive
diagonal matrix (identity at the start). After every update, for each discrete coordinate j the
Gaussian marginal N(m_j, (sigma A_j)^2 C_jj) must put at least `alpha` probability beyond each
threshold of the integer interval that contains m_j (default alpha = 1 / (n lambda)):

- an interval with one threshold (an integer at the edge of its range, or a binary variable):
  m_j moves towards that threshold until the probability beyond it is alpha;
- an interval with two thresholds: the probabilities below, inside and above are raised to at
  least alpha and renormalised, and m_j and A_j are set so that the marginal has exactly them.

So an integer coordinate never freezes, however small sigma gets. Integers of a `bo.Space` live
in its unit cube (linear or logarithmic): their thresholds are the points where `Space.round`
changes its answer (value +- 1/2 in the parameter's own scale).

A categorical with k choices keeps its k one-hot coordinates and decodes to the choice with the
largest coordinate, so what decides the choice is the sign of each contrast x_j - x_lead with the
block's leading coordinate (the largest mean). The margin is applied to these contrasts as to a
binary variable with threshold 0: m_j rises until P(x_j > x_lead) >= alpha under the Gaussian
(with the covariance of the two coordinates). For k = 2 this is exactly the binary case.

Bounds are handled by a transform, not a penalty: the CMA state is unconstrained, and each
bounded continuous coordinate is evaluated at its mirror image in [lower, upper] (the periodic
reflection x -> lower + w * tri((x - lower) / w), tri(t) = 1 - |1 - t mod 2|, w = upper - lower;
with one finite bound a single reflection). Points handed out are therefore always feasible, and
the objective seen by CMA-ES stays continuous. Discrete coordinates need no transform: values
beyond the range round to its end, as in CMA-ES with Margin.

IPOP restarts (Auger & Hansen 2005, "A restart CMA evolution strategy with increasing population
size"): when a run meets a termination criterion (`stop_reasons`: flat fitness `tolfun`, tiny
steps `tolx`, no effect of an axis or a coordinate, covariance condition above 1e14) it restarts
with twice the population, from a uniformly random mean in the box (from `x0` where unbounded).

Three layers:

- The functional core, evosax-style, on immutable pytrees, all jittable (`init` draws nothing,
  so it takes no key)::

      params = make_params(dim)                     # constants, bounds, integer lattice
      state = init(mean, sigma, params)
      x, state = ask(key, state, params)            # (lambda, dim) raw candidates
      f = jax.vmap(fun)(evaluation_points(x, params))
      state = tell(state, x, f, params)             # values are minimised; NaN/inf rank last

- `CMAES`, the strategy behind ``bo.Optimizer(space, method="cmaes")`` and
  ``bo.minimize(..., method="cmaes")``, working in the space's unit cube. It buffers a
  generation: ``ask(n)`` hands out the generation's next n members; when more are asked than the
  generation has left, further members are drawn from the same (not yet updated) distribution.
  ``tell`` matches told points to handed-out members; once lambda members are told, the update
  runs with the first lambda of them (in the order they were sampled), and the generation ends:
  values told afterwards for its other members, and points that were never asked, are recorded
  by the `Optimizer` but do not move the distribution.

- `minimize_jax(fun, x0, sigma0, ...)` for a JAX objective: each generation evaluates the whole
  population in one vmapped call inside a jitted `lax.while_loop` (one compiled call per run);
  `step` is the same generation as one jitted function for a Python loop.

Everything is float64 (importing bo turns on JAX's x64 mode).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv, ndtr

from bo.space import Categorical, Integer, Space, SpaceError

_TINY = 1e-300
MAX_CONDITION = 1e14


# ----------------------------------------------------------------------------------------------
# Static description of the problem: bounds and integer lattice


@partial(jax.tree_util.register_dataclass,
         data_fields=["discrete", "offset", "span", "log", "low", "high", "group"], meta_fields=[])
@dataclasses.dataclass(frozen=True)
class Lattice:
    """Which coordinates are integers or one-hot categorical blocks, and how they round.

    Coordinate x of an integer dimension stands for the value v(x) = g(offset + span * x), g = exp
    when `log` else identity; it is evaluated at the integer round(v(x)) clipped to [low, high].
    The coordinates of a categorical block (equal `group` >= 0) are evaluated as the one-hot
    vector of their largest one.

    Attributes:
        discrete: (n,) bool, True for integer coordinates.
        offset, span: (n,) float, the affine map from x to the (log-)value.
        log: (n,) bool, values on a log scale.
        low, high: (n,) float, the integer range (+-inf when unbounded).
        group: (n,) int, the categorical block of a coordinate (-1 for none).
    """

    discrete: jax.Array
    offset: jax.Array
    span: jax.Array
    log: jax.Array
    low: jax.Array
    high: jax.Array
    group: jax.Array

    @classmethod
    def continuous(cls, dim: int) -> "Lattice":
        """No discrete coordinate."""
        return cls.integers(np.zeros(dim, bool))

    @classmethod
    def integers(cls, mask, lower=None, upper=None) -> "Lattice":
        """Integer coordinates x itself (x in Z), within optional bounds.

        Args:
            mask: (n,) bool, which coordinates are integers.
            lower, upper: (n,) bounds or None; integers take ceil(lower) .. floor(upper).
        """
        mask = np.asarray(mask, bool).reshape(-1)
        n = mask.size
        lower = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, float), (n,))
        upper = np.broadcast_to(np.inf if upper is None else np.asarray(upper, float), (n,))
        return cls(jnp.asarray(mask), jnp.zeros(n), jnp.ones(n), jnp.zeros(n, bool),
                   jnp.asarray(np.ceil(lower)), jnp.asarray(np.floor(upper)),
                   jnp.full(n, -1, jnp.int32))

    @classmethod
    def from_space(cls, space: Space) -> "Lattice":
        """The integer coordinates and categorical blocks of a space's unit cube."""
        n = space.dim
        discrete, offset, span = np.zeros(n, bool), np.zeros(n), np.ones(n)
        log, low, high, group = np.zeros(n, bool), np.zeros(n), np.ones(n), np.full(n, -1, np.int32)
        for p, s in zip(space.params, space.slices):
            if isinstance(p, Categorical):
                group[s] = s.start
            elif isinstance(p, Integer):
                lo, hi = (math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high)
                discrete[s], log[s], low[s], high[s] = True, p.log, p.low, p.high
                offset[s], span[s] = lo, (hi - lo if hi > lo else 1.0)
        return cls(*(jnp.asarray(a) for a in (discrete, offset, span, log, low, high, group)))

    def level(self, x):
        """The integer a coordinate value stands for, shape of x (meaningful where discrete)."""
        t = self.offset + self.span * x
        return jnp.clip(jnp.round(jnp.where(self.log, jnp.exp(t), t)), self.low, self.high)

    def position(self, value):
        """The coordinate where a (possibly half-integer) value sits, inverse of the value map."""
        t = jnp.where(self.log, jnp.log(jnp.maximum(value, _TINY)), value)
        return (t - self.offset) / self.span

    def same_block(self):
        """(n, n) bool, coordinates i and j belong to the same categorical block."""
        return (self.group[:, None] == self.group[None, :]) & (self.group[:, None] >= 0)

    def snap(self, x):
        """Integers moved to their integer's position, categorical blocks made one-hot (the
        largest coordinate wins), continuous coordinates unchanged; x has shape (..., n)."""
        n = x.shape[-1]
        segment = jnp.where(self.group >= 0, self.group, jnp.arange(n))  # blocks, else itself
        block_max = jax.ops.segment_max(jnp.moveaxis(x, -1, 0), segment, num_segments=n)
        onehot = (x >= jnp.moveaxis(block_max[segment], 0, -1)).astype(x.dtype)
        return jnp.where(self.discrete, self.position(self.level(x)),
                         jnp.where(self.group >= 0, onehot, x))

    def thresholds(self, x):
        """(lower, upper) thresholds of the interval holding x; +-inf where there is none."""
        v = self.level(x)
        lower = jnp.where(self.discrete & (v > self.low), self.position(v - 0.5), -jnp.inf)
        upper = jnp.where(self.discrete & (v < self.high), self.position(v + 0.5), jnp.inf)
        return lower, upper


# ----------------------------------------------------------------------------------------------
# Parameters and state


@partial(jax.tree_util.register_dataclass,
         data_fields=["weights", "mu_eff", "c_sigma", "d_sigma", "c_c", "c_1", "c_mu", "chi_n",
                      "alpha", "tol_fun", "tol_x", "eigen_gap", "lower", "upper", "lattice"],
         meta_fields=[])
@dataclasses.dataclass(frozen=True)
class CMAParams:
    """The strategy's constants (Hansen 2016, table 1) and the problem's bounds and lattice.

    Attributes:
        weights: (lambda,) recombination weights, positive ones summing to 1, negative ones for
            the active rank-mu update; the population size is its length.
        mu_eff: variance effective selection mass of the positive weights.
        c_sigma, d_sigma: step-size cumulation and damping.
        c_c, c_1, c_mu: rank-one path cumulation, rank-one and rank-mu learning rates.
        chi_n: E||N(0, I)||.
        alpha: margin, least probability of leaving an integer's interval (0 turns it off).
        tol_fun, tol_x: termination tolerances on value ranges and on step lengths.
        eigen_gap: generations between decompositions of C, 1 / (10 n (c_1 + c_mu)).
        lower, upper: (n,) bounds of the continuous coordinates (+-inf for none).
        lattice: the integer coordinates and categorical blocks.
    """

    weights: jax.Array
    mu_eff: jax.Array
    c_sigma: jax.Array
    d_sigma: jax.Array
    c_c: jax.Array
    c_1: jax.Array
    c_mu: jax.Array
    chi_n: jax.Array
    alpha: jax.Array
    tol_fun: jax.Array
    tol_x: jax.Array
    eigen_gap: jax.Array
    lower: jax.Array
    upper: jax.Array
    lattice: Lattice

    @property
    def popsize(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return int(self.lower.shape[0])


def default_popsize(dim: int) -> int:
    """lambda = 4 + floor(3 ln n)."""
    return 4 + int(math.floor(3 * math.log(dim)))


def make_params(dim: int, popsize: int | None = None, *, lower=None, upper=None,
                lattice: Lattice | None = None, alpha: float | None = None,
                tol_fun: float = 1e-12, tol_x: float = 1e-11) -> CMAParams:
    """The default strategy parameters of Hansen's tutorial for a problem.

    Args:
        dim: n, the number of coordinates.
        popsize: lambda (default 4 + floor(3 ln n)); at least 2.
        lower, upper: (n,) bounds for the mirror transform, or None (unbounded).
        lattice: the integer coordinates (default none).
        alpha: the margin (default 1 / (n lambda)).
        tol_fun, tol_x: termination tolerances (see `stop_reasons`).

    Returns:
        A `CMAParams`.
    """
    n = int(dim)
    if n < 1:
        raise SpaceError(f"dim={dim!r} must be at least 1")
    lam = default_popsize(n) if popsize is None else popsize
    if isinstance(lam, bool) or int(lam) != lam or int(lam) < 2:
        raise SpaceError(f"popsize={popsize!r} must be an integer of at least 2")
    lam = int(lam)
    alpha = 1.0 / (n * lam) if alpha is None else float(alpha)
    if not 0.0 <= alpha < 1.0 / 3.0:
        raise SpaceError(f"alpha={alpha!r} must be in [0, 1/3)")
    for name, value in (("tol_fun", tol_fun), ("tol_x", tol_x)):
        if not value >= 0:
            raise SpaceError(f"{name}={value!r} must be >= 0")
    lower = np.full(n, -np.inf) if lower is None else np.broadcast_to(np.asarray(lower, float), (n,))
    upper = np.full(n, np.inf) if upper is None else np.broadcast_to(np.asarray(upper, float), (n,))
    if np.isnan(lower).any() or np.isnan(upper).any() or not (lower < upper).all():
        raise SpaceError(f"bounds lower={lower.tolist()} upper={upper.tolist()}: need lower < upper")
    lattice = Lattice.continuous(n) if lattice is None else lattice
    if lattice.discrete.shape != (n,):
        raise SpaceError(f"lattice has {lattice.discrete.shape[0]} coordinates, dim={n}")

    mu = lam // 2
    raw = math.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
    pos, neg = raw[:mu], raw[mu:]
    mu_eff = pos.sum() ** 2 / (pos ** 2).sum()
    mu_eff_neg = neg.sum() ** 2 / (neg ** 2).sum() if (neg ** 2).sum() > 0 else 0.0
    c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_sigma
    c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    alpha_cov = 2.0
    c_1 = alpha_cov / ((n + 1.3) ** 2 + mu_eff)
    # The 1/4 offset is that of the tutorial's current revision (pycma's default too).
    c_mu = min(1 - c_1, alpha_cov * (0.25 + mu_eff - 2 + 1 / mu_eff)
               / ((n + 2) ** 2 + alpha_cov * mu_eff / 2))
    # Negative weights, scaled so that the active update keeps C positive definite.
    caps = [1 + 2 * mu_eff_neg / (mu_eff + 2)]
    if c_mu > 0:
        caps += [1 + c_1 / c_mu, (1 - c_1 - c_mu) / (n * c_mu)]
    neg_sum = -neg.sum()
    weights = np.concatenate([pos / pos.sum(), min(caps) * neg / neg_sum if neg_sum > 0 else neg])
    chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))
    f = lambda v: jnp.asarray(v, jnp.float64)  # noqa: E731
    return CMAParams(f(weights), f(mu_eff), f(c_sigma), f(d_sigma), f(c_c), f(c_1), f(c_mu),
                     f(chi_n), f(alpha), f(tol_fun), f(tol_x), f(1.0 / (10 * n * (c_1 + c_mu))),
                     f(lower), f(upper), lattice)


@partial(jax.tree_util.register_dataclass,
         data_fields=["mean", "sigma", "cov", "basis", "scales", "eigen_generation", "path_sigma",
                      "path_c", "margin", "generation", "evaluations", "best_x", "best_f",
                      "history", "values"],
         meta_fields=[])
@dataclasses.dataclass(frozen=True)
class CMAState:
    """The search distribution N(mean, sigma^2 A C A) and its bookkeeping.

    Attributes:
        mean: (n,) m.
        sigma: () the step size.
        cov: (n, n) C.
        basis, scales: C = basis @ diag(scales^2) @ basis.T as of the last decomposition.
        eigen_generation: () the generation of that decomposition.
        path_sigma, path_c: (n,) the evolution paths of sigma and of C.
        margin: (n,) the diagonal of A (ones for continuous coordinates).
        generation: number of updates so far.
        evaluations: number of told values.
        best_x: (n,) the best evaluation point so far (bounded and rounded; the initial mean
            before any value is told).
        best_f: () its value (inf before any finite value).
        history: (10 + ceil(30 n / lambda),) best value of each recent generation, a ring buffer.
        values: (lambda,) the last generation's values, sorted (NaN and inf as inf).
    """

    mean: jax.Array
    sigma: jax.Array
    cov: jax.Array
    basis: jax.Array
    scales: jax.Array
    eigen_generation: jax.Array
    path_sigma: jax.Array
    path_c: jax.Array
    margin: jax.Array
    generation: jax.Array
    evaluations: jax.Array
    best_x: jax.Array
    best_f: jax.Array
    history: jax.Array
    values: jax.Array


def init(mean, sigma: float, params: CMAParams) -> CMAState:
    """A fresh search distribution N(mean, sigma^2 I) (A = I; the margin acts from the first
    `tell` on, as in Hamano et al.'s algorithm).

    Args:
        mean: (n,) the initial mean.
        sigma: the initial step size, > 0.
        params: from `make_params`.
    """
    n, lam = params.dim, params.popsize
    mean = jnp.asarray(mean, jnp.float64).reshape(-1)
    if mean.shape != (n,):
        raise SpaceError(f"mean has {mean.shape[0]} coordinates, the parameters {n}")
    if not (math.isfinite(float(sigma)) and float(sigma) > 0):
        raise SpaceError(f"sigma={sigma!r} must be positive and finite")
    f64 = partial(jnp.full, dtype=jnp.float64)
    return CMAState(mean=mean, sigma=f64((), sigma), cov=jnp.eye(n), basis=jnp.eye(n),
                    scales=f64(n, 1.0), eigen_generation=jnp.zeros((), jnp.int64),
                    path_sigma=f64(n, 0.0), path_c=f64(n, 0.0),
                    margin=f64(n, 1.0), generation=jnp.zeros((), jnp.int64),
                    evaluations=jnp.zeros((), jnp.int64), best_x=mean, best_f=f64((), jnp.inf),
                    history=f64(10 + math.ceil(30 * n / lam), jnp.inf), values=f64(lam, jnp.inf))


# ----------------------------------------------------------------------------------------------
# ask / tell


def ask(key, state: CMAState, params: CMAParams):
    """Sample a generation (jitted; the state passes through untouched).

    Args:
        key: a JAX PRNG key.
        state: the current state.
        params: its parameters.

    Returns:
        x: (lambda, n) raw candidates m + sigma A y, y ~ N(0, C); evaluate them at
            `evaluation_points(x, params)`.
        state: unchanged (returned for the init / ask / tell protocol).
    """
    return _sample_raw(key, state, params), state


@jax.jit
def _sample_raw(key, state: CMAState, params: CMAParams):
    z = jax.random.normal(key, (params.popsize, params.dim), jnp.float64)
    y = (z * state.scales) @ state.basis.T
    return state.mean + state.sigma * state.margin * y


@jax.jit
def evaluation_points(x, params: CMAParams):
    """Where raw candidates are evaluated: bounded coordinates mirrored in, integers rounded.

    Args:
        x: (..., n) raw candidates.
        params: the parameters holding bounds and lattice.

    Returns:
        (..., n) feasible points.
    """
    return params.lattice.snap(reflect(x, params.lower, params.upper))


def reflect(x, lower, upper):
    """Mirror x into [lower, upper] coordinate-wise (periodically when both bounds are finite)."""
    has_lo, has_up = jnp.isfinite(lower), jnp.isfinite(upper)
    width = jnp.where(has_lo & has_up, upper - lower, 1.0)
    t = jnp.mod(jnp.where(has_lo, x - lower, 0.0) / width, 2.0)
    both = lower + width * (1.0 - jnp.abs(1.0 - t))
    only_lo = lower + jnp.abs(x - lower)
    only_up = upper - jnp.abs(upper - x)
    return jnp.where(has_lo & has_up, both,
                     jnp.where(has_lo, only_lo, jnp.where(has_up, only_up, x)))


@jax.jit
def tell(state: CMAState, x, values, params: CMAParams) -> CMAState:
    """Update the distribution from a told generation (values are minimised).

    Args:
        state: the state the generation was sampled from.
        x: (lambda, n) the raw candidates from `ask` (not the evaluation points).
        values: (lambda,) their values; NaN and inf rank last.
        params: the parameters.

    Returns:
        The new state: mean, evolution paths, C and sigma as in the tutorial's algorithm
        summary, the margin correction of integers and categorical blocks, and a fresh
        eigendecomposition of C when `params.eigen_gap` generations have passed.
    """
    n = params.dim
    values = jnp.where(jnp.isfinite(values), values, jnp.inf)
    order = jnp.argsort(values)
    x, values = x[order], values[order]
    w = params.weights
    cs, ds, cc, c1, cmu = params.c_sigma, params.d_sigma, params.c_c, params.c_1, params.c_mu

    y = (x - state.mean) / (state.sigma * state.margin)            # (lambda, n), y ~ N(0, C)
    y_w = jnp.maximum(w, 0.0) @ y
    mean = state.mean + state.sigma * state.margin * y_w          # c_m = 1
    # C^(-1/2) = B D^-1 B^T applied as products with B (O(lambda n^2), no n x n x n product).
    white_yw = state.basis @ ((y_w @ state.basis) / state.scales)
    path_sigma = ((1 - cs) * state.path_sigma
                  + jnp.sqrt(cs * (2 - cs) * params.mu_eff) * white_yw)
    generation = state.generation + 1
    norm_ps = jnp.linalg.norm(path_sigma)
    h_sigma = (norm_ps / jnp.sqrt(1 - (1 - cs) ** (2 * generation))
               < (1.4 + 2 / (n + 1)) * params.chi_n)
    path_c = (1 - cc) * state.path_c + h_sigma * jnp.sqrt(cc * (2 - cc) * params.mu_eff) * y_w
    # Negative weights act on directions normalised to the length of a typical step.
    mahalanobis2 = jnp.sum(((y @ state.basis) / state.scales) ** 2, axis=1)
    w_circ = jnp.where(w >= 0, w, w * n / jnp.maximum(mahalanobis2, _TINY))
    delta = (1 - h_sigma) * cc * (2 - cc)
    cov = ((1 + c1 * delta - c1 - cmu * jnp.sum(w)) * state.cov
           + c1 * jnp.outer(path_c, path_c) + cmu * (y.T * w_circ) @ y)
    cov = (cov + cov.T) / 2
    sigma = state.sigma * jnp.exp(cs / ds * (norm_ps / params.chi_n - 1))
    refresh = generation - state.eigen_generation >= params.eigen_gap
    basis, scales = jax.lax.cond(refresh, _decompose, lambda c: (state.basis, state.scales), cov)
    lattice = params.lattice
    mean, margin = jax.lax.cond(jnp.any(lattice.discrete | (lattice.group >= 0)), _margin,
                                lambda m, s, c, a, p: (m, a), mean, sigma, cov, state.margin, params)

    better = values[0] < state.best_f
    size = state.history.shape[0]
    return CMAState(
        mean=mean, sigma=sigma, cov=cov, basis=basis, scales=scales,
        eigen_generation=jnp.where(refresh, generation, state.eigen_generation),
        path_sigma=path_sigma,
        path_c=path_c, margin=margin, generation=generation,
        evaluations=state.evaluations + params.popsize,
        best_x=jnp.where(better, evaluation_points(x[0], params), state.best_x),
        best_f=jnp.where(better, values[0], state.best_f),
        history=state.history.at[state.generation % size].set(values[0]), values=values)


def _decompose(cov):
    """C = basis diag(scales^2) basis^T."""
    eigenvalues, basis = jnp.linalg.eigh(cov)
    return basis, jnp.sqrt(jnp.maximum(eigenvalues, _TINY))


def _margin(mean, sigma, cov, margin, params: CMAParams):
    """The margin correction (Hamano et al. 2022, section 4) of integers and categorical blocks.

    Args:
        mean: (n,) the updated mean.
        sigma: () the updated step size.
        cov: (n, n) the updated C.
        margin: (n,) the current diagonal of A.
        params: holds alpha and the lattice.

    Returns:
        (mean, margin), corrected where the Gaussian leaves less than alpha probability beyond
        a threshold of the interval holding an integer's mean, or for a categorical coordinate
        to exceed its block's leading coordinate.
    """
    lattice, alpha, n = params.lattice, params.alpha, mean.shape[0]
    std = jnp.maximum(sigma * jnp.sqrt(jnp.diag(cov)), _TINY)
    s = std * margin
    lower, upper = lattice.thresholds(mean)
    has_lo, has_up = jnp.isfinite(lower), jnp.isfinite(upper)
    # Probabilities below and above the interval, then each of the three raised to >= alpha and
    # renormalised (one ndtr and one quantile call on stacked arguments keep the compiled code small).
    p_lo, p_up = ndtr(jnp.stack([(lower - mean) / s, (mean - upper) / s]))
    p_mid = 1.0 - p_lo - p_up
    q_lo, q_up, q_mid = (jnp.maximum(p, alpha) for p in (p_lo, p_up, p_mid))
    total = q_lo + q_up + q_mid
    factor = (1.0 - total) / (total - 3 * alpha)
    r_lo = q_lo + factor * (q_lo - alpha)
    r_up = q_up + factor * (q_up - alpha)
    a, minus_b, minus_z = _ndtri(jnp.stack([r_lo, r_up, jnp.full(n, jnp.maximum(alpha, _TINY))]))
    z = -minus_z                                      # the (1 - alpha) quantile of N(0, 1)
    # One threshold (binary variables, the ends of an integer range): move the mean only.
    one_sided = jnp.where(has_lo, jnp.minimum(mean, lower + z * s), jnp.maximum(mean, upper - z * s))
    # Two thresholds: refit mean and A so that the marginal has exactly (r_lo, ., r_up).
    s_new = (upper - lower) / (-minus_b - a)          # a = (lower - m') / s', -minus_b = (upper - m') / s'
    two_sided_mean = lower - a * s_new
    needs = (p_lo < alpha) | (p_up < alpha) | (p_mid < alpha)
    two = lattice.discrete & has_lo & has_up & needs
    one = lattice.discrete & (has_lo ^ has_up) & (alpha > 0)
    mean = jnp.where(two, two_sided_mean, jnp.where(one, one_sided, mean))
    # Categorical blocks: P(x_j - x_lead > 0) >= alpha, the binary case on each contrast.
    lead = jnp.argmax(jnp.where(lattice.same_block(), mean[None, :], -jnp.inf), axis=1)
    scaled = (sigma * margin)[:, None] * cov * (sigma * margin)[None, :]
    var = jnp.diag(scaled)
    contrast_var = var + var[lead] - 2 * scaled[jnp.arange(n), lead]
    floor = mean[lead] - z * jnp.sqrt(jnp.maximum(contrast_var, 0.0))
    mean = jnp.where((lattice.group >= 0) & (alpha > 0), jnp.maximum(mean, floor), mean)
    return mean, jnp.where(two, s_new / std, margin)


def _ndtri(p):
    """The standard normal quantile, as sqrt(2) erfinv(2p - 1): within 1e-10 (relative) of
    `jax.scipy.special.ndtri` for p >= 1e-8, with smaller compiled code."""
    return jnp.sqrt(2.0) * erfinv(2.0 * p - 1.0)


@jax.jit
def marginal_probabilities(state: CMAState, params: CMAParams):
    """(below, above): the probabilities that a candidate leaves the integer interval holding the
    mean through its lower and through its upper threshold, each (n,); NaN where there is no
    such threshold (continuous and categorical coordinates, the ends of an integer range)."""
    s = jnp.maximum(state.sigma * jnp.sqrt(jnp.diag(state.cov)), _TINY) * state.margin
    lower, upper = params.lattice.thresholds(state.mean)
    below = jnp.where(jnp.isfinite(lower), ndtr((lower - state.mean) / s), jnp.nan)
    above = jnp.where(jnp.isfinite(upper), ndtr((state.mean - upper) / s), jnp.nan)
    return below, above


# ----------------------------------------------------------------------------------------------
# Termination


STOP_REASONS = ("tolfun", "tolx", "noeffectaxis", "noeffectcoord", "conditioncov")


@jax.jit
def stop_reasons(state: CMAState, params: CMAParams) -> dict:
    """Termination criteria that trigger an IPOP restart (Auger & Hansen 2005; Hansen 2009).

    - tolfun: after 10 + ceil(30 n / lambda) generations, the range of their best values and of
      the last generation's values is below `tol_fun`.
    - tolx: sigma * |p_c| and sigma * sqrt(C_ii) are below `tol_x` in every coordinate.
    - noeffectaxis: adding 0.1 sigma along a principal axis (one per generation, in turn) leaves
      the mean unchanged in floating point.
    - noeffectcoord: adding 0.2 standard deviations to a coordinate leaves it unchanged.
    - conditioncov: the condition number of C exceeds 1e14.

    Returns:
        A dict name -> bool array; `should_stop` is their disjunction.
    """
    recent = jnp.concatenate([state.history, state.values])
    spread = jnp.max(recent) - jnp.min(recent)
    flat = (state.generation >= state.history.shape[0]) & (spread < params.tol_fun)
    sd = state.sigma * jnp.sqrt(jnp.diag(state.cov))
    tolx = jnp.all(state.sigma * jnp.abs(state.path_c) < params.tol_x) & jnp.all(sd < params.tol_x)
    i = state.generation % params.dim
    axis = 0.1 * state.sigma * state.margin * state.scales[i] * state.basis[:, i]
    no_axis = jnp.all(state.mean + axis == state.mean)
    no_coord = jnp.any(state.mean + 0.2 * sd * state.margin == state.mean)
    condition = (jnp.max(state.scales) / jnp.min(state.scales)) ** 2 > MAX_CONDITION
    return {"tolfun": flat, "tolx": tolx, "noeffectaxis": no_axis, "noeffectcoord": no_coord,
            "conditioncov": condition}


@jax.jit
def should_stop(state: CMAState, params: CMAParams):
    """True when any criterion of `stop_reasons` holds (or the state holds NaN)."""
    reasons = stop_reasons(state, params)
    broken = ~(jnp.all(jnp.isfinite(state.mean)) & jnp.isfinite(state.sigma))
    return broken | jnp.any(jnp.stack(list(reasons.values())))


# ----------------------------------------------------------------------------------------------
# JAX objectives: the whole population in one vmapped call


@partial(jax.jit, static_argnames=("fun",))
def step(key, state: CMAState, params: CMAParams, fun: Callable):
    """One generation: ask, evaluate the population with one vmapped call of `fun`, tell.

    Args:
        key: PRNG key of the run; the generation samples with fold_in(key, state.generation), so
            one key serves a whole loop of steps.
        state, params: as for `ask`.
        fun: a JAX function (n,) -> () to minimise (static: jitted once per function object).

    Returns:
        The new state.
    """
    x, state = ask(jax.random.fold_in(key, state.generation), state, params)
    return tell(state, x, jax.vmap(fun)(evaluation_points(x, params)), params)


@partial(jax.jit, static_argnames=("fun",))
def run(key, state: CMAState, params: CMAParams, fun: Callable, max_evals, ftarget=-jnp.inf):
    """Generations in a `lax.while_loop` until a stop criterion, `ftarget` or `max_evals`.

    Args:
        key: PRNG key (generation g samples with fold_in(key, g), as `step`).
        state, params: the start.
        fun: a JAX function (n,) -> () (static).
        max_evals: stop once this many evaluations are reached (whole generations).
        ftarget: stop once a value <= ftarget is found.

    Returns:
        The final state.
    """

    def going(carry):
        _, s = carry
        return (~should_stop(s, params)) & (s.evaluations < max_evals) & (s.best_f > ftarget)

    def body(carry):
        k, s = carry
        return k, step(k, s, params, fun)

    return jax.lax.while_loop(going, body, (key, state))[1]


@dataclasses.dataclass(frozen=True)
class CMAResult:
    """Outcome of `minimize_jax`.

    Attributes:
        x: (n,) the best evaluation point found.
        fun: its value.
        evaluations: values computed in all runs.
        generations: generations in all runs.
        restarts: IPOP restarts done.
        stop: the criteria that ended the last run ("ftarget", "max_evals" or `STOP_REASONS`).
        state: the last run's final `CMAState`.
    """

    x: np.ndarray
    fun: float
    evaluations: int
    generations: int
    restarts: int
    stop: tuple
    state: CMAState


def minimize_jax(fun: Callable, x0, sigma0: float, *, seed: int = 0, popsize: int | None = None,
                 max_evals: int | None = None, ftarget: float = -np.inf, restarts: int = 0,
                 lower=None, upper=None, integer: Sequence[bool] | None = None,
                 alpha: float | None = None, tol_fun: float = 1e-12,
                 tol_x: float = 1e-11) -> CMAResult:
    """Minimise a JAX function with (IPOP-)CMA-ES, one vmapped call per generation.

    Each run is one jitted `lax.while_loop` (`run`), compiled once per (function, population
    size, dimension); a restart doubles the population and starts from a uniform random point of
    the box when all bounds are finite, else from x0.

    Args:
        fun: a JAX function (n,) -> () to minimise; NaN or inf values rank last.
        x0: (n,) the initial mean.
        sigma0: the initial step size.
        seed: seeds the sampling.
        popsize: the first run's lambda (default 4 + floor(3 ln n)).
        max_evals: evaluation budget over all runs (default 1e3 n^2).
        ftarget: stop as soon as a value <= ftarget is found.
        restarts: IPOP restarts allowed after the first run.
        lower, upper: (n,) bounds (mirrored; see the module docstring), or None.
        integer: (n,) bool, coordinates that take integer values (margin-corrected).
        alpha: the margin (default 1 / (n lambda)).
        tol_fun, tol_x: termination tolerances (`stop_reasons`).

    Returns:
        A `CMAResult`.
    """
    x0 = np.asarray(x0, np.float64).reshape(-1)
    n = x0.size
    max_evals = int(1000 * n * n if max_evals is None else max_evals)
    if max_evals < 1:
        raise SpaceError(f"max_evals={max_evals!r} must be at least 1")
    if isinstance(restarts, bool) or int(restarts) != restarts or restarts < 0:
        raise SpaceError(f"restarts={restarts!r} must be a non-negative integer")
    lattice = None if integer is None else Lattice.integers(integer, lower, upper)
    if integer is not None and lattice.discrete.shape != (n,):
        raise SpaceError(f"integer has {lattice.discrete.shape[0]} entries, x0 has {n}")
    box_lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, float), (n,))
    box_hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, float), (n,))
    bounded = bool(np.isfinite(box_lo).all() and np.isfinite(box_hi).all())
    if integer is not None:  # integers are clipped to their range by the lattice, not mirrored
        mask = np.asarray(lattice.discrete)
        lower = None if lower is None else np.where(mask, -np.inf, np.broadcast_to(lower, (n,)))
        upper = None if upper is None else np.where(mask, np.inf, np.broadcast_to(upper, (n,)))
    lam = default_popsize(n) if popsize is None else popsize
    key = jax.random.key(seed)
    best_x, best_f, evaluations, generations = x0, np.inf, 0, 0
    for r in range(int(restarts) + 1):
        params = make_params(n, lam * 2 ** r, lower=lower, upper=upper, lattice=lattice,
                             alpha=alpha, tol_fun=tol_fun, tol_x=tol_x)
        key, k_mean, k_run = jax.random.split(key, 3)
        mean = x0 if r == 0 or not bounded else (
            box_lo + (box_hi - box_lo) * np.asarray(jax.random.uniform(k_mean, (n,))))
        state = run(k_run, init(mean, sigma0, params), params, fun, max_evals - evaluations, ftarget)
        evaluations += int(state.evaluations)
        generations += int(state.generation)
        if float(state.best_f) < best_f:
            best_x, best_f = np.asarray(state.best_x), float(state.best_f)
        stop = tuple(k for k, v in stop_reasons(state, params).items() if bool(v))
        if best_f <= ftarget:
            stop = ("ftarget",)
        elif evaluations >= max_evals:
            stop = ("max_evals",) + stop
        if best_f <= ftarget or evaluations >= max_evals:
            break
    return CMAResult(best_x, best_f, evaluations, generations, r, stop, state)


# ----------------------------------------------------------------------------------------------
# The bo strategy over a Space


def _frozen(a):
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclasses.dataclass(frozen=True)
class CMAESState:
    """State of the `CMAES` strategy: the core state and the current generation's members.

    Attributes:
        es: the core `CMAState`.
        params: its `CMAParams` (the population size grows with IPOP restarts).
        samples: (k, dim) raw candidates drawn for this generation (k grows by lambda when asks
            run past the drawn ones).
        points: (k, dim) their unit-cube points, as the `Optimizer` tells them back.
        asked: (k,) bool, handed out.
        told: (k,) bool, value received.
        values: (k,) the told values (NaN where not told).
        restarts: IPOP restarts so far.
    """

    es: CMAState
    params: CMAParams
    samples: np.ndarray
    points: np.ndarray
    asked: np.ndarray
    told: np.ndarray
    values: np.ndarray
    restarts: int = 0


@dataclasses.dataclass(frozen=True)
class CMAES:
    """CMA-ES with margin and IPOP restarts in the unit cube of a `Space` (``method="cmaes"``).

    Reals are mirrored into their range, integers and categoricals rounded with the margin
    correction (see the module docstring). A generation is buffered: `ask` hands out its
    members, `tell` collects their values and updates once `popsize` of them are told; asks
    beyond the generation draw more members from the same distribution, and only the first
    `popsize` told (in sampling order) enter the update.

    Args:
        space: the space.
        sigma0: initial step size in the unit cube.
        popsize: lambda of the first run (default 4 + floor(3 ln dim)).
        restarts: IPOP restarts allowed (each doubles lambda; the mean restarts uniformly at
            random); after the last one the search continues where it stopped.
        alpha: the margin (default 1 / (dim lambda)).
        tol_fun, tol_x: termination tolerances that trigger a restart (`stop_reasons`).
        seed: seeds the restart means (sampling uses the keys `ask` receives).
    """

    space: Space
    sigma0: float = 0.25
    popsize: int | None = None
    restarts: int = 9
    alpha: float | None = None
    tol_fun: float = 1e-12
    tol_x: float = 1e-11
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.space, Space):
            raise SpaceError(f"CMAES needs a bo.Space, got {type(self.space).__name__}")
        if not (isinstance(self.sigma0, (int, float)) and math.isfinite(self.sigma0) and self.sigma0 > 0):
            raise SpaceError(f"sigma0={self.sigma0!r} must be a positive number")
        if isinstance(self.restarts, bool) or not isinstance(self.restarts, int) or self.restarts < 0:
            raise SpaceError(f"restarts={self.restarts!r} must be a non-negative integer")
        self._params(self._first_popsize())  # validates the rest

    def _first_popsize(self) -> int:
        return default_popsize(self.space.dim) if self.popsize is None else self.popsize

    def _params(self, popsize: int) -> CMAParams:
        dim = self.space.dim
        lattice = Lattice.from_space(self.space)
        continuous = ~np.asarray(lattice.discrete)
        return make_params(dim, popsize, lower=np.where(continuous, 0.0, -np.inf),
                           upper=np.where(continuous, 1.0, np.inf), lattice=lattice,
                           alpha=self.alpha, tol_fun=self.tol_fun, tol_x=self.tol_x)

    def init(self, seed: int = 0) -> CMAESState:
        params = self._params(self._first_popsize())
        return self._fresh(init(np.full(self.space.dim, 0.5), self.sigma0, params), params, 0)

    def _fresh(self, es, params, restarts) -> CMAESState:
        d = self.space.dim
        empty = _frozen(np.zeros((0, d)))
        return CMAESState(es, params, empty, empty, _frozen(np.zeros(0, bool)),
                          _frozen(np.zeros(0, bool)), _frozen(np.zeros(0)), restarts)

    def ask(self, key, state: CMAESState, n: int = 1, pending=None):
        """The generation's next n members, shape (n, dim) in the unit cube (pending is unused)."""
        samples, points = state.samples, state.points
        missing = n - int((~state.asked).sum())
        for i in range(max(0, -(-missing // state.params.popsize))):
            x, u = _sample(jax.random.fold_in(key, i), state.es, state.params)
            samples = np.vstack([samples, np.asarray(x)])
            points = np.vstack([points, self.space.encode(self.space.decode(np.asarray(u)))])
        k = len(samples) - len(state.samples)
        asked = np.concatenate([state.asked, np.zeros(k, bool)])
        chosen = np.flatnonzero(~asked)[:n]
        asked[chosen] = True
        state = dataclasses.replace(
            state, samples=_frozen(samples), points=_frozen(points), asked=_frozen(asked),
            told=_frozen(np.concatenate([state.told, np.zeros(k, bool)])),
            values=_frozen(np.concatenate([state.values, np.full(k, np.nan)])))
        return points[chosen].copy(), state

    def tell(self, state: CMAESState, U, values) -> CMAESState:
        """Record values of handed-out members; update once popsize of them are told."""
        U = np.asarray(U, np.float64).reshape(-1, self.space.dim)
        values = np.asarray(values, np.float64).reshape(-1)
        told, vals = state.told.copy(), state.values.copy()
        for u, v in zip(U, values):
            waiting = np.flatnonzero(state.asked & ~told)
            hits = waiting[np.max(np.abs(state.points[waiting] - u), axis=1) <= 1e-9]
            if hits.size:
                told[hits[0]], vals[hits[0]] = True, v
        state = dataclasses.replace(state, told=_frozen(told), values=_frozen(vals))
        lam = state.params.popsize
        if told.sum() < lam:
            return state
        members = np.flatnonzero(told)[:lam]
        es, stop = _update(state.es, jnp.asarray(state.samples[members]), jnp.asarray(vals[members]),
                           state.params)
        params, restarts = state.params, state.restarts
        broken = not (np.isfinite(es.mean).all() and np.isfinite(es.sigma))
        if bool(stop) and (restarts < self.restarts or broken):
            # IPOP: twice the population from a random mean (a broken state restarts regardless).
            key = jax.random.fold_in(jax.random.key(self.seed), restarts + 1)
            if restarts < self.restarts:
                restarts, params = restarts + 1, self._params(2 * lam)
            es = init(np.asarray(jax.random.uniform(key, (self.space.dim,))), self.sigma0, params)
        return self._fresh(es, params, restarts)


@jax.jit
def _sample(key, es: CMAState, params: CMAParams):
    """`ask` and `evaluation_points` in one compiled call (the strategy's per-generation path)."""
    x, _ = ask(key, es, params)
    return x, evaluation_points(x, params)


@jax.jit
def _update(es: CMAState, x, values, params: CMAParams):
    """`tell` and `should_stop` in one compiled call."""
    es = tell(es, x, values, params)
    return es, should_stop(es, params)
