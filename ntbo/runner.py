"""`search(config) -> SearchResult`: the topology search loop, its resume, and `evaluate`.

One batch: ask the optimiser for q points, decode them into topologies, check the known
constraints (infeasible ones are stored and told as failed, and the optimiser is asked again;
a network already trained is copied from its trial, not retrained), store the batch as
pending, and submit it (one `nets.train_many` call; with ``executor.spread`` one call per
worker). Up to ``executor.workers`` batches are in flight at once: whenever one completes its
trials are stored complete or failed, the optimiser is told (the mean over seeds as the value,
the squared standard error over seeds as the noise), ``trials.csv`` and ``summary.json`` are
rewritten, and the next batch is asked for with the running ones still pending in the
optimiser. A task running past ``executor.timeout`` is stopped and its trials stored failed;
one lost with its worker runs again (``executor.retries``). Every state change is committed
before the next step.

Resume (the same results folder, or ``ntbo search --resume DIR``) rebuilds the optimiser by
replaying the stored study: the same asks in the same order, with each batch's tell placed
after the ask it followed in the first run (the ``told_after`` column; tells in ``told``
order). A deterministic optimiser therefore proposes exactly what it proposed before, and the
search continues as if never stopped: completed trials are not trained again, interrupted
batches (pending or running trials) are trained first, and a raised budget is honoured. With
one worker the completion order is itself deterministic, so an interrupted and resumed search
ends with the same trials as an uninterrupted one; with several, completions race, so two runs
may differ, but each resume reproduces its own run's optimiser exactly.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import inspect
import json
import math
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import numpy as np

import bo
import nets
from nets.buckets import default_parallel

from ntbo import data as data_mod
from ntbo import results as report_mod
from ntbo.config import SearchConfig, as_config
from ntbo.errors import ConfigError
from ntbo.executors import Executor, open_executor
from ntbo.space import (build_space, check_constraints, default_activation, lr_of, require_fpga,
                        topology_of, width_columns)
from ntbo.storage import Study, Trial

STUDY_FILE = "study.db"
#: Fields that may change between runs on one study folder; all others must match.
_MUTABLE = {("search", "budget"), ("search", "q"), ("constraint", "max_infeasible"),
            ("executor", "kind"), ("executor", "workers"), ("executor", "scheduler"),
            ("executor", "spread"), ("executor", "timeout"), ("executor", "retries"), ("results", None)}


# ----------------------------------------------------------------------------------------------
# evaluation (runs in a worker: a module-level function of plain data)


def metric_value(result: nets.TrainResult, metric: str, data=None, signal_efficiency: float = 0.95
                 ) -> float:
    """One seed's objective (NaN when the training failed or has no value).

    The background efficiency at a working point other than the trainer's 95 % is recomputed
    from the kept parameters on ``data``'s validation split.
    """
    if result.failed:
        return math.nan
    if metric == "background_efficiency" and signal_efficiency != 0.95 and result.best_epoch >= 0:
        scores = np.asarray(jax.nn.sigmoid(nets.apply(result.topology, result.params, data.x_val)))
        value = nets.metrics.background_efficiency(scores, data.y_val, signal_efficiency, data.w_val)
    else:
        value = {"background_efficiency": result.val_background_efficiency,
                 "val_loss": result.val_loss,
                 "1-auc": None if result.val_auc is None else 1.0 - result.val_auc}[metric]
    if value is None or not math.isfinite(value):
        return math.nan
    return float(value)


def summarise(runs: Sequence[nets.TrainResult], metric: str, data=None,
              signal_efficiency: float = 0.95) -> dict:
    """A trial's record from its per-seed trainings: mean and standard deviation over seeds
    (failed if any seed failed), per-seed metrics, and the best seed's parameters."""
    values = np.array([metric_value(r, metric, data, signal_efficiency) for r in runs])
    per_seed = [{"seed": r.seed, "value": v, "val_loss": r.val_loss, "val_auc": r.val_auc,
                 "val_background_efficiency": r.val_background_efficiency,
                 "best_epoch": r.best_epoch, "failed": r.failed, "message": r.message,
                 "wall_time_s": r.wall_time_s} for r, v in zip(runs, values)]
    bad = [r for r, v in zip(runs, values) if not math.isfinite(v)]
    record = {"seeds": per_seed, "train_seconds": float(sum(r.wall_time_s for r in runs))}
    if bad:
        first = bad[0]
        reason = first.message or f"no finite {metric}"
        return {**record, "failed": True, "value": None, "value_std": None,
                "error": f"{len(bad)} of {len(runs)} seeds failed; seed {first.seed}: {reason}"}
    best = runs[int(np.argmin(values))]
    return {**record, "failed": False, "value": float(values.mean()),
            "value_std": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "error": "",
            "best_seed": best.seed, "params": best.params, "history":
            {k: v.tolist() for k, v in best.history.items()}, "n_inputs": best.n_inputs}


