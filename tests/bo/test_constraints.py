"""Known constraints: every proposal is feasible, and impossible ones are explained."""

import math

import numpy as np
import pytest

import bo
from bo import Integer, Real, Space, SpaceError

BRANIN_SPACE = Space([Real("x1", -5.0, 10.0), Real("x2", 0.0, 15.0)])


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    return ((x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


def disk(p):
    """Feasible inside a disk that holds the optimum at (pi, 2.275) but not the other two."""
    return (p["x1"] - 2.5) ** 2 + (p["x2"] - 4.0) ** 2 - 9.0


@pytest.mark.parametrize("method", ["gp", "random", "sobol"])
def test_every_proposal_is_feasible_on_a_constrained_branin(method):
    result = bo.minimize(branin, BRANIN_SPACE, budget=16, method=method, seed=0, constraints=[disk])
    assert all(disk(p) <= 0 for p in result.xs)
    assert len(result.xs) == 16


def test_constrained_gp_finds_the_feasible_optimum():
    result = bo.minimize(branin, BRANIN_SPACE, budget=25, seed=1, constraints=[disk])
    assert result.fun - 0.397887 < 0.05
    assert disk(result.x) <= 0


def test_grid_skips_infeasible_points():
    space = Space([Integer("a", 1, 4), Integer("b", 1, 4)])
    opt = bo.Optimizer(space, method="grid", levels=4, constraints=[lambda p: p["a"] + p["b"] - 5])
    points = opt.ask(10)
    assert all(p["a"] + p["b"] <= 5 for p in points)
    with pytest.raises(SpaceError, match="only 0 feasible points are left"):
        opt.ask()


def test_total_neurons_budget_with_integer_widths():
    space = Space([Integer(f"w{i}", 1, 512, log=True) for i in range(3)])

    def total_neurons(p):
        return sum(p.values()) - 300

    result = bo.minimize(lambda p: -math.log(p["w0"] * p["w1"] * p["w2"]), space, budget=14, seed=0,
                         n_initial=6, constraints=[total_neurons])
    assert all(total_neurons(p) <= 0 for p in result.xs)
    assert len({tuple(p.values()) for p in result.xs}) == len(result.xs)


def test_impossible_constraint_names_itself_and_how_close_it_came():
    def impossible(p):
        return p["x1"] - (-6.0)  # x1 >= -5 everywhere: misses by at least 1

    for method in ("gp", "random", "sobol"):
        with pytest.raises(SpaceError, match=r"impossible never held.*misses impossible by 1\.\d"):
            bo.Optimizer(BRANIN_SPACE, method=method, constraints=[impossible]).ask()


def test_constraint_errors_are_clear():
    with pytest.raises(SpaceError, match="not callable"):
        bo.Optimizer(BRANIN_SPACE, constraints=[3.0])
    with pytest.raises(SpaceError, match=r"constraint #0 \(<lambda>\) failed"):
        bo.Optimizer(BRANIN_SPACE, method="random", constraints=[lambda p: p["nope"]]).ask()
    with pytest.raises(SpaceError, match="does not take known constraints"):
        bo.Optimizer(BRANIN_SPACE, method="cmaes", constraints=[disk])


def test_failed_trials_lower_the_probability_of_proposing_there():
    """The objective improves towards x < 0.3, where every trial fails (training diverges)."""
    space = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])

    def fails_on_the_left(p):
        return float("nan") if p["x"] < 0.3 else p["x"] + 0.1 * (p["y"] - 0.5) ** 2

    result = bo.minimize(fails_on_the_left, space, budget=26, seed=0, n_initial=8)
    guided = result.xs[8:]
    deep_in_failing_region = sum(p["x"] < 0.2 for p in guided)  # probing the edge is fair
    assert deep_in_failing_region <= 2, [round(p["x"], 3) for p in guided]
    assert result.x["x"] < 0.33  # and it still finds the edge of the feasible region


def test_without_failures_the_search_goes_where_the_objective_points():
    """Control for the test above: the same objective without failures is pursued below 0.3."""
    space = Space([Real("x", 0.0, 1.0), Real("y", 0.0, 1.0)])
    result = bo.minimize(lambda p: p["x"] + 0.1 * (p["y"] - 0.5) ** 2, space, budget=26, seed=0, n_initial=8)
    assert sum(p["x"] < 0.2 for p in result.xs[8:]) >= 10


def test_a_vectorized_constraint_takes_every_candidate_in_one_call_and_proposes_the_same_points():
    space = Space([Integer("depth", 1, 3)] + [Integer(f"w{i}", 1, 64, log=True) for i in (1, 2, 3)]
                  + [bo.Categorical("act", ["relu", "tanh"])],
                  conditions={"w2": ("depth", 2), "w3": ("depth", 3)})

    def neurons(p):
        return sum(p[f"w{i}"] for i in range(1, p["depth"] + 1)) + 10 * (p["act"] == "tanh") - 70

    calls = []

    @bo.constraints.vectorized
    def neurons_columns(c):
        calls.append(len(c["depth"]))
        present = np.arange(1, 4) <= c["depth"][:, None]
        widths = np.stack([c["w1"], c["w2"], c["w3"]], axis=1)
        return (widths * present).sum(axis=1) + 10 * (c["act"] == "tanh") - 70

    U = np.random.default_rng(0).uniform(size=(500, space.dim))
    per_point = bo.constraints.Constraints(space, [neurons]).violations(U)
    np.testing.assert_array_equal(bo.constraints.Constraints(space, [neurons_columns]).violations(U), per_point)
    assert calls == [500]
    point = {"depth": 2, "w1": 30, "w2": 20, "w3": 1, "act": "tanh"}
    assert neurons_columns(point) == neurons(point) == -10.0

    def objective(p):
        return -math.log(p["w1"]) - (p["depth"] > 1) * math.log(p["w2"]) + 0.1 * (p["act"] == "tanh")

    runs = [bo.minimize(objective, space, budget=14, seed=2, constraints=[c]) for c in (neurons, neurons_columns)]
    assert runs[0].xs == runs[1].xs
    assert all(neurons(p) <= 0 for p in runs[1].xs)


def test_a_vectorized_constraint_of_the_wrong_shape_is_named():
    wrong = bo.constraints.vectorized(lambda c: np.zeros(3))
    with pytest.raises(SpaceError, match=r"constraint #0 \(<lambda>\) failed at 1 point given as "
                                         r"columns: it returned shape \(3,\) for 1 point; return one"):
        bo.Optimizer(BRANIN_SPACE, constraints=[wrong]).ask()
    with pytest.raises(SpaceError, match=r"failed at 1024 points given as columns: it returned shape"):
        bo.constraints.Constraints(BRANIN_SPACE, [wrong]).feasible(np.full((1024, 2), 0.5))
    with pytest.raises(SpaceError, match="give a function"):
        bo.constraints.vectorized(3.0)
