"""The benchmark suite's bookkeeping, a tiny end-to-end run, and the MLP-width problem's cache.

Nothing here checks a wall-clock time or a ranking of methods.
"""

import json

import numpy as np
import pytest

from benchmarks import suite
from benchmarks.functions import Branin
from benchmarks.topology_problem import MAX_WIDTH, MIN_WIDTH, TopologyProblem


def test_tiny_suite_writes_runs_resumes_and_reports(tmp_path, monkeypatch, capsys):
    args = ["--methods", "random", "sobol", "--problems", "branin", "levy", "--seeds", "3",
            "--budget", "6", "--out", str(tmp_path)]
    assert suite.main(args) == 0
    runs = sorted((tmp_path / "suite").glob("*/*.json"))
    assert len(runs) == 2 * 2 * 3
    record = json.loads((tmp_path / "suite" / "branin" / "random__s1.json").read_text())
    assert record["budget"] == 6 and len(record["values"]) == 6 == len(record["suggest_seconds"])
    np.testing.assert_allclose(record["best_so_far"], np.minimum.accumulate(record["values"]))
    # The values are Branin's at the points the method chose: each is at least the minimum.
    assert min(record["values"]) >= Branin().optimum

    # A second invocation finds every run on disk and runs nothing.
    def refuse(*a, **k):
        raise AssertionError("a finished run was run again")

    monkeypatch.setattr(suite, "run_one", refuse)
    assert suite.main(args) == 0
    table = (tmp_path / "suite.md").read_text()
    assert "## Budget 6" in table and "| random |" in table and "| sobol |" in table
    assert "Mann-Whitney" in table
    assert (tmp_path / "suite_regret.png").stat().st_size > 0

    # Topping up one cell still reports every cell on disk.
    assert suite.main(["--methods", "random", "--problems", "branin", "--seeds", "3", "--budget", "6",
                       "--out", str(tmp_path)]) == 0
    table = (tmp_path / "suite.md").read_text()
    assert "| sobol |" in table and "levy (6-d)" in table and "branin (2-d)" in table


def test_regret_is_the_prefix_minimum_minus_the_optimum():
    records = [{"budget": 4, "best_so_far": [5.0, 3.0, 3.0, 1.0]},
               {"budget": 2, "best_so_far": [2.0, 0.5]}]
    np.testing.assert_allclose(suite.regrets(records, 0.5, 2), [2.5, 0.0])
    np.testing.assert_allclose(suite.regrets(records, 0.5, 4), [0.5])  # the short run is left out


def test_reference_is_the_best_seen_when_the_optimum_is_unknown():
    problem = suite.Problem("p", space=None, evaluate=None, optimum=None, best_known=lambda: 0.7)
    runs = {("p", "a"): [{"best_so_far": [1.0, 0.9]}], ("p", "b"): [{"best_so_far": [0.8, 0.6]}],
            ("q", "a"): [{"best_so_far": [0.1]}]}
    assert suite.reference(problem, runs) == 0.6
    known = suite.Problem("p", space=None, evaluate=None, optimum=-1.0)
    assert suite.reference(known, runs) == -1.0


def test_ties_follow_a_one_sided_mann_whitney_test():
    rng = np.random.default_rng(0)
    good = rng.uniform(0.0, 1.0, 10)
    samples = {"good": good, "same": good[::-1].copy(), "close": good + 0.05,
               "bad": good + 10.0, "none": np.array([])}
    best, ties = suite.tied_with_best(samples)
    assert best == "good"
    assert ties["good"] == (True, 1.0) and ties["same"][0] and ties["close"][0]
    assert not ties["bad"][0] and ties["bad"][1] < 1e-3
    assert "none" not in ties


