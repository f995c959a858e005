"""Throughput of the topology search: trainings per hour by executor, and the optimiser's share.

Part 1 (executors): the same small random search (no optimiser cost to speak of) with a
spawn-started process pool of 1 and of 2 workers and a 2-worker Dask `LocalCluster`, each
keeping up to `workers` trials in flight (asynchronous execution). Reported per executor: the
wall time of the whole `ntbo.search` call (worker start-up included) and the trials per hour
it gives, and the steady rate measured from the trials' finishing times (from the first
trial finished to the last, so start-up and first compilations are left out).

Part 2 (optimiser share): the default ``ntbo search`` (GP, 3-layer topologies under a neuron
budget, 2 seeds x 1000 epochs, the original study's length, on 10,000 simulated showers per
class) run to 100 trials; the share is the time spent in the optimiser's ask and tell (replays
included, JAX compilations included) over the search's wall time. Target: under 2 %.
``--share-epochs E`` repeats it with E epochs per training.

Usage::

    nice -n 19 python -m benchmarks.throughput            # both parts
    python -m benchmarks.throughput --quick               # a small smoke run (no targets)
    nice -n 19 python -m benchmarks.throughput --share-only               # part 2 only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import ntbo
from ntbo.cli import DEFAULT_CONFIG, enable_compilation_cache
from ntbo.storage import Study

RESULTS = Path(__file__).resolve().parent / "results"
EXECUTORS = (("process, 1 worker", {"kind": "process", "workers": 1}),
             ("process, 2 workers", {"kind": "process", "workers": 2}),
             ("dask LocalCluster, 2 workers", {"kind": "dask", "workers": 2}))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def small_search(folder: Path, executor: dict, budget: int, events: int, epochs: int) -> dict:
    """The executor comparison's search: random 1-3 layer topologies, one seed each."""
    return {"data": {"simulate": events, "seed": 0, "geometry": "seed8"},
            "space": {"depth": [1, 3], "width": [4, 64]},
            "objective": {"seeds": 1, "epochs": epochs, "batch_size": 256},
            "search": {"method": "random", "budget": budget, "q": 1, "seed": 0},
            "executor": executor, "results": str(folder)}


