"""The command line: help, user errors (one line, status 2), search / resume / report, SIGKILL."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ntbo
from ntbo import runner
from ntbo.cli import main

REPO = Path(ntbo.__file__).resolve().parents[1]


def _toml(path, ntuple, results, budget=3, method="sobol"):
    path.write_text(f"""results = "{results}"
[data]
paths = ["{ntuple}"]
[space]
depth = [1, 2]
width = [2, 16]
[objective]
seeds = 1
epochs = 2
batch_size = 64
[search]
method = "{method}"
budget = {budget}
[executor]
kind = "local"
""")
    return str(path)


@pytest.mark.parametrize("command", ["search", "train", "report"])
def test_help_of_each_subcommand(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and f"ntbo {command}" in capsys.readouterr().out


def test_simulate_delegates_to_hgcal(tmp_path, capsys):
    out = tmp_path / "s.root"
    assert main(["simulate", "--electrons", "20", "--pions", "20", "--out", str(out)]) == 0
    assert out.is_file() and "wrote 20 electrons" in capsys.readouterr().out


def _one_line_error(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    return err


def test_user_errors_print_one_line_and_exit_2(tmp_path, ntuple, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\nsimulate = 10\n[space]\nwidth = [64, 4]\n")
    assert "space.width" in _one_line_error(["search", "--config", str(bad)], capsys)

    missing = _toml(tmp_path / "missing.toml", tmp_path / "nope.root", tmp_path / "r1")
    assert "nope.root" in _one_line_error(["search", "--config", missing], capsys)

    blocker = tmp_path / "file"
    blocker.write_text("")
    unwritable = _toml(tmp_path / "unwritable.toml", ntuple, blocker / "results")
    assert "results" in _one_line_error(["search", "--config", unwritable], capsys)

    assert "study.db" in _one_line_error(["search", "--resume", str(tmp_path / "none")], capsys)
    assert "--hidden" in _one_line_error(["train", "--simulate", "10", "--hidden", "a,b"], capsys)
    assert "--resume" in _one_line_error(["search", "--resume", str(tmp_path), "--results", "x"], capsys)


def test_search_resume_with_raised_budget_and_report(tmp_path, ntuple, capsys):
    results = tmp_path / "results"
    assert main(["search", "--config", _toml(tmp_path / "s.toml", ntuple, results, budget=2)]) == 0
    out, err = capsys.readouterr()
    assert "2 complete" in out and "best: trial" in out
    assert err == ""  # no progress bar without a terminal
    assert main(["search", "--resume", str(results), "--budget", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "3 complete" in out and "searching" not in out
    assert main(["report", str(results)]) == 0
    assert "3 complete, 0 failed" in capsys.readouterr().out
    assert len((results / "trials.csv").read_text().splitlines()) == 4


def test_train_saves_a_model(tmp_path, ntuple, capsys):
    out = tmp_path / "trained"
    assert main(["train", "--data", ntuple, "--hidden", "8,4", "--epochs", "2", "--seeds", "1",
                 "--out", str(out)]) == 0
    assert "hidden [8, 4]" in capsys.readouterr().out
    assert (out / "model.npz").is_file() and (out / "model.json").is_file()


def test_sigkill_mid_search_then_resume_matches_an_uninterrupted_run(tmp_path, ntuple, monkeypatch):
    budget = 6
    reference = ntbo.search(_toml(tmp_path / "ref.toml", ntuple, tmp_path / "ref", budget=budget))
    results = tmp_path / "killed"
    config = _toml(tmp_path / "kill.toml", ntuple, results, budget=budget)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "ntbo.cli", "search", "--config", config],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done_at_kill = []
    try:
        for _ in range(6000):  # polls every 0.02 s, so at most about two minutes
            if proc.poll() is not None:
                break
            if (results / "study.db").is_file():
                db = sqlite3.connect(results / "study.db")
                try:
                    done = db.execute("SELECT id, finished FROM trials WHERE state = 'complete'").fetchall()
                except sqlite3.OperationalError:  # the schema is not written yet
                    done = []
                finally:
                    db.close()
                if done:
                    done_at_kill = done
                    break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        stderr = proc.communicate()[1].decode()
    assert done_at_kill and len(done_at_kill) < budget, stderr

    trained = []
    real = runner.evaluate
    monkeypatch.setattr(runner, "evaluate", lambda task: trained.append(task) or real(task))
    resumed = ntbo.search(runner.stored_config(results))
    finished = {t.id: t.finished for t in resumed.trials}
    assert all(finished[i] == when for i, when in done_at_kill)  # kept, not run again
    kept = {i for i, _ in done_at_kill}
    unfinished = [t for t in resumed.trials if t.id not in kept and not t.worker.startswith("copy")]
    assert len(trained) == len(unfinished)  # each unfinished trial trained once
    assert [(t.params, t.value) for t in resumed.trials] == [(t.params, t.value) for t in reference.trials]
    assert resumed.best.id == reference.best.id


def test_progress_bar_shows_done_of_budget_running_and_best_with_its_spread(tmp_path, ntuple, capsys):
    from ntbo.progress import Progress
    config = _toml(tmp_path / "p.toml", ntuple, tmp_path / "p", budget=2)
    progress = Progress(2, "background_efficiency", enabled=True)
    result = ntbo.search(config, callback=progress)
    progress.close()
    bar = capsys.readouterr().err
    best = result.best
    assert "2/2" in bar and "running 0" in bar and "running 1" in bar
    assert f"best {best.value:.4g} ± {best.value_std:.2g} {list(best.topology.layers)}" in bar


def test_ctrl_c_keeps_the_study_prints_the_resume_command_and_exits_130(tmp_path, ntuple):
    results = tmp_path / "interrupted"
    config = _toml(tmp_path / "i.toml", ntuple, results, budget=8)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # A shell without job control starts background jobs with SIGINT ignored, and ntbo (rightly)
    # keeps an inherited SIG_IGN: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen([sys.executable, "-m", "ntbo.cli", "search", "--config", config],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(6000):  # polls every 0.02 s
            if proc.poll() is not None or _state_count(results, "running"):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the search finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=600)[1].decode()
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    # A SIGINT landing inside a finaliser (XLA's gc callback) makes Python print an "Exception ignored"
    # report that no handler can suppress; the search's own message is still one line, the last.
    lines = err.strip().splitlines()
    ours = [line for line in lines if "resume with:" in line]
    assert len(ours) == 1 and lines[-1] == ours[0]
    assert ours[0].endswith(f"resume with: ntbo search --resume {results}")
    assert _state_count(results, "running") == 0  # the running trial went back to pending
    assert _state_count(results, "complete") < 8

    assert main(["search", "--resume", str(results), "--quiet"]) == 0
    assert _state_count(results, "complete") == 8


def _state_count(folder, state):
    path = folder / "study.db"
    if not path.is_file():
        return 0
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM trials WHERE state = ?", (state,)).fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not written yet
        return 0
    finally:
        db.close()
