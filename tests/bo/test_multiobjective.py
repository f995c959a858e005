"""Several objectives from `bo.Optimizer` and `bo.minimize`: Pareto fronts, EHVI and ParEGO."""

import math

import numpy as np
import pytest

import bo
from bo import Real, Space, SpaceError
from bo.strategies import MultiObjectiveGPSearch, _chebyshev_variance, default_reference

SQUARE = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])
ZDT1_REFERENCE = (11.0, 11.0)
ZDT1_BEST_HYPERVOLUME = 121.0 - 1.0 / 3.0  # 11 x 11 less the area under 1 - sqrt(f1) on [0, 1]


def zdt1(p):
    """ZDT1 in two variables (Zitzler, Deb & Thiele 2000); Pareto front f2 = 1 - sqrt(f1) at y = 0."""
    g = 1.0 + 9.0 * p["y"]
    return [p["x"], g * (1.0 - math.sqrt(p["x"] / g))]


def test_pareto_front_result_and_failed_rows_by_hand():
    opt = bo.Optimizer(SQUARE, method="random", objectives=2)
    points = [{"x": i / 10, "y": 0.5} for i in range(6)]
    values = [[1.0, 5.0], [2.0, 3.0], [3.0, 3.0], [0.5, 9.0], [4.0, 1.0], [0.1, float("nan")]]
    opt.tell(points, values)
    xs, front = opt.pareto_front()
    np.testing.assert_array_equal(front, [[0.5, 9.0], [1.0, 5.0], [2.0, 3.0], [4.0, 1.0]])
    assert xs == [points[3], points[0], points[1], points[4]]
    result = opt.result()
    assert result.x == xs and result.ys.shape == (6, 2) and result.n_failed == 1
    np.testing.assert_array_equal(result.fun, front)
    np.testing.assert_array_equal(result.pareto_front()[1], front)
    assert bo.hypervolume(result.fun, (5.0, 10.0)) == pytest.approx(0.5 * 1 + 1 * 5 + 2 * 7 + 1 * 9)
    with pytest.raises(SpaceError, match="no single point is best"):
        opt.best()
    with pytest.raises(SpaceError, match="best_so_far needs one objective"):
        result.best_so_far()


def test_shapes_that_disagree_are_named():
    opt = bo.Optimizer(SQUARE, objectives=2)
    with pytest.raises(SpaceError, match=r"values shaped \(2,\); with objectives=2 give one row of 2"):
        opt.tell([{"x": 0.1, "y": 0.1}, {"x": 0.2, "y": 0.2}], [1.0, 2.0])
    with pytest.raises(SpaceError, match="noise variances"):
        opt.tell([{"x": 0.1, "y": 0.1}], [[1.0, 2.0]], noise=[0.1])
    with pytest.raises(SpaceError, match="it must return 2 floats"):
        bo.minimize(lambda p: [1.0, 2.0, 3.0], SQUARE, 2, objectives=2)
    with pytest.raises(SpaceError, match="method 'cmaes' optimises one objective"):
        bo.Optimizer(SQUARE, method="cmaes", objectives=2)
    with pytest.raises(SpaceError, match="'ehvi' handles 2 objectives, not 3"):
        bo.Optimizer(SQUARE, objectives=3, multiobjective="ehvi")
    with pytest.raises(SpaceError, match="reference"):
        bo.Optimizer(SQUARE, objectives=2, reference=(1.0, 2.0, 3.0))
    with pytest.raises(SpaceError, match="pass objectives=M"):
        bo.Optimizer(SQUARE, reference=(1.0, 2.0))
    with pytest.raises(SpaceError, match="objectives=0"):
        bo.Optimizer(SQUARE, objectives=0)


def test_default_reference_and_scalarised_noise_by_hand():
    np.testing.assert_allclose(default_reference([[0.0, 4.0], [2.0, 4.0]]), [2.2, 4.4])
    values = np.array([[0.0, 1.0], [1.0, 0.0], [0.75, 0.5]])
    ideal, nadir, w = values.min(0), values.max(0), np.array([0.25, 0.75])
    # Row 2: weighted terms (0.1875, 0.375): the second is active, slopes (0.05 * 0.25, 0.75 * 1.05).
    var = _chebyshev_variance(values, np.full((3, 2), 0.04), w, ideal, nadir, 0.05)
    assert var[2] == pytest.approx(0.04 * ((0.05 * 0.25) ** 2 + (0.75 * 1.05) ** 2))
    # Against finite differences of the scalarisation itself, scaled ranges included.
    scaled = values * [2.0, 10.0]
    var = _chebyshev_variance(scaled, np.ones((3, 2)), w, scaled.min(0), scaled.max(0), 0.05)
    for i in range(3):
        slope = [(float(bo.pareto.chebyshev_scalarize(scaled[i] + 1e-7 * e, w, scaled.min(0), scaled.max(0)))
                  - float(bo.pareto.chebyshev_scalarize(scaled[i], w, scaled.min(0), scaled.max(0)))) / 1e-7
                 for e in np.eye(2)]
        assert var[i] == pytest.approx(np.sum(np.square(slope)), rel=1e-5)


@pytest.mark.parametrize("mode", ["ehvi", "parego"])
def test_hypervolume_beats_random_search_on_zdt1(mode):
    def hv(**kw):
        return [bo.hypervolume(bo.minimize(zdt1, SQUARE, 16, seed=s, objectives=2, **kw).fun, ZDT1_REFERENCE)
                for s in range(3)]

    model = hv(multiobjective=mode, n_initial=6)
    rnd = hv(method="random")
    assert min(model) > max(rnd), (model, rnd)
    assert np.median(model) > ZDT1_BEST_HYPERVOLUME - 1.5, model


def test_ehvi_batches_pending_constraints_failures_and_noise():
    opt = bo.Optimizer(SQUARE, seed=1, objectives=2, n_initial=5, constraints=[lambda p: p["x"] - 0.9])
    first = opt.ask(5)
    values = [zdt1(p) for p in first]
    values[0] = [float("nan"), 1.0]  # a failed trial
    opt.tell(first, values, noise=np.full((5, 2), 1e-4))
    batch = opt.ask(3)
    more = opt.ask()
    keys = {(p["x"], p["y"]) for p in first + batch + more}
    assert len(keys) == 9 and all(p["x"] <= 0.9 for p in batch + more)
    assert isinstance(opt.strategy, MultiObjectiveGPSearch) and opt.state.Y_noise.shape == (5, 2)
    assert len(opt.state.objective_params) == 2


def test_parego_takes_three_objectives_and_minimize_reports_the_front():
    def three(p):
        return [p["x"], p["y"], (1 - p["x"]) ** 2 + (1 - p["y"]) ** 2]

    result = bo.minimize(three, SQUARE, 12, seed=0, objectives=3, n_initial=6, batch_size=2)
    assert result.ys.shape == (12, 3) and len(result.x) == len(result.fun) >= 3
    assert bo.pareto.pareto_mask(result.fun).all()
    assert len({tuple(p.values()) for p in result.xs}) == 12
