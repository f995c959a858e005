"""Batch proposals: q = 4 against sequential BO at equal evaluations and at equal wall-clock.

Methods (all ``bo.minimize(..., method="gp")`` with the default log-EI acquisition otherwise):

============== ==================================================================================
sequential     one point per ask (q = 1), each evaluation waits for the previous one.
qlogei         ``batch_size=4, acquisition="qlogei"``: the 4 points jointly maximise MC qLogEI,
               starting from the believer batch (which is kept if no joint batch scores higher).
believer       ``batch_size=4``: greedy log-EI with Kriging-believer fantasies.
============== ==================================================================================

Equal evaluations: median simple regret over seeds after ``budget`` evaluations. Equal
wall-clock: four workers evaluate a batch in parallel, each evaluation taking ``--eval-seconds``
(simulated, e.g. training a network), so a run's clock after b asks is
``sum(ask + tell time) + b * eval_seconds``; the sequential method keeps one worker busy.
At the clock the batch method needs for its whole budget, the sequential method has finished
only the evaluations that fit in the same time; the table compares the regrets then.

Targets (issue 6): q-EI loses at most 20 % in regret per evaluation (median regret at the
budget at most 1.2 x the sequential median) and wins at equal wall-clock.

Every run is cached in ``<out>/batch_runs.json`` as it finishes (``--fresh`` ignores it).

Usage::

    nice -n 19 python -m benchmarks.batch [--seeds 5] [--eval-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.functions import Branin, Hartmann6

METHODS = {"sequential": dict(batch_size=1), "qlogei": dict(batch_size=4, acquisition="qlogei"),
           "believer": dict(batch_size=4, fantasy="believer")}
PROBLEMS = {"branin": (Branin, 40, 8), "hartmann6": (Hartmann6, 60, 12)}  # budget, n_initial


def run_one(problem: str, method: str, seed: int) -> dict:
    """One run: the best-so-far regret after each evaluation and the optimiser time per ask."""
    import bo

    cls, budget, n_initial = PROBLEMS[problem]
    fn = cls()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bo.minimize(fn.from_params, fn.space(), budget=budget, seed=seed, n_initial=n_initial,
                          **METHODS[method])
    ys = np.where(np.isfinite(res.ys), res.ys, np.inf)
    return {"trace": (np.minimum.accumulate(ys) - fn.optimum).tolist(),
            "ask_seconds": np.asarray(res.ask_seconds).tolist(),
            "tell_seconds": np.asarray(res.tell_seconds).tolist(),
            "batch_size": METHODS[method]["batch_size"], "seconds": time.perf_counter() - start}


def clock(run: dict, eval_seconds: float) -> np.ndarray:
    """Simulated wall-clock at which each evaluation's result is known, shape (budget,)."""
    q, n = run["batch_size"], len(run["trace"])
    per_ask = np.asarray(run["ask_seconds"]) + np.asarray(run["tell_seconds"]) + eval_seconds
    finished = np.cumsum(per_ask)
    return np.repeat(finished, q)[:n]


def regret_at_clock(run: dict, t: float, eval_seconds: float) -> tuple[float, int]:
    """(best regret known at time t, evaluations finished by then); inf if none."""
    done = int(np.sum(clock(run, eval_seconds) <= t + 1e-9))
    return (run["trace"][done - 1] if done else float("inf")), done


def summary(runs: dict, seeds, eval_seconds: float) -> dict:
    """Per problem and batch method: median regrets at equal evaluations and equal clock."""
    out = {}
    for problem in PROBLEMS:
        seq = [runs.get(f"sequential|{problem}|{s}") for s in seeds]
        if any(r is None for r in seq):
            continue
        seq_final = float(np.median([r["trace"][-1] for r in seq]))
        out[problem] = {"sequential": {"regret_at_budget": seq_final}}
        for method in ("qlogei", "believer"):
            batch = [runs.get(f"{method}|{problem}|{s}") for s in seeds]
            if any(r is None for r in batch):
                continue
            final = float(np.median([r["trace"][-1] for r in batch]))
            at_clock = [regret_at_clock(s, clock(b, eval_seconds)[-1], eval_seconds) for s, b in zip(seq, batch)]
            out[problem][method] = {
                "regret_at_budget": final,
                "ratio_to_sequential": final / seq_final if seq_final > 0 else float("nan"),
                "clock_at_budget_s": float(np.median([clock(b, eval_seconds)[-1] for b in batch])),
                "sequential_regret_at_that_clock": float(np.median([r for r, _ in at_clock])),
                "sequential_evaluations_by_then": float(np.median([n for _, n in at_clock])),
                "optimiser_seconds_per_evaluation": float(np.median(
                    [np.sum(b["ask_seconds"]) / len(b["trace"]) for b in batch])),
            }
        out[problem]["sequential"]["optimiser_seconds_per_evaluation"] = float(np.median(
            [np.sum(r["ask_seconds"]) / len(r["trace"]) for r in seq]))
    return out