def test_missing_peer_is_skipped_with_a_notice(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(suite.METHODS, "skopt", suite.Method("skopt", ("no_such_module_xyz",),
                                                             suite.run_skopt))
    assert suite.available("skopt").startswith("skipping skopt: no_such_module_xyz")
    assert suite.main(["--methods", "skopt", "random", "--problems", "branin", "--seeds", "1",
                       "--budget", "3", "--out", str(tmp_path)]) == 0
    assert "skipping skopt" in capsys.readouterr().err
    assert not list((tmp_path / "suite").glob("*/skopt__*.json"))


@pytest.mark.parametrize("method,module", [("optuna-tpe", "optuna"), ("pycma", "cma"),
                                           ("skopt", "skopt"), ("bayes_opt", "bayes_opt")])
def test_peer_wrappers_spend_exactly_the_budget(method, module):
    pytest.importorskip(module)
    problem = suite.make_problem("branin")
    record = suite.run_one(problem, method, budget=12, seed=0)
    assert len(record["values"]) == 12
    assert min(record["values"]) >= Branin().optimum


def test_peer_wrappers_take_integer_spaces(tmp_path, monkeypatch):
    pytest.importorskip("optuna")
    problem = TopologyProblem(3, cache_dir=tmp_path)
    monkeypatch.setattr(problem, "_train", lambda widths: (float(sum(widths)), 0.0))
    wrapped = suite.Problem("mlp", problem.space, problem)
    seen = []
    monkeypatch.setattr(problem, "evaluate_widths", lambda w, f=problem.evaluate_widths: (
        seen.append(tuple(w)), f(w))[1])
    for method in ("optuna-tpe", "pycma"):
        if suite.available(method) is None:
            suite.run_one(wrapped, method, budget=8, seed=1)
    assert seen and all(isinstance(w, int) and MIN_WIDTH <= w <= MAX_WIDTH for t in seen for w in t)


def test_topology_problem_caches_per_topology_in_json_lines(tmp_path, monkeypatch):
    calls = []

    def fake_train(self, widths):
        calls.append(widths)
        return 1.0 / sum(widths), 0.01

    monkeypatch.setattr(TopologyProblem, "_train", fake_train)
    problem = TopologyProblem(3, cache_dir=tmp_path)
    assert list(problem.space.names) == ["w1", "w2", "w3"]
    assert problem({"w1": 4, "w2": 8, "w3": 16}) == pytest.approx(1 / 28)
    assert problem.evaluate_widths((4, 8, 16)) == pytest.approx(1 / 28)
    problem.evaluate_widths((2, 2, 2))
    assert calls == [(4, 8, 16), (2, 2, 2)]

    # Another instance (another process) reads the same file and trains nothing new.
    other = TopologyProblem(3, cache_dir=tmp_path)
    assert other.evaluate_widths((4, 8, 16)) == pytest.approx(1 / 28)
    assert other.best_known() == ((4, 8, 16), pytest.approx(1 / 28))
    assert len(calls) == 2
    lines = [json.loads(line) for line in other.cache_path.read_text().splitlines()]
    assert [line["widths"] for line in lines] == [[4, 8, 16], [2, 2, 2]]
    # A different dimension has its own cache.
    assert TopologyProblem(15, cache_dir=tmp_path).cache_path != other.cache_path


@pytest.mark.parametrize("widths", [(1, 8, 8), (8, 8, 65), (8, 8), (8.5, 8, 8)])
def test_topology_problem_rejects_bad_widths(tmp_path, widths):
    with pytest.raises(ValueError, match="mlp_widths_3d"):
        TopologyProblem(3, cache_dir=tmp_path).evaluate_widths(widths)


def test_topology_problem_trains_a_real_network(tmp_path):
    """One real evaluation: a loss between a useful classifier's and chance (ln 2)."""
    problem = TopologyProblem(1, cache_dir=tmp_path)
    loss = problem.evaluate_widths((16,))
    assert 0.1 < loss < np.log(2) + 0.05
    assert problem.best_known() == ((16,), loss)


def test_a_run_claimed_by_a_live_process_is_left_to_it(tmp_path):
    path = tmp_path / "branin" / "random__s0.json"
    assert suite.claim(path)
    assert suite.claim(path)  # this process holds it
    marker = path.with_name(path.name + ".running")
    marker.write_text("1")  # pid 1 is alive and not ours
    assert not suite.claim(path)
    marker.write_text("999999999")  # no such process: taken over
    assert suite.claim(path) and marker.read_text() == str(__import__("os").getpid())
    suite.release(path)
    assert not marker.exists()
