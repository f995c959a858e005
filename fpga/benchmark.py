"""Speed of the fpga room: ``python -m fpga.benchmark [--widths 16 64 256] [--out DIR]``.

Times, per width w, the conversion of a 16-input network with three hidden layers of width w
(Keras model, hls4ml conversion, g++ compilation of the C simulation; target <= 10 s at w = 64),
and the cost of one `estimate` call (target <= 1 ms, so the search can call it per candidate).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import timeit

from fpga.resources import estimate
from fpga.hls import to_hls
from fpga.keras_export import to_keras


def time_estimate(widths=(64, 32, 32), n_inputs: int = 16, number: int = 2000) -> float:
    """Seconds per `estimate` call for one topology (mean over ``number`` calls)."""
    import nets

    topology = nets.Topology(tuple(widths))
    return timeit.timeit(lambda: estimate(topology, n_inputs), number=number) / number


def time_export(width: int, out_dir: str, n_inputs: int = 16, seed: int = 0) -> dict[str, float]:
    """Seconds to build the Keras model, convert it with hls4ml and compile the C simulation."""
    import nets

    topology = nets.Topology((width, width, width))
    params = nets.init_params(topology, n_inputs, seed)
    t0 = time.perf_counter()
    model = to_keras(topology, params)
    t1 = time.perf_counter()
    hls_model = to_hls(model, output_dir=os.path.join(out_dir, f"w{width}"), compile=False)
    t2 = time.perf_counter()
    hls_model.compile()
    t3 = time.perf_counter()
    return {"width": width, "keras_s": t1 - t0, "convert_s": t2 - t1, "compile_s": t3 - t2,
            "total_s": t3 - t0}


def main(argv=None) -> int:
    """Prints one JSON line per measurement."""
    p = argparse.ArgumentParser(prog="python -m fpga.benchmark", description=__doc__.split("\n")[0])
    p.add_argument("--widths", type=int, nargs="*", default=[16, 64, 256])
    p.add_argument("--out", default=None, help="project folder (default: a temporary one)")
    args = p.parse_args(argv)
    print(json.dumps({"estimate_us": 1e6 * time_estimate()}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for width in args.widths:
            print(json.dumps(time_export(width, args.out or tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
