"""GP regression against scikit-learn and direct numpy computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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
