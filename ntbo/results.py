"""The results folder's human-readable side, rebuilt from the study at any time.

``trials.csv`` (one row per trial), ``summary.json`` (counts, the best trial, the Pareto front
of objective versus cost, the config), ``best_so_far.png`` (the best objective after each
training, with every trial's value), ``pareto.png`` (objective versus DSPs, or total neurons
without the fpga room, with the Pareto front) and ``best/loss.png`` (the best network's loss
curves from its stored history; the network itself is ``best/model.npz`` + ``best/model.json``)
and ``gp_slices.png`` (a `bo.gp` model fitted to the complete trials, its mean ± sd along each
width of the best topology with the other parameters held at the best point).
`report(folder)` rewrites them from ``study.db`` and returns the `SearchResult`; it is what
``ntbo report DIR`` runs, and it may be run while a search is writing.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np

import bo
import nets

from ntbo.storage import Study, Trial, plain_json

CSV_FIELDS = ("id", "state", "value", "value_std", "hidden", "depth", "neurons", "params",
              "activation", "lr", "dsp", "lut", "latency_ns", "n_seeds", "train_seconds",
              "batch", "worker", "error", "point")


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a search found.

    Attributes:
        folder: the results folder.
        best: the complete trial with the lowest objective (ties to the cheapest, see `rank`),
            or None if none completed.
        trials: every trial, in proposal order.
        counts: number of trials per state.
        metric: the objective's metric.
        files: paths of ``study``, ``trials_csv``, ``summary``, ``plot`` and (once a trial
            completed) ``best_model`` (the stem of its ``.npz`` + ``.json``).
    """

    folder: Path
    best: Trial | None
    trials: tuple[Trial, ...]
    counts: dict
    metric: str
    files: dict

    @property
    def best_topology(self) -> nets.Topology | None:
        return None if self.best is None else self.best.topology

    @property
    def best_value(self) -> float:
        """The best objective (mean over seeds), NaN when no trial completed."""
        return math.nan if self.best is None else self.best.value

    @property
    def best_std(self) -> float:
        """Its standard deviation over seeds."""
        return math.nan if self.best is None else self.best.value_std

    def best_so_far(self) -> np.ndarray:
        """(n_trained,) the best objective after each trained trial, in finishing order."""
        return best_so_far(self.trials)

    def __str__(self) -> str:
        c = self.counts
        head = (f"{c['complete']} complete, {c['failed']} failed, {c['infeasible']} infeasible "
                f"(not trained), {c['pending'] + c['running']} unfinished")
        if self.best is None:
            return f"{head}; no trial completed\nresults: {self.folder}"
        b = self.best
        res = ", ".join(f"{k} {v:g}" for k, v in b.resources.items() if isinstance(v, (int, float)))
        return (f"{head}\nbest: trial {b.id}, hidden {list(b.topology.layers)} "
                f"({b.topology.activation}), {self.metric} {b.value:.4g} ± {b.value_std:.2g} "
                f"over {len(b.seeds)} seed(s)\nresources: {res}\nresults: {self.folder}")


def best_so_far(trials) -> np.ndarray:
    trained = sorted((t for t in trials if t.state in ("complete", "failed")),
                     key=lambda t: (t.finished or 0.0, t.id))
    values = [t.value if t.state == "complete" else math.inf for t in trained]
    return np.minimum.accumulate(np.asarray(values, float)) if values else np.zeros(0)


def rank(value: float, resources: dict, trial_id: int) -> tuple:
    """Orders complete trials, best first: the lowest objective; among equal objectives (the
    background efficiency counts pions, so ties are common) the cheaper network, by DSPs when
    the fpga model priced it, then neurons; then the earlier trial."""
    return value, resources.get("dsp", 0), resources.get("neurons", 0), trial_id


def best_trial(trials) -> Trial | None:
    """The complete trial that ranks first (see `rank`), or None if none completed."""
    done = [t for t in trials if t.state == "complete"]
    return min(done, key=lambda t: rank(t.value, t.resources, t.id)) if done else None


