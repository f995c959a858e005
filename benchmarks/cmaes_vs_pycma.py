"""bo.cmaes against pycma: evaluations to a target, and the optimiser's own time per generation.

Two measurements:

1. Evaluations. Sphere, ellipsoid (condition 1e6) and Rosenbrock in 10 dimensions; sphere and
   ellipsoid start at x0 = (1, ..., 1) with sigma0 = 1, Rosenbrock at 0 with sigma0 = 0.5. Each
   method runs without restarts until a value <= 1e-8 (or 30 000 evaluations; a run that stops
   early, e.g. in Rosenbrock's local minimum, counts as not reaching the target, inf). Reported:
   the median and interquartile range of evaluations over the seeds, and the ratio of medians.
   ntbo uses ``bo.cmaes.minimize_jax``; pycma ``CMAEvolutionStrategy`` with its defaults
   (seed s + 1), told whole generations.

2. Overhead per generation (per ask), with the population evaluated in one vectorised call of a
   trivial objective (the sphere), so that what is timed is the optimiser itself. Each variant
   runs G generations after a warm-up (compilation excluded) and reports the fastest of five
   repetitions of (wall time / G) (other processes on a shared machine only add time); the
   repetitions of the variants alternate, so a busy spell slows all of them:

   ==================  ========================================================================
   pycma               ``X = es.ask()``; ``f = np.sum(np.asarray(X) ** 2, axis=1)``; ``es.tell``
   ntbo ask/tell       jitted ``ask``; one jitted vmapped call of the objective on
                       ``evaluation_points``; jitted ``tell`` (three dispatches per generation;
                       the keys are split before the clock starts)
   ntbo step           ``bo.cmaes.step``: ask, vmapped objective and tell in one jitted call,
                       driven by a Python loop (one key for the run: the step folds in the
                       generation)
   ntbo run            ``bo.cmaes.run``: all G generations in one ``lax.while_loop``
   ntbo Optimizer      ``bo.Optimizer(space, method="cmaes")``: ``ask(lambda)`` dicts, ``tell``
                       (the objective on dicts; decoding and bookkeeping included)
   eigh of C alone     ``np.linalg.eigh`` of an n x n covariance as often as both libraries
                       decompose C (every generation up to n ~ 50): a floor under every
                       variant, so pycma / this bounds the speed-up any of them can reach
   ==================  ========================================================================

   Termination criteria are switched off for the timing (tolerances 0, pycma's ``tol*`` 0), so
   every variant runs exactly G generations.

Usage::

    python -m benchmarks.cmaes_vs_pycma [--quick] [--seeds 10] [--out benchmarks/results]

Results go to ``<out>/cmaes_vs_pycma.md`` and ``<out>/cmaes_vs_pycma.json``. Nothing here is
asserted; tests/bo/test_cmaes.py checks the evaluation counts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

N = 10
TARGET = 1e-8
BUDGET = 30_000


def problems(n: int = N):
    """name -> (jax function, numpy function on rows, x0, sigma0)."""
    import jax.numpy as jnp

    scales = 10.0 ** (6 * np.arange(n) / (n - 1))
    return {
        "sphere": (lambda x: jnp.sum(x ** 2), lambda X: np.sum(X ** 2, axis=-1), np.ones(n), 1.0),
        "ellipsoid": (lambda x: jnp.sum(scales * x ** 2), lambda X: np.sum(scales * X ** 2, axis=-1),
                      np.ones(n), 1.0),
        "rosenbrock": (lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2),
                       lambda X: np.sum(100 * (X[..., 1:] - X[..., :-1] ** 2) ** 2
                                        + (1 - X[..., :-1]) ** 2, axis=-1),
                       np.zeros(n), 0.5),
    }


def ntbo_evaluations(fun, x0, sigma0, seed: int) -> float:
    from bo import cmaes

    r = cmaes.minimize_jax(fun, x0, sigma0, seed=seed, ftarget=TARGET, max_evals=BUDGET)
    return float(r.evaluations) if r.fun <= TARGET else math.inf


def pycma_evaluations(np_fun, x0, sigma0, seed: int) -> float:
    import cma

    es = cma.CMAEvolutionStrategy(x0, sigma0, {"seed": seed + 1, "ftarget": TARGET,
                                               "maxfevals": BUDGET, "verbose": -9})
    while not es.stop():
        X = es.ask()
        es.tell(X, np_fun(np.asarray(X)).tolist())
    return float(es.countevals) if es.best.f <= TARGET else math.inf


def evaluations(seeds: int, log=print) -> list[dict]:
    records = []
    for name, (fun, np_fun, x0, sigma0) in problems().items():
        ours = [ntbo_evaluations(fun, x0, sigma0, s) for s in range(seeds)]
        theirs = [pycma_evaluations(np_fun, x0, sigma0, s) for s in range(seeds)]
        rec = {"problem": name, "ntbo": ours, "pycma": theirs,
               "ratio": float(np.median(ours) / np.median(theirs))}
        log(f"{name:>10}: ntbo median {np.median(ours):.0f}, pycma {np.median(theirs):.0f}, "
            f"ratio {rec['ratio']:.3f}")
        records.append(rec)
    return records


# ----------------------------------------------------------------------------------------------
# Overhead per generation


REPEATS = 5


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _per_generation(start, generations: int) -> tuple[float, float]:
    """(wall, CPU) seconds per generation since `start`. The CPU time of the process (all its
    threads) is what the optimiser itself consumed: other processes of a loaded machine delay
    the wall clock but do not add to it."""
    return tuple((now - then) / generations for now, then in zip(_clock(), start))


def time_pycma(n: int, generations: int):
    import cma

    def timed():
        es = cma.CMAEvolutionStrategy(np.ones(n), 1.0, {"seed": 1, "verbose": -9, "tolfun": 0,
                                                       "tolx": 0, "tolfunhist": 0,
                                                       "tolstagnation": 10 ** 9,
                                                       "tolflatfitness": 10 ** 9})
        start = _clock()
        for _ in range(generations):
            X = es.ask()
            es.tell(X, np.sum(np.asarray(X) ** 2, axis=1).tolist())
        return _per_generation(start, generations)

    timed()  # warm-up
    return timed


def _ntbo_setup(n: int):
    import jax
    import jax.numpy as jnp

    from bo import cmaes

    params = cmaes.make_params(n, tol_fun=0.0, tol_x=0.0)
    state = cmaes.init(np.ones(n), 1.0, params)
    return jax, jnp, cmaes, params, state


def _sphere(x):
    import jax.numpy as jnp

    return jnp.sum(x ** 2)


def time_ntbo_ask_tell(n: int, generations: int):
    jax, jnp, cmaes, params, state0 = _ntbo_setup(n)
    evaluate = jax.jit(lambda x, p: jax.vmap(_sphere)(cmaes.evaluation_points(x, p)))

    keys = list(jax.random.split(jax.random.key(0), generations))

    def timed():
        state = state0
        start = _clock()
        for key in keys:
            x, state = cmaes.ask(key, state, params)
            state = cmaes.tell(state, x, evaluate(x, params), params)
        state.mean.block_until_ready()
        return _per_generation(start, generations)

    timed()
    return timed


def time_ntbo_step(n: int, generations: int):
    jax, jnp, cmaes, params, state0 = _ntbo_setup(n)

    def timed():
        key, state = jax.random.key(0), state0
        start = _clock()
        for _ in range(generations):
            state = cmaes.step(key, state, params, _sphere)
        state.mean.block_until_ready()
        return _per_generation(start, generations)

    timed()
    return timed


def time_ntbo_run(n: int, generations: int):
    jax, jnp, cmaes, params, state0 = _ntbo_setup(n)
    budget = generations * params.popsize

    def timed():
        start = _clock()
        state = cmaes.run(jax.random.key(0), state0, params, _sphere, budget, -np.inf)
        state.mean.block_until_ready()
        assert int(state.generation) == generations, int(state.generation)
        return _per_generation(start, generations)

    timed()
    return timed


def time_ntbo_optimizer(n: int, generations: int):
    import bo

    space = bo.Space([bo.Real(f"x{i}", -5.0, 5.0) for i in range(n)])
    names = space.names

    def timed():
        opt = bo.Optimizer(space, method="cmaes", seed=0, tol_fun=0.0, tol_x=0.0, restarts=0)
        lam = opt.state.params.popsize
        start = _clock()
        for _ in range(generations):
            points = opt.ask(lam)
            X = np.array([[p[k] for k in names] for p in points])
            opt.tell(points, np.sum(X ** 2, axis=1))
        return _per_generation(start, generations)

    timed()
    return timed


def time_eigh_alone(n: int, generations: int):
    """The eigendecomposition of C that both libraries do every eigen_gap generations (the same
    rule, 1 / (10 n (c_1 + c_mu)): every generation up to n ~ 50, every second one at n = 100),
    here alone in numpy: no optimiser that decomposes C at that rate can take less, so
    pycma's time / this one bounds any speed-up over pycma."""
    from bo import cmaes

    gap = float(cmaes.make_params(n).eigen_gap)
    last, refreshes = 0, 0
    for g in range(1, generations + 1):
        if g - last >= gap:
            last, refreshes = g, refreshes + 1
    a = np.random.default_rng(0).standard_normal((n, n))
    cov = a @ a.T + n * np.eye(n)

    def timed():
        start = _clock()
        for _ in range(refreshes):
            np.linalg.eigh(cov)
        return _per_generation(start, generations)

    timed()
    return timed


