"""`Study`: every trial of a search in one SQLite file (standard library `sqlite3`, WAL mode).

One row per trial: the optimiser's point (JSON), the topology (JSON), its state, the objective's
mean and spread over seeds, per-seed metrics (JSON), known resources (JSON), timings, the worker
and the error text. Every state change is its own committed transaction, so a search killed at
any moment leaves a consistent file to resume from. No pickle: JSON text and SQL numbers only.

Each trained batch also records when the optimiser was told its results: ``told`` (the
tell's sequence number) and ``told_after`` (the index of the last ``ask`` before that tell).
With trials running asynchronously the tells interleave with the asks in completion order;
these two columns let a resumed search replay that exact interleaving.

States: ``"pending"`` (proposed, not started), ``"running"``, ``"complete"``, ``"failed"``
(training diverged or raised) and ``"infeasible"`` (rejected by a known constraint, never
trained, not counted in the budget).

One driver writes a study at a time; readers (``ntbo report``) may look in while it runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import nets

from ntbo.errors import ConfigError

STATES = ("pending", "running", "complete", "failed", "infeasible")
SCHEMA_VERSION = 2

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    ask INTEGER NOT NULL,
    batch INTEGER,
    params TEXT NOT NULL,
    topology TEXT NOT NULL,
    lr REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in STATES)})),
    value REAL,
    value_std REAL,
    seeds TEXT NOT NULL DEFAULT '[]',
    resources TEXT NOT NULL DEFAULT '{{}}',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    train_seconds REAL,
    worker TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    told INTEGER,
    told_after INTEGER
);
"""

#: Version 1 studies told every batch right after its last ask, in batch order.
_MIGRATE_1 = """
ALTER TABLE trials ADD COLUMN told INTEGER;
ALTER TABLE trials ADD COLUMN told_after INTEGER;
UPDATE trials SET told = batch,
    told_after = (SELECT MAX(ask) FROM trials AS b WHERE b.batch = trials.batch)
    WHERE batch IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM trials AS b WHERE b.batch = trials.batch
        AND b.state NOT IN ('complete', 'failed'));
"""


@dataclasses.dataclass(frozen=True)
class Trial:
    """One row of the study.

    Attributes:
        id: 1, 2, ... in proposal order.
        ask: index of the optimiser's ``ask`` call that proposed it.
        batch: index of the training batch it belongs to (None when infeasible).
        params: the optimiser's point.
        topology: the network.
        lr: its learning rate.
        state: one of `STATES`.
        value: objective, mean over seeds (None unless complete).
        value_std: standard deviation of the objective over seeds (0 for one seed).
        seeds: per-seed metrics, dicts with ``seed``, ``value``, ``val_loss``, ``val_auc``,
            ``val_background_efficiency``, ``best_epoch``, ``failed``, ``message``, ``wall_time_s``.
        resources: ``neurons``, ``params`` and, with the fpga room, ``dsp``, ``lut``, ...
        created, started, finished: Unix times (None until reached).
        train_seconds: wall time of the training call's share for this trial.
        worker: ``host:pid`` of the process that trained it.
        error: why it failed or is infeasible, else "".
        told: sequence number of the optimiser's tell of its batch (None until told).
        told_after: index of the last ask made before that tell (None until told).
    """

    id: int
    ask: int
    batch: int | None
    params: dict
    topology: nets.Topology
    lr: float
    state: str
    value: float | None
    value_std: float | None
    seeds: tuple
    resources: dict
    created: float
    started: float | None
    finished: float | None
    train_seconds: float | None
    worker: str
    error: str
    told: int | None = None
    told_after: int | None = None

    @property
    def done(self) -> bool:
        """True once the trial needs no more work (complete, failed or infeasible)."""
        return self.state in ("complete", "failed", "infeasible")


