"""Asynchronous execution: batches in flight, the recorded tell order and its replay, timeouts,
and workers lost mid-trial (process pool and Dask)."""

import multiprocessing
import os
import shutil
import signal
import sqlite3
import threading
import time
import types
import warnings

import pytest

import ntbo
from ntbo import runner


def _in_thread(config):
    """Runs ntbo.search(config) in a thread; returns (thread, outcome dict)."""
    outcome = {}

    def target():
        try:
            outcome["result"] = ntbo.search(config)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _running(folder) -> bool:
    path = os.path.join(folder, "study.db")
    if not os.path.isfile(path):
        return False
    db = sqlite3.connect(path)
    try:
        return bool(db.execute("SELECT 1 FROM trials WHERE state = 'running'").fetchone())
    except sqlite3.OperationalError:  # the schema is not written yet
        return False
    finally:
        db.close()


def _finish(thread, outcome):
    thread.join(600)  # a hang fails here rather than blocking the suite
    assert not thread.is_alive(), "the search did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def test_two_workers_keep_two_batches_in_flight_and_resume_replays_the_tell_order(make_config):
    search = {"method": "gp", "options": {"n_initial": 2}, "budget": 4, "q": 1}
    config = make_config("async", objective={"seeds": 1, "epochs": 1}, search=search,
                         executor={"kind": "process", "workers": 2})
    result = ntbo.search(config)
    first, second = result.trials[:2]
    assert result.counts["complete"] == 4
    assert second.created < first.finished  # proposed while the first was training
    by_tell = sorted(result.trials, key=lambda t: t.told)
    assert [t.told for t in by_tell] == [0, 1, 2, 3]
    assert by_tell[0].told_after == 1  # both first batches were asked before any tell
    assert all(a.told_after <= b.told_after for a, b in zip(by_tell, by_tell[1:]))

    # resuming replays the recorded interleaving of asks and tells: the same proposals
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        again = ntbo.search(config)
    assert [(t.params, t.value) for t in again.trials] == [(t.params, t.value) for t in result.trials]

    # the check can fail: replaying every tell after the last ask (the synchronous order)
    # makes the optimiser propose other points
    moved = make_config("moved")["results"]
    shutil.copytree(config["results"], moved)
    db = sqlite3.connect(os.path.join(moved, "study.db"))
    with db:
        db.execute("UPDATE trials SET told_after = (SELECT MAX(ask) FROM trials)")
    db.close()
    with pytest.warns(RuntimeWarning, match="other proposals"):
        ntbo.search({**config, "results": moved})


def test_a_trial_past_the_timeout_is_stored_failed_and_the_search_goes_on(make_config):
    config = make_config(objective={"seeds": 1, "epochs": 1}, search={"budget": 2, "q": 1},
                         executor={"kind": "process", "workers": 1, "timeout": 0.01})
    result = ntbo.search(config)
    assert result.counts["failed"] == 2 and result.best is None
    for t in result.trials:
        assert t.state == "failed" and t.error.startswith("timed out")
        assert "executor.timeout = 0.01 s" in t.error


def test_a_killed_pool_worker_is_replaced_and_its_trial_run_again(make_config):
    config = make_config(objective={"seeds": 1, "epochs": 1}, search={"budget": 2, "q": 1},
                         executor={"kind": "process", "workers": 1})
    thread, outcome = _in_thread(config)
    killed = None
    for _ in range(6000):  # polls every 0.02 s
        children = multiprocessing.active_children()
        if children and _running(config["results"]):
            killed = children[0].pid
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.02)
    result = _finish(thread, outcome)
    assert killed is not None
    assert result.counts["complete"] == 2
    assert all(not t.worker.endswith(f":{killed}") for t in result.trials)


def test_a_dask_worker_killed_mid_trial_is_retried_and_the_study_completes(make_config):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        config = make_config(objective={"seeds": 1, "epochs": 2}, search={"budget": 2, "q": 1},
                             executor={"kind": "dask", "workers": 2,
                                       "scheduler": cluster.scheduler_address})
        thread, outcome = _in_thread(config)
        killed = None
        for _ in range(6000):  # polls every 0.02 s
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            if busy:
                killed = pids[busy[0]]
                os.kill(killed, signal.SIGKILL)
                break
            time.sleep(0.02)
        result = _finish(thread, outcome)
    assert killed is not None
    assert result.counts["complete"] == 2 and result.counts["failed"] == 0
    assert all(not t.worker.endswith(f":{killed}") for t in result.trials)


@pytest.mark.parametrize("kind, workers, scheduler, expected", [
    ("local", 1, None, None), ("process", 2, None, 2), ("process", 8, None, 1),
    ("dask", 4, None, 1), ("dask", 2, "tcp://10.0.0.1:8786", None)])
def test_worker_processes_on_this_machine_share_its_cores(monkeypatch, kind, workers, scheduler,
                                                          expected):
    monkeypatch.setattr(runner, "default_parallel", lambda: 4)  # four cores
    run = types.SimpleNamespace(executor=types.SimpleNamespace(kind=kind, workers=workers,
                                                               scheduler=scheduler))
    assert runner._Run.parallel(run) == expected
