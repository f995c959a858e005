"""The SQLite study: rows, states, persistence across connections."""

import math
import sqlite3
import types

import nets
import pytest

from ntbo.errors import ConfigError
from ntbo.storage import Study


def _row(i, state="pending", batch=0):
    return {"ask": i, "batch": batch if state == "pending" else None, "params": {"width_1": i + 4},
            "topology": nets.Topology((i + 4,)), "lr": 1e-3, "state": state,
            "resources": {"neurons": i + 4}, "error": "" if state == "pending" else "too big"}


def test_life_of_trials_survives_reopening(tmp_path):
    path = tmp_path / "study.db"
    with Study(path) as study:
        ids = study.add([_row(0), _row(1), _row(2, "infeasible")])
        study.mark_running(ids[:2], worker="local")
        study.finish(ids[0], "complete", 0.25, 0.01, [{"seed": 0, "value": 0.24}, {"seed": 1, "value": 0.26}],
                     train_seconds=1.5, worker="host:1")
        study.finish(ids[1], "failed", seeds=[{"seed": 0, "value": math.nan}], error="loss became NaN")
    with Study(path) as study:  # a fresh connection sees every committed change
        a, b, c = study.trials()
        assert (a.state, a.value, a.value_std, a.worker) == ("complete", 0.25, 0.01, "host:1")
        assert a.seeds == ({"seed": 0, "value": 0.24}, {"seed": 1, "value": 0.26})
        assert a.topology == nets.Topology((4,)) and a.params == {"width_1": 4}
        assert a.started <= a.finished and a.train_seconds == 1.5
        assert (b.state, b.value, b.error, b.seeds[0]["value"]) == ("failed", None, "loss became NaN", None)
        assert (c.state, c.batch, c.error) == ("infeasible", None, "too big")
        assert study.counts() == {"pending": 0, "running": 0, "complete": 1, "failed": 1, "infeasible": 1}
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_requeue_returns_running_trials_to_pending(tmp_path):
    with Study(tmp_path / "study.db") as study:
        ids = study.add([_row(0), _row(1)])
        study.mark_running(ids, worker="local")
        study.finish(ids[0], "complete", 0.5)
        assert study.requeue() == 1
        assert [t.state for t in study.trials()] == ["complete", "pending"]
        assert study.trials(["pending"])[0].started is None


def test_not_a_study_is_a_config_error(tmp_path):
    bad = tmp_path / "study.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a readable ntbo study"):
        Study(bad)


def test_unwritable_folder_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write there"):
        Study(blocker / "sub" / "study.db")


def test_pareto_front_of_trials_by_hand():
    from ntbo.results import _front

    def trial(cost, value):
        return types.SimpleNamespace(state="complete", resources={"neurons": cost}, value=value)

    trials = [trial(c, v) for c, v in zip([10, 20, 5, 20, 40], [0.3, 0.2, 0.5, 0.25, 0.2])]
    # 5 -> 0.5, 10 -> 0.3, 20 -> 0.2; 20 -> 0.25 and 40 -> 0.2 are dominated
    name, front = _front(trials)
    assert name == "neurons" and front == [trials[2], trials[0], trials[1]]
    assert _front([])[1] == []
