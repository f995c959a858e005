"""End-to-end searches on a tiny ntuple: storage, outputs, resume, failures, constraints, pool."""

import csv
import json
import math
import os
import sqlite3

import jax
import numpy as np
import pytest

import bo
import hgcal
import nets
import ntbo
from ntbo import runner
from ntbo.errors import ConfigError


def _rows(folder):
    db = sqlite3.connect(os.path.join(folder, "study.db"))
    db.row_factory = sqlite3.Row
    return [dict(r) for r in db.execute("SELECT * FROM trials ORDER BY id")]


def _count_trainings(monkeypatch, fail_on=None):
    """Wraps runner.evaluate; returns the list of topologies trained per call. With fail_on=k,
    the k-th call raises KeyboardInterrupt before training (a Ctrl-C mid-batch)."""
    calls = []

    def wrapped(task):
        calls.append([tuple(t["hidden"]) for t in task["topologies"]])
        if fail_on is not None and len(calls) == fail_on:
            raise KeyboardInterrupt
        return real(task)

    real = runner.evaluate
    monkeypatch.setattr(runner, "evaluate", wrapped)
    return calls


def test_search_writes_study_csv_summary_and_best_model(make_config, ntuple):
    result = ntbo.search(make_config())
    rows = _rows(result.folder)
    assert [r["state"] for r in rows] == ["complete"] * 4
    assert [r["batch"] for r in rows] == [0, 0, 1, 1]  # q = 2: two train_many calls
    for r in rows:
        seeds = json.loads(r["seeds"])
        values = [s["value"] for s in seeds]
        assert [s["seed"] for s in seeds] == [0, 1]
        assert r["value"] == pytest.approx(np.mean(values))
        assert r["value_std"] == pytest.approx(np.std(values, ddof=1))
        assert json.loads(r["resources"])["neurons"] == sum(json.loads(r["topology"])["hidden"])
        assert r["started"] <= r["finished"] and r["worker"].endswith(f":{os.getpid()}")
    cost = {r["id"]: json.loads(r["resources"]) for r in rows}
    best = min(rows, key=lambda r: (r["value"], cost[r["id"]]["dsp"], cost[r["id"]]["neurons"], r["id"]))
    assert result.best.id == best["id"] and result.best_value == best["value"]

    with open(result.files["trials_csv"]) as f:
        table = list(csv.DictReader(f))
    assert [int(r["id"]) for r in table] == [1, 2, 3, 4]
    assert [float(r["value"]) for r in table] == [r["value"] for r in rows]
    summary = json.loads(result.files["summary"].read_text())
    assert summary["best"]["trial"] == best["id"] and summary["counts"]["complete"] == 4
    assert len(summary["best_so_far"]) == 4 and summary["best_so_far"][-1] == best["value"]
    for plot in ("plot", "pareto_plot", "loss_plot", "gp_slices_plot"):
        assert result.files[plot].stat().st_size > 0
    front, cost = summary["pareto"]["trials"], summary["pareto"]["cost"]
    assert front[-1]["trial"] == best["id"]  # the front ends at the best network
    assert all(a[cost] < b[cost] and a["value"] > b["value"] for a, b in zip(front, front[1:]))

    # the saved best model takes raw features: the folded standardisation reproduces its AUC
    saved = nets.load(result.files["best_model"])
    assert saved.topology == result.best_topology
    dataset = hgcal.load(ntuple)
    scores = jax.nn.sigmoid(nets.apply(saved.topology, saved.params, dataset.x_val))
    seed_record = next(s for s in result.best.seeds if s["seed"] == saved.info["seed"])
    assert nets.metrics.auc(np.asarray(scores), dataset.y_val) == pytest.approx(seed_record["val_auc"], abs=1e-3)


def test_interrupted_search_resumes_without_retraining(make_config, monkeypatch):
    search = {"method": "gp", "options": {"n_initial": 2}, "q": 1, "budget": 4}
    reference = ntbo.search(make_config("reference", search=search))

    config = make_config("interrupted", search=search)
    calls = _count_trainings(monkeypatch, fail_on=3)
    with pytest.raises(KeyboardInterrupt):
        ntbo.search(config)
    # Ctrl-C puts the interrupted trial back to pending
    assert [r["state"] for r in _rows(config["results"])] == ["complete", "complete", "pending"]

    calls.clear()
    resumed = ntbo.search(config)
    assert [(t.params, t.value) for t in resumed.trials] == [(t.params, t.value) for t in reference.trials]
    assert resumed.best.params == reference.best.params
    # trials 1 and 2 are kept; 3 (interrupted) and 4 are trained unless 4 repeats a network
    assert calls == [[t.topology.hidden] for t in resumed.trials[2:] if not t.worker.startswith("copy")]

    calls.clear()
    raised = ntbo.search({**config, "search": {**search, "budget": 5}})
    assert raised.counts["complete"] == 5 and [t.id for t in raised.trials] == [1, 2, 3, 4, 5]
    fifth = raised.trials[4]
    assert calls == ([] if fifth.worker.startswith("copy") else [[fifth.topology.hidden]])


