"""GP regression against scikit-learn and direct numpy computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from bo import gp

sklearn_gp = pytest.importorskip("sklearn.gaussian_process")
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern  # noqa: E402


def _data(n=15, d=3, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2] + noise * rng.standard_normal(n)
    return X, y


def _params(d, ls=(0.3, 0.5, 0.8), outputscale=1.3, noise=0.02):
    return gp.GPParams(jnp.log(jnp.asarray(ls[:d])), jnp.log(outputscale), jnp.log(noise))


@pytest.mark.parametrize("kernel,sk_kernel", [
    ("matern52", lambda ls: Matern(ls, nu=2.5)),
    ("matern32", lambda ls: Matern(ls, nu=1.5)),
    ("matern12", lambda ls: Matern(ls, nu=0.5)),
    ("rbf", lambda ls: RBF(ls)),
])
def test_posterior_matches_sklearn(kernel, sk_kernel):
    X, y = _data()
    ls, scale, noise = np.array([0.3, 0.5, 0.8]), 1.3, 0.02
    model = gp.fit(X, y, kernel=kernel, params=_params(3, ls, scale, noise))
    reference = sklearn_gp.GaussianProcessRegressor(
        ConstantKernel(scale, "fixed") * sk_kernel(ls), alpha=noise, optimizer=None, normalize_y=True)
    reference.fit(X, y)
    Xs = np.random.default_rng(1).random((40, 3))
    mean, var = gp.predict(model, jnp.asarray(Xs))
    ref_mean, ref_std = reference.predict(Xs, return_std=True)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(var, ref_std ** 2, rtol=1e-6, atol=1e-9)


def test_log_marginal_likelihood_matches_numpy():
    X, y = _data(n=11)
    params = _params(3)
    Xp, yp, mask = gp.pad(X, y, 32)
    lml = float(gp.log_marginal_likelihood(params, jnp.asarray(Xp), jnp.asarray(yp), jnp.asarray(mask)))
    K = np.asarray(gp.cross_covariance("matern52", params, jnp.asarray(X), jnp.asarray(X)))
    K = K + 0.02 * np.eye(len(X))
    sign, logdet = np.linalg.slogdet(K)
    direct = -0.5 * y @ np.linalg.solve(K, y) - 0.5 * logdet - 0.5 * len(X) * np.log(2 * np.pi)
    assert sign > 0
    assert lml == pytest.approx(direct, rel=1e-10)


@pytest.mark.parametrize("kernel", gp.KERNELS)
def test_closed_form_gradient_matches_autodiff(kernel):
    X, y = _data(n=9)
    Xp, yp, mask = (jnp.asarray(a) for a in gp.pad(X, y - y.mean()))
    theta = jnp.asarray([-1.0, -0.3, 0.4, 0.2, -3.0])

    def log_post(t):
        p = gp._unflatten(t)
        return gp.log_marginal_likelihood(p, Xp, yp, mask, kernel) + gp.log_prior(p)

    value, grad = gp._log_posterior_and_grad(theta, Xp, yp, mask, kernel)
    assert float(value) == pytest.approx(float(log_post(theta)), rel=1e-10)
    np.testing.assert_allclose(grad, jax.grad(log_post)(theta), rtol=1e-6, atol=1e-7)


def test_padding_does_not_change_the_posterior():
    X, y = _data(n=10)
    params = _params(3)
    small = gp.fit(X, y, params=params)
    Xp, yp, mask = gp.pad(X, y, 64)
    mean, std = gp.standardize(yp, mask)
    big = gp.condition(params, jnp.asarray(Xp), jnp.asarray((yp - mean) / std * mask), jnp.asarray(mask),
                       jnp.asarray(mean), jnp.asarray(std))
    Xs = jnp.asarray(np.random.default_rng(2).random((7, 3)))
    for a, b in zip(gp.predict(small, Xs), gp.predict(big, Xs)):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_map_fit_learns_noise_and_relevance():
    rng = np.random.default_rng(3)
    X = rng.random((60, 2))
    y = np.sin(6 * X[:, 0]) + 0.3 * rng.standard_normal(60)  # x2 is irrelevant
    model = gp.fit(X, y)
    ls = np.exp(np.asarray(model.params.log_lengthscale))
    noise = float(np.exp(model.params.log_noise)) * float(model.y_std) ** 2
    assert ls[1] > 3 * ls[0]
    assert 0.3 ** 2 / 3 < noise < 0.3 ** 2 * 3
    # Noiseless data drive the noise towards its floor.
    clean = gp.fit(X, np.sin(6 * X[:, 0]))
    assert float(np.exp(clean.params.log_noise)) < 1e-3


def test_duplicate_inputs_stay_finite_thanks_to_jitter():
    X = np.repeat(np.random.default_rng(4).random((5, 2)), 3, axis=0)
    y = np.arange(15.0)
    params = gp.GPParams(jnp.log(jnp.array([0.2, 0.2])), jnp.array(0.0), jnp.log(jnp.array(1e-12)))
    model = gp.fit(X, y, params=params)
    mean, var = gp.predict(model, jnp.asarray(X[:3]))
    assert np.isfinite(np.asarray(mean)).all() and np.isfinite(np.asarray(var)).all()


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        gp.fit(np.zeros((3, 1)), np.zeros(3), kernel="cubic")
    with pytest.raises(ValueError, match="finite"):
        gp.fit(np.zeros((3, 1)), np.array([0.0, np.nan, 1.0]))


def test_capacity_buckets():
    assert [gp.capacity(n) for n in (0, 1, 16, 17, 33, 500, 1000)] == [16, 16, 16, 32, 64, 512, 1024]


@pytest.mark.parametrize("kernel,sk_kernel", [
    ("matern52", lambda ls: Matern(ls, nu=2.5)),
    ("rbf", lambda ls: RBF(ls)),
])
def test_per_observation_noise_posterior_matches_sklearn_alpha_array(kernel, sk_kernel):
    X, y = _data(n=14, noise=0.3)
    obs_noise = np.random.default_rng(5).uniform(0.0, 0.5, len(y)) ** 2  # variances, units of y^2
    ls, scale, noise = np.array([0.3, 0.5, 0.8]), 1.3, 0.02
    model = gp.fit(X, y, kernel=kernel, params=_params(3, ls, scale, noise), obs_noise=obs_noise)
    # sklearn in the caller's units: scale and learned noise times var(y), prior mean = mean(y),
    # and alpha the per-sample total noise variance.
    mean_y, var_y = y.mean(), y.var()
    reference = sklearn_gp.GaussianProcessRegressor(
        ConstantKernel(scale * var_y, "fixed") * sk_kernel(ls), alpha=noise * var_y + obs_noise,
        optimizer=None, normalize_y=False)
    reference.fit(X, y - mean_y)
    Xs = np.vstack([X[:5], np.random.default_rng(1).random((30, 3))])
    mean, var = gp.predict(model, jnp.asarray(Xs))
    ref_mean, ref_std = reference.predict(Xs, return_std=True)
    np.testing.assert_allclose(mean, ref_mean + mean_y, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(var, ref_std ** 2, rtol=1e-6, atol=1e-9)
    # Zero per-observation noise is the homoscedastic GP exactly; None adds nothing to the model.
    plain = gp.fit(X, y, kernel=kernel, params=_params(3, ls, scale, noise))
    zero = gp.fit(X, y, kernel=kernel, params=_params(3, ls, scale, noise), obs_noise=np.zeros(len(y)))
    assert plain.obs_noise is None
    for a, b in zip(gp.predict(plain, jnp.asarray(Xs)), gp.predict(zero, jnp.asarray(Xs))):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_per_observation_noise_gradient_matches_autodiff():
    X, y = _data(n=9)
    Xp, yp, mask = (jnp.asarray(a) for a in gp.pad(X, y - y.mean()))
    obs = jnp.asarray(gp.pad(X, np.linspace(0.0, 0.4, 9))[1])
    theta = jnp.asarray([-1.0, -0.3, 0.4, 0.2, -3.0])

    def log_post(t):
        p = gp._unflatten(t)
        return gp.log_marginal_likelihood(p, Xp, yp, mask, "matern52", obs) + gp.log_prior(p)

    value, grad = gp._log_posterior_and_grad(theta, Xp, yp, mask, "matern52", obs)
    assert float(value) == pytest.approx(float(log_post(theta)), rel=1e-10)
    np.testing.assert_allclose(grad, jax.grad(log_post)(theta), rtol=1e-6, atol=1e-7)
    K = np.asarray(gp.cross_covariance("matern52", gp._unflatten(theta), jnp.asarray(X), jnp.asarray(X)))
    K = K + np.diag(np.exp(-3.0) + np.asarray(obs[:9]))
    direct = (-0.5 * np.asarray(yp[:9]) @ np.linalg.solve(K, np.asarray(yp[:9]))
              - 0.5 * np.linalg.slogdet(K)[1] - 4.5 * np.log(2 * np.pi))
    lml = gp.log_marginal_likelihood(gp._unflatten(theta), Xp, yp, mask, "matern52", obs)
    assert float(lml) == pytest.approx(direct, rel=1e-10)


def test_known_noise_explains_the_scatter_so_the_learned_noise_shrinks():
    rng = np.random.default_rng(6)
    X = rng.random((60, 1))
    sigma = np.where(X[:, 0] > 0.5, 0.4, 0.02)  # heteroscedastic, and told
    y = np.sin(6 * X[:, 0]) + sigma * rng.standard_normal(60)
    blind = gp.fit(X, y)
    told = gp.fit(X, y, obs_noise=sigma ** 2)
    learned = [float(np.exp(m.params.log_noise)) * float(m.y_std) ** 2 for m in (blind, told)]
    assert learned[1] < 0.02 ** 2 * 3 < 0.4 ** 2 / 10 < learned[0], learned
    # On the quiet side the told model trusts the data more than the blind one does.
    Xq = X[X[:, 0] < 0.5]
    errs = [np.abs(np.asarray(gp.predict(m, jnp.asarray(Xq))[0]) - np.sin(6 * Xq[:, 0])).mean()
            for m in (blind, told)]
    assert errs[1] < errs[0], errs


def test_incumbent_is_the_best_target_or_with_noise_the_best_posterior_mean():
    X, y = _data(n=10)
    params = _params(3)
    plain = gp.fit(X, y, params=params)
    assert float(gp.incumbent(plain)) == pytest.approx((y.max() - y.mean()) / y.std(), rel=1e-12)
    obs = np.full(10, 0.1)
    noisy = gp.fit(X, y, params=params, obs_noise=obs)
    mean_at_X = np.asarray(gp.posterior(noisy, jnp.asarray(X))[0])
    assert float(gp.incumbent(noisy)) == pytest.approx(mean_at_X.max(), rel=1e-9)


def test_obs_noise_rejects_bad_shapes_and_values():
    with pytest.raises(ValueError, match="obs_noise"):
        gp.fit(np.zeros((3, 1)), np.arange(3.0), obs_noise=np.ones(2))
    with pytest.raises(ValueError, match="obs_noise"):
        gp.fit(np.zeros((3, 1)), np.arange(3.0), obs_noise=np.array([0.1, -1.0, 0.1]))


def _yeo_johnson(v, lam):
    """Yeo & Johnson (2000), eq. 2.1, written out for lambda != 0, 2."""
    a = np.abs(v)
    return np.where(v >= 0, ((a + 1) ** lam - 1) / lam, -((a + 1) ** (2 - lam) - 1) / (2 - lam))


def test_power_transform_squashes_poor_outliers_and_follows_the_closed_form():
    rng = np.random.default_rng(0)
    y = -rng.lognormal(0.0, 0.5, 60)  # maximised targets with a tail of poor values
    z, slope = gp.power_transform(y)
    v = (y - y.mean()) / y.std()
    lam = scipy.stats.yeojohnson_normmax(v)
    assert 1 < lam < 2
    np.testing.assert_allclose(z, _yeo_johnson(v, lam), rtol=1e-7)  # both lambdas to ~1e-9
    assert np.all(np.diff(z[np.argsort(y)]) > 0)  # monotone: the best target stays the best
    assert abs(scipy.stats.skew(z)) < 0.5 * abs(scipy.stats.skew(y))
    h = 1e-6 * y.std()  # slope = dz/dy, checked by central differences at the fitted lambda
    fd = (_yeo_johnson((y + h - y.mean()) / y.std(), lam) - _yeo_johnson((y - h - y.mean()) / y.std(), lam)) / (2 * h)
    np.testing.assert_allclose(slope, fd, rtol=1e-5)


def test_power_transform_exponent_is_scipys_maximum_likelihood_held_in_1_2():
    rng = np.random.default_rng(1)
    for sigma in (0.2, 0.5, 1.0, 2.0):
        for sign in (-1, 1):  # poor tails (lambda > 1) and outstanding targets (lambda < 1)
            v = sign * rng.lognormal(0.0, sigma, 40)
            v = (v - v.mean()) / v.std()
            expected = min(max(scipy.stats.yeojohnson_normmax(v), 1.0), 2.0)
            assert gp._yeo_johnson_lambda(v) == pytest.approx(expected, abs=1e-6)
            np.testing.assert_allclose(gp._yeo_johnson(v, expected), scipy.stats.yeojohnson(v, expected),
                                       rtol=1e-12, atol=1e-14)


def test_power_transform_compresses_poor_outliers_at_most_logarithmically():
    """lambda is held at 2: below the mean, -log(1 - v); above it, ((1 + v)^2 - 1) / 2."""
    y = -np.r_[np.linspace(0.0, 1.0, 30), 1e3, 1e4]  # two disastrous values
    v = (y - y.mean()) / y.std()
    assert scipy.stats.yeojohnson_normmax(v) > 2
    z, slope = gp.power_transform(y)
    np.testing.assert_allclose(z, np.where(v >= 0, ((1 + v) ** 2 - 1) / 2, -np.log1p(-v)), rtol=1e-12)
    np.testing.assert_allclose(slope, np.where(v >= 0, 1 + v, 1 / (1 - v)) / y.std(), rtol=1e-12)


def test_power_transform_never_squashes_the_best_targets():
    """lambda < 1 would compress the upper tail; it is held at 1, the identity on standardised y."""
    y = np.r_[np.zeros(20), 1.0, 2.0, 50.0]  # one outstanding target
    v = (y - y.mean()) / y.std()
    assert scipy.stats.yeojohnson_normmax(v) < 1
    z, slope = gp.power_transform(y)
    np.testing.assert_allclose(z, v, atol=1e-12)
    np.testing.assert_allclose(slope, 1 / y.std())


def test_power_transform_is_the_identity_on_degenerate_targets():
    for y in (np.array([1.0, 2.0]), np.full(5, 3.0), np.array([1.0, 1.0, 2.0, 2.0])):
        z, slope = gp.power_transform(y)
        np.testing.assert_array_equal(z, y)
        np.testing.assert_array_equal(slope, np.ones_like(y))