def _row(t: Trial) -> dict:
    r = t.resources
    return {"id": t.id, "state": t.state, "value": t.value, "value_std": t.value_std,
            "hidden": "-".join(map(str, t.topology.layers)), "depth": t.topology.depth,
            "neurons": r.get("neurons"), "params": r.get("params"),
            "activation": t.topology.activation, "lr": t.lr, "dsp": r.get("dsp"),
            "lut": r.get("lut"), "latency_ns": r.get("latency_ns"), "n_seeds": len(t.seeds),
            "train_seconds": t.train_seconds, "batch": t.batch, "worker": t.worker,
            "error": t.error, "point": plain_json(t.params)}


def _replace(path: Path, write) -> None:
    """Writes through a temporary file, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        write(f)
    os.replace(tmp, path)


def _cost_name(trials) -> str:
    return "dsp" if all("dsp" in t.resources for t in trials) else "neurons"


def _front(trials) -> tuple[str, list[Trial]]:
    done = [t for t in trials if t.state == "complete"]
    name = _cost_name(done)
    points = np.array([[t.resources.get(name, 0), t.value] for t in done], float).reshape(-1, 2)
    front, _ = bo.pareto.pareto_front(points)
    return name, [done[i] for i in front]


def write_tables(study: Study, config) -> SearchResult:
    """Rewrites ``trials.csv`` and ``summary.json``; returns the `SearchResult`."""
    folder = study.path.parent
    trials = tuple(study.trials())
    best = best_trial(trials)
    files = {"study": folder / study.path.name, "trials_csv": folder / "trials.csv",
             "summary": folder / "summary.json", "plot": folder / "best_so_far.png",
             "pareto_plot": folder / "pareto.png"}
    if (folder / "best" / "model.json").is_file():
        files["best_model"] = folder / "best" / "model"

    def write_csv(f):
        writer = csv.DictWriter(f, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(_row(t) for t in trials)

    _replace(files["trials_csv"], write_csv)
    counts = study.counts()
    summary = {"counts": counts, "budget": config.search.budget, "metric": config.objective.metric,
               "method": config.search.method,
               "best": None if best is None else {
                   "trial": best.id, "hidden": list(best.topology.layers),
                   "activation": best.topology.activation, "lr": best.lr, "value": best.value,
                   "value_std": best.value_std, "seeds": best.seeds, "resources": best.resources},
               "best_so_far": best_so_far(trials).tolist(),
               "pareto": (lambda name, front: {"cost": name, "trials": [
                   {"trial": t.id, name: t.resources.get(name), "value": t.value,
                    "hidden": list(t.topology.layers)} for t in front]})(*_front(trials)),
               "train_seconds": sum(t.train_seconds or 0.0 for t in trials),
               "files": {k: str(v) for k, v in files.items()}, "config": config.to_dict()}
    _replace(files["summary"], lambda f: f.write(plain_json(summary)))
    return SearchResult(folder, best, trials, counts, config.objective.metric, files)


@contextlib.contextmanager
def _axes(path: Path, xlabel: str, ylabel: str):
    """A 6 x 4 in. figure (matplotlib, Agg) whose axes the block fills; saved to path on exit."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        yield ax
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def plot_best_so_far(result: SearchResult, path: Path) -> Path:
    """Best objective versus trainings, with each trial's value."""
    trained = sorted((t for t in result.trials if t.state in ("complete", "failed")),
                     key=lambda t: (t.finished or 0.0, t.id))
    x = np.arange(1, len(trained) + 1)
    values = np.array([t.value if t.state == "complete" else np.nan for t in trained], float)
    with _axes(path, "trainings (topologies)", result.metric) as ax:
        ax.plot(x, values, "o", ms=4, alpha=0.5, label="trial (mean over seeds)")
        ax.step(x, result.best_so_far(), where="post", label="best so far")
    return path


def plot_pareto(result: SearchResult, path: Path) -> Path:
    """Objective versus cost (DSPs, or total neurons) of complete trials, with the Pareto front."""
    done = [t for t in result.trials if t.state == "complete"]
    name, front = _front(result.trials)
    xlabel = "DSPs (fpga.estimate)" if name == "dsp" else "hidden neurons"
    with _axes(path, xlabel, result.metric) as ax:
        ax.errorbar([t.resources.get(name, 0) for t in done], [t.value for t in done],
                    yerr=[t.value_std or 0.0 for t in done], fmt="o", ms=4, alpha=0.5, label="trial")
        ax.step([t.resources.get(name, 0) for t in front], [t.value for t in front], "r-",
                where="post", label="Pareto front")
    return path


