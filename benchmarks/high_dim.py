"""High dimension: TuRBO-1 against plain GP BO and CMA-ES at 200 evaluations.

Problems (all minimised):

============== ==========================================================================
levy20         Levy on [-10, 10]^20 (``benchmarks.functions.Levy(20)``), optimum 0.
topology15     the 15-layer integer MLP-width problem of ``benchmarks.topology_problem``
               (widths 2 .. 64, log scale; validation loss of a trained MLP); optimum
               unknown: regret is taken against the best value any run found.
levy15int      Levy on the integer grid {-10, ..., 10}^15, optimum 0 at (1, ..., 1): a
               15-D integer stand-in, always available.
============== ==========================================================================

Methods: ``bo.minimize(fun, space, budget, method=m, seed=s)`` with each method's defaults,
m in turbo, gp, cmaes, random. The table gives, per problem and method, the median and
interquartile range over seeds of the best value after ``--budget`` evaluations, and the
paired comparison (in how many seeds turbo's best is below the other method's).

Every run is cached in ``<out>/high_dim_runs_<problem>_<method>.json`` as soon as it finishes,
so an interrupted benchmark resumes, and methods can run in separate processes and meet in one
table (``--fresh`` reruns the named methods).

Usage::

    nice -n 19 python -m benchmarks.high_dim [--seeds 5] [--budget 200] \
        [--problems levy20 topology15] [--methods turbo gp cmaes random]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

METHODS = ("turbo", "gp", "cmaes", "random")
PROBLEMS = ("levy20", "topology15", "levy15int")


class Problem:
    """A named objective over a `bo.Space` with its known optimum (None when unknown)."""

    def __init__(self, name, space, fun, optimum):
        self.name, self.space, self.fun, self.optimum = name, space, fun, optimum


def make_problem(name: str) -> Problem:
    import bo
    from benchmarks.functions import Levy

    if name == "levy20":
        fn = Levy(20)
        return Problem(name, fn.space(), fn.from_params, fn.optimum)
    if name == "levy15int":
        fn = Levy(15)
        space = bo.Space([bo.Integer(n, -10, 10) for n in fn.names])
        return Problem(name, space, fn.from_params, fn.optimum)
    if name == "topology15":
        from benchmarks.topology_problem import TopologyProblem

        tp = TopologyProblem(dim=15)
        return Problem(name, tp.space, tp, None)
    raise ValueError(f"unknown problem {name!r}; choose from {PROBLEMS}")


def run_one(problem: Problem, method: str, budget: int, seed: int) -> dict:
    """One `bo.minimize` run: its values in evaluation order and its wall time."""
    import bo

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bo.minimize(problem.fun, problem.space, budget=budget, method=method, seed=seed)
    values = np.asarray(result.ys, np.float64)
    return {"values": values.tolist(), "best": float(np.min(values[np.isfinite(values)])),
            "seconds": time.perf_counter() - start}


def turbo_defaults() -> str:
    """`bo.turbo.Turbo`'s default options (the ones `method="turbo"` runs with), for the header."""
    import dataclasses

    from bo.turbo import Turbo

    return ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(Turbo)
                     if f.name not in ("space", "seed"))


def cache_path(out: Path, problem: str, method: str) -> Path:
    return out / f"high_dim_runs_{problem}_{method}.json"


def load(out: Path, problem: str, method: str) -> dict:
    path = cache_path(out, problem, method)
    return json.loads(path.read_text()) if path.exists() else {}


def save(out: Path, problem: str, method: str, runs: dict) -> None:
    path = cache_path(out, problem, method)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(runs))
    tmp.replace(path)


def run_key(budget: int, seed: int) -> str:
    return f"b{budget}|s{seed}"


