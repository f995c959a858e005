"""The acquisition maximiser of `bo.strategies` against brute-force multi-start L-BFGS-B, and the
noise prior on noise-free data (the two causes of the Hartmann6 stalls)."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from scipy.stats import qmc

import bo
from bo import acquisition as acq
from bo import gp as gplib
from bo import strategies

D = 6
PEAK = np.full(D, 0.3)


def _bump(X):
    return 5.0 * np.exp(-0.5 * np.sum((X - PEAK) ** 2, -1) / 0.1 ** 2)


def _bump_model():
    """A GP on a narrow bump: space-filling points plus a cluster on its flank, noise at the floor."""
    rng = np.random.default_rng(0)
    X = np.vstack([qmc.Sobol(D, seed=0).random(64), PEAK + 0.03 + 0.01 * rng.standard_normal((10, D))])
    X = X.clip(0.0, 1.0)
    params = gplib.GPParams(jnp.log(jnp.full(D, 0.12)), jnp.log(1.0), jnp.log(gplib.NOISE_FLOOR))
    return X, gplib.fit(X, _bump(X), params=params)


def _brute_force_log_ei_max(model, starts):
    best = gplib.incumbent(model)

    def negative(x):
        mean, var = gplib.posterior(model, x[None])
        return -acq.log_ei(mean, jnp.sqrt(var), best)[0]

    value_and_grad = jax.jit(jax.value_and_grad(negative))
    results = [scipy.optimize.minimize(lambda x: tuple(map(np.asarray, value_and_grad(jnp.asarray(x)))), x0,
                                       jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * D) for x0 in starts]
    return max(-r.fun for r in results)


def test_log_ei_maximum_next_to_the_incumbent_is_found_though_no_raw_candidate_is_near():
    # The raw candidates all lie in the far corner [0.85, 1]^6, as the best-scored ones did on a
    # stalled Hartmann6 run; the acquisition's maximum is next to the incumbent, on the bump.
    X, model = _bump_model()
    incumbent = X[np.argmax(_bump(X))]
    rng = np.random.default_rng(1)
    starts = np.vstack([incumbent + 1e-3 * rng.standard_normal((8, D)), rng.random((24, D))]).clip(0.0, 1.0)
    expected = _brute_force_log_ei_max(model, starts)
    raw = 0.85 + 0.15 * strategies._raw_points(D, 1024)
    avoid, _, avoid_mask = gplib.pad(X, np.zeros(len(X)), gplib.capacity(len(X) + 1))
    space = bo.Space([bo.Real(f"x{i}", 0.0, 1.0) for i in range(D)])
    cands, scores = strategies._propose(jax.random.PRNGKey(0), model, None, jnp.asarray(raw),
                                        jnp.ones(len(raw), bool), jnp.asarray(avoid), jnp.asarray(avoid_mask),
                                        4.0, space=space, acquisition="logei", n_starts=8, steps=100,
                                        mes_samples=16, ts_features=1024)
    assert float(scores[0]) > expected - 0.01
    assert np.linalg.norm(np.asarray(cands[0]) - incumbent) < 0.1
    assert np.max(np.abs(X - np.asarray(cands[0])), axis=1).min() > 1e-6  # not a repeat


def test_noise_free_data_drive_the_noise_variance_to_the_floor():
    # With BoTorch's LogNormal(-4, 1) noise prior the MAP noise variance of these noise-free,
    # standardised targets was 1e-3, which blurs improvements below a few % of their spread.
    X = qmc.Sobol(D, seed=1).random(32)
    model = gplib.fit(X, np.sin(6 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2])
    assert float(np.exp(model.params.log_noise)) < 1e-5