def evaluate(task: dict) -> dict:
    """Trains one chunk of a batch: every topology with every seed in ONE `nets.train_many` call.

    Args:
        task: plain data: ``data`` (a `ntbo.data.data_spec`), ``objective`` (the objective
            section as a dict), ``topologies`` (list of `nets.Topology.to_dict`) and ``lrs``
            (one learning rate per topology); optional ``parallel``, the training calls to run
            at once (`nets.train_many`; absent or None: its default).

    Returns:
        ``{"worker": "host:pid", "trials": [summarise(...) per topology]}``.
    """
    prepared = data_mod.load(task["data"])
    objective = task["objective"]
    seeds = tuple(objective["seeds"])
    topologies = [nets.Topology.from_dict(t) for t in task["topologies"]]
    results = nets.train_many(topologies, prepared.data, seeds=seeds, epochs=objective["epochs"],
                              batch_size=objective["batch_size"], lr=task["lrs"],
                              restarts=objective["restarts"], class_weight=objective["class_weight"],
                              parallel=task.get("parallel"))
    n = len(seeds)
    return {"worker": f"{socket.gethostname()}:{os.getpid()}",
            "trials": [summarise(results[i * n:(i + 1) * n], objective["metric"], prepared.data,
                                 objective["signal_efficiency"])
                       for i in range(len(topologies))]}


# ----------------------------------------------------------------------------------------------
# the study folder


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for section, fields in new.items():
        if not isinstance(fields, dict):
            if (section, None) not in _MUTABLE and old.get(section) != fields:
                out.append(section)
            continue
        for name, value in fields.items():
            if (section, name) not in _MUTABLE and old.get(section, {}).get(name) != value:
                out.append(f"{section}.{name}")
    return out


def open_study(config: SearchConfig) -> Study:
    """Opens (or creates) the study of ``config.results`` and records the config; an existing
    study must have been made by the same config up to the budget and the executor."""
    study = Study(_folder(config.results) / STUDY_FILE)
    new = json.loads(json.dumps(config.to_dict()))
    stored = study.get_meta("config")
    if stored is not None:
        changed = _differences(json.loads(stored), new)
        if changed:
            study.close()
            raise ConfigError(f"results = {config.results!r} holds a study made with a different "
                              f"{', '.join(changed)}; use a new results folder, or resume it "
                              "with `ntbo search --resume` (only the budget, q and executor may change)")
    study.set_meta("config", json.dumps(new, sort_keys=True))
    return study


def stored_config(folder: str | Path, budget: int | None = None) -> SearchConfig:
    """The config a study folder was made with (for ``--resume``), optionally with a new budget."""
    path = Path(folder) / STUDY_FILE
    if not path.is_file():
        raise ConfigError(f"{folder}: no {STUDY_FILE} there; give the results folder of an "
                          "earlier search")
    with Study(path) as study:
        stored = study.get_meta("config")
    if stored is None:
        raise ConfigError(f"{path}: the study has no config recorded; start a new search")
    config = SearchConfig.from_dict(json.loads(stored)).replace(results=str(folder))
    return config if budget is None else config.replace(search={"budget": budget})


