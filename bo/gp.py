"""Gaussian-process regression in JAX, float64.

Kernels: Matérn 1/2, 3/2, 5/2 and RBF with ARD length scales and an output scale, plus a learned
Gaussian noise variance with a floor. Inputs live in the unit cube; targets are standardised
inside `fit`. Hyperparameters are the MAP under dimension-scaled log-normal priors on the length
scales (Hvarfner, Hellsten & Nardi 2024, "Vanilla Bayesian optimization performs great in high
dimensions") and a horseshoe prior on the noise variance (Spearmint's; Snoek, Larochelle & Adams
2012), found by L-BFGS-B from the best of many screened starts, on a jitted closed-form value
and gradient.

Observations may carry their own noise variances (`obs_noise`, e.g. the squared standard error
of a mean over seeds); they are added to the diagonal on top of the learned homoscedastic noise,
in the hyperparameter fit and in the posterior. Without them (None) no extra work is done.

Training data are padded to a capacity (a power of two) and masked: a padded row has zero
covariance with everything, unit variance and a zero target, so it adds exactly nothing to the
likelihood or the posterior, and every compiled function is reused until the capacity fills.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
import threadpoolctl

jax.config.update("jax_enable_x64", True)

KERNELS = ("matern12", "matern32", "matern52", "rbf")
NOISE_FLOOR = 1e-6
MIN_CAPACITY = 16

# Bounds of the log-hyperparameters (length scales, output scale, noise variance).
LOG_LENGTHSCALE_BOUNDS = (np.log(1e-2), np.log(1e3))
LOG_OUTPUTSCALE_BOUNDS = (np.log(1e-2), np.log(1e2))
LOG_NOISE_BOUNDS = (np.log(NOISE_FLOOR), np.log(2.0))


@functools.lru_cache(maxsize=1)
def _blas_controller():
    return threadpoolctl.ThreadpoolController()


@contextlib.contextmanager
def single_threaded_blas():
    """Run LAPACK (Cholesky) calls on one thread each.

    XLA's CPU runtime already keeps every core busy; an OpenBLAS thread pool on top of it
    oversubscribes them, which made a 512-point Cholesky seven times slower on a loaded
    2-core machine. Costs about 10 microseconds.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


class GPParams(NamedTuple):
    """Log-hyperparameters: length scales (d,), output-scale variance (), noise variance ()."""

    log_lengthscale: jax.Array
    log_outputscale: jax.Array
    log_noise: jax.Array


@partial(jax.tree_util.register_dataclass,
         data_fields=["X", "y", "mask", "params", "L_inv", "alpha", "y_mean", "y_std", "obs_noise"],
         meta_fields=["kernel"])
@dataclasses.dataclass(frozen=True)
class GP:
    """A GP conditioned on (padded) data: everything a prediction needs.

    Attributes:
        X: (capacity, d) training inputs in the unit cube; padded rows are arbitrary.
        y: (capacity,) standardised targets, 0 on padded rows.
        mask: (capacity,) 1.0 for real rows, 0.0 for padding.
        params: the hyperparameters.
        L_inv: (capacity, capacity) inverse of the lower Cholesky factor L of the masked K + noise,
            so a posterior variance is one matrix product rather than a triangular solve.
        alpha: (capacity,) (K + noise)^-1 y.
        y_mean, y_std: the standardisation, so `predict` answers in the caller's units.
        kernel: kernel name, one of `KERNELS`.
        obs_noise: (capacity,) per-observation noise variances in standardised units (0 on padded
            rows), added to the learned noise; None when the data carry none.
    """

    X: jax.Array
    y: jax.Array
    mask: jax.Array
    params: GPParams
    L_inv: jax.Array
    alpha: jax.Array
    y_mean: jax.Array
    y_std: jax.Array
    kernel: str = "matern52"
    obs_noise: jax.Array | None = None


def capacity(n: int) -> int:
    """The padded size for n rows: the next power of two, at least MIN_CAPACITY."""
    return max(MIN_CAPACITY, 1 << max(0, int(n) - 1).bit_length())