def measure(config: dict) -> dict:
    """Runs one search to its budget; returns wall time, trials per hour and optimiser time."""
    start = time.perf_counter()
    result = ntbo.search(config)
    wall = time.perf_counter() - start
    with Study(result.files["study"]) as study:
        optimiser = float(study.get_meta("last_run_optimizer_seconds"))
        asks = np.sort(json.loads(study.get_meta("last_run_ask_seconds")))[::-1]
    finished = np.sort([t.finished for t in result.trials if t.state in ("complete", "failed")])
    steady = (len(finished) - 1) / (finished[-1] - finished[0]) * 3600 if len(finished) > 1 else float("nan")
    return {"trials": len(finished), "complete": result.counts["complete"], "wall_s": wall,
            "per_hour": len(finished) / wall * 3600, "steady_per_hour": steady,
            "optimizer_s": optimiser, "optimizer_share": optimiser / wall, "asks": len(asks),
            "median_ask_s": float(np.median(asks)), "largest_asks_s": asks[:6].tolist(),
            "train_s": float(sum(t.train_seconds or 0.0 for t in result.trials)),
            "best": result.best_value, "workers": sorted({t.worker for t in result.trials})}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run, not written to results/")
    parser.add_argument("--budget", type=int, default=24, help="trials per executor run (default 24)")
    parser.add_argument("--share-trials", type=int, default=100,
                        help="trials of the optimiser-share run (default 100)")
    parser.add_argument("--share-epochs", type=int, default=DEFAULT_CONFIG["objective"]["epochs"],
                        help="epochs per training in the optimiser-share run (default: the default "
                             "search's %(default)s)")
    parser.add_argument("--skip-share", action="store_true",
                        help="only the executor comparison; the optimiser-share runs of results/throughput.json are kept")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite results/throughput.md from results/throughput.json")
    parser.add_argument("--share-only", action="store_true",
                        help="only the optimiser share; the executor table of results/throughput.json is kept")
    args = parser.parse_args(argv)
    if args.markdown_only:
        (RESULTS / "throughput.md").write_text(markdown(json.loads((RESULTS / "throughput.json").read_text())))
        return 0
    budget, share_trials = (4, 6) if args.quick else (args.budget, args.share_trials)
    events, epochs = (500, 1) if args.quick else (2000, 5)
    report = {"command": "python -m benchmarks.throughput " + " ".join(argv or sys.argv[1:]),
              "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "load_before": _load(),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True, cwd=RESULTS.parent.parent).stdout.strip(),
              "executors": {"budget": budget, "events_per_class": events, "epochs": epochs, "seeds": 1,
                            "runs": []}}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ntbo-throughput-") as tmp:
        for name, executor in () if args.share_only else EXECUTORS:
            row = {"executor": name, **measure(small_search(Path(tmp) / name.split(",")[0].replace(" ", "_")
                                                            / str(executor["workers"]), executor,
                                                            budget, events, epochs))}
            report["executors"]["runs"].append(row)
            print(f"{name}: {row['trials']} trials in {row['wall_s']:.1f} s = {row['per_hour']:.0f}/h "
                  f"(steady {row['steady_per_hour']:.0f}/h), load {_load()}", flush=True)
        if not args.skip_share:
            # `ntbo search` keeps JAX's compiled programs on disk: the first search on a machine
            # compiles (cold), later ones reuse them (warm). Both are measured, in a fresh cache.
            enable_compilation_cache(str(Path(tmp) / "jax-cache"))
            share_epochs = epochs if args.quick else args.share_epochs
            default_length = share_epochs == DEFAULT_CONFIG["objective"]["epochs"]
            for cache in ("cold", "warm"):
                config = {**DEFAULT_CONFIG, "search": {**DEFAULT_CONFIG["search"], "budget": share_trials},
                          "objective": {**DEFAULT_CONFIG["objective"], "epochs": share_epochs},
                          "results": str(Path(tmp) / f"share-{cache}")}
                if args.quick:
                    config["data"] = {**config["data"], "simulate": events}
                row = measure(config)
                key = "share" if default_length else f"share_{share_epochs}_epochs"
                report[key + ("_warm" if cache == "warm" else "")] = {
                    "config": f"DEFAULT_CONFIG of ntbo.cli with budget {share_trials}"
                              + ("" if default_length else f" and {share_epochs} epochs"),
                    "epochs": share_epochs, "compilation_cache": cache, **row}
                print(f"optimiser share at {row['trials']} trials ({cache} compilation cache): "
                      f"{100 * row['optimizer_share']:.2f} % ({row['optimizer_s']:.1f} s of "
                      f"{row['wall_s']:.1f} s), load {_load()}", flush=True)
    report["load_after"] = _load()
    report["total_wall_s"] = time.perf_counter() - start
    if args.quick:
        print(json.dumps(report, indent=1, default=str))
        return 0
    RESULTS.mkdir(exist_ok=True)
    if args.share_only:  # keep the earlier full run's tables, each share run with its own header
        earlier = json.loads((RESULTS / "throughput.json").read_text())
        shares = {k: v for k, v in report.items() if k.startswith("share")}
        next(iter(shares.values()))["run"] = {k: report[k] for k in (
            "command", "date_utc", "load_before", "load_after", "commit", "total_wall_s")}
        report = {**earlier, **shares}
    elif args.skip_share:  # keep the earlier optimiser-share runs
        earlier = json.loads((RESULTS / "throughput.json").read_text())
        report.update({k: v for k, v in earlier.items() if k.startswith("share")})
    (RESULTS / "throughput.json").write_text(json.dumps(report, indent=1, default=str))
    (RESULTS / "throughput.md").write_text(markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    ex = report["executors"]
    base = ex["runs"][0]
    lines = ["# Search throughput", "",
             f"- command: `nice -n 19 {report['command']}`", f"- date (UTC): {report['date_utc']}",
             f"- machine: {report['machine']}",
             f"- load average (1, 5, 15 min) before: {' '.join(map(str, report['load_before']))}",
             f"- load average (1, 5, 15 min) after: {' '.join(map(str, report['load_after']))}",
             f"- ntbo commit: {report['commit']}", f"- total wall time: {report['total_wall_s']:.0f} s", "",
             "## Trainings per hour by executor", "",
             f"Random search, {ex['budget']} trials, 1-3 hidden layers of 4-64, one seed, "
             f"{ex['epochs']} epochs on {ex['events_per_class']} simulated showers per class; up to "
             "`workers` trials in flight, each told as it completes. Wall: the whole `ntbo.search` "
             "call, worker start-up included. Steady: from the first finished trial to the last. "
             "Ratios are against the 1-worker pool of the same run.", "",
             "| executor | trials | wall (s) | trials/h (wall) | trials/h (steady) | wall ratio | steady ratio |",
             "|---|---|---|---|---|---|---|"]
    for r in ex["runs"]:
        lines.append(f"| {r['executor']} | {r['trials']} | {r['wall_s']:.1f} | {r['per_hour']:.0f} | "
                     f"{r['steady_per_hour']:.0f} | {r['per_hour'] / base['per_hour']:.2f}x | "
                     f"{r['steady_per_hour'] / base['steady_per_hour']:.2f}x |")
    for key in sorted((k for k in report if k.startswith("share")), key=lambda k: (len(k), k)):
        s = report[key]
        verdict = "meets" if s["optimizer_share"] < 0.02 else "misses"
        run = s.get("run")
        default_epochs = DEFAULT_CONFIG["objective"]["epochs"]
        epochs = s.get("epochs", default_epochs)
        lines += ["", f"## The optimiser's share of the search ({epochs} epochs, "
                  f"{s['compilation_cache']} JAX compilation cache)", ""]
        if run:
            lines += [f"Run separately: `nice -n 19 {run['command']}`, {run['date_utc']} UTC, commit "
                      f"{run['commit']}, load average before {' '.join(map(str, run['load_before']))}, "
                      f"after {' '.join(map(str, run['load_after']))}.", ""]
        lines += [(
                  f"{s['config']} (`ntbo search` "
                  + ("with no arguments" if epochs == default_epochs else f"with `epochs = {epochs}`")
                  + ", local executor, "
                  f"{s['compilation_cache']} compilation cache): {s['trials']} "
                  f"trials in {s['wall_s']:.0f} s; the optimiser (every ask and tell, JAX "
                  f"compilations included) took {s['optimizer_s']:.1f} s = "
                  f"**{100 * s['optimizer_share']:.2f} %** of the wall time, which {verdict} the "
                  f"2 % target. Training took {s['train_s']:.0f} s of it. The median of its "
                  f"{s['asks']} asks took {s['median_ask_s']:.3f} s; the six longest (the first GP "
                  "ask, which compiles the GP padded to the budget or waits for `bo.Optimizer.warm_up` "
                  "to finish compiling it, and the cold hyperparameter "
                  f"fits when the data enter a new capacity bucket, in bo) took {', '.join(f'{x:.1f}' for x in s['largest_asks_s'])} s, "
                  f"together {sum(s['largest_asks_s']):.1f} s = "
                  f"{100 * sum(s['largest_asks_s']) / s['wall_s']:.2f} % of the wall time. At that "
                  f"median ask, the optimiser stays under 2 % once a trial trains for "
                  f"{49 * s['median_ask_s']:.1f} s or more (this search trains for "
                  f"{s['train_s'] / max(s['trials'], 1):.2f} s per trial here"
                  + ("; with a cold cache that includes XLA compiling each new shape bucket)."
                     if s["compilation_cache"] == "cold" else ")."))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
