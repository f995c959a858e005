"""The overhead and sample-efficiency scripts: their bookkeeping, and smoke runs of each method.

Nothing here checks a wall-clock time; peers are optional (``pytest.importorskip``).
"""

import json

import numpy as np
import pytest

from benchmarks import overhead, sample_efficiency
from benchmarks.functions import Branin, StyblinskiTang


def test_make_data_is_reproducible():
    fn, X, y = overhead.make_data(20, 3, seed=5)
    assert isinstance(fn, StyblinskiTang) and fn.dim == 3
    assert X.shape == (20, 3) and y.shape == (20,)
    np.testing.assert_array_equal(y, fn(X))
    _, X2, _ = overhead.make_data(20, 3, seed=5)
    np.testing.assert_array_equal(X, X2)


def test_repeat_stops_when_slow():
    calls = []

    def fast():
        calls.append(1)
        return 0.01

    assert overhead._repeat(fast) == [0.01] * overhead.MAX_REPEATS
    assert overhead._repeat(lambda: 100.0) == [100.0]


def test_predicted_seconds_scales_with_n_to_the_1_5():
    history = {("skopt", 50, 6): 2.0, ("skopt", 200, 6): 10.0, ("skopt", 200, 2): 99.0}
    assert overhead.predicted_seconds(history, "skopt", 50, 6) is None
    assert overhead.predicted_seconds(history, "skopt", 800, 6) == pytest.approx(80.0)
    assert overhead.predicted_seconds(history, "optuna", 400, 6) is None


def test_run_all_caps_and_reports(monkeypatch):
    """A method predicted to exceed the cap is skipped; an error in one does not stop others."""
    clock = {"t": 0.0}

    def slow(fn, X, y, seed=0):
        clock["t"] += 10.0 * len(X)
        return {"seconds": [10.0]}

    def broken(fn, X, y, seed=0):
        raise RuntimeError("boom")

    monkeypatch.setattr(overhead.time, "perf_counter", lambda: clock["t"])
    monkeypatch.setitem(overhead.RUNNERS, "skopt", slow)
    monkeypatch.setitem(overhead.RUNNERS, "optuna", broken)
    monkeypatch.setattr(overhead, "warm_up", lambda methods, log: None)
    records = overhead.run_all(["skopt", "optuna"], ns=(5, 50), ds=(2,), cap=100.0,
                               log=lambda *a: None)
    by = {(r["method"], r["n"]): r for r in records}
    assert by[("skopt", 5)]["mean"] == 10.0
    assert "cap" in by[("skopt", 50)]["skipped"]          # 10 s * 10^1.5 > 100 s
    assert "boom" in by[("optuna", 50)]["error"]

    table = overhead.markdown_table(records, ["skopt", "optuna"], {"load": "1 2 3"}, ["a note"])
    assert "| 2 | 50 | skipped (cap) | error |" in table
    assert "- load: 1 2 3" in table and "- a note" in table


def test_table_ratios():
    records = [
        {"method": "ntbo", "n": 50, "d": 2, "seconds": [0.1, 0.2, 0.2], "mean": 0.2,
         "first": 3.0},
        {"method": "botorch", "n": 50, "d": 2, "seconds": [2.0], "mean": 2.0},
    ]
    table = overhead.markdown_table(records, ["ntbo", "botorch"], {}, [])
    assert "| 2 | 50 | 0.2 | 2 | 3 | 0.1 | 10.0x |" in table


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    records = [{"method": "ntbo", "n": n, "d": 2, "mean": 0.01 * n} for n in (50, 200)]
    overhead.plot(records, ["ntbo"], tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unavailable_method_is_reported(monkeypatch):
    def fail(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(overhead.importlib, "import_module", fail)
    ok, msg = overhead.available("skopt")
    assert not ok and "pip install scikit-optimize" in msg


@pytest.mark.parametrize("method,module", [
    ("bayes_opt", "bayes_opt"), ("optuna", "optuna"), ("botorch", "botorch"), ("skopt", "skopt"),
])
def test_peer_runs_and_suggests_in_bounds(method, module):
    pytest.importorskip(module)
    if method == "optuna":
        pytest.importorskip("torch")
    fn, X, y = overhead.make_data(14, 2, seed=1)
    rec = overhead.RUNNERS[method](fn, X, y, seed=0)
    assert 1 <= len(rec["seconds"]) <= overhead.MAX_REPEATS
    assert all(t > 0 for t in rec["seconds"])


def test_botorch_suggest_in_unit_cube():
    pytest.importorskip("botorch")
    fn = Branin()
    U = np.random.default_rng(0).random((8, 2))
    u = overhead.botorch_suggest(U, fn(fn.bounds[:, 0] + U * np.ptp(fn.bounds, axis=1)), seed=0,
                                 num_restarts=2, raw_samples=32)
    assert u.shape == (2,) and np.all((u >= 0) & (u <= 1))


def test_ntbo_overhead_runner():
    fn, X, y = overhead.make_data(16, 2, seed=2)
    rec = overhead.run_ntbo(fn, X, y, seed=0)
    assert rec["first"] > 0 and len(rec["seconds"]) >= 1


def test_summarise_and_keys():
    med, q25, q75 = sample_efficiency.summarise([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (med, q25, q75) == (3.0, 2.0, 4.0)
    assert sample_efficiency.run_key(Branin(), "ntbo-gp", 50, 10, 3) == \
        "ntbo-gp|branin|d2|b50|i10|s3"


def test_sample_efficiency_table_checks():
    fn = Branin()
    runs = {}
    for s in range(3):
        for m, r in (("ntbo-gp", 0.01), ("ntbo-random", 0.5), ("botorch-logei", 0.02)):
            runs[sample_efficiency.run_key(fn, m, 20, 5, s)] = {"regret": r * (s + 1),
                                                                "seconds": 1.0}
    table = sample_efficiency.markdown_table(runs, [fn], sample_efficiency.METHODS, range(3),
                                             20, 5, {})
    assert "| branin | 2 | 0.02 [0.015, 0.025] |" in table
    assert "ntbo-gp < random" in table and "ntbo-gp <= BoTorch LogEI" in table


def test_botorch_loop_budget():
    pytest.importorskip("botorch")
    rec = sample_efficiency.run_one(Branin(), "botorch-logei", budget=12, n_initial=10, seed=0)
    assert len(rec["trace"]) == 12
    assert rec["regret"] >= 0 and np.all(np.diff(rec["trace"]) <= 0)


def test_cli_resumes_from_cache(tmp_path, capsys):
    args = ["--seeds", "2", "--budget", "6", "--n-initial", "3", "--methods", "ntbo-random",
            "--functions", "branin", "--out", str(tmp_path)]
    assert sample_efficiency.main(args) == 0
    cache = json.loads((tmp_path / "sample_efficiency_runs_ntbo-random.json").read_text())
    assert sorted(cache) == ["ntbo-random|branin|d2|b6|i3|s0", "ntbo-random|branin|d2|b6|i3|s1"]
    for rec in cache.values():
        assert len(rec["trace"]) == 6 and rec["regret"] >= 0
    capsys.readouterr()
    assert sample_efficiency.main(args) == 0          # everything cached: no new run
    assert "ntbo-random|branin" not in capsys.readouterr().out.split("# Sample efficiency")[0]
    assert (tmp_path / "sample_efficiency.md").exists()
