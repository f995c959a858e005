"""Suggestion overhead: seconds one optimiser needs to propose the next point.

For every (n observations, d dimensions) configuration, every method is handed the same n
random points of Styblinski-Tang on [-5, 5]^d and asked for one suggestion. The number reported
is the wall time from handing over the n-th observation to receiving the next suggestion
(whatever the library does in between: fitting its GP, optimising its acquisition):

=========== ===================================================================================
ntbo        ``bo.Optimizer(method="gp", n_initial=1)``: tell n-1 points, ``ask`` once (this
            first GP call compiles; its time is reported separately as "first ask"), then
            time ``tell`` (the n-th point: that first suggestion) + ``ask``.
bayes_opt   ``BayesianOptimization(f=None)``: ``register`` n-1 points, time ``register`` (n-th)
            + ``suggest`` (defaults: UCB, kappa 2.576).
optuna      ``GPSampler``: ``add_trials`` n-1 ``create_trial`` s, time ``add_trial`` (n-th)
            + ``study.ask``; the sampler fits its GP when the trial is created.
botorch     stateless: time SingleTaskGP + fit_gpytorch_mll + LogExpectedImprovement +
            optimize_acqf(num_restarts=10, raw_samples=512) on the n points (unit-cube inputs,
            standardised outputs).
skopt       ``Optimizer`` with float bounds (integer tuples would make an integer space):
            ``tell`` n-1 points, time ``tell`` (n-th) + ``ask`` (skopt fits and optimises
            its acquisition inside ``tell``; ``ask`` returns the cached point).
=========== ===================================================================================

Before the first configuration each method runs once on a tiny 1-d problem, so that imports and
first-use set-up are not billed to it. A measurement is repeated (each repetition tells one more point, the one just suggested) up to
eight times while the repetitions add up to under 5 s, and their mean is reported (a mean, so
that work an optimiser does only every few suggestions, such as ntbo's hyperparameter refit, is
billed in full); slow ones run once. ntbo's first repetition (its second ask) is also shown on its own: a recompilation there
would show up in it.
A per-method time cap skips configurations whose suggestion is predicted (from the same
method's previous, smaller n: its seconds per suggestion x (n / n_prev)^1.5) to take longer than
``--cap`` seconds; the table says so.
Peers that are not installed are skipped with a message.

Usage::

    python -m benchmarks.overhead [--quick] [--methods ntbo botorch ...] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.functions import StyblinskiTang

FULL_NS = (50, 200, 500, 1000)
FULL_DS = (2, 6, 15)
QUICK_NS = (50, 200, 500)
QUICK_DS = (2, 6)
METHODS = ("ntbo", "bayes_opt", "optuna", "botorch", "skopt")
# The module whose absence means "peer not installed", and the pip name to suggest.
REQUIRES = {
    "ntbo": ("bo", "ntbo (pip install -e .)"),
    "bayes_opt": ("bayes_opt", "bayesian-optimization"),
    "optuna": ("optuna", "optuna torch"),
    "botorch": ("botorch", "botorch"),
    "skopt": ("skopt", "scikit-optimize"),
}
REPEAT_WHILE_TOTAL_BELOW_S = 5.0
MAX_REPEATS = 8


# --------------------------------------------------------------------------- problem data

def make_data(n: int, d: int, seed: int = 0):
    """The benchmark's observations: ``n`` uniform points of Styblinski-Tang in ``d`` dims.

    Returns:
        (fn, X, y): the function, points shaped ``(n, d)`` and values shaped ``(n,)``.
    """
    fn = StyblinskiTang(d)
    X = fn.sample(n, seed=seed)
    return fn, X, fn(X)


def _as_dict(fn, x) -> dict:
    return {k: float(v) for k, v in zip(fn.names, x)}


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def _repeat(step: Callable[[], float]) -> list[float]:
    """Run a timed ``step`` up to ``MAX_REPEATS`` times while their total stays short."""
    times = [step()]
    while len(times) < MAX_REPEATS and sum(times) < REPEAT_WHILE_TOTAL_BELOW_S:
        times.append(step())
    return times


# --------------------------------------------------------------------------- methods
# Each ``run_<method>(fn, X, y, seed)`` returns {"seconds": [...]} plus, for ntbo, "first".

def run_ntbo(fn, X, y, seed=0) -> dict:
    """ntbo's GP optimiser; the first GP ``ask`` (with compilation) is reported as ``first``.

    ``bo.Optimizer`` spends its first ``n_initial`` asks on its Sobol design even when points
    were told before, so it is built with ``n_initial=1`` and that one design point is asked
    (and told) before the data: it replaces ``X[n-2]``. The first GP ask (compiles) is told
    back as the n-th observation, and then ``tell`` + ``ask`` is timed like the peers'.
    """
    import bo

    opt = bo.Optimizer(fn.space(), method="gp", seed=seed, n_initial=1)
    design = opt.ask(1)
    told = design + [_as_dict(fn, x) for x in X[:-2]]
    opt.tell(told, [fn.from_params(design[0])] + [float(v) for v in y[:-2]])
    first, asked = _timed(lambda: opt.ask(1))
    pending = [(asked[0], fn.from_params(asked[0]))]

    def step():
        point, value = pending.pop()
        start = time.perf_counter()
        opt.tell([point], [value])
        suggestion = opt.ask(1)[0]
        elapsed = time.perf_counter() - start
        pending.append((suggestion, fn.from_params(suggestion)))
        return elapsed

    return {"seconds": _repeat(step), "first": first}


def run_bayes_opt(fn, X, y, seed=0) -> dict:
    """bayes_opt 3.x: ``register`` observations (it maximises, so targets are -y), ``suggest``."""
    from bayes_opt import BayesianOptimization

    pbounds = {k: (float(lo), float(hi)) for k, (lo, hi) in zip(fn.names, fn.bounds)}
    opt = BayesianOptimization(f=None, pbounds=pbounds, random_state=seed, verbose=0,
                               allow_duplicate_points=True)
    for x, v in zip(X[:-1], y[:-1]):
        opt.register(params=_as_dict(fn, x), target=-float(v))
    pending = [(_as_dict(fn, X[-1]), float(y[-1]))]

    def step():
        point, value = pending.pop()
        start = time.perf_counter()
        opt.register(params=point, target=-value)
        suggestion = opt.suggest()
        elapsed = time.perf_counter() - start
        suggestion = {k: float(suggestion[k]) for k in fn.names}
        pending.append((suggestion, fn.from_params(suggestion)))
        return elapsed

    return {"seconds": _repeat(step)}


def run_optuna(fn, X, y, seed=0) -> dict:
    """Optuna's GPSampler: completed trials via ``add_trials``, then one timed ``ask``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {k: optuna.distributions.FloatDistribution(float(lo), float(hi))
             for k, (lo, hi) in zip(fn.names, fn.bounds)}

    def trial(point, value):
        return optuna.trial.create_trial(params=point, distributions=dists, value=value)

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.GPSampler(seed=seed))
    study.add_trials([trial(_as_dict(fn, x), float(v)) for x, v in zip(X[:-1], y[:-1])])
    pending = [(_as_dict(fn, X[-1]), float(y[-1]))]

    def step():
        point, value = pending.pop()
        start = time.perf_counter()
        study.add_trial(trial(point, value))
        asked = study.ask(dists)
        elapsed = time.perf_counter() - start
        suggestion = {k: float(asked.params[k]) for k in fn.names}
        # Close the asked trial so that it does not linger as a running one.
        study.tell(asked, state=optuna.trial.TrialState.FAIL)
        pending.append((suggestion, fn.from_params(suggestion)))
        return elapsed

    return {"seconds": _repeat(step)}