def make_optimizer(space: bo.Space, config: SearchConfig, n_inputs: int) -> bo.Optimizer:
    """The `bo.Optimizer` of the search section; bad options raise ConfigError.

    The neuron and DSP budgets go to the optimiser as a known constraint, so it proposes only
    topologies that fit (methods without known-constraint support, such as cmaes, propose freely
    and the runner stores their infeasible proposals untrained).
    """
    s = config.search
    limits = config.constraint
    constraints = []
    if limits.max_neurons is not None or limits.max_dsp is not None:
        @functools.lru_cache(maxsize=1 << 16)
        def dsp(widths: tuple, activation: str) -> float:
            topology = nets.Topology(tuple(w for w in widths if w > 0), activation)
            return check_constraints(topology, n_inputs, limits).resources.get("dsp", math.inf)

        @bo.constraints.vectorized  # the optimiser checks thousands of candidates per ask
        def resource_excess(columns):
            """How far each topology is over its budget (<= 0 when it fits)."""
            widths = width_columns(columns, config.space)
            excess = np.full(len(widths), -np.inf)
            if limits.max_neurons is not None:
                excess = np.maximum(excess, widths.sum(axis=1) - limits.max_neurons)
            if limits.max_dsp is not None:
                activations = columns.get("activation", np.full(len(widths), default_activation(config.space)))
                dsps = [dsp(tuple(row), a) for row, a in zip(widths.tolist(), activations)]
                excess = np.maximum(excess, np.asarray(dsps) - limits.max_dsp)
            return excess

        constraints.append(resource_excess)
    strategy = bo.strategies.STRATEGIES.get(s.method)
    if strategy is None or "constraints" not in inspect.signature(strategy.ask).parameters:
        constraints = []
    try:
        return bo.Optimizer(space, method=s.method, seed=s.seed, constraints=constraints, budget=s.budget,
                            **s.options)
    except (bo.SpaceError, TypeError) as err:
        raise ConfigError(f"search.options: {err}") from None


# ----------------------------------------------------------------------------------------------
# the loop


@dataclasses.dataclass
class _Task:
    """One training call in flight: some (or all) unfinished trials of one batch."""

    batch: int
    trials: list
    payload: dict
    future: Any
    started: float
    generation: int
    attempts: int = 1


