"""Acquisition functions against closed forms and hand-computed values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from bo import acquisition as acq
from bo import gp, strategies


def test_ei_pi_ucb_closed_forms():
    assert float(acq.ei(0.0, 1.0, 0.0)) == pytest.approx(stats.norm.pdf(0.0), rel=1e-12)
    assert float(acq.pi(0.0, 1.0, 0.0)) == pytest.approx(0.5, rel=1e-12)
    assert float(acq.ucb(0.3, 2.0, beta=4.0)) == pytest.approx(4.3)
    mean, std, best = 0.7, 1.9, 1.2
    z = (mean - best) / std
    assert float(acq.ei(mean, std, best)) == pytest.approx(std * (stats.norm.pdf(z) + z * stats.norm.cdf(z)))
    # EI as the integral of the improvement against the normal density.
    integral, _ = integrate.quad(lambda f: (f - best) * stats.norm.pdf(f, mean, std), best, np.inf)
    assert float(acq.ei(mean, std, best)) == pytest.approx(integral, rel=1e-8)
    assert float(acq.pi(mean, std, best)) == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    assert float(acq.log_pi(mean, std, best)) == pytest.approx(stats.norm.logcdf(z), rel=1e-12)


@pytest.mark.parametrize("z", [3.0, 0.5, 0.0, -0.5, -1.0, -3.0, -8.0, -20.0])
def test_log_ei_equals_log_of_ei_where_ei_is_representable(z):
    assert float(acq.log_ei(z, 1.0, 0.0)) == pytest.approx(np.log(float(acq.ei(z, 1.0, 0.0))), rel=1e-9)


@pytest.mark.parametrize("z", [-40.0, -1e3, -1e6, -1e9])
def test_log_ei_far_below_the_incumbent_is_finite_and_accurate(z):
    value = float(acq.log_h(z))
    grad = float(jax.grad(acq.log_h)(z))
    # Asymptotic series: h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - ...).
    z2 = z * z
    expected = stats.norm.logpdf(z) - np.log(z2) + np.log1p(-3 / z2 + 15 / z2 ** 2 - 105 / z2 ** 3)
    assert np.isfinite(value) and np.isfinite(grad)
    assert value == pytest.approx(expected, rel=1e-9)
    # d/dz log h = Phi(z) / h(z) ~ -z (1 + 2/z^2 ...) > 0
    assert grad > 0
    assert grad == pytest.approx(-z - 2 / z, rel=1e-4)
    g = jax.grad(lambda m: acq.log_ei(m, 1.0, 0.0))(z)
    assert np.isfinite(float(g))


def test_mes_matches_hand_computation():
    mean, std, ystar = np.array([0.2]), np.array([0.5]), np.array([1.0, 1.4])
    gamma = (ystar - mean[0]) / std[0]
    expected = np.mean(gamma * stats.norm.pdf(gamma) / (2 * stats.norm.cdf(gamma)) - stats.norm.logcdf(gamma))
    assert float(acq.mes(jnp.asarray(mean), jnp.asarray(std), jnp.asarray(ystar))[0]) == pytest.approx(expected)


def test_gumbel_max_samples_follow_the_product_of_marginals():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=50), 0.2 + rng.random(50)
    samples = np.asarray(acq.gumbel_max_samples(jax.random.key(0), jnp.asarray(mean), jnp.asarray(std),
                                                -10.0, 20000))

    def cdf(y):
        return np.prod(stats.norm.cdf((y - mean) / std))

    for q in (0.25, 0.5, 0.75):
        assert cdf(np.quantile(samples, q)) == pytest.approx(q, abs=0.03)


def test_thompson_paths_have_the_posterior_mean_and_covariance():
    rng = np.random.default_rng(5)
    X = rng.random((8, 2))
    y = np.sin(5 * X[:, 0]) + X[:, 1]
    params = gp.GPParams(jnp.log(jnp.array([0.3, 0.4])), jnp.array(0.0), jnp.log(jnp.array(0.01)))
    model = gp.fit(X, y, params=params)
    Xs = jnp.asarray(rng.random((4, 2)))
    n_draws = 4000
    draws = jax.vmap(lambda k: acq.sample_path(k, model, 256)(Xs))(
        jax.random.split(jax.random.key(1), n_draws))
    mean, var = gp.posterior(model, Xs)
    Ks = gp.cross_covariance(model.kernel, params, Xs, Xs)
    k_star = gp.cross_covariance(model.kernel, params, Xs, model.X) * model.mask
    cov = Ks - (k_star @ model.L_inv.T) @ (k_star @ model.L_inv.T).T
    sample_mean = np.asarray(draws.mean(0))
    sample_cov = np.cov(np.asarray(draws), rowvar=False)
    se = np.sqrt(np.asarray(var) / n_draws)
    assert np.all(np.abs(sample_mean - np.asarray(mean)) < 5 * se)
    np.testing.assert_allclose(np.diag(sample_cov), np.asarray(var), rtol=0.15)
    np.testing.assert_allclose(sample_cov, np.asarray(cov), atol=0.15 * float(np.max(var)))


def test_monte_carlo_qei_at_q1_matches_closed_form_ei():
    rng = np.random.default_rng(7)
    X = rng.random((10, 2))
    y = np.cos(4 * X[:, 0]) + X[:, 1]
    model = gp.fit(X, y, params=gp.GPParams(jnp.log(jnp.array([0.3, 0.5])), jnp.array(0.0),
                                            jnp.log(jnp.array(1e-3))))
    best = float(np.median(np.asarray(model.y)[:10]))  # an incumbent that leaves EI measurable
    n = 20000
    base = jax.random.normal(jax.random.key(3), (n, 1))
    for x in rng.random((3, 2)):
        mean, cov = acq.joint_posterior(model, jnp.asarray(x[None]))
        mc = float(acq.qei(mean, cov, best, base))
        std = float(jnp.sqrt(cov[0, 0]))
        exact = float(acq.ei(mean[0], std, best))
        improvements = np.maximum(np.asarray(mean[0] + std * base[:, 0]) - best, 0.0)
        se = improvements.std() / np.sqrt(n)
        assert exact > 1e-3 and abs(mc - exact) < 4 * se, (mc, exact, se)


def test_qei_of_a_batch_beats_its_best_member_and_qlogei_tracks_it():
    rng = np.random.default_rng(8)
    X = rng.random((12, 2))
    model = gp.fit(X, np.sin(5 * X[:, 0]) * X[:, 1], params=gp.GPParams(
        jnp.log(jnp.array([0.2, 0.3])), jnp.array(0.0), jnp.log(jnp.array(1e-3))))
    best = float(np.max(np.asarray(model.y)[:12]))
    base = jax.random.normal(jax.random.key(4), (4096, 3))
    Xq = jnp.asarray(rng.random((3, 2)))
    mean, cov = acq.joint_posterior(model, Xq)
    joint = float(acq.qei(mean, cov, best, base))
    singles = [float(acq.qei(mean[i:i + 1], cov[i:i + 1, i:i + 1], best, base[:, :1])) for i in range(3)]
    assert joint >= max(singles) - 1e-12
    assert float(acq.qlog_ei(mean, cov, best, base)) == pytest.approx(np.log(joint), abs=0.05)
    # Far below the incumbent q-EI underflows; qLogEI stays finite with a finite gradient.
    g = jax.grad(lambda m: acq.qlog_ei(m, cov, best + 50.0, base))(mean)
    assert np.isfinite(float(acq.qlog_ei(mean, cov, best + 50.0, base))) and np.all(np.isfinite(g))


def test_weighted_qei_matches_closed_form_at_q1_and_qlogei_tracks_the_weighted_batch():
    rng = np.random.default_rng(9)
    X = rng.random((12, 2))
    model = gp.fit(X, np.sin(5 * X[:, 0]) * X[:, 1], params=gp.GPParams(
        jnp.log(jnp.array([0.2, 0.3])), jnp.array(0.0), jnp.log(jnp.array(1e-3))))
    best = 0.0  # standardised: about the median target, so the candidates' EI is measurable
    n = 20000
    base = jax.random.normal(jax.random.key(5), (n, 3))
    Xq = jnp.asarray(rng.random((3, 2)))
    mean, cov = acq.joint_posterior(model, Xq)
    p = np.array([0.9, 0.2, 0.5])
    # q = 1: E[p (f - best)^+] = p EI, and qLogEI's log of it within the smoothing.
    std1 = float(jnp.sqrt(cov[1, 1]))
    exact = p[1] * float(acq.ei(mean[1], std1, best))
    one = float(acq.qei(mean[1:2], cov[1:2, 1:2], best, base[:, :1], weights=p[1:2]))
    se = p[1] * np.maximum(np.asarray(mean[1] + std1 * base[:, 0]) - best, 0).std() / np.sqrt(n)
    assert exact > 1e-3 and abs(one - exact) < 4 * se
    log_one = float(acq.qlog_ei(mean[1:2], cov[1:2, 1:2], best, base[:, :1], log_weights=jnp.log(p[1:2])))
    assert log_one == pytest.approx(np.log(one), abs=0.02)
    # q = 3, against max_j p_j (f_j - best)^+ computed here from the same samples.
    L = np.linalg.cholesky(np.asarray(cov) + 1e-9 * np.mean(np.diag(cov)) * np.eye(3))
    samples = np.asarray(mean) + np.asarray(base) @ L.T
    direct = np.mean(np.max(p * np.maximum(samples - best, 0.0), axis=1))
    assert float(acq.qei(mean, cov, best, base, weights=p)) == pytest.approx(direct, rel=1e-6)
    assert float(acq.qlog_ei(mean, cov, best, base, log_weights=jnp.log(p))) == pytest.approx(
        np.log(direct), abs=0.05)
    assert direct < float(acq.qei(mean, cov, best, base))  # weights below one only lower it


def test_qlogei_is_scale_free_so_small_improvements_are_not_drowned_by_the_smoothing():
    # q-EI scales with the objective; qLogEI must shift by log(c), also at c = 1e-3 where a smooth
    # max of the improvements themselves (temperature 1e-2) would swamp them.
    rng = np.random.default_rng(10)
    A = rng.standard_normal((3, 3))
    mean, cov, best = jnp.asarray([0.1, -0.2, 0.05]), jnp.asarray(A @ A.T / 3 + 0.1 * np.eye(3)), 0.3
    base = jnp.asarray(strategies.qmc_normal(jax.random.key(0), 4096, 3))
    exact = np.log(float(acq.qei(mean, cov, best, base)))
    for c in (1.0, 1e-3):
        value = float(acq.qlog_ei(c * mean, c * c * cov, c * best, base))
        assert value - np.log(c) == pytest.approx(exact, abs=0.02), c


def test_qmc_normal_base_samples_are_standard_normal_and_reproducible():
    z = strategies.qmc_normal(jax.random.key(1), 1024, 4)
    assert z.shape == (1024, 4) and np.all(np.isfinite(z))
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.01)  # far inside 3 / sqrt(1024) thanks to QMC
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.02)
    np.testing.assert_array_equal(z, strategies.qmc_normal(jax.random.key(1), 1024, 4))
