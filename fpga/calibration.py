"""Synthesis reports the resource model is calibrated and checked against, and `compare`.

The points are Vitis 2023.1 C-synthesis results from hls4ml's CI baselines
(fastmachinelearning/hls4ml, ``test/pytest/baselines/Vitis/2023.1/``), for the models of
``test/pytest/test_keras_api.py``: ``test_activations`` (Dense(1 -> 64), lecun-uniform weights,
then an activation) and ``test_dense`` (Dense(1 -> 2), weights uniform in [1, 10], then ELU), all
converted with ``config_from_keras_model(model)`` (``fixed<16,6>`` everywhere, R = 1, Latency,
io_parallel) for the xcvu13p at 5 ns. Each report is kept in the baseline files' own key format,
which is also what hls4ml's ``read_vivado_report``/``parse_vivado_report`` give for a
``CSynthesisReport``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

from fpga.errors import ExportError
from fpga.resources import Resources, estimate


@dataclasses.dataclass(frozen=True)
class SynthesisPoint:
    """One synthesised single-layer network and its report.

    Attributes:
        name: short label.
        n_in: inputs of the Dense layer.
        n_out: outputs of the Dense layer.
        activation: activation after it.
        report: ``CSynthesisReport`` dict (``DSP``, ``LUT``, ``FF``, ``BRAM_18K``,
            ``BestLatency``, ...).
        used_for: ``"calibration"`` or ``"validation"`` (held out).
    """

    name: str
    n_in: int
    n_out: int
    activation: str
    report: Mapping[str, str]
    used_for: str


def _report(dsp, lut, ff, bram, latency):
    return {"DSP": str(dsp), "LUT": str(lut), "FF": str(ff), "BRAM_18K": str(bram),
            "BestLatency": str(latency), "WorstLatency": str(latency), "IntervalMin": "1",
            "TargetClockPeriod": "5.00"}


SYNTHESIS_POINTS = (
    SynthesisPoint("dense64_relu", 1, 64, "relu", _report(61, 2840, 18, 0, 0), "calibration"),
    SynthesisPoint("dense64_sigmoid", 1, 64, "sigmoid", _report(62, 11005, 1689, 32, 3),
                   "calibration"),
    SynthesisPoint("dense64_elu", 1, 64, "elu", _report(63, 4821, 2135, 32, 2), "calibration"),
    SynthesisPoint("dense2_elu", 1, 2, "elu", _report(2, 190, 89, 1, 2), "validation"),
)
"""The synthesis points, from ``test_keras_api_test_activations_io_parallel-Vitis-<act>.json``
and ``test_keras_api_test_dense_io_parallel-Vitis.json``."""

_FIELDS = (("dsp", "DSP"), ("lut", "LUT"), ("ff", "FF"), ("bram18", "BRAM_18K"),
           ("latency_cycles", "BestLatency"))


class _Single:
    """A one-hidden-layer topology stand-in (avoids importing nets, and its JAX, here)."""

    def __init__(self, width: int, activation: str):
        self.layers, self.activation = (width,), activation


def estimate_point(point: SynthesisPoint) -> dict[str, int]:
    """Estimate of a calibration point's Dense + Activation alone (no output layer).

    Uses 16-bit accumulators, as hls4ml's ``granularity="model"`` config of the CI did.
    """
    res = estimate(_Single(point.n_out, point.activation), point.n_in,
                   accumulator="fixed<16,6>")
    rows = [r for r in res.layers if r.name in ("Dense_0", "Activation_0")]
    return {field: sum(getattr(r, field) for r in rows) for field, _ in _FIELDS}


def calibration_table() -> list[dict[str, Any]]:
    """Estimate versus synthesis for every point of `SYNTHESIS_POINTS`.

    Returns:
        One dict per point and resource: ``point``, ``used_for``, ``resource``, ``estimate``,
        ``synthesis`` and ``relative_error`` ((estimate - synthesis) / synthesis, None when the
        synthesis value is 0).
    """
    rows = []
    for point in SYNTHESIS_POINTS:
        est = estimate_point(point)
        for field, key in _FIELDS:
            syn = int(point.report[key])
            rows.append({"point": point.name, "used_for": point.used_for, "resource": field,
                         "estimate": est[field], "synthesis": syn,
                         "relative_error": (est[field] - syn) / syn if syn else None})
    return rows


def read_report(path) -> dict[str, str]:
    """Reads a synthesis report: a hls4ml project folder or a baseline-style JSON file.

    Args:
        path: an hls4ml output directory after ``build()`` (read with hls4ml's
            ``parse_vivado_report``), or a JSON file holding a ``CSynthesisReport`` dict (or that
            dict itself).

    Raises:
        ExportError: no report there.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        try:
            import hls4ml.report
        except ImportError:
            raise ExportError("reading a project folder needs hls4ml: pip install hls4ml") \
                from None
        parsed = hls4ml.report.parse_vivado_report(path) or {}
        report = parsed.get("CSynthesisReport")
    else:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise ExportError(f"{path}: cannot read a synthesis report ({err})") from None
        report = data.get("CSynthesisReport", data) if isinstance(data, dict) else None
    if not report or "DSP" not in report:
        raise ExportError(f"{path}: no C-synthesis report found; run hls_model.build(csim=False) "
                          "with Vivado/Vitis first, or pass the report JSON")
    return {str(k): str(v) for k, v in report.items()}


def compare(resources: Resources, report: Mapping[str, Any]) -> str:
    """Estimate and synthesis side by side, as a plain-text table.

    Args:
        resources: an `estimate` result.
        report: a ``CSynthesisReport`` dict (see `read_report`).

    Returns:
        Lines ``resource  estimate  synthesis  error``.
    """
    lines = [f"{'resource':<16}{'estimate':>12}{'synthesis':>12}{'error':>10}"]
    for field, key in _FIELDS:
        if key not in report:
            continue
        est, syn = getattr(resources, field), float(report[key])
        err = f"{(est - syn) / syn:+.1%}" if syn else "-"
        lines.append(f"{field:<16}{est:>12g}{syn:>12g}{err:>10}")
    return "\n".join(lines)
