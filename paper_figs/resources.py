"""Part 3: performance over resource availability, networks of up to 15 layers.

For each budget of a ladder (total hidden neurons, then DSPs by `fpga.estimate` at a fixed
precision and reuse factor) one `ntbo.search` (GP BO, the budget a known constraint) finds the
best network that fits; the best of each budget is exported through hls4ml and its C simulation
compared with the trained network on the test split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np

import fpga
import nets
import ntbo
from paper_figs.scales import Scale
from paper_figs.study import GEOMETRY, Prepared

#: test events (a seeded sample) on which the C simulation is compared with the trained network
EXPORT_EVENTS = 2000


@dataclasses.dataclass(frozen=True)
class BudgetResult:
    """The best network of one budget.

    Attributes:
        kind: "neurons" or "dsp".
        budget: the budget.
        topology: hidden widths of the best network (None if no trial completed).
        value, value_std: its metric (mean and std over training seeds).
        neurons, dsp: what it uses.
        trained: trainings spent.
        points: (m, 3) every completed trial of this search: neurons, dsp, value.
        model: stem of the saved best model (raw inputs), or None.
        export: the C-simulation agreement (dict) or a note why there is none.
    """

    kind: str
    budget: int
    topology: tuple[int, ...] | None
    value: float
    value_std: float
    neurons: int
    dsp: int
    trained: int
    points: np.ndarray
    model: str | None
    export: dict


def dsp_of(widths, n_inputs: int, scale: Scale) -> int:
    return int(fpga.estimate(nets.Topology(tuple(widths)), n_inputs, precision=scale.precision,
                             reuse_factor=scale.reuse_factor).dsp)


def search_budget(scale: Scale, prepared: Prepared, work: Path, kind: str, budget: int) -> BudgetResult:
    """One constrained `ntbo.search` (resumes if its folder already holds it)."""
    constraint = {"max_neurons": budget} if kind == "neurons" else {
        "max_dsp": budget, "precision": scale.precision, "reuse_factor": scale.reuse_factor}
    n_initial = max(2, scale.ladder_budget // 5)
    config = ntbo.SearchConfig(
        data={"paths": [str(prepared.root)], "geometry": GEOMETRY, "features": "layers"},
        space={"depth": (1, scale.max_depth), "width": (1, scale.ladder_width)},
        objective={"metric": "background_efficiency", "seeds": list(scale.train_seeds),
                   "epochs": scale.epochs, "batch_size": scale.batch_size, "lr": scale.lr},
        search={"method": "gp", "budget": scale.ladder_budget, "q": scale.ladder_q, "seed": 0,
                "options": {"n_initial": n_initial}},
        constraint=constraint, executor={"kind": "local"},
        results=str(work / "resources" / f"{kind}-{budget}"))
    result = ntbo.search(config)
    n_inputs = prepared.data.x_train.shape[1]
    complete = [t for t in result.trials if t.state == "complete" and t.value is not None]
    points = np.array([[sum(t.topology.hidden), dsp_of(t.topology.hidden, n_inputs, scale), t.value]
                       for t in complete], dtype=float).reshape(-1, 3)
    best = result.best
    if best is None:
        return BudgetResult(kind, budget, None, math.nan, math.nan, 0, 0, len(complete), points, None,
                            {"note": "no trial completed"})
    widths = tuple(int(w) for w in best.topology.hidden)
    model = result.files.get("best_model")
    return BudgetResult(kind, budget, widths, float(best.value), float(best.value_std or 0.0),
                        sum(widths), dsp_of(widths, n_inputs, scale), len(complete), points,
                        None if model is None else str(model), {})


def export_best(result: BudgetResult, scale: Scale, prepared: Prepared, work: Path) -> dict:
    """Exports a budget's best network through hls4ml and compares the C simulation.

    Returns:
        The agreement's fields, or ``{"note": why not}`` (no g++, too large for this scale, or
        the export failed).
    """
    if result.model is None:
        return {"note": "no model"}
    if shutil.which("g++") is None:
        return {"note": "skipped: g++ not found (hls4ml's C simulation needs it)"}
    saved = nets.load(result.model)
    multipliers = sum(a * b for a, b in zip((saved.n_inputs,) + saved.topology.hidden,
                                            saved.topology.hidden + (1,)))
    if multipliers > scale.export_max_multipliers:
        return {"note": f"skipped: {multipliers} weights > {scale.export_max_multipliers} "
                        f"compiled at scale {scale.name}"}
    out = work / "hls" / f"{result.kind}-{result.budget}"
    identity = _model_identity(saved, scale)
    record = out / "paper_figs_export.json"
    if record.exists():  # exported before: the same network and settings need no second g++ run
        stored = json.loads(record.read_text())
        if stored.get("identity") == identity:
            return stored["agreement"]
    # a seeded sample of the test split: its first events can all be of one class
    pick = np.sort(np.random.default_rng(0).permutation(len(prepared.dataset.y_test))[:EXPORT_EVENTS])
    x_test = np.asarray(prepared.dataset.x_test, np.float32)[pick]
    y_test = np.asarray(prepared.dataset.y_test, np.float32)[pick]
    try:
        export = fpga.export_model(saved.topology, saved.params, out, x=x_test, y=y_test,
                                   precision=scale.precision, reuse_factor=scale.reuse_factor,
                                   calibrate=True)
        agreement = export.agreement.to_dict()
        agreement["verdict"] = "agrees"
    except fpga.ExportError as err:
        report = out / "agreement.json"
        if not report.exists():
            return {"note": f"export failed: {err}"}
        stored = json.loads(report.read_text())
        agreement = stored.get("agreement", stored)
        agreement["verdict"] = f"disagrees: {err}"
    record.write_text(json.dumps({"identity": identity, "agreement": agreement}))
    return agreement


def _model_identity(saved, scale: Scale) -> dict:
    """What an export depends on: the network's widths, a hash of its parameters, the settings."""
    digest = hashlib.sha256()
    for name in sorted(saved.params):
        for key in sorted(saved.params[name]):
            array = np.asarray(saved.params[name][key], np.float32)
            digest.update(f"{name}/{key}".encode() + array.tobytes())
    return {"hidden": list(saved.topology.hidden), "params": digest.hexdigest()[:16],
            "precision": scale.precision, "reuse_factor": scale.reuse_factor,
            "events": f"{EXPORT_EVENTS} test events, seed 0"}