def pad(X, y, cap: int | None = None):
    """Pad (n, d) inputs and (n,) targets to `cap` rows; returns (X, y, mask) as numpy float64."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n = len(X)
    cap = capacity(n) if cap is None else cap
    Xp = np.full((cap, X.shape[1]), 0.5)
    yp = np.zeros(cap)
    mask = np.zeros(cap)
    Xp[:n], yp[:n], mask[:n] = X, y, 1.0
    return Xp, yp, mask


# ----------------------------------------------------------------------------------------------
# Kernels


def _safe_sqrt(r2):
    positive = r2 > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)


def kernel_fn(kernel: str, r2):
    """Unit-variance stationary kernel as a function of the squared scaled distance."""
    if kernel == "rbf":
        return jnp.exp(-0.5 * r2)
    r = _safe_sqrt(r2)
    if kernel == "matern12":
        return jnp.exp(-r)
    if kernel == "matern32":
        s = np.sqrt(3.0) * r
        return (1.0 + s) * jnp.exp(-s)
    if kernel == "matern52":
        s = np.sqrt(5.0) * r
        return (1.0 + s + s * s / 3.0) * jnp.exp(-s)
    raise ValueError(f"kernel={kernel!r} is not one of {KERNELS}")


def cross_covariance(kernel: str, params: GPParams, X1, X2):
    """k(X1, X2), shape (n1, n2), for inputs (n1, d) and (n2, d)."""
    ls = jnp.exp(params.log_lengthscale)
    A, B = X1 / ls, X2 / ls
    r2 = (jnp.sum(A * A, -1)[:, None] + jnp.sum(B * B, -1)[None, :] - 2.0 * A @ B.T)
    return jnp.exp(params.log_outputscale) * kernel_fn(kernel, jnp.maximum(r2, 0.0))


def _noise_diagonal(params, mask, obs_noise):
    """Learned noise (plus per-observation noise, if any) on real rows, 1 on padded rows."""
    noise = jnp.exp(params.log_noise) if obs_noise is None else jnp.exp(params.log_noise) + obs_noise
    return mask * noise + (1.0 - mask)


def _masked_gram(kernel, params, X, mask, obs_noise=None):
    K = cross_covariance(kernel, params, X, X) * (mask[:, None] * mask[None, :])
    return K + jnp.diag(_noise_diagonal(params, mask, obs_noise))


# ----------------------------------------------------------------------------------------------
# Likelihood and priors


def log_marginal_likelihood(params: GPParams, X, y, mask, kernel: str = "matern52", obs_noise=None):
    """log p(y | X, params) of the masked rows (padding contributes exactly zero).

    obs_noise: None or (capacity,) per-observation noise variances added to the learned noise.
    """
    K = _masked_gram(kernel, params, X, mask, obs_noise)
    L = jnp.linalg.cholesky(K)
    alpha = jax.scipy.linalg.cho_solve((L, True), y * mask)
    n = jnp.sum(mask)
    return (-0.5 * jnp.dot(y * mask, alpha) - jnp.sum(jnp.log(jnp.diag(L)))
            - 0.5 * n * jnp.log(2.0 * jnp.pi))


def prior_location(d: int) -> GPParams:
    """Centre of the hyperprior: length scale sqrt(2) + log(d)/2 in log space (Hvarfner et al.);
    the noise entry, exp(-4), only centres the random starts of the fit (see `log_noise_prior`)."""
    return GPParams(jnp.full(d, np.sqrt(2.0) + 0.5 * np.log(d)), jnp.array(0.0), jnp.array(-4.0))


_PRIOR_SCALE = GPParams(np.sqrt(3.0), 1.0, 1.0)
NOISE_PRIOR_SCALE = 0.1


def log_noise_prior(log_noise):
    """Horseshoe prior on the noise variance s of standardised data (Carvalho, Polson & Scott
    2010), scale 0.1, in the closed-form approximation log p(s) = log log(1 + 3 (0.1 / s)^2) + c
    used by Spearmint (Snoek, Larochelle & Adams 2012).

    Its density grows without bound as s -> 0, so a deterministic objective may drive the noise
    to the floor, and falls like s^-2 above 0.1, so real noise is still learned. A log-normal
    prior (BoTorch's LogNormal(-4, 1)) instead charged noise-free data some 30 nats for a
    variance of 1e-6 against 2e-4, which bought it a noise level that hid every improvement below
    ~1 % of the targets' spread: on Hartmann6 the search stalled within 1e-3 of an optimum.
    """
    return jnp.log(jnp.log1p(3.0 * (NOISE_PRIOR_SCALE * jnp.exp(-log_noise)) ** 2))


def log_prior(params: GPParams):
    """Log priors on length scales and output-scale variance (log-normal) and the noise variance
    (horseshoe, `log_noise_prior`).

    The log-normal density of each parameter itself (not of its logarithm, which would move the
    mode from exp(mu - sigma^2) to exp(mu) and favour needlessly long length scales), with
    locations from `prior_location` and scales sqrt(3) and 1.
    """
    loc = prior_location(params.log_lengthscale.shape[-1])
    total = 0.0
    for p, m, s in list(zip(params, loc, _PRIOR_SCALE))[:2]:
        total = total + jnp.sum(-0.5 * ((p - m) / s) ** 2 - p)
    return total + log_noise_prior(params.log_noise)


def prior_mode(d: int) -> GPParams:
    """The log-parameters at the prior's mode, exp(mu - sigma^2): the default first start."""
    return GPParams(*(m - s ** 2 for m, s in zip(prior_location(d), _PRIOR_SCALE)))


def _bounds(d: int, noise: bool):
    lo = np.r_[np.full(d, LOG_LENGTHSCALE_BOUNDS[0]), LOG_OUTPUTSCALE_BOUNDS[0], LOG_NOISE_BOUNDS[0]]
    hi = np.r_[np.full(d, LOG_LENGTHSCALE_BOUNDS[1]), LOG_OUTPUTSCALE_BOUNDS[1], LOG_NOISE_BOUNDS[1]]
    if not noise:
        hi[-1] = lo[-1]
    return lo, hi


def _unflatten(theta):
    return GPParams(theta[..., :-2], theta[..., -2], theta[..., -1])


def _flatten(params: GPParams):
    return jnp.concatenate([params.log_lengthscale, params.log_outputscale[None], params.log_noise[None]])


def _dk_dr2(kernel: str, r2, outputscale):
    """Derivative of the scaled kernel with respect to the squared scaled distance."""
    if kernel == "rbf":
        return -0.5 * outputscale * jnp.exp(-0.5 * r2)
    r = _safe_sqrt(r2)
    if kernel == "matern12":
        positive = r2 > 0
        return jnp.where(positive, -0.5 * outputscale * jnp.exp(-r) / jnp.where(positive, r, 1.0), 0.0)
    if kernel == "matern32":
        return -1.5 * outputscale * jnp.exp(-np.sqrt(3.0) * r)
    s = np.sqrt(5.0) * r
    return -(5.0 / 6.0) * outputscale * (1.0 + s) * jnp.exp(-s)


def _log_posterior_and_grad(theta, X, y, mask, kernel: str, obs_noise=None):
    """log p(y | X, theta) + log prior(theta) and its gradient, in closed form.

    d log p / d theta = 1/2 tr((alpha alpha^T - K^-1) dK/d theta) (Rasmussen & Williams 2006,
    eq. 5.9); one Cholesky and one triangular inverse instead of differentiating through them.
    """
    params = _unflatten(theta)
    ls = jnp.exp(params.log_lengthscale)
    outputscale = jnp.exp(params.log_outputscale)
    noise = jnp.exp(params.log_noise)
    diff2 = ((X[:, None, :] - X[None, :, :]) / ls) ** 2  # (n, n, d)
    r2 = jnp.sum(diff2, axis=-1)
    pair = mask[:, None] * mask[None, :]
    K_f = outputscale * kernel_fn(kernel, r2) * pair
    K = K_f + jnp.diag(_noise_diagonal(params, mask, obs_noise))
    L = jnp.linalg.cholesky(K)
    L_inv = jax.scipy.linalg.solve_triangular(L, jnp.eye(len(X)), lower=True)
    K_inv = L_inv.T @ L_inv
    ym = y * mask
    alpha = K_inv @ ym
    n = jnp.sum(mask)
    value = -0.5 * jnp.dot(ym, alpha) - jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * n * jnp.log(2.0 * jnp.pi)
    W = (jnp.outer(alpha, alpha) - K_inv) * pair  # padded rows carry no signal
    dK_dr2 = _dk_dr2(kernel, r2, outputscale) * pair
    grad_ls = 0.5 * jnp.einsum("ij,ij,ijd->d", W, dK_dr2, -2.0 * diff2)
    grad_scale = 0.5 * jnp.sum(W * K_f)
    grad_noise = 0.5 * noise * jnp.sum(jnp.diag(W) * mask)
    grad = jnp.concatenate([grad_ls, grad_scale[None], grad_noise[None]])
    prior_value, prior_grad = jax.value_and_grad(lambda t: log_prior(_unflatten(t)))(theta)
    return value + prior_value, grad + prior_grad


def _finite_or_big(values, grads):
    bad = ~jnp.isfinite(values) | ~jnp.all(jnp.isfinite(grads), axis=-1)
    return jnp.where(bad, 1e10, values), jnp.where(bad[..., None], 0.0, grads)


@partial(jax.jit, static_argnames="kernel")
def _neg_log_posterior_batch(thetas, X, y, mask, kernel, obs_noise=None):
    """-(log lik + log prior) and its gradient for a batch of starts; non-finite -> 1e10, 0."""
    values, grads = jax.vmap(_log_posterior_and_grad, (0, None, None, None, None, None))(
        thetas, X, y, mask, kernel, obs_noise)
    return _finite_or_big(-values, -grads)


@partial(jax.jit, static_argnames="kernel")
def _neg_log_posterior_values(thetas, X, y, mask, kernel, obs_noise=None):
    """-(log lik + log prior) for a batch of candidate starts (no gradient: cheap screening)."""
    def one(theta):
        p = _unflatten(theta)
        return -(log_marginal_likelihood(p, X, y, mask, kernel, obs_noise) + log_prior(p))

    values = jax.vmap(one)(thetas)
    return jnp.where(jnp.isfinite(values), values, 1e10)


def fit_params(X, y, mask, kernel: str = "matern52", noise: bool = True, init: GPParams | None = None,
               restarts: int = 16, refine: int = 2, seed: int = 0, maxiter: int = 200,
               ftol: float = 1e-4, obs_noise=None) -> GPParams:
    """MAP hyperparameters: screen many starts by their log posterior, refine the best by L-BFGS-B.

    The objective is the log posterior per observation, so its curvature is about one whatever
    the data size and L-BFGS-B's first (unit-curvature) step is about the right length; ftol is
    relative to that, 1e-4 of a nat per observation being far below what moves a proposal.

    Args:
        X: (capacity, d) inputs; y: (capacity,) standardised targets; mask: (capacity,).
        kernel: one of `KERNELS`.
        noise: learn the noise variance (False pins it at the floor).
        init: a previous solution to start from instead of the prior's mode.
        restarts: random starts drawn from the prior and screened, besides that first start.
        refine: how many of the best screened starts L-BFGS-B refines, one after another.
        seed: seeds the random starts.
        maxiter: L-BFGS-B iteration cap.
        ftol: L-BFGS-B's relative change of the objective at which it stops.
        obs_noise: None or (capacity,) per-observation noise variances (standardised units, 0 on
            padded rows), held fixed on top of the learned noise.

    Returns:
        The best GPParams found.
    """
    d = X.shape[1]
    lo, hi = _bounds(d, noise)
    centre = np.asarray(_flatten(prior_location(d)))
    first = prior_mode(d) if init is None else init
    rng = np.random.default_rng(seed)
    width = np.r_[np.full(d, _PRIOR_SCALE[0]), _PRIOR_SCALE[1], _PRIOR_SCALE[2]]
    starts = [np.asarray(_flatten(first))] + [centre + width * rng.standard_normal(d + 2)
                                              for _ in range(restarts)]
    thetas0 = np.clip(np.stack(starts), lo, hi)
    Xj, yj, mj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(mask)
    nj = None if obs_noise is None else jnp.asarray(obs_noise, jnp.float64)
    n_obs = max(float(np.sum(mask)), 1.0)
    if len(thetas0) > refine:
        screened = np.asarray(_neg_log_posterior_values(jnp.asarray(thetas0), Xj, yj, mj, kernel, nj))
        thetas0 = thetas0[np.argsort(screened)[:refine]]

    def objective(theta):
        # one transfer of both outputs, indexed on the host (indexing device arrays dispatches)
        value, grad = jax.device_get(_neg_log_posterior_batch(theta[None], Xj, yj, mj, kernel, nj))
        return float(value[0]) / n_obs, grad[0].astype(np.float64) / n_obs

    best_theta, best_value = thetas0[0], np.inf
    for theta0 in thetas0:
        res = scipy.optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                      bounds=list(zip(lo, hi)),
                                      options={"maxiter": maxiter, "ftol": ftol, "gtol": 1e-3})
        if res.fun < best_value:  # L-BFGS-B only accepts decreasing steps: res.fun <= f(theta0)
            best_theta, best_value = res.x, res.fun
    return _unflatten(jnp.asarray(best_theta))