def plot_loss(model_json: Path, path: Path) -> Path:
    """Training and validation loss per epoch of the saved best model."""
    info = json.loads(Path(model_json).read_text())["info"]
    history = info["history"]
    with _axes(path, "epoch", "binary cross-entropy") as ax:
        for name in ("loss", "val_loss"):
            ax.plot(np.arange(1, len(history[name]) + 1), np.asarray(history[name], float), label=name)
        ax.set_title(f"best network: trial {info.get('trial')}, seed {info.get('seed')}")
    return path


def gp_slices(result: SearchResult, config, n_max: int = 200) -> dict[str, dict]:
    """A GP fitted to the complete trials (`bo.gp.fit` on the search space's unit-cube encoding,
    the squared standard errors over seeds as known noise), cut along each width of the best
    topology with every other parameter at the best point.

    Args:
        result: the search's trials.
        config: its `SearchConfig` (for the space).
        n_max: most widths evaluated per slice (all of them when the range is smaller).

    Returns:
        ``{"width_k": {"width": (m,), "mean": (m,), "sd": (m,), "best": int}}`` for each width
        that exists in the best topology; empty with fewer than 3 complete trials.
    """
    from ntbo.runner import observations
    from ntbo.space import build_space
    done = [t for t in result.trials if t.state == "complete"]
    if len(done) < 3 or result.best is None:
        return {}
    space = build_space(config.space)
    values, noise = observations(done)
    model = bo.gp.fit(space.encode([t.params for t in done]), np.array(values), obs_noise=np.array(noise))
    best = result.best.params
    depth = int(best.get("depth", config.space.depth[0]))
    out = {}
    for p in space.params:
        if not p.name.startswith("width_"):
            continue
        if config.space.encoding == "depth" and int(p.name.split("_")[1]) > depth:
            continue  # a layer the best network does not have
        if p.high - p.low + 1 <= n_max:
            widths = np.arange(p.low, p.high + 1)
        else:
            widths = np.unique(np.round(np.geomspace(max(p.low, 1), p.high, n_max)).astype(int))
        mean, var = bo.gp.predict(model, space.encode([{**best, p.name: int(w)} for w in widths]))
        out[p.name] = {"width": widths, "mean": np.asarray(mean), "sd": np.sqrt(np.asarray(var)),
                       "best": int(best[p.name])}
    return out


def plot_gp_slices(result: SearchResult, config, path: Path) -> Path | None:
    """One panel per width of the best topology: the GP mean ± sd along it (`gp_slices`)."""
    slices = gp_slices(result, config)
    if not slices:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, axes = plt.subplots(1, len(slices), figsize=(4 * len(slices), 3.5), dpi=100,
                             sharey=True, squeeze=False)
    try:
        for ax, (name, cut) in zip(axes[0], slices.items()):
            ax.plot(cut["width"], cut["mean"], "C0-", label="GP mean")
            ax.fill_between(cut["width"], cut["mean"] - cut["sd"], cut["mean"] + cut["sd"],
                            color="C0", alpha=0.25, label="± 1 sd")
            ax.axvline(cut["best"], color="C3", ls="--", label="best")
            if config.space.log:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(name.replace("_", " "))
        axes[0][0].set_ylabel(result.metric)
        axes[0][0].legend()
        fig.suptitle(f"GP slices through the best topology {list(result.best.topology.layers)}")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def write_report(study: Study, config) -> SearchResult:
    """`write_tables` plus the plots (the GP slices with 3 complete trials or more, the best
    model's loss curves once there is one)."""
    result = write_tables(study, config)
    plot_best_so_far(result, result.files["plot"])
    plot_pareto(result, result.files["pareto_plot"])
    slices = plot_gp_slices(result, config, result.folder / "gp_slices.png")
    if slices is not None:
        result.files["gp_slices_plot"] = slices
    if "best_model" in result.files:
        result.files["loss_plot"] = plot_loss(result.files["best_model"].with_suffix(".json"),
                                              result.folder / "best" / "loss.png")
    return result


def report(folder: str | Path) -> SearchResult:
    """Rebuilds ``trials.csv``, ``summary.json`` and the plot of a results folder.

    Raises:
        ConfigError: the folder holds no study.
    """
    from ntbo.runner import STUDY_FILE, stored_config
    config = stored_config(folder)
    with Study(Path(folder) / STUDY_FILE) as study:
        return write_report(study, config)