VARIANTS = {
    "pycma": time_pycma,
    "ntbo ask/tell": time_ntbo_ask_tell,
    "ntbo step": time_ntbo_step,
    "ntbo run": time_ntbo_run,
    "ntbo Optimizer": time_ntbo_optimizer,
    "eigh of C alone": time_eigh_alone,
}


def overhead(dims, generations: int, log=print) -> list[dict]:
    """Fastest of REPEATS repetitions per variant; the repetitions of the variants alternate, so
    that a busy spell of a shared machine hits all of them rather than one."""
    records = []
    for n in dims:
        row = {"n": n, "popsize": 4 + int(3 * math.log(n)), "generations": generations}
        timers = {name: fn(n, generations) for name, fn in VARIANTS.items()}
        times = {name: [] for name in VARIANTS}
        for _ in range(REPEATS):
            for name, timed in timers.items():
                times[name].append(timed())
        for name in VARIANTS:
            row[name] = min(t[0] for t in times[name])
            row[name + " cpu"] = min(t[1] for t in times[name])
            log(f"n={n:>3} {name:>15}: {row[name] * 1e6:9.1f} us per generation "
                f"(CPU {row[name + ' cpu'] * 1e6:9.1f} us)")
        records.append(row)
    return records


# ----------------------------------------------------------------------------------------------
# Report