def summarise(problems, methods, seeds, budget, out: Path) -> dict:
    """Per problem and method: median / IQR of the best value, and turbo's paired wins."""
    summary = {}
    for p in problems:
        runs = {m: load(out, p, m) for m in methods}
        best = {m: [runs[m][run_key(budget, s)]["best"] for s in seeds if run_key(budget, s) in runs[m]]
                for m in methods}
        at = {}
        for m in methods:
            traces = [np.minimum.accumulate(runs[m][run_key(budget, s)]["values"]) for s in seeds
                      if run_key(budget, s) in runs[m]]
            at[m] = {str(k): float(np.median([t[k - 1] for t in traces])) for k in (50, 100, 150, budget)
                     if traces and k <= budget}
        entry = {}
        for m in methods:
            if not best[m]:
                continue
            q25, med, q75 = np.percentile(best[m], [25, 50, 75])
            seconds = [runs[m][run_key(budget, s)]["seconds"] for s in seeds if run_key(budget, s) in runs[m]]
            codes = sorted({runs[m][run_key(budget, s)].get("code", "?") for s in seeds
                            if run_key(budget, s) in runs[m]})
            loads = [runs[m][run_key(budget, s)].get("load", np.nan) for s in seeds if run_key(budget, s) in runs[m]]
            entry[m] = {"median": float(med), "q25": float(q25), "q75": float(q75), "seeds": len(best[m]),
                        "median_best_after": at[m], "mean_seconds": float(np.mean(seconds)), "code": codes,
                        "mean_load": float(np.nanmean(loads)) if loads else float("nan")}
            if m != "turbo" and best.get("turbo"):
                paired = [(runs["turbo"][k]["best"], runs[m][k]["best"]) for s in seeds
                          if (k := run_key(budget, s)) in runs["turbo"] and k in runs[m]]
                entry[m]["turbo_better_in"] = f"{sum(t < o for t, o in paired)}/{len(paired)}"
        summary[p] = entry
    return summary


def markdown(summary: dict, budget: int, seeds, header: dict) -> str:
    lines = ["# High dimension: TuRBO-1 vs plain GP vs CMA-ES", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", (f"Best value after {budget} evaluations, median [25th, 75th percentile] over seeds "
                   f"{list(seeds)}; lower is better. 'turbo better in' counts the seeds where turbo's best "
                   "is lower (same seed)."), ""]
    lines += ["| problem | method | median | IQR | median after 50 / 100 / 150 | turbo better in | s/run |",
              "|---|---|---|---|---|---|---|"]
    for p, entry in summary.items():
        for m, e in entry.items():
            after = " / ".join(f"{v:.3g}" for k, v in e["median_best_after"].items() if k != str(budget))
            lines.append(f"| {p} | {m} | {e['median']:.4g} | [{e['q25']:.4g}, {e['q75']:.4g}] | {after} | "
                         f"{e.get('turbo_better_in', '')} | {e['mean_seconds']:.0f} |")
    lines += ["", "Target (issue 6): turbo beats plain gp and cmaes at 200 evaluations (on medians):", ""]
    for p, entry in summary.items():
        if "turbo" not in entry:
            continue
        for m in ("gp", "cmaes"):
            if m in entry:
                t, o = entry["turbo"]["median"], entry[m]["median"]
                lines.append(f"- {p}: turbo {'<' if t < o else 'NOT <'} {m} ({t:.4g} vs {o:.4g}; turbo better "
                             f"in {entry[m]['turbo_better_in']} seeds)")
    lines += ["", "Code and mean 1-minute load average of each row's runs (rows may come from the cache):", ""]
    for p, entry in summary.items():
        for m, e in entry.items():
            lines.append(f"- {p} {m}: {', '.join(e['code'])}; load {e['mean_load']:.1f}")
    lines += ["", "Wall times are from a shared, loaded 2-core machine: not a speed benchmark."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--problems", nargs="+", default=["levy20", "topology15"], choices=PROBLEMS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--fresh", action="store_true", help="rerun the named methods' cached runs")
    parser.add_argument("--summarise-only", action="store_true", help="write the tables from the cache")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.seeds)

    from benchmarks.overhead import code_version

    version = code_version()
    if not args.summarise_only:
        for p in args.problems:
            problem = make_problem(p)
            for m in args.methods:
                runs = {} if args.fresh else load(args.out, p, m)
                for s in seeds:
                    key = run_key(args.budget, s)
                    if key in runs:
                        continue
                    runs[key] = run_one(problem, m, args.budget, s)
                    runs[key]["code"] = version
                    runs[key]["load"] = os.getloadavg()[0]
                    save(args.out, p, m, {**load(args.out, p, m), **runs} if not args.fresh else runs)
                    print(f"{p} {m} seed {s}: best {runs[key]['best']:.4g} ({runs[key]['seconds']:.0f} s)",
                          flush=True)
    methods = [m for m in METHODS if any(load(args.out, p, m) for p in args.problems)]
    summary = summarise(args.problems, methods, seeds, args.budget, args.out)
    header = {"command": "python -m benchmarks.high_dim " + " ".join(argv or []),
              "code": version, "turbo defaults": turbo_defaults(),
              "load average at the end": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    (args.out / "high_dim.json").write_text(json.dumps({"budget": args.budget, "seeds": list(seeds),
                                                         "header": header, "summary": summary}, indent=1))
    (args.out / "high_dim.md").write_text(markdown(summary, args.budget, seeds, header))
    print(markdown(summary, args.budget, seeds, header))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