def botorch_suggest(X_unit: np.ndarray, y: np.ndarray, seed: int = 0,
                    num_restarts: int = 10, raw_samples: int = 512) -> np.ndarray:
    """BoTorch's standard single step: SingleTaskGP, fit_gpytorch_mll, LogEI, optimize_acqf.

    Args:
        X_unit: observed inputs scaled to the unit cube, shaped ``(n, d)``.
        y: observed values (minimised), shaped ``(n,)``.
        seed: seeds torch for the raw samples and restarts.

    Returns:
        The next point in the unit cube, shaped ``(d,)``.
    """
    import torch
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.manual_seed(seed)
    train_X = torch.as_tensor(X_unit, dtype=torch.float64)
    train_Y = -torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)  # BoTorch maximises
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SingleTaskGP(train_X, train_Y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acq = LogExpectedImprovement(model, best_f=train_Y.max())
        d = train_X.shape[-1]
        bounds = torch.stack([torch.zeros(d, dtype=torch.float64),
                              torch.ones(d, dtype=torch.float64)])
        candidate, _ = optimize_acqf(acq, bounds=bounds, q=1, num_restarts=num_restarts,
                                     raw_samples=raw_samples)
    return candidate.detach().numpy().reshape(-1)


def run_botorch(fn, X, y, seed=0) -> dict:
    """BoTorch with LogEI; it keeps no state, so one step is one full fit and optimisation."""
    lo, hi = fn.bounds[:, 0], fn.bounds[:, 1]
    data = {"X": (X - lo) / (hi - lo), "y": np.asarray(y, dtype=np.float64)}

    def step():
        start = time.perf_counter()
        u = botorch_suggest(data["X"], data["y"], seed=seed)
        elapsed = time.perf_counter() - start
        data["X"] = np.vstack([data["X"], u])
        data["y"] = np.append(data["y"], fn(lo + (hi - lo) * u))
        return elapsed

    return {"seconds": _repeat(step)}


def run_skopt(fn, X, y, seed=0) -> dict:
    """scikit-optimize's GP ``Optimizer`` with float bounds; its work happens in ``tell``."""
    from skopt import Optimizer

    dims = [(float(lo), float(hi)) for lo, hi in fn.bounds]
    opt = Optimizer(dims, base_estimator="GP", n_initial_points=10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.tell([list(map(float, x)) for x in X[:-1]], [float(v) for v in y[:-1]])
    pending = [(list(map(float, X[-1])), float(y[-1]))]

    def step():
        point, value = pending.pop()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            opt.tell(point, value)
            suggestion = opt.ask()
            elapsed = time.perf_counter() - start
        pending.append((list(map(float, suggestion)), float(fn(np.array(suggestion)))))
        return elapsed

    return {"seconds": _repeat(step)}


RUNNERS = {"ntbo": run_ntbo, "bayes_opt": run_bayes_opt, "optuna": run_optuna,
           "botorch": run_botorch, "skopt": run_skopt}


# --------------------------------------------------------------------------- driver

def available(method: str) -> tuple[bool, str]:
    """Whether ``method``'s library imports, and a message saying how to install it if not."""
    module, pip_name = REQUIRES[method]
    try:
        mod = importlib.import_module(module)
        if method == "ntbo" and not hasattr(mod, "Optimizer"):
            raise ImportError("bo.Optimizer is missing")
        if method == "optuna":
            importlib.import_module("torch")  # GPSampler needs it
    except ImportError as err:
        return False, f"{method}: not installed ({err}); pip install {pip_name}"
    return True, ""


def predicted_seconds(history: dict, method: str, n: int, d: int) -> float | None:
    """Predicted seconds per suggestion of (method, n, d).

    ``history`` maps (method, n, d) to the mean seconds per suggestion measured. The largest
    smaller n of the same method and d is scaled by (n / n_prev)^1.5: between the n^1 of
    fixed per-call costs, which dominate at small n, and the n^2 to n^3 of GP algebra.
    """
    previous = [(m, t) for (meth, m, dd), t in history.items() if meth == method and dd == d and m < n]
    if not previous:
        return None
    n_prev, t_prev = max(previous)
    return t_prev * (n / n_prev) ** 1.5


def warm_up(methods, log=print) -> None:
    """Run each method once on a tiny 1-d problem, so that library imports and first-use set-up
    are not billed to the first configuration (ntbo's compilation for the measured shapes still
    is: it is reported as its first ask)."""
    fn, X, y = make_data(12, 1, seed=123)
    for method in methods:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                RUNNERS[method](fn, X, y)
        except Exception as err:
            log(f"  warm-up of {method} failed: {type(err).__name__}: {err}")


def run_all(methods, ns, ds, cap: float, seed: int = 0, log=print,
            on_record: Callable[[list], None] | None = None) -> list[dict]:
    """Measure every configuration; returns one record per (method, n, d).

    ``on_record(records)`` is called after each one (to save partial results).
    """
    records, wall = [], {}
    warm_up(methods, log)
    for d in ds:
        for n in ns:
            fn, X, y = make_data(n, d, seed=seed)
            for method in methods:
                rec = {"method": method, "n": n, "d": d}
                guess = predicted_seconds(wall, method, n, d)
                if guess is not None and guess > cap:
                    rec["skipped"] = f"predicted {guess:.0f} s > cap {cap:.0f} s"
                    log(f"  d={d:2d} n={n:4d} {method:9s} skipped: {rec['skipped']}")
                    records.append(rec)
                    if on_record:
                        on_record(records)
                    continue
                start = time.perf_counter()
                try:
                    rec.update(RUNNERS[method](fn, X, y, seed=seed))
                except Exception as err:  # a peer failing must not stop the others
                    rec["error"] = f"{type(err).__name__}: {err}"
                rec["wall"] = time.perf_counter() - start
                if "seconds" in rec:
                    rec["mean"] = statistics.fmean(rec["seconds"])
                    wall[(method, n, d)] = rec["mean"]
                    extra = f" (first ask {rec['first']:.3f} s)" if "first" in rec else ""
                    log(f"  d={d:2d} n={n:4d} {method:9s} {rec['mean']:.4f} s{extra}")
                else:
                    log(f"  d={d:2d} n={n:4d} {method:9s} error: {rec['error']}")
                records.append(rec)
                if on_record:
                    on_record(records)
    return records


def _cell(rec: dict | None) -> str:
    if rec is None:
        return "n/a"
    if "mean" in rec:
        return f"{rec['mean']:.3g}"
    if "skipped" in rec:
        return "skipped (cap)"
    return "error"


def markdown_table(records, methods, header: dict, notes: list[str]) -> str:
    """The results as markdown: seconds per suggestion, then each peer's ratio to ntbo."""
    by_key = {(r["method"], r["n"], r["d"]): r for r in records}
    configs = sorted({(r["d"], r["n"]) for r in records})
    peers = [m for m in methods if m != "ntbo"]
    lines = ["# Suggestion overhead", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "Seconds from handing over the n-th observation to receiving the next "
              "suggestion (mean of up to 8 consecutive suggestions while they total under 5 s). ntbo's first "
              "ask (with JAX compilation) and its second ask (the first repetition) are shown "
              "separately. Ratio = peer seconds / ntbo seconds.", ""]
    cols = ["d", "n"] + [f"{m} (s)" for m in methods]
    if "ntbo" in methods:
        cols += ["ntbo first ask (s)", "ntbo 2nd ask (s)"] + [f"{m} / ntbo" for m in peers]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for d, n in configs:
        row = [str(d), str(n)] + [_cell(by_key.get((m, n, d))) for m in methods]
        if "ntbo" in methods:
            ours = by_key.get(("ntbo", n, d), {})
            row.append(f"{ours['first']:.3g}" if "first" in ours else "n/a")
            row.append(f"{ours['seconds'][0]:.3g}" if "seconds" in ours else "n/a")
            for m in peers:
                theirs = by_key.get((m, n, d), {})
                if "mean" in ours and "mean" in theirs and ours["mean"] > 0:
                    row.append(f"{theirs['mean'] / ours['mean']:.1f}x")
                else:
                    row.append("-")
        lines.append("| " + " | ".join(row) + " |")
    notes = list(notes)
    notes += [f"{r['method']} at n={r['n']}, d={r['d']} skipped: {r['skipped']}."
              for r in records if "skipped" in r]
    notes += [f"{r['method']} at n={r['n']}, d={r['d']} failed: {r['error']}."
              for r in records if "error" in r]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def plot(records, methods, path: Path) -> None:
    """Seconds per suggestion against n, one panel per d, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = sorted({r["d"] for r in records})
    fig, axes = plt.subplots(1, len(ds), figsize=(4.2 * len(ds), 3.6), squeeze=False,
                             sharey=True)
    for ax, d in zip(axes[0], ds):
        for m in methods:
            pts = sorted((r["n"], r["mean"]) for r in records
                         if r["method"] == m and r["d"] == d and "mean" in r)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=m)
        ax.set(xscale="log", yscale="log", xlabel="observations n", title=f"d = {d}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("seconds per suggestion")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def versions(methods) -> str:
    names = {"ntbo": "jax", "bayes_opt": "bayes_opt", "optuna": "optuna", "botorch": "botorch",
             "skopt": "skopt"}
    out = []
    for m in methods:
        try:
            out.append(f"{names[m]} {importlib.import_module(names[m]).__version__}")
        except Exception:
            pass
    try:
        import torch
        out.append(f"torch intra-op threads {torch.get_num_threads()}")
    except ImportError:
        pass
    for extra in ("torch", "greenlet"):
        try:
            out.append(f"{extra} {importlib.import_module(extra).__version__}")
        except ImportError:
            out.append(f"{extra} not installed")
    return ", ".join(out)


def code_version() -> str:
    """The repository's commit, and whether bo/ differs from it (the numbers depend on bo/)."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bo"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes in bo/" if dirty else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"n in {QUICK_NS}, d in {QUICK_DS} instead of {FULL_NS} x {FULL_DS}")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--n", nargs="+", type=int, help="override the observation counts")
    parser.add_argument("--d", nargs="+", type=int, help="override the dimensions")
    parser.add_argument("--cap", type=float, default=120.0,
                        help="skip a configuration predicted to take longer (seconds, per method)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    logging.getLogger("bayes_opt").setLevel(logging.WARNING)
    ns = tuple(args.n or (QUICK_NS if args.quick else FULL_NS))
    ds = tuple(args.d or (QUICK_DS if args.quick else FULL_DS))
    notes, methods = [], []
    for m in args.methods:
        ok, msg = available(m)
        if ok:
            methods.append(m)
        else:
            print(f"skipping {msg}", file=sys.stderr)
            notes.append(f"skipped {msg}")
    if not methods:
        print("no method available", file=sys.stderr)
        return 1

    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"methods {methods}; n {ns}; d {ds}")
    start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "overhead_quick" if args.quick else "overhead"
    command = "python -m benchmarks.overhead " + " ".join(
        argv if argv is not None else sys.argv[1:])

    def save(records, finished=False):
        load_now = os.getloadavg()
        header = {
            "command": command,
            "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime(start)),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                       f"Python {platform.python_version()}",
            "load average (1, 5, 15 min) before": " ".join(f"{v:.2f}" for v in load_before),
            "load average (1, 5, 15 min) " + ("after" if finished else "so far (unfinished)"):
                " ".join(f"{v:.2f}" for v in load_now),
            "versions": versions(methods),
            "ntbo commit": code_version(),
            "data": "uniform random points of Styblinski-Tang on [-5, 5]^d, seed "
                    f"{args.seed}; per-method cap {args.cap:.0f} s",
            "total wall time": f"{time.time() - start:.0f} s",
        }
        (args.out / f"{stem}.md").write_text(markdown_table(records, methods, header, notes))
        (args.out / f"{stem}.json").write_text(
            json.dumps({"header": header, "records": records}, indent=1))

    records = run_all(methods, ns, ds, cap=args.cap, seed=args.seed, on_record=save)
    save(records, finished=True)
    plot(records, methods, args.out / f"{stem}.png")
    print(f"wrote {args.out / (stem + '.md')}, .json and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
