"""Fast-simulation speed: showers per second of ``hgcal.simulate``.

For each particle (e-, pi-) and thread count, ``hgcal.simulate(n, particle, workers=w)`` runs
``--repeats`` times on the default v9-trigger geometry with the default spectra (pT flat
20-100 GeV, 1.7 < |eta| < 2.8), after one untimed warm-up; the median wall time gives
showers/s; the CPU time of the process (all threads) gives showers per CPU-second, which a
busy machine disturbs less. The full pipeline is timed: longitudinal and lateral sampling, noise, thresholds,
3D-cluster quantities and the sparse trigger-cell record (not the ROOT writing). The load
average of the machine is printed next to the numbers, since a shared machine slows them.
Target (issue 4): at least 20,000 showers/s on 2 cores.

Usage::

    python benchmarks/simulate_speed.py [--n 40000] [--workers 1 2] [--geometry v9-trigger] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import hgcal


def showers_per_second(n: int, particle: str, workers: int, geometry: str, repeats: int) -> tuple[float, float]:
    """Median showers per wall-clock second and per CPU second (all threads), after a warm-up."""
    hgcal.simulate(min(n, 4096), particle, geometry=geometry, workers=workers, seed=99)
    wall, cpu = [], []
    for seed in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        hgcal.simulate(n, particle, geometry=geometry, workers=workers, seed=seed)
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return n / statistics.median(wall), n / statistics.median(cpu)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40_000, help="showers per timed run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="thread counts to time")
    parser.add_argument("--geometry", default="v9-trigger", help="geometry preset or file")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--json", default=None, help="write the numbers to this file")
    args = parser.parse_args(argv)
    report = {"n": args.n, "geometry": args.geometry, "cpu_count": os.cpu_count(),
              "load_average_before": os.getloadavg(), "rates": []}
    for workers in args.workers:
        for particle in ("e-", "pi-"):
            wall, cpu = showers_per_second(args.n, particle, workers, args.geometry, args.repeats)
            row = {"particle": particle, "workers": workers, "showers_per_s": round(wall),
                   "showers_per_cpu_s": round(cpu)}
            report["rates"].append(row)
            print(json.dumps(row), flush=True)
    report["load_average_after"] = os.getloadavg()
    print(f"load average before {report['load_average_before']}, after {report['load_average_after']}")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(report, stream, indent=1)
    return report


if __name__ == "__main__":
    main()