def _fmt_evals(values) -> str:
    v = np.asarray(values, float)
    q1, q3 = np.percentile(v, [25, 75], method="nearest")
    fails = int((~np.isfinite(v)).sum())
    return f"{np.median(v):.0f} [{q1:.0f}, {q3:.0f}]" + (f" ({fails} not reached)" if fails else "")


def _json_safe(x):
    """inf (target not reached) -> None, so that the file is standard JSON."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def markdown(evals: list[dict], times: list[dict], meta: dict) -> str:
    lines = ["# bo.cmaes vs pycma", ""]
    if evals:
        seeds = len(evals[0]["ntbo"])
        lines += [f"## Evaluations to reach f <= {TARGET:g} (n = {N}, {seeds} seeds, no restarts)", "",
                  "median [interquartile range]; ratio = ntbo median / pycma median", "",
                  "| problem | ntbo | pycma | ratio |", "| --- | --- | --- | --- |"]
        for r in evals:
            lines.append(f"| {r['problem']} | {_fmt_evals(r['ntbo'])} | {_fmt_evals(r['pycma'])} "
                         f"| {r['ratio']:.3f} |")
        lines.append("")
    for clock, suffix in (("CPU time", " cpu"), ("Wall time", "")):
        if not times or "pycma" + suffix not in times[0]:
            continue
        names = list(VARIANTS)
        lines += [f"## {clock} of the optimiser per generation (population in one vectorised "
                  "call)", "",
                  "microseconds per generation (ask + evaluation of a trivial objective + tell), "
                  f"fastest of {REPEATS} repetitions of {times[0]['generations']} generations; "
                  "in brackets: pycma's time / this one" + (
                      ". CPU time is the process's own (all threads), which other processes on a "
                      "shared machine do not inflate; wall time is" if suffix else
                      ". Wall time is") + " inflated by preemption when the machine is loaded, "
                  "more for pycma's many small Python steps than for one compiled call", "",
                  "| n | lambda | " + " | ".join(names) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in names) + " |"]
        for r in times:
            base = r["pycma" + suffix]
            cells = [f"{base * 1e6:.0f}"] + [
                f"{r[k + suffix] * 1e6:.0f} ({base / r[k + suffix]:.1f}x)" for k in names[1:]]
            lines.append(f"| {r['n']} | {r['popsize']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Machine", ""] + [f"- {k}: {v}" for k, v in meta.items()] + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 seeds, n = 10 only, 100 generations")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--skip-evaluations", action="store_true")
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args(argv)
    seeds = args.seeds or (5 if args.quick else 10)
    dims, generations = ((10,), 100) if args.quick else ((10, 20, 40, 100), 300)

    import cma
    import jax

    import bo  # noqa: F401  (float64)

    meta = {"platform": platform.platform(), "python": platform.python_version(),
            "jax": jax.__version__, "jax device": str(jax.devices()[0]), "pycma": cma.__version__,
            "cpus": os.cpu_count(), "load average": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    evals = [] if args.skip_evaluations else evaluations(seeds)
    times = overhead(dims, generations)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta["load average at the end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    (out / "cmaes_vs_pycma.md").write_text(markdown(evals, times, meta))
    (out / "cmaes_vs_pycma.json").write_text(json.dumps(
        _json_safe({"evaluations": evals, "overhead": times, "meta": meta}), indent=1))
    print(f"wrote {out / 'cmaes_vs_pycma.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