def markdown(table: dict, header: dict) -> str:
    lines = ["# Batch proposals: q = 4 against sequential", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "Median simple regret over seeds. Equal evaluations: after the whole budget. Equal "
              "wall-clock: at the simulated time the batch method needs for its budget "
              f"({header['eval_seconds']} s per evaluation, four workers), against what the sequential "
              "method has found by then.", "",
              "| problem | method | regret at budget | ratio to sequential | target <= 1.2 | clock (s) | "
              "sequential regret at that clock (evals) | wins on clock |",
              "|---|---|---|---|---|---|---|---|"]
    for problem, rows in table.items():
        lines.append(f"| {problem} | sequential | {rows['sequential']['regret_at_budget']:.3g} | 1 | | | | |")
        for method in ("qlogei", "believer"):
            if method not in rows:
                continue
            r = rows[method]
            lines.append(
                f"| {problem} | {method} (q=4) | {r['regret_at_budget']:.3g} | {r['ratio_to_sequential']:.2f} | "
                f"{'yes' if r['ratio_to_sequential'] <= 1.2 else 'NO'} | {r['clock_at_budget_s']:.0f} | "
                f"{r['sequential_regret_at_that_clock']:.3g} ({r['sequential_evaluations_by_then']:.0f}) | "
                f"{'yes' if r['regret_at_budget'] < r['sequential_regret_at_that_clock'] else 'NO'} |")
    lines += ["", "Optimiser seconds per evaluation (median; loaded machine, compilation included): " + "; ".join(
        f"{p} " + ", ".join(f"{m} {r['optimiser_seconds_per_evaluation']:.2f}" for m, r in rows.items())
        for p, rows in table.items())]
    return "\n".join(lines) + "\n"


def save(cache: Path, runs: dict) -> None:
    """Merge runs into the cache file (other processes may be adding theirs), atomically."""
    if cache.exists():
        runs.update({k: v for k, v in json.loads(cache.read_text()).items() if k not in runs})
    tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(runs))
    tmp.replace(cache)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-seconds", type=float, default=60.0)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="tabulate the cached runs, run nothing")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "batch_runs.json"
    if args.fresh and cache.exists():
        cache.unlink()
    runs = json.loads(cache.read_text()) if cache.exists() else {}
    load_before = os.getloadavg()
    for problem in args.problems:
        for seed in range(args.seeds):
            for method in args.methods:
                key = f"{method}|{problem}|{seed}"
                if key in runs or args.report_only:
                    continue
                runs[key] = run_one(problem, method, seed)
                print(f"{key}: regret {runs[key]['trace'][-1]:.3g} in {runs[key]['seconds']:.0f} s", flush=True)
                save(cache, runs)
    if cache.exists():  # runs other processes finished meanwhile
        runs = {**json.loads(cache.read_text()), **runs}
    seeds = range(args.seeds)
    table = summary(runs, seeds, args.eval_seconds)
    header = {"command": "nice -n 19 python -m benchmarks.batch " + " ".join(argv),
              "seeds": args.seeds, "eval_seconds": args.eval_seconds,
              "budgets (evaluations, initial design)": {p: PROBLEMS[p][1:] for p in PROBLEMS},
              "load average before / after": f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (2 cores)"}
    (args.out / "batch.json").write_text(json.dumps({"header": header, "summary": table}, indent=1))
    (args.out / "batch.md").write_text(markdown(table, header))
    print(markdown(table, header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
