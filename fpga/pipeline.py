"""The whole export chain: trained nets model -> Keras -> compiled hls4ml project -> verified.

`export_model` is what ``python -m fpga.export`` (and later ``ntbo export``) runs.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from fpga.errors import ExportError
from fpga.resources import Resources, estimate
from fpga.hls import DEFAULT_PART, Agreement, agreement, to_hls, write_agreement
from fpga.keras_export import to_keras


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_model` produced.

    Attributes:
        hls_model: the compiled hls4ml model.
        agreement: C simulation versus the trained model.
        resources: the analytic estimate for the same settings.
        project_dir: the hls4ml project folder.
        report_path: the JSON report.
    """

    hls_model: Any
    agreement: Agreement
    resources: Resources
    project_dir: str
    report_path: str


def export_model(topology, params, out_dir, x=None, y=None, precision: str = "fixed<16,6>",
           reuse_factor: int = 1, strategy: str = "latency", part: str = DEFAULT_PART,
           clock_period: float = 5.0, backend: str = "Vitis", calibrate: bool = False,
           max_abs_diff: float = 0.05, max_auc_diff: float = 0.002,
           max_background_efficiency_diff: float | None = None,
           n_check: int = 1000, seed: int = 0) -> ExportResult:
    """Exports a trained network to a compiled hls4ml project and verifies it.

    Args:
        topology: the network's `nets.Topology`.
        params: its unpadded parameters.
        out_dir: output folder; the project goes to ``out_dir/hls4ml_prj``.
        x: test inputs, shape (n, n_inputs); None draws ``n_check`` standard-normal events.
        y: optional labels for the AUC and background-efficiency comparison, shape (n,).
        precision, reuse_factor, strategy, part, clock_period, backend: as in `to_hls`.
        calibrate: choose per-layer integer bits from the ranges seen on ``x``.
        max_abs_diff: tolerance on max |logit difference|.
        max_auc_diff: tolerance on |AUC difference| (used when ``y`` is given).
        max_background_efficiency_diff: optional tolerance on the background-efficiency
            difference at 95 % signal efficiency.
        n_check: events drawn when ``x`` is None.
        seed: seed of that draw.

    Returns:
        `ExportResult`.

    Raises:
        ExportError: bad input, conversion failure, or agreement beyond tolerance (after the
            report has been written).
    """
    model = to_keras(topology, params)
    n_inputs = int(model.inputs[0].shape[-1])
    if x is None:
        x = np.random.default_rng(seed).normal(size=(n_check, n_inputs)).astype(np.float32)
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ExportError(f"test inputs have shape {x.shape}; the model wants (n, {n_inputs})")
    os.makedirs(out_dir, exist_ok=True)
    project = os.path.join(os.fspath(out_dir), "hls4ml_prj")
    hls_model = to_hls(model, precision=precision, reuse_factor=reuse_factor, strategy=strategy,
                       part=part, clock_period=clock_period, output_dir=project, backend=backend,
                       calibration_data=x if calibrate else None)
    result = agreement(hls_model, topology, params, x, y)
    resources = estimate(topology, n_inputs, precision=precision, reuse_factor=reuse_factor,
                         strategy=strategy, device=part, clock_period=clock_period)
    settings = {"precision": precision, "reuse_factor": reuse_factor, "strategy": strategy,
                "part": part, "clock_period": clock_period, "backend": backend,
                "calibrate": calibrate, "max_abs_diff_tolerance": max_abs_diff,
                "max_auc_diff_tolerance": max_auc_diff,
                "max_background_efficiency_diff_tolerance": max_background_efficiency_diff}
    report = write_agreement(os.path.join(os.fspath(out_dir), "agreement.json"), result,
                             settings=settings, estimate=resources.to_dict())
    result.check(max_abs_diff=max_abs_diff, max_auc_diff=max_auc_diff,
                 max_background_efficiency_diff=max_background_efficiency_diff)
    return ExportResult(hls_model, result, resources, project, report)
