"""The BoTorch TuRBO-1 reference: its trust-region rule, its candidates, and a tiny run."""

import dataclasses
import math

import numpy as np
import pytest

pytest.importorskip("botorch")
torch = pytest.importorskip("torch")

from benchmarks import turbo_reference as tr  # noqa: E402
from benchmarks.functions import Levy  # noqa: E402
from benchmarks.high_dim import Problem  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def feed(region, values):
    for v in values:
        region = tr.update(region, v)
    return region


def test_failure_tolerance_is_ceil_max_4_d():
    assert tr.TrustRegion(dim=2).failure_tolerance == 4
    assert tr.TrustRegion(dim=20).failure_tolerance == 20


def test_length_doubles_after_ten_successes_and_is_capped():
    region = tr.TrustRegion(dim=20, best=100.0)
    region = feed(region, 100.0 - np.arange(1, 10))            # 9 successes: no change yet
    assert (region.length, region.successes) == (0.8, 9)
    region = feed(region, [80.0])
    assert (region.length, region.successes, region.failures) == (1.6, 0, 0)
    region = feed(region, 70.0 - np.arange(10))
    assert region.length == 1.6 and region.best == 61.0        # capped at length_max


def test_a_failure_resets_the_success_run_and_tiny_gains_are_failures():
    region = feed(tr.TrustRegion(dim=4, best=100.0), [99.0] * 1 + [90.0, 80.0])
    assert region.successes == 3
    region = feed(region, [80.0 - 0.5e-3 * 80.0])                # below 1e-3 |best|: a failure
    assert (region.successes, region.failures) == (0, 1)
    assert region.best == pytest.approx(79.96)                 # the best still moves


def test_length_halves_after_d_failures_and_restarts_below_min():
    region = feed(tr.TrustRegion(dim=20, best=1.0), [5.0] * 19)
    assert (region.length, region.failures) == (0.8, 19)
    region = feed(region, [5.0])
    assert (region.length, region.failures) == (0.4, 0)
    region = tr.TrustRegion(dim=4, best=1.0)
    for halvings in range(1, 8):                               # 0.8 / 2^7 = 0.00625 < 0.5^7
        region = feed(region, [5.0] * 4)
        assert region.length == pytest.approx(0.8 / 2 ** halvings)
        assert region.restart == (halvings == 7)


def test_candidates_stay_in_the_region_and_move_the_centre():
    dim = 25                                                    # perturb probability 20/25 < 1
    X = tr.sobol(2 * dim, dim, seed=3)
    y = (X - 0.3).pow(2).sum(-1).tolist()
    model = tr.fit_model(X, y)
    center, length = X[int(np.argmin(y))], 0.2
    cand = tr.candidates(model, center, length, 2000, torch.Generator().manual_seed(0))
    ls = model.covar_module.lengthscale.detach().reshape(dim)
    half = ls / ls.log().mean().exp() * length / 2
    assert cand.shape == (2000, dim) and cand.dtype == torch.float64
    assert bool(((cand >= (center - half).clamp(0, 1) - 1e-12)
                 & (cand <= (center + half).clamp(0, 1) + 1e-12)).all())
    moved = cand != center
    assert bool(moved.any(dim=1).all())                         # at least one coordinate each
    assert 0.7 < moved.double().mean().item() < 0.9            # about 20 / 25 of them


def test_tiny_run_traces_the_best_it_returns():
    fn = Levy(4)
    objective = tr.Objective(Problem("levy4", fn.space(), fn.from_params, fn.optimum))
    result = tr.run(objective, budget=24, seed=1)
    trace = np.array(result["best_so_far"])
    assert len(result["values"]) == len(trace) == 24
    assert np.all(np.diff(trace) <= 0)
    assert trace[-1] == result["best"] == min(result["values"])
    assert result["best"] == pytest.approx(float(fn(np.array(result["best_x"]))), rel=1e-12)
    assert np.all(np.abs(result["best_x"]) <= 10.0)
    assert result["best"] < np.min(result["values"][:8])        # BO improved on the 2d design
    again = tr.run(objective, budget=12, seed=1)                # seeded: repeats
    assert again["values"] == result["values"][:12]


def test_restart_draws_a_fresh_design(monkeypatch):
    """Force the region to collapse after one step: the next 2d points are a new Sobol design."""
    fn = Levy(2)
    objective = tr.Objective(Problem("levy2", fn.space(), fn.from_params, fn.optimum))
    monkeypatch.setattr(tr, "update", lambda region, y: dataclasses.replace(region, restart=True))
    result = tr.run(objective, budget=11, seed=0)   # design 4, step, design 4, step, design 1
    assert result["restarts"] == 2
    assert len(result["values"]) == 11 and all(map(math.isfinite, result["values"]))
    assert result["values"][5:9] != result["values"][0:4]