def test_resuming_with_another_config_names_the_field(make_config):
    config = make_config(search={"budget": 2})
    ntbo.search(config)
    with pytest.raises(ConfigError, match=r"different objective\.epochs"):
        ntbo.search({**config, "objective": {**config["objective"], "epochs": 3}})
    resumed = runner.stored_config(config["results"], budget=3)
    assert resumed.search.budget == 3 and resumed.objective.epochs == 2


def test_diverging_training_is_stored_as_failed_and_the_search_goes_on(make_config):
    # learning rates up to 1e25 (log scale): the large ones overflow to NaN
    config = make_config(space={"depth": 1, "width": [2, 8], "lr": [1e-3, 1e25]},
                         search={"method": "sobol", "budget": 6, "q": 2})
    result = ntbo.search(config)
    states = [t.state for t in result.trials]
    assert states.count("complete") + states.count("failed") == 6
    failed = [t for t in result.trials if t.state == "failed"]
    assert failed and "complete" in states
    for t in failed:
        assert t.value is None and "NaN" in t.error and t.lr > 1e3
        assert any(s["failed"] for s in t.seeds)
    assert result.best.state == "complete" and math.isfinite(result.best_value)


def test_the_optimiser_proposes_only_topologies_within_the_neuron_budget(make_config, monkeypatch):
    calls = _count_trainings(monkeypatch)
    config = make_config(space={"depth": [1, 2], "width": [2, 16]}, constraint={"max_neurons": 10},
                         search={"budget": 3, "q": 1})
    result = ntbo.search(config)
    assert len(result.trials) == 3 == len(calls) and result.counts["infeasible"] == 0
    assert all(t.resources["neurons"] <= 10 for t in result.trials)


def test_infeasible_proposals_are_stored_but_not_trained(make_config, monkeypatch):
    calls = _count_trainings(monkeypatch)
    config = make_config(space={"depth": [1, 2], "width": [2, 16]}, constraint={"max_neurons": 10},
                         search={"method": "cmaes", "budget": 3, "q": 1})
    result = ntbo.search(config)
    trained = [t for t in result.trials if t.state != "infeasible"]
    infeasible = [t for t in result.trials if t.state == "infeasible"]
    assert len(trained) == 3 == len(calls) and result.counts["infeasible"] == len(infeasible) > 0
    assert all(t.resources["neurons"] <= 10 for t in trained)
    assert all(t.resources["neurons"] > 10 and "max_neurons 10" in t.error for t in infeasible)
    assert all(t.batch is None and not t.seeds for t in infeasible)


def test_spawn_process_pool(make_config):
    config = make_config(objective={"seeds": 1, "epochs": 1}, search={"budget": 2, "q": 2},
                         executor={"kind": "process", "workers": 1})
    result = ntbo.search(config)
    assert result.counts["complete"] == 2
    workers = {t.worker for t in result.trials}
    assert len(workers) == 1 and not workers.pop().endswith(f":{os.getpid()}")


def test_background_efficiency_at_another_working_point_is_recomputed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(np.float32)
    data = nets.Data.split(x, y, val_fraction=0.5)
    [result] = nets.train_many([nets.Topology((8,))], data, epochs=3, batch_size=50)
    # the recomputation (nets.apply on the kept parameters) agrees with the trainer at 95 %
    assert runner.metric_value(result, "background_efficiency", data, 0.95 + 1e-9) == pytest.approx(
        result.val_background_efficiency)
    loose = runner.metric_value(result, "background_efficiency", data, 0.999)
    assert result.val_background_efficiency < loose <= 1.0
    assert runner.metric_value(result, "1-auc") == pytest.approx(1 - result.val_auc)


def test_dask_local_cluster(make_config):
    pytest.importorskip("dask.distributed")
    config = make_config(objective={"seeds": 1, "epochs": 1}, search={"budget": 2, "q": 2},
                         executor={"kind": "dask", "workers": 2})
    result = ntbo.search(config)
    assert result.counts["complete"] == 2
    assert all(not t.worker.endswith(f":{os.getpid()}") for t in result.trials)


def test_a_network_proposed_again_is_copied_not_retrained(make_config, monkeypatch):
    calls = _count_trainings(monkeypatch)
    config = make_config(space={"depth": [1, 2], "width": [2, 3], "log": False},
                         objective={"seeds": 1}, search={"budget": 6, "q": 1})
    result = ntbo.search(config)
    by_id = {t.id: t for t in result.trials}
    copies = [t for t in result.trials if t.worker.startswith("copy of trial")]
    assert copies and result.counts["complete"] == 6
    for t in copies:
        original = by_id[int(t.worker.split()[-1])]
        assert (original.topology, original.value, original.seeds) == (t.topology, t.value, t.seeds)
    trained = [t.topology.hidden for t in result.trials if t not in copies]
    assert sorted(tuple(c[0]) for c in calls) == sorted(trained)
    assert len(set(trained)) == len(trained)


