"""Sample efficiency: simple regret after a fixed budget on the six benchmark functions.

Methods (all minimise; each run gets ``--budget`` evaluations, the first ``--n-initial`` of
them a space-filling or random design):

================ ==============================================================================
ntbo-gp          ``bo.minimize(..., method="gp", n_initial=n_initial)``, default acquisition.
ntbo-random      ``bo.minimize(..., method="random")``: uniform random search.
botorch-logei    BoTorch's standard loop: a scrambled Sobol design of ``n_initial`` points
                 (seeded), then per step SingleTaskGP (unit-cube inputs, standardised outputs),
                 fit_gpytorch_mll, LogExpectedImprovement and
                 optimize_acqf(num_restarts=10, raw_samples=512).
================ ==============================================================================

Simple regret is ``min(observed values) - known optimum``. The table gives, per function and
method, the median and the interquartile range (25th-75th percentile) over seeds. Every run is
cached in ``<out>/sample_efficiency_runs_<method>.json`` as soon as it finishes, so an
interrupted benchmark resumes where it stopped, and methods can run in separate processes
(``--methods``) and meet in one table (``--fresh`` ignores the cache).

Usage::

    python -m benchmarks.sample_efficiency [--seeds 5] [--budget 50] [--n-initial 10]
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

from benchmarks.functions import suite

METHODS = ("ntbo-gp", "ntbo-random", "botorch-logei")


def run_ntbo(fn, method: str, budget: int, n_initial: int, seed: int) -> np.ndarray:
    """Values observed by ``bo.minimize`` in evaluation order, shaped ``(budget,)``."""
    import bo

    options = {"n_initial": n_initial} if method == "gp" else {}
    res = bo.minimize(fn.from_params, fn.space(), budget=budget, method=method, seed=seed,
                      **options)
    return np.asarray(res.ys, dtype=np.float64)


def run_botorch(fn, budget: int, n_initial: int, seed: int) -> np.ndarray:
    """Values observed by BoTorch's LogEI loop in evaluation order, shaped ``(budget,)``."""
    import torch
    from torch.quasirandom import SobolEngine

    from benchmarks.overhead import botorch_suggest

    lo, hi = fn.bounds[:, 0], fn.bounds[:, 1]
    U = SobolEngine(fn.dim, scramble=True, seed=seed).draw(n_initial).to(torch.float64).numpy()
    y = fn(lo + (hi - lo) * U)
    for step in range(budget - n_initial):
        u = botorch_suggest(U, y, seed=seed * 100003 + step)
        U = np.vstack([U, u])
        y = np.append(y, fn(lo + (hi - lo) * u))
    return y