# ----------------------------------------------------------------------------------------------
# Posterior


def _cholesky_with_jitter(K):
    """Cholesky of K, adding jitter (1e-8 ... 1e-2 of the mean diagonal) until it succeeds."""
    scale = jnp.mean(jnp.diag(K))
    eye = jnp.eye(K.shape[0])

    def failed(carry):
        L, i = carry
        return (~jnp.all(jnp.isfinite(L))) & (i < 4)

    def retry(carry):
        _, i = carry
        jitter = scale * 10.0 ** (2.0 * i - 10.0)
        return jnp.linalg.cholesky(K + jitter * eye), i + 1

    L, _ = jax.lax.while_loop(failed, retry, (jnp.linalg.cholesky(K), 1))
    return L


@partial(jax.jit, static_argnames="kernel")
def condition(params: GPParams, X, y, mask, y_mean, y_std, kernel: str = "matern52", obs_noise=None) -> GP:
    """Condition the GP on padded, standardised data with fixed hyperparameters.

    obs_noise: None or (capacity,) per-observation noise variances in standardised units.
    """
    K = _masked_gram(kernel, params, X, mask, obs_noise)
    L = _cholesky_with_jitter(K)
    L_inv = jax.scipy.linalg.solve_triangular(L, jnp.eye(len(X)), lower=True)
    alpha = L_inv.T @ (L_inv @ (y * mask))
    return GP(X, y * mask, mask, params, L_inv, alpha, y_mean, y_std, kernel, obs_noise)


