"""Saved model -> verified hls4ml project: ``python -m fpga.export --model best.npz --out DIR``.

Steps: load the ``.npz`` + JSON model, build the Keras model, convert and compile it with
hls4ml, compare the C simulation with the trained model on a test set (``--data``, an ``.npz``
with ``x`` and optionally ``y``; without it, standard-normal inputs and no AUC), write
``DIR/agreement.json`` (agreement, resource estimate, settings) and fail loudly — exit status 2
and the reason — when agreement is worse than the tolerances.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from fpga.errors import ExportError
from fpga.hls import DEFAULT_PART, STRATEGY_NAMES
from fpga.pipeline import export_model


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


def _parser(prog: str = "python -m fpga.export") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
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
    p.add_argument("--bkg-tolerance", type=float, default=None,
                   help="max |background-efficiency difference| at 95 %% signal efficiency")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m fpga.export") -> int:
    """Command-line entry point; returns the exit status (0 ok, 2 user error or disagreement)."""
    args = _parser(prog).parse_args(argv)
    import nets

    try:
        saved = nets.load(args.model)
        x, y = _load_data(args.data) if args.data else (None, None)
        result = export_model(saved.topology, saved.params, args.out, x=x, y=y,
                        precision=args.precision, reuse_factor=args.reuse,
                        strategy=args.strategy, part=args.part, clock_period=args.clock,
                        backend=args.backend, calibrate=args.calibrate,
                        max_abs_diff=args.tolerance, max_auc_diff=args.auc_tolerance,
                        max_background_efficiency_diff=args.bkg_tolerance)
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