class _Run:
    """The state of one search process: study, optimiser, executor, the tasks in flight and
    the best so far."""

    def __init__(self, config: SearchConfig, study: Study, executor: Executor,
                 callback: Callable | None):
        self.config, self.study, self.executor, self.callback = config, study, executor, callback
        self.folder = Path(config.results)
        self.space = build_space(config.space)
        self.spec = data_mod.data_spec(config.data, self.folder)
        self.prepared = data_mod.load(self.spec)
        self.optimizer = make_optimizer(self.space, config, self.prepared.n_inputs)
        self.objective = {**config.to_dict()["objective"], "seeds": list(config.objective.seeds)}
        trials = study.trials()
        self.next_ask = 1 + max((t.ask for t in trials), default=-1)
        self.next_batch = 1 + max((t.batch for t in trials if t.batch is not None), default=-1)
        self.next_tell = 1 + max((t.told for t in trials if t.told is not None), default=-1)
        self.best_rank = min((report_mod.rank(t.value, t.resources, t.id) for t in trials
                         if t.state == "complete"), default=None)
        self.in_flight: list[_Task] = []
        self.optimizer_seconds = 0.0
        self.ask_seconds: list[float] = []
        self._noise = "noise" in inspect.signature(self.optimizer.tell).parameters

    # -- the optimiser, timed ----------------------------------------------------------------------

    def _ask(self, n: int) -> list[dict]:
        start = time.perf_counter()
        try:
            return self.optimizer.ask(n)
        finally:
            self.ask_seconds.append(time.perf_counter() - start)
            self.optimizer_seconds += self.ask_seconds[-1]

    def _tell(self, points: list[dict], values: list[float], noise: list[float] | None = None) -> None:
        start = time.perf_counter()
        try:
            if noise is not None and self._noise:
                self.optimizer.tell(points, values, noise=noise)
            else:
                self.optimizer.tell(points, values)
        finally:
            self.optimizer_seconds += time.perf_counter() - start

    def _tell_batch(self, batch: Sequence[Trial]) -> None:
        """Tells a finished batch from its stored rows (so a replay tells the same numbers)."""
        self._tell([t.params for t in batch], *observations(batch))

    # -- resume ----------------------------------------------------------------------------------

    def replay(self) -> list[list[Trial]]:
        """Re-asks and re-tells the stored history in its recorded order (each batch's tell
        after the ask recorded as ``told_after``, tells in ``told`` order); returns the batches
        still to train."""
        trials = self.study.trials()
        batches: dict[int, list[Trial]] = {}
        for t in trials:
            if t.batch is not None:
                batches.setdefault(t.batch, []).append(t)
        tells: dict[int, list[tuple[int, int]]] = {}
        for b, rows in batches.items():
            if rows[0].told is not None:
                tells.setdefault(rows[0].told_after, []).append((rows[0].told, b))
        mismatched = False
        for k in sorted({t.ask for t in trials}):
            rows = [t for t in trials if t.ask == k]
            asked = self._ask(len(rows))
            mismatched |= not np.allclose(self.space.encode(asked), self.space.encode([t.params for t in rows]))
            infeasible = [t.params for t in rows if t.state == "infeasible"]
            if infeasible:
                self._tell(infeasible, [math.nan] * len(infeasible))
            for _, b in sorted(tells.get(k, [])):
                self._tell_batch(batches[b])
        if mismatched:
            warnings.warn(f"{self.study.path}: replaying the study gave other proposals than the "
                          "stored ones (another bo version or platform?); the search continues "
                          "from the stored trials", RuntimeWarning, stacklevel=3)
        todo = []
        for b in sorted(batches):
            batch = batches[b]
            if batch[0].told is not None:
                continue
            if all(t.done for t in batch):  # stopped between recording and telling: no ask since
                self._finish_batch(b)
            else:
                todo.append(batch)
        return todo

    # -- proposing -------------------------------------------------------------------------------

    def propose(self, n: int) -> list[Trial]:
        """Asks until n feasible points are stored as one pending batch (infeasible ones are
        stored and told as failed); the trials in flight are pending in the optimiser, so it
        proposes around them. Returns the batch."""
        batch = self.next_batch
        self.next_batch += 1
        feasible, streak = 0, 0
        constraint = self.config.constraint
        while feasible < n:
            points = self._ask(n - feasible)
            trained = {(t.topology, t.lr): t for t in self.study.trials(["complete", "failed"])}
            rows = []
            for p in points:
                topology = topology_of(p, self.config.space)
                lr = lr_of(p, self.config.space, self.config.objective.lr)
                check = check_constraints(topology, self.prepared.n_inputs, constraint)
                row = {"ask": self.next_ask, "batch": batch if check.feasible else None,
                       "params": p, "topology": topology, "lr": lr,
                       "state": "pending" if check.feasible else "infeasible",
                       "resources": check.resources, "error": check.reason}
                if check.feasible and (topology, lr) in trained:  # same network: copy, not retrain
                    t = trained[(topology, lr)]
                    row.update(state=t.state, value=t.value, value_std=t.value_std, seeds=t.seeds,
                               worker=f"copy of trial {t.id}", error=t.error)
                rows.append(row)
            self.next_ask += 1
            self.study.add(rows)
            bad = [r["params"] for r in rows if r["state"] == "infeasible"]
            if bad:
                self._tell(bad, [math.nan] * len(bad))
            feasible += len(points) - len(bad)
            streak = streak + len(bad) if len(bad) == len(points) else 0
            if streak >= constraint.max_infeasible:
                raise ConfigError(
                    f"constraint: {streak} proposals in a row were infeasible (last: "
                    f"{rows[-1]['error']}); loosen the constraint or shrink space.width/space.depth")
        return [t for t in self.study.trials() if t.batch == batch]

    # -- training --------------------------------------------------------------------------------

    def launch(self, batch: Sequence[Trial]) -> None:
        """Submits the batch's unfinished trials: one task, or with ``executor.spread`` one
        task per worker; a batch with nothing to train is told at once."""
        batch_id = batch[0].batch
        todo = [t for t in batch if not t.done]
        if not todo:
            return self._finish_batch(batch_id)
        n_parts = min(self.executor.workers, len(todo)) if self.config.executor.spread else 1
        self.study.mark_running([t.id for t in todo], worker=self.executor.kind)
        self._notify()  # before submitting: the local executor trains inside submit
        for part in np.array_split(np.arange(len(todo)), n_parts):
            chunk = [todo[i] for i in part]
            payload = {"data": self.spec, "objective": self.objective,
                       "topologies": [t.topology.to_dict() for t in chunk], "lrs": [t.lr for t in chunk],
                       "parallel": self.parallel()}
            self.in_flight.append(_Task(batch_id, chunk, payload, None, 0.0, 0))
            self._submit(self.in_flight[-1])

    def _submit(self, task: _Task) -> None:
        task.generation = self.executor.generation
        task.started = time.monotonic()
        task.future = self.executor.submit(evaluate, task.payload)

    def collect(self) -> None:
        """Waits until a task finishes or times out; records it, and tells the optimiser each
        batch whose tasks are all done (in batch order when several finish together)."""
        limit = self.config.executor.timeout
        wait_s = 5.0
        if limit is not None:
            wait_s = min(wait_s, max(0.0, min(t.started for t in self.in_flight) + limit - time.monotonic()))
        self.executor.wait([t.future for t in self.in_flight], wait_s)
        now = time.monotonic()
        finished = []
        for task in sorted(self.in_flight, key=lambda t: (t.batch, t.trials[0].id)):
            if task.future.done():
                finished.append(task)
                self.in_flight.remove(task)
                self._record_task(task)
            elif limit is not None and now - task.started >= limit:
                finished.append(task)
                self.in_flight.remove(task)
                self._fail(task.trials, f"timed out: still training after executor.timeout = "
                                        f"{limit:g} s; stopped")
                if self.executor.stop(task.future):  # the whole pool was restarted
                    for other in self.in_flight:
                        self._submit(other)
        for batch_id in sorted({t.batch for t in finished}):
            if not any(t.batch == batch_id for t in self.in_flight):
                self._finish_batch(batch_id)

    def _record_task(self, task: _Task) -> None:
        try:
            out = task.future.result()
        except concurrent.futures.BrokenExecutor as err:
            if task.generation == self.executor.generation:
                self.executor.restart()
            if task.attempts <= self.config.executor.retries:  # lost with its worker: run again
                task.attempts += 1
                self.in_flight.append(task)
                self._submit(task)
            else:
                self._fail(task.trials, f"worker process died ({task.attempts} tries): {err}")
            return
        except (ConfigError, nets.TrainError) as err:
            raise ConfigError(str(err)) from None
        except Exception as err:  # noqa: BLE001 - a trial's error is data, the search goes on
            self._fail(task.trials, f"{type(err).__name__}: {err}")
            return
        for trial, record in zip(task.trials, out["trials"]):
            self._record(trial, record, out["worker"])

    def _finish_batch(self, batch_id: int) -> None:
        batch = [t for t in self.study.trials() if t.batch == batch_id]
        self._tell_batch(batch)
        self.study.mark_told([t.id for t in batch], self.next_tell, self.next_ask - 1)
        self.next_tell += 1
        report_mod.write_tables(self.study, self.config)
        self._notify()

    def _notify(self) -> None:
        if self.callback is not None:
            self.callback(self.study)

    def _fail(self, chunk: Sequence[Trial], error: str) -> None:
        for trial in chunk:
            self.study.finish(trial.id, "failed", error=error)

    def _record(self, trial: Trial, record: dict, worker: str) -> None:
        if record["failed"]:
            self.study.finish(trial.id, "failed", seeds=record["seeds"], worker=worker,
                              train_seconds=record["train_seconds"], error=record["error"])
            return
        rank = report_mod.rank(record["value"], trial.resources, trial.id)
        # the model first, so that the study never points past it
        if self.best_rank is None or rank < self.best_rank:
            self.best_rank = rank
            self._save_best(trial, record)
        self.study.finish(trial.id, "complete", record["value"], record["value_std"], record["seeds"],
                          record["train_seconds"], worker)

    def _save_best(self, trial: Trial, record: dict) -> None:
        save_model(self.folder / "best" / "model", trial.topology, record, self.prepared,
                   {"trial": trial.id, "lr": trial.lr, "resources": trial.resources,
                    "metric": self.config.objective.metric, "objective": self.objective})

    # -- the whole run ---------------------------------------------------------------------------

    def counted(self) -> int:
        """Trials that count towards the budget (all but infeasible ones)."""
        counts = self.study.counts()
        return sum(counts[s] for s in ("pending", "running", "complete", "failed"))

    def parallel(self) -> int | None:
        """Training calls each task runs at once: worker processes on this machine share its
        cores; None (the trainer's default, all cores) in this process or on a remote cluster."""
        if self.executor.kind == "local" or self.executor.scheduler is not None:
            return None
        return max(1, default_parallel() // self.executor.workers)

    def slots(self) -> int:
        """Batches kept in flight: one in this process or with ``spread``, else one per worker."""
        if self.executor.kind == "local" or self.config.executor.spread:
            return 1
        return self.executor.workers

    def run(self) -> None:
        """Keeps up to `slots` batches in flight, asking for a new one whenever one is told."""
        self.study.requeue()
        queue = self.replay()
        q = self.config.search.q
        # the GP compiles while the initial design trains
        self.optimizer.warm_up(q, pending=(self.slots() - 1) * q, noise=self._noise)
        while True:
            while len({t.batch for t in self.in_flight}) < self.slots():
                if queue:
                    self.launch(queue.pop(0))
                elif (left := self.config.search.budget - self.counted()) > 0:
                    self.launch(self.propose(min(self.config.search.q, left)))
                else:
                    break
            if not self.in_flight:
                break
            self.collect()


def observations(batch: Sequence[Trial]) -> tuple[list[float], list[float]]:
    """What the optimiser is told of finished trials: the objective (NaN when failed or
    infeasible) and its noise, the squared standard error of the mean over seeds
    (``value_std**2 / n_seeds``; 0 with a single seed, whose spread is unknown).

    Returns:
        values (n,), noise (n,).
    """
    values, noise = [], []
    for t in batch:
        ok = t.state == "complete"
        values.append(t.value if ok else math.nan)
        n = len(t.seeds)
        noise.append(float(t.value_std) ** 2 / n if ok and n >= 2 and t.value_std is not None else 0.0)
    return values, noise


def save_model(path: str | Path, topology: nets.Topology, record: dict, prepared: data_mod.Prepared,
               info: dict) -> str:
    """Saves a trial's best seed (`nets.save`: ``.npz`` + ``.json``) taking raw features: the
    standardisation is folded into the first layer. Returns the stem."""
    params = data_mod.fold_scaling(record["params"], prepared.mean, prepared.std)
    info = {**info, "value": record["value"], "value_std": record["value_std"],
            "seed": record["best_seed"], "seeds": record["seeds"], "history": record["history"],
            "feature_names": list(prepared.feature_names),
            "inputs": "raw features; the standardisation is folded into Dense_0"}
    nets.save(path, topology, params, n_inputs=prepared.n_inputs, info=info)
    return str(path)


def _folder(path: str | Path) -> Path:
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"results = {str(path)!r}: cannot create it ({err.strerror}); "
                          "choose a writable folder") from None
    return path


