"""Acquisition functions: utilities of a candidate under a GP posterior, to be maximised.

All work in the GP's standardised units on a target that is *maximised* (the optimiser flips
the user's minimisation in one place, `bo.strategies.GPStrategy.tell`). Each takes the posterior
mean and standard deviation at the candidates plus a small context, so they are plain jittable
functions of arrays.

- `ucb`: mean + sqrt(beta) * std (Srinivas et al. 2010).
- `log_ei`: log expected improvement, numerically stable far below the incumbent
  (Ament et al. 2023, "Unexpected improvements to expected improvement").
- `ei`, `pi`, `log_pi`: expected improvement and probability of improvement, closed forms.
- `mes`: max-value entropy search (Wang & Jegelka 2017) with Gumbel-sampled maxima.
- Thompson sampling draws whole posterior sample paths (`bo.gp` + random Fourier features,
  pathwise conditioning of Wilson et al. 2020); see `sample_path`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx, log_ndtr, ndtr

from bo import gp as gplib

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * np.log(np.pi / 2.0)
# Below this z the asymptotic series of log h is exact to float64 and, unlike the erfcx form,
# its gradient suffers no cancellation (that form loses ~z^2 eps of relative gradient accuracy).
_ASYMPTOTIC_Z = -1e3


def normal_pdf(z):
    return jnp.exp(-0.5 * z * z - _LOG_SQRT_2PI)


def ucb(mean, std, beta=4.0):
    """Upper confidence bound mean + sqrt(beta) * std."""
    return mean + jnp.sqrt(beta) * std


def ei(mean, std, best):
    """Expected improvement E[max(f - best, 0)] = std * (phi(z) + z Phi(z)), z = (mean - best) / std."""
    z = (mean - best) / std
    return std * (normal_pdf(z) + z * ndtr(z))


def _log1mexp(x):
    """log(1 - exp(x)) for x < 0, accurate near 0 and far below it (Mächler 2012)."""
    return jnp.where(x > -np.log(2.0), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def log_h(z):
    """log(phi(z) + z Phi(z)), stable for every z (Ament et al. 2023, eq. 9).

    z > -1: directly; -1e3 < z <= -1: via the scaled complementary error function; below that,
    the asymptotic series h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6 + ...).
    """
    upper = z > -1.0
    z_up = jnp.where(upper, z, -1.0)
    direct = jnp.log(normal_pdf(z_up) + z_up * ndtr(z_up))
    far = z < _ASYMPTOTIC_Z
    z_mid = jnp.where(upper | far, -2.0, z)
    middle = (-0.5 * z_mid * z_mid - _LOG_SQRT_2PI
              + _log1mexp(jnp.log(erfcx(-z_mid / np.sqrt(2.0)) * jnp.abs(z_mid)) + _HALF_LOG_PI_OVER_2))
    z_far = jnp.where(far, z, 2.0 * _ASYMPTOTIC_Z)
    inv2 = 1.0 / (z_far * z_far)
    asymptotic = (-0.5 * z_far * z_far - _LOG_SQRT_2PI + jnp.log(inv2)
                  + jnp.log1p(inv2 * (-3.0 + inv2 * (15.0 - 105.0 * inv2))))
    return jnp.where(upper, direct, jnp.where(far, asymptotic, middle))


def log_ei(mean, std, best):
    """log EI = log_h(z) + log std."""
    return log_h((mean - best) / std) + jnp.log(std)


def pi(mean, std, best):
    """Probability of improvement Phi((mean - best) / std)."""
    return ndtr((mean - best) / std)


def log_pi(mean, std, best):
    """log PI, stable far below the incumbent."""
    return log_ndtr((mean - best) / std)


def mes(mean, std, max_samples):
    """Max-value entropy search (Wang & Jegelka 2017, eq. 6), averaged over sampled maxima.

    Args:
        mean, std: (m,) posterior at the candidates.
        max_samples: (k,) samples of the maximum of the function.
    """
    gamma = (max_samples[None, :] - mean[:, None]) / std[:, None]
    log_cdf = log_ndtr(gamma)
    ratio = jnp.exp(jnp.log(normal_pdf(gamma)) - log_cdf)
    return jnp.mean(0.5 * gamma * ratio - log_cdf, axis=-1)


def gumbel_max_samples(key, mean, std, best, n_samples=16):
    """Samples of max f from a Gumbel fit to prod_i Phi((y - mean_i) / std_i) over a candidate set.

    The quartiles of that product are found by bisection, then a Gumbel distribution is matched
    to them (Wang & Jegelka 2017, MES-G). Samples are kept above the incumbent.
    """
    def log_cdf(y):
        return jnp.sum(log_ndtr((y - mean) / std))

    lo = jnp.minimum(best, jnp.min(mean - 5.0 * std)) - 1.0
    hi = jnp.max(mean + 8.0 * std) + 1.0

    def quantile(p):
        def step(_, bounds):
            a, b = bounds
            mid = 0.5 * (a + b)
            below = log_cdf(mid) < jnp.log(p)
            return jnp.where(below, mid, a), jnp.where(below, b, mid)

        a, b = jax.lax.fori_loop(0, 60, step, (lo, hi))
        return 0.5 * (a + b)

    q25, q50, q75 = quantile(0.25), quantile(0.5), quantile(0.75)
    scale = jnp.maximum((q75 - q25) / (np.log(np.log(4.0)) - np.log(np.log(4.0 / 3.0))), 1e-8)
    loc = q50 + scale * np.log(np.log(2.0))
    u = jax.random.uniform(key, (n_samples,), minval=1e-12, maxval=1.0 - 1e-12)
    samples = loc - scale * jnp.log(-jnp.log(u))
    return jnp.maximum(samples, best + 1e-6)


# ----------------------------------------------------------------------------------------------
# Thompson sampling: pathwise posterior draws (Wilson et al. 2020, "Efficiently sampling
# functions from Gaussian process posteriors").


def _spectral_frequencies(key, kernel, d, n_features):
    """Frequencies of random Fourier features whose expected product is the unit-scale kernel.

    RBF: standard normal. Matérn-nu: a multivariate Student-t with 2 nu degrees of freedom.
    """
    k_normal, k_chi = jax.random.split(key)
    omega = jax.random.normal(k_normal, (n_features, d))
    if kernel == "rbf":
        return omega
    nu = {"matern12": 0.5, "matern32": 1.5, "matern52": 2.5}[kernel]
    chi2 = 2.0 * jax.random.gamma(k_chi, nu, (n_features, 1))
    return omega * jnp.sqrt(2.0 * nu / chi2)


def sample_path(key, gp: gplib.GP, n_features: int = 1024):
    """One posterior sample path f ~ GP | data, returned as a jittable function of (m, d) inputs.

    f(x) = f_prior(x) + k(x, X) (K + noise I)^-1 (y - f_prior(X) - eps), with f_prior a random
    Fourier feature draw. Each call draws fresh features, so across draws the prior covariance
    is the kernel exactly and the draws' mean and covariance are the GP posterior's.
    """
    k_omega, k_phase, k_weight, k_eps = jax.random.split(key, 4)
    d = gp.X.shape[1]
    ls = jnp.exp(gp.params.log_lengthscale)
    omega = _spectral_frequencies(k_omega, gp.kernel, d, n_features) / ls
    phase = jax.random.uniform(k_phase, (n_features,), maxval=2.0 * jnp.pi)
    weight = jax.random.normal(k_weight, (n_features,))
    amplitude = jnp.sqrt(2.0 * jnp.exp(gp.params.log_outputscale) / n_features)

    def prior(x):
        return amplitude * jnp.cos(x @ omega.T + phase) @ weight

    noise = jnp.exp(gp.params.log_noise) if gp.obs_noise is None else jnp.exp(gp.params.log_noise) + gp.obs_noise
    eps = jnp.sqrt(noise) * jax.random.normal(k_eps, gp.y.shape)
    residual = (gp.y - prior(gp.X) - eps) * gp.mask
    update = gp.L_inv.T @ (gp.L_inv @ residual)

    def path(x):
        Ks = gplib.cross_covariance(gp.kernel, gp.params, x, gp.X) * gp.mask[None, :]
        return prior(x) + Ks @ update

    return path


# ----------------------------------------------------------------------------------------------
# Batch (q-point) expected improvement by Monte Carlo with the reparameterisation trick
# (Wilson et al. 2018, "Maximizing acquisition functions for Bayesian optimization"), and its
# smoothed log form qLogEI (Ament et al. 2023).


def joint_posterior(gp: gplib.GP, Xq):
    """Joint posterior mean (q,) and covariance (q, q) of the latent function at Xq (q, d)."""
    Ks = gplib.cross_covariance(gp.kernel, gp.params, Xq, gp.X) * gp.mask[None, :]
    V = Ks @ gp.L_inv.T
    cov = gplib.cross_covariance(gp.kernel, gp.params, Xq, Xq) - V @ V.T
    return Ks @ gp.alpha, cov


def batch_samples(mean, cov, base):
    """Posterior samples (s, q) from base normal draws (s, q): mean + chol(cov) z."""
    q = mean.shape[0]
    jitter = 1e-9 * jnp.maximum(jnp.mean(jnp.diag(cov)), 1e-12)
    L = jnp.linalg.cholesky(0.5 * (cov + cov.T) + jitter * jnp.eye(q))
    return mean[None, :] + base @ L.T


def qei(mean, cov, best, base, weights=None):
    """Monte Carlo q-EI: the mean over samples of max_j (f_j - best)^+; unbiased.

    weights: optional (q,) factors of each point's improvement, max_j w_j (f_j - best)^+ (the
    probability that point j succeeds, for a batch under a failure model).
    """
    improvement = jnp.maximum(batch_samples(mean, cov, base) - best, 0.0)
    if weights is not None:
        improvement = improvement * weights
    return jnp.mean(jnp.max(improvement, axis=-1))


def _log_softplus(t):
    """log(softplus(t)), exact in float64 for every t (softplus(t) ~ exp(t) below -30)."""
    low = t < -30.0
    return jnp.where(low, t, jnp.log(jax.nn.softplus(jnp.where(low, 0.0, t))))


def qlog_ei(mean, cov, best, base, tau_max=1e-2, tau_relu=1e-6, log_weights=None):
    """qLogEI: log of a smoothed q-EI, with useful gradients where q-EI is numerically zero.

    Each point's improvement becomes a softplus of temperature tau_relu, taken in log form; the
    max over the batch becomes a log-sum-exp of those logs at temperature tau_max, so it is
    smoothed by a relative amount, whatever the scale of the improvements (a smooth max of the
    improvements themselves would add up to tau_max log q to every sample and drown the small
    improvements left once the optimiser converges); the mean over samples is taken in log space.
    The temperatures are BoTorch's defaults.

    Args:
        mean: (q,) joint posterior mean; cov: (q, q) its covariance.
        best: the incumbent; base: (s, q) standard normal base samples.
        log_weights: optional (q,) logs of factors on each point's improvement, as in `qei`.
    """
    samples = batch_samples(mean, cov, base) - best
    per_point = np.log(tau_relu) + _log_softplus(samples / tau_relu)
    if log_weights is not None:
        per_point = per_point + log_weights
    log_improvement = tau_max * jax.scipy.special.logsumexp(per_point / tau_max, axis=-1)
    return jax.scipy.special.logsumexp(log_improvement) - np.log(samples.shape[0])