def add_fantasies(gp: GP, U, fantasy: str = "believer") -> GP:
    """The GP reconditioned, hyperparameters fixed, with points U (k, d) in its first k free padded
    rows and fantasised standardised targets: their posterior mean ("believer", Kriging believer)
    or the lowest target so far ("liar", constant liar at the worst value; Ginsbourger, Le Riche
    & Carraro 2010). Pending points and earlier members of a batch enter this way."""
    U = np.asarray(U, np.float64).reshape(-1, gp.X.shape[1])
    X, y, mask = np.array(gp.X), np.array(gp.y), np.array(gp.mask)
    start = int(mask.sum())
    if start + len(U) > len(mask):
        raise ValueError(f"{len(U)} fantasies do not fit: {len(mask) - start} free rows of {len(mask)}")
    if fantasy == "liar":
        target = np.full(len(U), np.min(y[mask > 0]))
    else:
        target = np.asarray(posterior(gp, jnp.asarray(U))[0])
    rows = slice(start, start + len(U))
    X[rows], y[rows], mask[rows] = U, target, 1.0
    return condition(gp.params, jnp.asarray(X), jnp.asarray(y), jnp.asarray(mask), gp.y_mean, gp.y_std,
                     kernel=gp.kernel, obs_noise=gp.obs_noise)