def run_one(fn, method: str, budget: int, n_initial: int, seed: int) -> dict:
    """One optimisation run; returns its regret, best-so-far trace and wall time."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "botorch-logei":
            ys = run_botorch(fn, budget, n_initial, seed)
        else:
            ys = run_ntbo(fn, method.removeprefix("ntbo-"), budget, n_initial, seed)
    seconds = time.perf_counter() - start
    if len(ys) != budget:
        raise RuntimeError(f"{method} on {fn.name} returned {len(ys)} values, expected {budget}")
    finite = np.where(np.isfinite(ys), ys, np.inf)
    trace = np.minimum.accumulate(finite) - fn.optimum
    return {"regret": float(trace[-1]), "trace": trace.tolist(), "seconds": seconds}


def run_key(fn, method: str, budget: int, n_initial: int, seed: int) -> str:
    return f"{method}|{fn.name}|d{fn.dim}|b{budget}|i{n_initial}|s{seed}"


def load_runs(out: Path) -> dict:
    """Every cached run under ``out``, keyed by :func:`run_key`."""
    runs = {}
    for path in sorted(out.glob("sample_efficiency_runs*.json")):
        runs.update(json.loads(path.read_text()))
    return runs


def save_runs(out: Path, method: str, runs: dict, tag: str = "") -> None:
    """Merge ``method``'s runs into its cache file (atomically, via a temporary file).

    ``tag`` names a separate file, for processes that run the same method side by side.
    """
    path = out / f"sample_efficiency_runs_{method}{'-' + tag if tag else ''}.json"
    mine = json.loads(path.read_text()) if path.exists() else {}
    mine.update({k: v for k, v in runs.items() if k.startswith(method + "|")})
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(mine))
    tmp.replace(path)


def summarise(values) -> tuple[float, float, float]:
    """Median, 25th and 75th percentile."""
    q25, med, q75 = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
    return float(med), float(q25), float(q75)


def markdown_table(runs: dict, functions, methods, seeds, budget, n_initial, header) -> str:
    """Median [IQR] simple regret per function and method, plus the target checks."""
    lines = ["# Sample efficiency", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", f"Simple regret after {budget} evaluations ({n_initial} initial), median "
              f"[25th, 75th percentile] over seeds {list(seeds)}. Lower is better.", ""]
    cols = ["function", "d"] + list(methods)
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    medians = {}
    for fn in functions:
        row = [fn.name, str(fn.dim)]
        for m in methods:
            vals = [runs[k]["regret"] for s in seeds
                    if (k := run_key(fn, m, budget, n_initial, s)) in runs]
            if len(vals) < len(seeds):
                row.append(f"{len(vals)}/{len(seeds)} seeds done" if vals else "not run")
                continue
            med, q25, q75 = summarise(vals)
            medians[(fn.name, m)] = med
            row.append(f"{med:.3g} [{q25:.3g}, {q75:.3g}]")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Checks against the targets of issue 2 (on medians):", ""]
    for fn in functions:
        gp = medians.get((fn.name, "ntbo-gp"))
        rnd = medians.get((fn.name, "ntbo-random"))
        bt = medians.get((fn.name, "botorch-logei"))
        if gp is not None and rnd is not None:
            lines.append(f"- {fn.name}: ntbo-gp {'<' if gp < rnd else 'NOT <'} random "
                         f"({gp:.3g} vs {rnd:.3g})")
        if gp is not None and bt is not None and fn.name in ("branin", "hartmann6"):
            lines.append(f"- {fn.name}: ntbo-gp {'<=' if gp <= bt else 'NOT <='} BoTorch LogEI "
                         f"({gp:.3g} vs {bt:.3g})")
    seconds = {m: [r["seconds"] for k, r in runs.items() if k.startswith(m + "|")]
               for m in methods}
    lines += ["", "Mean wall time per run (s; not a speed benchmark: runs shared a loaded "
              "machine, the first run of each process includes compilation/imports): " + ", ".join(
                  f"{m} {np.mean(v):.1f}" for m, v in seconds.items() if v)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--n-initial", type=int, default=10)
    parser.add_argument("--dim", type=int, default=6, help="dimension of Ackley, Levy, "
                        "Rosenbrock and Styblinski-Tang")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--functions", nargs="+", help="names to run (default: all six)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached runs")
    parser.add_argument("--cache-tag", default="", help="write runs to a separate cache file "
                        "(for several processes running the same method at once)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    if not 0 < args.n_initial < args.budget:
        parser.error("need 0 < --n-initial < --budget")

    functions = [f for f in suite(args.dim) if not args.functions or f.name in args.functions]
    seeds = range(args.seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {} if args.fresh else load_runs(args.out)

    methods = []
    for m in args.methods:
        try:
            __import__("botorch" if m == "botorch-logei" else "bo")
            methods.append(m)
        except ImportError as err:
            print(f"skipping {m}: {err}", file=sys.stderr)

    from benchmarks.overhead import code_version

    version = code_version()
    load_before = os.getloadavg()
    for fn in functions:
        for m in methods:
            for s in seeds:
                key = run_key(fn, m, args.budget, args.n_initial, s)
                if key in runs:
                    continue
                runs[key] = run_one(fn, m, args.budget, args.n_initial, s)
                runs[key]["code"] = version
                print(f"{key}: regret {runs[key]['regret']:.4g} "
                      f"({runs[key]['seconds']:.1f} s)", flush=True)
                save_runs(args.out, m, runs, args.cache_tag)
    header = {
        "ntbo commit (runs made with)": ", ".join(sorted(
            {r.get("code", "not recorded") for k, r in runs.items() if k.startswith("ntbo")})),
        "command": "python -m benchmarks.sample_efficiency "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load average (1, 5, 15 min) when this invocation started / ended (runs taken from "
        "the cache were made earlier)": " ".join(f"{v:.2f}" for v in load_before) + " / "
        + " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    table = markdown_table(runs, functions, args.methods, seeds, args.budget, args.n_initial,
                           header)
    (args.out / "sample_efficiency.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
