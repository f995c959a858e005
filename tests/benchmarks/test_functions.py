"""Benchmark functions against their published optima and independent references."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from benchmarks.functions import (
    Ackley, Branin, Hartmann6, Levy, Rosenbrock, StyblinskiTang, suite,
)

ALL = [Branin(), Hartmann6(), Ackley(), Levy(), Rosenbrock(), StyblinskiTang(),
       Ackley(2), Levy(3), Rosenbrock(2), StyblinskiTang(15)]

# (function, published minimum, its published precision)
PUBLISHED = [
    (Branin(), 0.397887, 1e-6),
    (Hartmann6(), -3.32237, 1e-5),
    (Ackley(6), 0.0, 1e-12),
    (Levy(6), 0.0, 1e-12),
    (Rosenbrock(6), 0.0, 1e-12),
    (StyblinskiTang(1), -39.16617, 1e-5),
    (StyblinskiTang(6), -39.16617 * 6, 6e-5),
]


@pytest.mark.parametrize("fn,published,tol", PUBLISHED, ids=lambda p: repr(p))
def test_published_optimum(fn, published, tol):
    assert fn.optimum == pytest.approx(published, abs=tol)
    values = fn(fn.argmins)
    assert values.shape == (len(fn.argmins),)
    np.testing.assert_allclose(values, published, atol=tol)


def test_published_argmins():
    np.testing.assert_allclose(
        Branin().argmins, [[-math.pi, 12.275], [math.pi, 2.275], [9.42478, 2.475]], atol=1e-5)
    np.testing.assert_allclose(
        Hartmann6().argmins[0], [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
    np.testing.assert_allclose(StyblinskiTang(4).argmins[0], [-2.903534] * 4, atol=1e-6)
    np.testing.assert_array_equal(Levy(3).argmins[0], [1, 1, 1])
    np.testing.assert_array_equal(Rosenbrock(3).argmins[0], [1, 1, 1])
    np.testing.assert_array_equal(Ackley(3).argmins[0], [0, 0, 0])


def test_hand_computed_values():
    t = 1.0 / (8.0 * math.pi)
    assert Branin()(np.zeros(2)) == pytest.approx(36.0 + 20.0 - 10.0 * t)
    assert Rosenbrock(5)(np.zeros(5)) == pytest.approx(4.0)        # (d - 1) * (0 - 1)^2
    assert StyblinskiTang(3)(np.ones(3)) == pytest.approx(3 * 0.5 * (1 - 16 + 5))
    # Levy at x = -3 gives w = 0: 0 + (d - 1) * (1 + 10 sin^2(1)) + 1 * (1 + 0).
    assert Levy(4)(np.full(4, -3.0)) == pytest.approx(3.0 * (1.0 + 10.0 * math.sin(1.0) ** 2) + 1.0)
    # Ackley at x = 1 (cos(2 pi) = 1): -20 exp(-0.2) - e + 20 + e.
    assert Ackley(3)(np.ones(3)) == pytest.approx(20.0 - 20.0 * math.exp(-0.2))
    assert Hartmann6()(np.zeros(6)) == pytest.approx(
        -np.sum(Hartmann6._alpha * np.exp(-np.sum(Hartmann6._A * Hartmann6._P**2, axis=1))))


@pytest.mark.parametrize("fn", ALL, ids=repr)
def test_random_points_never_below_optimum(fn):
    x = fn.sample(20000, seed=1)
    assert np.all(x >= fn.bounds[:, 0]) and np.all(x <= fn.bounds[:, 1])
    assert fn(x).min() >= fn.optimum - 1e-12


@pytest.mark.parametrize("fn", ALL, ids=repr)
def test_local_search_never_below_optimum(fn):
    """L-BFGS-B from random starts converges to values no lower than the known minimum."""
    for x0 in fn.sample(8, seed=2):
        res = minimize(lambda x: float(fn(x)), x0, method="L-BFGS-B", bounds=fn.bounds)
        assert res.fun >= fn.optimum - 1e-9


@pytest.mark.parametrize("fn", ALL, ids=repr)
def test_vectorised_matches_pointwise(fn):
    x = fn.sample(12, seed=3).reshape(3, 4, fn.dim)
    values = fn(x)
    assert values.shape == (3, 4)
    for idx in np.ndindex(3, 4):
        point = dict(zip(fn.names, x[idx]))
        assert fn.from_params(point) == pytest.approx(values[idx], rel=1e-12, abs=1e-12)
        np.testing.assert_array_equal(fn.to_array(point), x[idx])
    assert np.ndim(fn(x[0, 0])) == 0


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="expected points shaped"):
        Branin()(np.zeros(3))
    with pytest.raises(KeyError, match="x2"):
        Branin().from_params({"x1": 0.0})
    with pytest.raises(ValueError):
        Rosenbrock(1)
    with pytest.raises(ValueError):
        Ackley(0)


def test_suite_dimensions():
    assert [f.dim for f in suite()] == [2, 6, 6, 6, 6, 6]
    assert [f.dim for f in suite(3)] == [2, 6, 3, 3, 3, 3]
    assert len({f.name for f in suite()}) == 6


@pytest.mark.parametrize("fn", ALL, ids=repr)
def test_space_matches_bounds(fn):
    import bo

    space = fn.space()
    assert isinstance(space, bo.Space)
    dims = list(space.params)
    assert [d.name for d in dims] == fn.names
    for d, (lo, hi) in zip(dims, fn.bounds):
        assert isinstance(d, bo.Real)
        assert (d.low, d.high) == (lo, hi)


BOTORCH_NAMES = {
    "branin": "Branin", "hartmann6": "Hartmann", "ackley": "Ackley", "levy": "Levy",
    "rosenbrock": "Rosenbrock", "styblinski_tang": "StyblinskiTang",
}


@pytest.mark.parametrize("fn", ALL, ids=repr)
def test_matches_botorch(fn):
    """BoTorch's test functions are an independent implementation of the same formulas."""
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("botorch.test_functions")
    cls = getattr(tf, BOTORCH_NAMES[fn.name])
    ref = cls() if fn.name == "branin" else cls(dim=fn.dim)
    np.testing.assert_allclose(ref.bounds.T.numpy(), fn.bounds)
    assert ref.optimal_value == pytest.approx(fn.optimum, abs=1e-5)
    x = fn.sample(200, seed=4)
    expected = ref.evaluate_true(torch.tensor(x, dtype=torch.float64)).numpy()
    # BoTorch keeps Hartmann's weights (1.2, ...) in float32, hence the looser tolerance.
    tol = 1e-6 if fn.name == "hartmann6" else 1e-10
    np.testing.assert_allclose(fn(x), expected, rtol=tol, atol=tol)