def power_transform(y):
    """Yeo-Johnson transform of observed targets, to be standardised and modelled instead of them.

    The targets are standardised, then mapped by Yeo & Johnson's (2000) power transform with the
    exponent lambda that makes them most normal (maximum likelihood, as `scipy.stats.yeojohnson`), as
    HEBO does (Cowen-Rivers et al. 2022, "HEBO: pushing the limits of sample-efficient
    hyper-parameter optimisation", JAIR 74). A stationary GP fits heavy-tailed targets badly: on
    Rosenbrock a few values 1e4 times the rest set the output scale, and the small differences
    near the optimum, the ones that matter, drown. The transform is monotone, so the best target
    stays the best.

    Unlike HEBO, lambda is held in [1, 2] (the constrained maximum: the likelihood is concave in
    lambda). Targets are maximised, and lambda < 1 would squash the best ones, the tail BO needs
    resolved, to make them look normal; lambda = 1 is the identity. At lambda = 2 the poor side
    (below the mean) becomes -log(1 - v), a logarithmic compression of poor outliers (Rosenbrock's
    far corners), and the good side a quadratic. Beyond 2 the poor side saturates towards a bound
    and the good side is stretched faster than quadratically: on Levy-20 the unconstrained
    lambda reached 3-4 and gp's median regret after 200 evaluations tripled (18.3 against 6.5
    untransformed, 10 seeds); held at 2 it was 6.0 (`benchmarks/results/suite_power_transform.md`).

    Args:
        y: (n,) finite targets.

    Returns:
        (z, slope): the transformed targets and dz/dy at each target, by which known noise
        standard deviations are scaled (delta method). Fewer than 3 distinct targets, or a fit
        that is not finite, give the identity (z = y, slope 1).
    """
    y = np.asarray(y, np.float64)
    identity = y.copy(), np.ones_like(y)
    scale = float(np.std(y))
    if len(np.unique(y)) < 3 or not scale > 0:
        return identity
    v = (y - y.mean()) / scale
    with np.errstate(all="ignore"):
        lam = _yeo_johnson_lambda(v)
        z = _yeo_johnson(v, lam)
        slope = np.where(v >= 0, (1.0 + np.abs(v)) ** (lam - 1.0), (1.0 + np.abs(v)) ** (1.0 - lam)) / scale
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(slope)) and np.all(slope > 0)):
        return identity
    return z, slope