def train_topology(config: SearchConfig | dict | str | Path, topology: nets.Topology,
                   path: str | Path) -> tuple[dict, str | None]:
    """Trains one topology with the config's data and objective (what ``ntbo train`` runs).

    Args:
        config: the config; its ``results`` folder holds the data cache.
        topology: the network.
        path: stem of the saved model (best seed).

    Returns:
        The trial record (see `summarise`) and the saved stem, or None when training failed.
    """
    config = as_config(config)
    spec = data_mod.data_spec(config.data, _folder(config.results))
    prepared = data_mod.load(spec)
    objective = {**config.to_dict()["objective"], "seeds": list(config.objective.seeds)}
    out = evaluate({"data": spec, "objective": objective, "topologies": [topology.to_dict()],
                    "lrs": [config.objective.lr]})
    record = out["trials"][0]
    if record["failed"]:
        return record, None
    return record, save_model(path, topology, record, prepared,
                              {"metric": config.objective.metric, "objective": objective})


def search(config: SearchConfig | dict | str | Path, callback: Callable[[Study], None] | None = None
           ) -> report_mod.SearchResult:
    """Runs (or resumes) a topology search; see the module docstring.

    Args:
        config: a `SearchConfig`, a dict of its sections, or the path of a TOML file.
        callback: called with the `Study` after each batch is recorded and told.

    Returns:
        A `SearchResult` (best trial, all trials, counts, output paths).

    Raises:
        ConfigError: a bad config, unreadable data, an unwritable results folder, a folder
            holding a study of another config, or a constraint that rejects everything.
    """
    config = as_config(config)
    require_fpga(config.constraint)
    with open_study(config) as study, open_executor(config.executor, config.search.q) as executor:
        start = time.time()
        run = _Run(config, study, executor, callback)
        try:
            run.run()
        except BaseException:  # Ctrl-C or an error: running trials go back to pending for a resume
            study.requeue()
            executor.abort()
            report_mod.write_tables(study, config)
            raise
        finally:
            study.set_meta("last_run_seconds", f"{time.time() - start:.3f}")
            study.set_meta("last_run_optimizer_seconds", f"{run.optimizer_seconds:.3f}")
            study.set_meta("last_run_ask_seconds", json.dumps([round(x, 4) for x in run.ask_seconds]))
        return report_mod.write_report(study, config)
