"""Saved nets model -> verified hls4ml project: ``python -m fpga.export --model best.npz --out DIR``.

Steps: load the ``.npz`` + JSON model, build the Keras model, convert and compile it with
hls4ml, compare the C simulation with the trained model on a test set (``--data``, an ``.npz``
with ``x`` and optionally ``y``; without it, standard-normal inputs and no AUC), write
``DIR/agreement.json`` (agreement, resource estimate, settings) and fail loudly — exit status 2
and the reason — when agreement is worse than the tolerances.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any, Sequence

import numpy as np

from fpga.errors import ExportError
from fpga.estimate import Resources, estimate
from fpga.hls import DEFAULT_PART, STRATEGY_NAMES, Agreement, agreement, to_hls, write_agreement
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
                "max_auc_diff_tolerance": max_auc_diff}
    report = write_agreement(os.path.join(os.fspath(out_dir), "agreement.json"), result,
                             settings=settings, estimate=resources.to_dict())
    result.check(max_abs_diff=max_abs_diff, max_auc_diff=max_auc_diff)
    return ExportResult(hls_model, result, resources, project, report)


def _load_data(path):
    """Reads ``x`` (or ``x_test``) and optional ``y`` (or ``y_test``) from an .npz file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError) as err:
        raise ExportError(f"--data {path}: cannot read ({err}); pass an .npz with arrays x, y") \
            from None
    x = arrays.get("x", arrays.get("x_test"))
    if x is None:
        raise ExportError(f"--data {path} has no array 'x' (or 'x_test'); found {sorted(arrays)}")
    return x, arrays.get("y", arrays.get("y_test"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fpga.export", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="saved model: stem, .npz or .json (nets.save)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--precision", default="fixed<16,6>", help="default fixed-point type")
    p.add_argument("--reuse", type=int, default=1, help="reuse factor")
    p.add_argument("--strategy", default="latency", choices=tuple(STRATEGY_NAMES))
    p.add_argument("--part", default=DEFAULT_PART)
    p.add_argument("--clock", type=float, default=5.0, help="clock period in ns")
    p.add_argument("--backend", default="Vitis", choices=("Vitis", "Vivado"))
    p.add_argument("--data", help=".npz test set with arrays x and optional y")
    p.add_argument("--calibrate", action="store_true",
                   help="per-layer integer bits from the ranges seen on the test inputs")
    p.add_argument("--tolerance", type=float, default=0.05, help="max |logit difference|")
    p.add_argument("--auc-tolerance", type=float, default=0.002, help="max |AUC difference|")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 user error or disagreement)."""
    args = _parser().parse_args(argv)
    import nets

    try:
        saved = nets.load(args.model)
        x, y = _load_data(args.data) if args.data else (None, None)
        result = export_model(saved.topology, saved.params, args.out, x=x, y=y,
                        precision=args.precision, reuse_factor=args.reuse,
                        strategy=args.strategy, part=args.part, clock_period=args.clock,
                        backend=args.backend, calibrate=args.calibrate,
                        max_abs_diff=args.tolerance, max_auc_diff=args.auc_tolerance)
    except (ExportError, nets.TrainError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(result.resources.table())
    a = result.agreement
    print(f"C simulation vs trained model on {a.n_events} events: max |delta| "
          f"{a.max_abs_diff:.4g}, delta AUC {a.auc_diff:.4g}, delta background efficiency "
          f"{a.background_efficiency_diff:.4g}")
    print(f"project: {result.project_dir}\nreport: {result.report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