def plain_json(value: Any) -> str:
    """JSON text with non-finite floats as null and numpy scalars as numbers."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v
    return json.dumps(clean(value), sort_keys=True)


def _finite(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


class Study:
    """The trials of one search, in ``<folder>/study.db``.

    Args:
        path: the SQLite file; created (with its folder) when missing.

    Raises:
        ConfigError: the folder cannot be created or the file is not a study.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            fresh = not self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'trials'").fetchone()
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                 (str(SCHEMA_VERSION if fresh else 1),))
        except OSError as err:
            raise ConfigError(f"results = {str(self.path.parent)!r}: cannot write there "
                              f"({err.strerror}); choose a writable folder") from None
        except sqlite3.DatabaseError as err:
            raise ConfigError(f"{self.path}: not a readable ntbo study ({err}); "
                              "choose another results folder") from None
        version = int(self.get_meta("schema_version") or 0)
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.path}: study format {version} is newer than this ntbo "
                              f"reads ({SCHEMA_VERSION}); upgrade ntbo")
        if version < SCHEMA_VERSION:
            with self._db:
                for statement in _MIGRATE_1.strip().split(";\n"):
                    self._db.execute(statement)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                                 (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- metadata ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- trials --------------------------------------------------------------------------------

    def add(self, rows: Sequence[dict]) -> list[int]:
        """Inserts proposed trials in one transaction; returns their ids.

        Args:
            rows: dicts with ``ask``, ``batch``, ``params``, ``topology`` (a `nets.Topology`),
                ``lr``, ``state``, ``resources`` and optionally ``error``. A row that copies an
                earlier result (state ``"complete"`` or ``"failed"``) also has ``value``,
                ``value_std``, ``seeds`` and ``worker``.
        """
        now = time.time()
        ids = []
        with self._db:
            for r in rows:
                done = r["state"] != "pending"
                cur = self._db.execute(
                    "INSERT INTO trials (ask, batch, params, topology, lr, state, value, value_std, "
                    "seeds, resources, created, finished, worker, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r["ask"], r["batch"], plain_json(r["params"]), plain_json(r["topology"].to_dict()),
                     float(r["lr"]), r["state"], _finite(r.get("value")), _finite(r.get("value_std")),
                     plain_json(list(r.get("seeds", ()))), plain_json(r.get("resources", {})), now,
                     now if done else None, r.get("worker", ""), r.get("error", "")))
                ids.append(cur.lastrowid)
        return ids

    def mark_running(self, ids: Iterable[int], worker: str) -> None:
        """Pending -> running for the trials about to be trained."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "UPDATE trials SET state = 'running', started = ?, worker = ? WHERE id = ?",
                [(now, worker, i) for i in ids])

    def finish(self, id: int, state: str, value: float | None = None, value_std: float | None = None,
               seeds: Sequence[dict] = (), train_seconds: float | None = None, worker: str = "",
               error: str = "") -> None:
        """Records a trained trial as ``"complete"`` or ``"failed"``."""
        if state not in ("complete", "failed"):
            raise ValueError(f"finish: state {state!r} must be 'complete' or 'failed'")
        with self._db:
            self._db.execute(
                "UPDATE trials SET state = ?, value = ?, value_std = ?, seeds = ?, finished = ?, "
                "train_seconds = ?, worker = CASE WHEN ? = '' THEN worker ELSE ? END, error = ? "
                "WHERE id = ?",
                (state, _finite(value), _finite(value_std), plain_json(list(seeds)), time.time(),
                 _finite(train_seconds), worker, worker, error, id))

    def mark_told(self, ids: Iterable[int], told: int, told_after: int) -> None:
        """Records that the optimiser was told these trials (one batch) as tell number ``told``,
        after ask number ``told_after``."""
        with self._db:
            self._db.executemany("UPDATE trials SET told = ?, told_after = ? WHERE id = ?",
                                 [(told, told_after, i) for i in ids])

    def requeue(self) -> int:
        """Running -> pending (after an interruption); returns how many were re-queued."""
        with self._db:
            return self._db.execute(
                "UPDATE trials SET state = 'pending', started = NULL WHERE state = 'running'").rowcount

    def trials(self, states: Sequence[str] | None = None) -> list[Trial]:
        """Trials in id order, optionally only those in ``states``."""
        query = "SELECT * FROM trials"
        args: tuple = ()
        if states:
            query += f" WHERE state IN ({', '.join('?' * len(states))})"
            args = tuple(states)
        cur = self._db.execute(query + " ORDER BY id", args)
        names = [d[0] for d in cur.description]
        return [_trial(dict(zip(names, row))) for row in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        """Number of trials in each state (every state present, zero or more)."""
        out = dict.fromkeys(STATES, 0)
        out.update(self._db.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
        return out


def _trial(row: dict) -> Trial:
    return Trial(
        id=row["id"], ask=row["ask"], batch=row["batch"], params=json.loads(row["params"]),
        topology=nets.Topology.from_dict(json.loads(row["topology"])), lr=row["lr"],
        state=row["state"], value=row["value"], value_std=row["value_std"],
        seeds=tuple(json.loads(row["seeds"])), resources=json.loads(row["resources"]),
        created=row["created"], started=row["started"], finished=row["finished"],
        train_seconds=row["train_seconds"], worker=row["worker"], error=row["error"],
        told=row["told"], told_after=row["told_after"])