def test_of_equally_good_networks_the_cheapest_is_best_and_saved(make_config, monkeypatch):
    def tied(task):  # every network scores the same, as networks of equal pion counts do
        out = real(task)
        return {**out, "trials": [{**r, "value": 0.25} for r in out["trials"]]}

    real = runner.evaluate
    monkeypatch.setattr(runner, "evaluate", tied)
    result = ntbo.search(make_config(search={"budget": 6, "q": 2}))
    cost = {t.id: (t.resources["dsp"], t.resources["neurons"]) for t in result.trials}
    assert len(set(cost.values())) > 1
    cheapest = min(cost, key=lambda i: (cost[i], i))  # fewest DSPs, then neurons
    assert result.best.id == cheapest and result.best_value == 0.25
    summary = json.loads(result.files["summary"].read_text())
    assert summary["best"]["trial"] == cheapest
    assert nets.load(result.files["best_model"]).info["trial"] == cheapest


def test_the_seed_spread_is_told_as_noise_and_a_resume_tells_the_same(make_config, monkeypatch):
    told = []
    real = runner.make_optimizer

    def recording(*args, **kwargs):
        optimizer = real(*args, **kwargs)
        tell = optimizer.tell

        def record(points, values, noise=None):
            told.append((points, list(values), None if noise is None else list(noise)))
            return tell(points, values, noise=noise)

        optimizer.tell = record
        return optimizer

    monkeypatch.setattr(runner, "make_optimizer", recording)
    config = make_config(objective={"seeds": 3}, search={"method": "gp", "options": {"n_initial": 2},
                                                         "budget": 3, "q": 1})
    result = ntbo.search(config)
    first = list(told)
    assert len(first) == 3
    for (points, values, noise), trial in zip(first, sorted(result.trials, key=lambda t: t.told)):
        assert points == [trial.params] and values == [trial.value]
        per_seed = [s["value"] for s in trial.seeds]
        assert noise[0] == pytest.approx(np.var(per_seed, ddof=1) / 3) and noise[0] > 0

    told.clear()
    ntbo.search(config)  # replays only: the same tells, the same noise
    assert told == first


def test_gp_slices_cut_a_gp_fit_of_the_trials_through_the_best_point(make_config):
    from ntbo import results
    from ntbo.space import build_space
    config = ntbo.SearchConfig.from_dict(make_config(
        space={"depth": [1, 2], "width": [2, 16]}, objective={"seeds": 2},
        search={"method": "sobol", "budget": 4, "q": 2}))
    result = ntbo.search(config)
    slices = results.gp_slices(result, config)
    best = result.best.params
    assert set(slices) == {f"width_{k + 1}" for k in range(result.best.topology.depth)}
    done = [t for t in result.trials if t.state == "complete"]
    space = build_space(config.space)
    X = space.encode([t.params for t in done])
    model = bo.gp.fit(X, np.array([t.value for t in done]),
                      obs_noise=np.array([t.value_std ** 2 / 2 for t in done]))
    at_best = bo.gp.predict(model, space.encode([best]))
    for name, cut in slices.items():
        assert list(cut["width"]) == list(range(2, 17)) and cut["best"] == best[name]
        i = list(cut["width"]).index(best[name])  # every slice passes through the best point
        assert cut["mean"][i] == pytest.approx(float(at_best[0][0]))
        assert cut["sd"][i] == pytest.approx(float(np.sqrt(at_best[1][0])))
        assert np.all(cut["sd"] > 0) and np.all(np.isfinite(cut["mean"]))
        # the GP follows the data: near the best point its mean is within 3 sd + noise of it
        assert abs(cut["mean"][i] - result.best_value) < 3 * cut["sd"][i] + 3 * result.best_std
    assert result.files["gp_slices_plot"].stat().st_size > 0


def test_the_search_warms_the_gp_up_for_its_first_gp_ask_and_proposes_the_same_without(make_config, monkeypatch):
    calls = []
    real = bo.Optimizer.warm_up

    def recording(self, n=1, pending=0, noise=False):
        calls.append((n, pending, noise))
        return real(self, n, pending, noise)

    monkeypatch.setattr(bo.Optimizer, "warm_up", recording)
    search = {"method": "gp", "options": {"n_initial": 2}, "budget": 4, "q": 2}
    warmed = ntbo.search(make_config("warmed", search=search))
    assert calls == [(2, 0, True)]  # one batch in flight locally: none pending at the first GP ask
    monkeypatch.setattr(bo.Optimizer, "warm_up", lambda self, *args, **kwargs: None)
    cold = ntbo.search(make_config("cold", search=search))
    assert [t.topology for t in warmed.trials] == [t.topology for t in cold.trials]