def _yeo_johnson(v, lam: float):
    """Yeo & Johnson's transform of v at an exponent lam in [1, 2] (through expm1 and log1p, exact
    at lam = 2 and accurate near it)."""
    log_a = np.log1p(np.abs(v))
    down = log_a if lam == 2.0 else np.expm1((2.0 - lam) * log_a) / (2.0 - lam)
    return np.where(v >= 0, np.expm1(lam * log_a) / lam, -down)


def _yeo_johnson_lambda(v) -> float:
    """The maximum-likelihood exponent in [1, 2]: the profile log-likelihood of Yeo & Johnson
    (2000), concave in lambda, maximised by bounded Brent. (`scipy.stats.yeojohnson_normmax`
    finds the unconstrained maximum, 15 times slower: 10 ms at every ask.)"""
    jacobian = float(np.sum(np.sign(v) * np.log1p(np.abs(v))))

    def negative_llf(lam):
        return 0.5 * len(v) * np.log(np.var(_yeo_johnson(v, lam))) - (lam - 1.0) * jacobian

    inner = scipy.optimize.minimize_scalar(negative_llf, bounds=(1.0, 2.0), method="bounded",
                                           options={"xatol": 1e-7}).x
    return min((1.0, float(inner), 2.0), key=negative_llf)  # Brent stops just short of a bound


def standardize(y, mask):
    """Mean and standard deviation (ddof 0, floored) of the masked entries."""
    y = np.asarray(y, np.float64)
    mask = np.asarray(mask, np.float64)
    n = max(mask.sum(), 1.0)
    mean = float((y * mask).sum() / n)
    std = float(np.sqrt(((y - mean) ** 2 * mask).sum() / n))
    return mean, (std if std > 1e-12 else 1.0)


