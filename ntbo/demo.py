"""The quick optimiser demo: GP Bayesian optimisation against random search.

    python -m ntbo [--budget 50] [--seeds 3] [--n-initial 10]

Prints, for Branin (2-d) and Hartmann6 (6-d), the median and spread of the simple regret
(best value found minus the known optimum) over seeds, and the seconds per suggestion.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bo
from benchmarks.functions import Branin, Hartmann6


def run(budget: int = 50, seeds: int = 3, n_initial: int = 10, out=print) -> list[dict]:
    rows = []
    for function in (Branin(), Hartmann6()):
        for method, options in (("gp", {"n_initial": n_initial}), ("random", {})):
            regrets, per_ask = [], []
            start = time.perf_counter()
            for seed in range(seeds):
                result = bo.minimize(function.from_params, function.space(), budget, method=method,
                                     seed=seed, **options)
                regrets.append(result.fun - function.optimum)
                per_ask.append(np.median(result.ask_seconds[n_initial:]))
            rows.append({"function": function.name, "d": function.dim, "method": method,
                         "median": float(np.median(regrets)), "min": float(np.min(regrets)),
                         "max": float(np.max(regrets)), "ask_s": float(np.median(per_ask)),
                         "total_s": time.perf_counter() - start})
    out(f"simple regret after {budget} evaluations ({n_initial} initial for gp), {seeds} seeds")
    out(f"{'function':<10} {'d':>2} {'method':<7} {'median':>10} {'best':>10} {'worst':>10} "
        f"{'s/ask':>8} {'wall s':>7}")
    for r in rows:
        out(f"{r['function']:<10} {r['d']:>2} {r['method']:<7} {r['median']:>10.2e} {r['min']:>10.2e} "
            f"{r['max']:>10.2e} {r['ask_s']:>8.4f} {r['total_s']:>7.1f}")
    out("wall s includes JAX compilation (once per capacity bucket: 16, 32, 64 observations)")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ntbo", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=50, help="evaluations per run (default 50)")
    parser.add_argument("--seeds", type=int, default=3, help="runs per method (default 3)")
    parser.add_argument("--n-initial", type=int, default=10, help="Sobol points before the GP (default 10)")
    args = parser.parse_args(argv)
    if args.budget < 1 or args.seeds < 1 or not 1 <= args.n_initial <= args.budget:
        parser.error("need budget >= 1, seeds >= 1 and 1 <= n-initial <= budget")
    run(args.budget, args.seeds, args.n_initial)
    return 0