@jax.jit
def posterior(gp: GP, Xs):
    """Latent posterior mean and variance in standardised units, for inputs (m, d)."""
    Ks = cross_covariance(gp.kernel, gp.params, Xs, gp.X) * gp.mask[None, :]
    mean = Ks @ gp.alpha
    v = Ks @ gp.L_inv.T
    var = jnp.exp(gp.params.log_outputscale) - jnp.sum(v * v, axis=-1)
    return mean, jnp.maximum(var, 1e-12 * jnp.exp(gp.params.log_outputscale))


def _incumbent_values(gp: GP):
    """(capacity,) the values the incumbent is chosen from: the targets, or with per-observation
    noise the posterior means at the observed points; -inf on padded rows."""
    if gp.obs_noise is None:
        values = gp.y
    else:
        values = gp.y - _noise_diagonal(gp.params, gp.mask, gp.obs_noise) * gp.alpha
    return jnp.where(gp.mask > 0, values, -jnp.inf)


def incumbent(gp: GP):
    """The best (largest) standardised target so far, the reference of improvement utilities.

    Without per-observation noise: the largest observed target. With it, a noisy observation
    is not a reliable best, so the largest posterior mean at the observed points, which is
    y - (noise variance) (K + noise)^-1 y on each row.
    """
    return jnp.max(_incumbent_values(gp))


def incumbent_point(gp: GP):
    """(d,) the training input whose value `incumbent` reports (the first one on ties)."""
    return gp.X[jnp.argmax(_incumbent_values(gp))]


@jax.jit
def predict(gp: GP, Xs):
    """Posterior mean and variance of the latent function, in the units of the fitted y.

    Args:
        gp: a fitted or conditioned GP.
        Xs: (m, d) inputs in the unit cube.

    Returns:
        mean (m,), var (m,).
    """
    mean, var = posterior(gp, Xs)
    return gp.y_mean + gp.y_std * mean, gp.y_std ** 2 * var


def fit(X, y, kernel: str = "matern52", noise: bool = True, params: GPParams | None = None,
        init: GPParams | None = None, restarts: int = 16, seed: int = 0, obs_noise=None) -> GP:
    """Fit a GP to (n, d) unit-cube inputs and (n,) targets.

    Args:
        X: (n, d) inputs in the unit cube.
        y: (n,) targets (standardised internally).
        kernel: "matern12", "matern32", "matern52" or "rbf".
        noise: learn a Gaussian noise variance (floored at `NOISE_FLOOR`); False pins the floor.
        params: fixed hyperparameters (standardised units); skips the MAP fit.
        init: warm start for the MAP fit.
        restarts: random starts of the MAP fit besides the prior mode / warm start.
        seed: seeds those starts.
        obs_noise: (n,) known noise variances of the observations in the units of y (e.g. squared
            standard errors), added to the learned noise; None (default) for none.

    Returns:
        A conditioned `GP`; use `predict(gp, Xs)`.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r} is not one of {KERNELS}")
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"X must be (n, d) and y (n,); got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("X and y must be finite")
    Xp, yp, mask = pad(X, y)
    mean, std = standardize(yp, mask)
    ys = (yp - mean) / std * mask
    noise_s = None
    if obs_noise is not None:
        obs_noise = np.asarray(obs_noise, np.float64)
        if obs_noise.shape != y.shape or not np.isfinite(obs_noise).all() or (obs_noise < 0).any():
            raise ValueError(f"obs_noise must be {y.shape} finite variances >= 0; got shape {obs_noise.shape}")
        noise_s = jnp.asarray(pad(X, obs_noise, len(Xp))[1] / std ** 2)
    with single_threaded_blas():
        if params is None:
            params = fit_params(Xp, ys, mask, kernel, noise, init=init, restarts=restarts, seed=seed,
                                obs_noise=noise_s)
        params = GPParams(*(jnp.asarray(p, jnp.float64) for p in params))
        return condition(params, jnp.asarray(Xp), jnp.asarray(ys), jnp.asarray(mask),
                         jnp.asarray(mean), jnp.asarray(std), kernel=kernel, obs_noise=noise_s)
