"""The benchmark suite: every ntbo method against the peers, on eight problems, side by side.

Methods (all minimise; a run has ``--budget`` evaluations, one suggestion at a time):

================ ===============================================================================
gp-<acq>         ``bo.Optimizer(space, method="gp", acquisition=<acq>)`` with its defaults (10
                 scrambled-Sobol initial points); <acq> in logei (the default), ei, pi, ucb, mes,
                 ts (Thompson sampling).
cmaes            ``bo.Optimizer(space, method="cmaes")`` (CMA-ES with margin, IPOP restarts).
random, sobol    ``bo.Optimizer(space, method="random" | "sobol")``.
bayes_opt        ``BayesianOptimization.maximize(init_points=10, n_iter=budget - 10)`` with its
                 default acquisition, on the space's unit cube (it has no integer type: integer
                 coordinates are rounded by the objective).
skopt            ``skopt.Optimizer(dims, base_estimator="GP", n_initial_points=10)``, defaults
                 (gp_hedge acquisition); integers as ``skopt.space.Integer`` (log-uniform prior).
optuna-gp        Optuna ``GPSampler(seed, n_startup_trials=10)``; integers as IntDistribution.
optuna-tpe       Optuna ``TPESampler(seed)`` (10 random start-up trials).
optuna-cmaes     Optuna ``CmaEsSampler(seed, with_margin=<space has integers>)``.
botorch-logei    BoTorch's standard loop on the unit cube: a scrambled Sobol design of 10 points
                 (seeded), then per step SingleTaskGP, fit_gpytorch_mll, LogExpectedImprovement,
                 optimize_acqf(num_restarts=10, raw_samples=512) (`benchmarks.overhead`);
                 integer coordinates rounded by the objective.
pycma            ``cma.CMAEvolutionStrategy([0.5] * d, 0.25, bounds [0, 1])`` on the unit cube,
                 told whole generations (a restart with a new seed if it stops early).
================ ===============================================================================

Peers whose library does not import are skipped with a one-line notice (``pip install -e
".[peers]"`` installs them; Optuna's CmaEsSampler also needs the ``cmaes`` package).

Problems: the six functions of `benchmarks.functions` (Branin 2-d, Hartmann 6-d, Ackley, Levy,
Rosenbrock and Styblinski-Tang in 6-d), and the MLP-width problems of
`benchmarks.topology_problem` in 3 and 15 dimensions (``mlp_widths_3d``, ``mlp_widths_15d``).

Simple regret after B evaluations is ``min(values[:B]) - reference``: the published minimum for
the functions; for the MLP problems, whose minimum is unknown, the best loss any run of any method
has found (every evaluated topology is cached). A run of budget 100 also gives the budget-50
figure, as the prefix of its trace: the table's budgets are prefixes of the same runs.

"Tied with the best": the best method of a (problem, budget) is the one with the lowest median
regret; another method is tied with it when a one-sided Mann-Whitney U test at the 5 % level does
not find its regrets larger (scipy.stats.mannwhitneyu, alternative="greater"). No correction for
the number of comparisons is made, which makes "tied" the lenient side. With k and m runs the
test's smallest p-value is 1 / C(k + m, k) (without ties): 3 against 3 runs (0.05) can never
reject, so cells need ``--min-seeds`` runs (default 5, p down to 0.004) to take part.

Seconds per suggestion: the wall time between the end of one evaluation and the start of the next
(the optimiser's own work, library set-up and compilation included), averaged over the run.

Every run is written to ``<out>/<name>/<problem>/<method>__s<seed>.json`` as soon as it
finishes (best-so-far trace, values, seconds per suggestion); a rerun skips runs already there
with at least the requested budget, so an interrupted run continues where it stopped and the
table is always built from what exists (``--table-only`` builds it without running anything).

Usage::

    python -m benchmarks.suite                       # the full suite: 10 seeds, budget 100
    python -m benchmarks.suite --quick               # 5 seeds, budget 30, a few methods
    python -m benchmarks.suite --methods gp-logei cmaes --problems branin levy --seeds 5

Outputs: ``<out>/<name>.md`` (the table) and ``<out>/<name>_regret.png`` (regret versus
evaluations).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

N_INITIAL = 10
GP_ACQUISITIONS = ("logei", "ei", "pi", "ucb", "mes", "ts")
FUNCTIONS = ("branin", "hartmann6", "ackley", "levy", "rosenbrock", "styblinski_tang")
TOPOLOGIES = {"mlp_widths_3d": 3, "mlp_widths_15d": 15}
PROBLEMS = FUNCTIONS + tuple(TOPOLOGIES)
QUICK = {"seeds": 5, "budget": 30, "methods": ("gp-logei", "cmaes", "random", "sobol",
                                               "optuna-tpe", "pycma"),
         "problems": ("branin", "hartmann6", "levy", "mlp_widths_3d")}
ALPHA = 0.05


# ----------------------------------------------------------------------------------------------
# Problems


@dataclasses.dataclass(frozen=True)
class Problem:
    """A minimisation problem over a `bo.Space`.

    Attributes:
        name: identifier used in file names and tables.
        space: the `bo.Space`.
        evaluate: maps a point (dict) to its value.
        optimum: the known global minimum, or None.
        best_known: returns the best value known from outside the runs (a cache), or None.
    """

    name: str
    space: object
    evaluate: Callable[[dict], float]
    optimum: float | None = None
    best_known: Callable[[], float | None] = lambda: None

    @property
    def dim(self) -> int:
        return self.space.dim


def make_problem(name: str, cache_dir: Path | None = None) -> Problem:
    """The problem called ``name`` (one of `PROBLEMS`)."""
    from benchmarks.functions import suite

    functions = {fn.name: fn for fn in suite()}
    if name in functions:
        fn = functions[name]
        return Problem(name, fn.space(), fn.from_params, fn.optimum)
    if name in TOPOLOGIES:
        from benchmarks.topology_problem import TopologyProblem

        tp = TopologyProblem(TOPOLOGIES[name], cache_dir=cache_dir)

        def best():
            found = tp.best_known()
            return None if found is None else found[1]

        return Problem(name, tp.space, tp, None, best)
    raise ValueError(f"unknown problem {name!r}; choose from {', '.join(PROBLEMS)}")


# ----------------------------------------------------------------------------------------------
# Methods. Each runner calls ``objective(point)`` exactly ``budget`` times, in order.


class Recorder:
    """The objective as a method sees it: records values and the optimiser's time per suggestion.

    The time charged to a suggestion runs from the end of the previous evaluation (or the
    recorder's creation) to the start of this one.
    """

    def __init__(self, problem: Problem, budget: int):
        self.problem, self.budget = problem, budget
        self.values: list[float] = []
        self.seconds: list[float] = []
        self._last = time.perf_counter()

    def __call__(self, point: dict) -> float:
        start = time.perf_counter()
        if len(self.values) >= self.budget:
            raise RuntimeError(f"asked for evaluation {len(self.values) + 1} of a budget of {self.budget}")
        value = float(self.problem.evaluate(point))
        self.seconds.append(start - self._last)
        self.values.append(value)
        self._last = time.perf_counter()
        return value

    @property
    def left(self) -> int:
        return self.budget - len(self.values)

    def unit(self, u) -> float:
        """Evaluate a unit-cube point (peers without the space's types); integers are rounded."""
        return self(self.problem.space.decode(np.clip(np.asarray(u, np.float64), 0, 1)[None])[0])


def run_bo(method: str, **options):
    def run(problem: Problem, budget: int, seed: int, f: Recorder) -> None:
        import bo

        opt = bo.Optimizer(problem.space, method=method, seed=seed, **options)
        while f.left:
            [point] = opt.ask(1)
            opt.tell([point], [f(point)])
    return run


def run_bayes_opt(problem, budget, seed, f) -> None:
    from bayes_opt import BayesianOptimization

    names = [f"u{i}" for i in range(problem.dim)]
    opt = BayesianOptimization(f=lambda **u: -f.unit([u[k] for k in names]),
                               pbounds={k: (0.0, 1.0) for k in names}, random_state=seed,
                               verbose=0, allow_duplicate_points=True)
    initial = min(N_INITIAL, budget)
    opt.maximize(init_points=initial, n_iter=budget - initial)


def _param_kinds(space):
    import bo

    for p in space.params:
        if isinstance(p, bo.Categorical):
            raise ValueError(f"the suite's peer wrappers take Real and Integer only, not {p!r}")
        yield p, isinstance(p, bo.Integer)


def run_skopt(problem, budget, seed, f) -> None:
    from skopt import Optimizer
    from skopt.space import Integer, Real

    prior = lambda p: "log-uniform" if p.log else "uniform"  # noqa: E731
    dims = [Integer(p.low, p.high, prior=prior(p), name=p.name) if is_int
            else Real(p.low, p.high, prior=prior(p), name=p.name)
            for p, is_int in _param_kinds(problem.space)]
    opt = Optimizer(dims, base_estimator="GP", n_initial_points=min(N_INITIAL, budget),
                    random_state=seed)
    names = problem.space.names
    while f.left:
        x = opt.ask()
        point = {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in zip(names, x)}
        opt.tell(x, f(point))


def run_optuna(sampler_name: str):
    def run(problem, budget, seed, f) -> None:
        import optuna
        from optuna.distributions import FloatDistribution, IntDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists, has_int = {}, False
        for p, is_int in _param_kinds(problem.space):
            dists[p.name] = (IntDistribution(p.low, p.high, log=p.log) if is_int
                             else FloatDistribution(p.low, p.high, log=p.log))
            has_int |= is_int
        samplers = optuna.samplers
        sampler = {"gp": lambda: samplers.GPSampler(seed=seed, n_startup_trials=N_INITIAL),
                   "tpe": lambda: samplers.TPESampler(seed=seed, n_startup_trials=N_INITIAL),
                   "cmaes": lambda: samplers.CmaEsSampler(seed=seed, with_margin=has_int)}[sampler_name]()
        study = optuna.create_study(direction="minimize", sampler=sampler)
        while f.left:
            trial = study.ask(dists)
            study.tell(trial, f(dict(trial.params)))
    return run


def run_botorch(problem, budget, seed, f) -> None:
    """The loop of `benchmarks.sample_efficiency.run_botorch`, on the space's unit cube."""
    import torch
    from torch.quasirandom import SobolEngine

    from benchmarks.overhead import botorch_suggest

    initial = min(N_INITIAL, budget)
    U = SobolEngine(problem.dim, scramble=True, seed=seed).draw(initial).to(torch.float64).numpy()
    y = np.array([f.unit(u) for u in U])
    for step in range(budget - initial):
        u = botorch_suggest(U, y, seed=seed * 100003 + step)
        U = np.vstack([U, u])
        y = np.append(y, f.unit(u))


def run_pycma(problem, budget, seed, f) -> None:
    import cma

    restart = 0
    while f.left:
        es = cma.CMAEvolutionStrategy([0.5] * problem.dim, 0.25,
                                      {"bounds": [0, 1], "seed": seed + 1 + 1000 * restart,
                                       "verbose": -9})
        while f.left and not es.stop():
            X = es.ask()
            values = []
            for x in X:
                if not f.left:
                    return
                values.append(f.unit(x))
            es.tell(X, values)
        restart += 1


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    requires: tuple[str, ...]  # modules that must import
    run: Callable
    pip: str = 'pip install -e ".[peers]"'


METHODS: dict[str, Method] = {
    **{f"gp-{a}": Method(f"gp-{a}", ("bo",), run_bo("gp", acquisition=a)) for a in GP_ACQUISITIONS},
    "cmaes": Method("cmaes", ("bo",), run_bo("cmaes")),
    "random": Method("random", ("bo",), run_bo("random")),
    "sobol": Method("sobol", ("bo",), run_bo("sobol")),
    "bayes_opt": Method("bayes_opt", ("bayes_opt",), run_bayes_opt),
    "skopt": Method("skopt", ("skopt",), run_skopt),
    "optuna-gp": Method("optuna-gp", ("optuna", "torch"), run_optuna("gp")),
    "optuna-tpe": Method("optuna-tpe", ("optuna",), run_optuna("tpe")),
    "optuna-cmaes": Method("optuna-cmaes", ("optuna", "cmaes"), run_optuna("cmaes"),
                           'pip install -e ".[peers]" cmaes'),
    "botorch-logei": Method("botorch-logei", ("botorch", "torch"), run_botorch),
    "pycma": Method("pycma", ("cma",), run_pycma, 'pip install -e ".[test]"'),
}


def available(method: str) -> str | None:
    """None if ``method`` can run, else a one-line notice saying why not and how to fix it."""
    m = METHODS[method]
    for module in m.requires:
        try:
            importlib.import_module(module)
        except ImportError as err:
            return f"skipping {method}: {module} does not import ({err}); {m.pip}"
    return None


# ----------------------------------------------------------------------------------------------
# Runs on disk


def run_path(root: Path, problem: str, method: str, seed: int) -> Path:
    return root / problem / f"{method}__s{seed}.json"


def load_run(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); delete it to rerun that run") from None


def run_one(problem: Problem, method: str, budget: int, seed: int) -> dict:
    """One optimisation run as a JSON-ready record."""
    f = Recorder(problem, budget)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        METHODS[method].run(problem, budget, seed, f)
    wall = time.perf_counter() - start
    if f.left:
        raise RuntimeError(f"{method} on {problem.name} stopped after {len(f.values)} of "
                           f"{budget} evaluations")
    finite = np.where(np.isfinite(f.values), f.values, np.inf)
    return {"method": method, "problem": problem.name, "seed": seed, "budget": budget,
            "values": f.values, "best_so_far": np.minimum.accumulate(finite).tolist(),
            "suggest_seconds": f.seconds, "wall_seconds": wall,
            "load_average": list(os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def save_run(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def claim(path: Path) -> bool:
    """Mark a run as being made by this process (``<run>.json.running`` holding its pid); False
    when a live process holds it already, so that several workers can share one suite."""
    marker = path.with_name(path.name + ".running")
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            pid = int(marker.read_text() or 0)
            os.kill(pid, 0)
            return pid == os.getpid()
        except (ValueError, ProcessLookupError, FileNotFoundError):
            marker.write_text(str(os.getpid()))  # its holder died: take it over
            return True
        except PermissionError:
            return False
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def release(path: Path) -> None:
    path.with_name(path.name + ".running").unlink(missing_ok=True)


def run_all(root: Path, problems, methods, seeds, budget: int, log=print, code: str = "",
            cache_dir: Path | None = None) -> int:
    """Run every missing (seed, problem, method), seeds outermost so that an interrupted suite
    has about as many seeds of every cell; runs another process is making are skipped (so
    workers with the same arguments share the work). Returns the number of runs made."""
    made = 0
    cache = {}
    for seed in seeds:
        for name in problems:
            for method in methods:
                path = run_path(root, name, method, seed)
                old = load_run(path)
                if old is not None and (old.get("budget", 0) >= budget or "error" in old):
                    continue
                if not claim(path):
                    continue
                if name not in cache:
                    cache[name] = make_problem(name, cache_dir=cache_dir or root)
                try:
                    record = run_one(cache[name], method, budget, seed)
                except Exception as err:  # one broken peer must not stop the suite
                    record = {"method": method, "problem": name, "seed": seed, "budget": budget,
                              "error": f"{type(err).__name__}: {err}"}
                    log(f"{name} {method} seed {seed}: FAILED {record['error']}")
                else:
                    log(f"{name} {method} seed {seed}: best {record['best_so_far'][-1]:.6g}, "
                        f"{np.mean(record['suggest_seconds']):.3g} s/suggestion")
                record["code"] = code
                save_run(path, record)
                release(path)
                made += 1
    return made


# ----------------------------------------------------------------------------------------------
# Table and plots


def import_sample_efficiency(root: Path, cache: Path, log=print) -> int:
    """Copy BoTorch runs of `benchmarks.sample_efficiency` into the suite's layout.

    Its ``botorch-logei`` loop is the one `run_botorch` repeats (same Sobol design and seeds), so
    a run made there is a run of this suite's method. Its cache keeps the regret trace and the
    run's wall time, not the values: ``values`` is left out, and ``suggest_seconds`` is the wall
    time spread evenly over the suggestions (objective evaluations included, negligible for
    these functions). Existing suite runs are not replaced.
    """
    from benchmarks.functions import suite

    optimum = {fn.name: fn.optimum for fn in suite()}
    made = 0
    for key, rec in json.loads(cache.read_text()).items():
        method, problem, _, b, i, s = key.split("|")
        budget, seed = int(b[1:]), int(s[1:])
        if method != "botorch-logei" or problem not in optimum or int(i[1:]) != N_INITIAL:
            continue
        path = run_path(root, problem, method, seed)
        if path.exists():
            continue
        best = (np.asarray(rec["trace"]) + optimum[problem]).tolist()
        save_run(path, {"method": method, "problem": problem, "seed": seed, "budget": budget,
                        "values": None, "best_so_far": best,
                        "suggest_seconds": [rec["seconds"] / budget] * budget,
                        "wall_seconds": rec["seconds"], "code": rec.get("code", "?"),
                        "imported_from": str(cache)})
        made += 1
    log(f"imported {made} runs from {cache}")
    return made


def collect(root: Path, problems, methods) -> dict:
    """{(problem, method): [records]} of every finished, error-free run under ``root``."""
    out = {}
    for p in problems:
        for m in methods:
            runs = [load_run(path) for path in sorted((root / p).glob(f"{m}__s*.json"))]
            out[(p, m)] = sorted((r for r in runs if r and "error" not in r), key=lambda r: r["seed"])
    return out


def reference(problem: Problem, runs: dict) -> float:
    """The regret's zero: the known optimum, else the best value seen by any run or cache."""
    if problem.optimum is not None:
        return problem.optimum
    seen = [min(r["best_so_far"]) for (p, _), rs in runs.items() if p == problem.name for r in rs]
    known = problem.best_known()
    seen += [known] if known is not None else []
    return min(seen) if seen else math.nan


def regrets(records, ref: float, budget: int) -> np.ndarray:
    """Simple regret after ``budget`` evaluations of each run long enough."""
    return np.array([r["best_so_far"][budget - 1] - ref for r in records if r["budget"] >= budget])


def tied_with_best(samples: dict) -> tuple[str | None, dict]:
    """The method with the lowest median and, per method, whether it is best or tied with it.

    Args:
        samples: method -> regrets (1-d arrays; methods without any are ignored).

    Returns:
        (best method, {method: (tied or best, p-value of the one-sided test; 1.0 for the best)}).
    """
    from scipy.stats import mannwhitneyu

    samples = {m: np.asarray(v, float) for m, v in samples.items() if len(v)}
    if not samples:
        return None, {}
    best = min(samples, key=lambda m: (np.median(samples[m]), np.mean(samples[m])))
    out = {}
    for m, v in samples.items():
        if m == best:
            out[m] = (True, 1.0)
            continue
        if np.array_equal(np.sort(v), np.sort(samples[best])):
            p = 1.0
        else:
            p = float(mannwhitneyu(v, samples[best], alternative="greater").pvalue)
        out[m] = (p >= ALPHA, p)
    return best, out


def _g(x: float) -> str:
    return f"{x:.3g}"


def markdown(runs: dict, problems: dict, methods, seeds, budgets, header: dict,
             min_seeds: int = 1) -> tuple[str, dict]:
    """The report, and {(problem, budget): (best, ties, samples)} for the summary; methods with
    fewer than ``min_seeds`` finished runs are shown but take no part in the test."""
    lines = ["# Benchmark suite: ntbo against the peers", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "Simple regret (lower is better), median [25th, 75th percentile] over seeds; the "
              "MLP-width problems' regret is measured from the best loss any run found (their "
              "minimum is unknown), so their values are relative. **Bold**: the method with the "
              "lowest median, and every method a one-sided Mann-Whitney U test at 5 % does not "
              "find worse (tied with the best). A cell shows (n) when fewer than "
              f"{len(seeds)} seeds have finished; cells with fewer than {min_seeds} runs take "
              "no part in the test (neither best nor tied)." + (
                  f" The budget-{min(budgets)} figures are the first {min(budgets)} evaluations "
                  f"of the budget-{max(budgets)} runs." if len(budgets) > 1 else ""), ""]
    refs = {p: reference(problems[p], runs) for p in problems}
    verdicts = {}
    for budget in budgets:
        lines += [f"## Budget {budget}", "", "| method | " + " | ".join(
            f"{p} ({problems[p].dim}-d)" for p in problems) + " |",
                  "|---" * (len(problems) + 1) + "|"]
        cells = {}
        for p in problems:
            samples = {m: regrets(runs[(p, m)], refs[p], budget) for m in methods}
            best, ties = tied_with_best({m: v for m, v in samples.items()
                                         if len(v) >= min_seeds})
            verdicts[(p, budget)] = (best, ties, samples)
            for m in methods:
                v = samples[m]
                if not len(v):
                    cells[(p, m)] = "-"
                    continue
                q25, med, q75 = np.percentile(v, [25, 50, 75])
                text = f"{_g(med)} [{_g(q25)}, {_g(q75)}]"
                if len(v) < len(seeds):
                    text += f" ({len(v)})"
                cells[(p, m)] = f"**{text}**" if ties.get(m, (False,))[0] else text
        for m in methods:
            lines.append(f"| {m} | " + " | ".join(cells[(p, m)] for p in problems) + " |")
        lines.append("")
    top = max(budgets)
    lines += [f"## Seconds per suggestion (budget {top})", "",
              "Mean over a run of the optimiser's wall time per suggestion (everything between "
              "two evaluations: library set-up and JAX compilation included), median over seeds. "
              "Runs shared a loaded 2-core machine with other jobs, under `nice -n 19`: compare "
              "methods within a column, not with other tables.", "",
              "| method | " + " | ".join(problems) + " |", "|---" * (len(problems) + 1) + "|"]
    for m in methods:
        row = []
        for p in problems:
            secs = [np.mean(r["suggest_seconds"][:top]) for r in runs[(p, m)] if r["budget"] >= top]
            row.append(f"{np.median(secs):.3g}" if secs else "-")
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    lines.append("")
    reference_lines = [f"{p} {refs[p]:.6g}" + ("" if problems[p].optimum is not None else
                                                " (best found)") for p in problems]
    lines += ["Regret references: " + ", ".join(reference_lines) + ".", ""]
    return "\n".join(lines), verdicts


def gp_summary(verdicts: dict, methods, budgets) -> list[str]:
    """How often each gp acquisition is best or tied with the best on the six functions."""
    lines = ["## gp on the six continuous functions", ""]
    for budget in budgets:
        for m in [m for m in methods if m.startswith("gp-")]:
            ok, not_ok = [], []
            for p in FUNCTIONS:
                if (p, budget) not in verdicts:
                    continue
                best, ties, samples = verdicts[(p, budget)]
                if m not in ties:
                    continue
                if ties[m][0]:
                    ok.append(p)
                else:
                    not_ok.append(f"{p} (best {best}: {np.median(samples[best]):.3g} vs "
                                  f"{np.median(samples[m]):.3g}, p = {ties[m][1]:.2g})")
            if ok or not_ok:
                lines.append(f"- budget {budget}, {m}: best or tied on {len(ok)} of "
                             f"{len(ok) + len(not_ok)}" + (f" ({', '.join(ok)})" if ok else "")
                             + (f"; behind on {'; '.join(not_ok)}" if not_ok else ""))
    return lines + [""]


def plot(runs: dict, problems: dict, methods, path: Path) -> None:
    """Median best-so-far regret against evaluations (shaded: interquartile range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(problems)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    colours = plt.get_cmap("tab20")
    styles = ["-", "--", ":", "-."]
    for ax, p in zip(axes.flat, names):
        ref = reference(problems[p], runs)
        for i, m in enumerate(methods):
            rs = runs[(p, m)]
            if not rs:
                continue
            n = min(r["budget"] for r in rs)
            curves = np.array([r["best_so_far"][:n] for r in rs]) - ref
            floor = 1e-10 if problems[p].optimum is not None else 1e-5
            curves = np.maximum(curves, floor)
            q25, med, q75 = np.percentile(curves, [25, 50, 75], axis=0)
            x = np.arange(1, n + 1)
            ax.plot(x, med, styles[i % len(styles)], color=colours(i % 20), label=m, lw=1.3)
            ax.fill_between(x, q25, q75, color=colours(i % 20), alpha=0.12)
        ax.set_yscale("log")
        ax.set_title(f"{p} ({problems[p].dim}-d)", fontsize=10)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("simple regret" + ("" if problems[p].optimum is not None else
                                         " (vs best found)"))
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(8, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(labels) > 8), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# Command line


def _versions(methods) -> str:
    mods = {"bo": None, "jax": "jax", "bayes_opt": "bayes_opt", "skopt": "skopt", "optuna": "optuna",
            "botorch": "botorch", "torch": "torch", "cma": "cma", "cmaes": "cmaes"}
    needed = {mod for m in methods for mod in METHODS[m].requires} | {"jax"}
    out = []
    for mod in sorted(needed & set(mods)):
        if mods[mod] is None:
            continue
        try:
            out.append(f"{mod} {importlib.import_module(mod).__version__}")
        except (ImportError, AttributeError):
            pass
    return ", ".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK['seeds']} seeds, budget {QUICK['budget']}, methods "
                         f"{' '.join(QUICK['methods'])}, problems {' '.join(QUICK['problems'])}; "
                         "written as <name>_quick")
    ap.add_argument("--methods", nargs="+", choices=list(METHODS), metavar="METHOD",
                    help=f"default: all ({', '.join(METHODS)})")
    ap.add_argument("--problems", nargs="+", choices=PROBLEMS, metavar="PROBLEM",
                    help=f"default: all ({', '.join(PROBLEMS)})")
    ap.add_argument("--seeds", type=int, help="number of seeds 0 .. n-1 (default 10)")
    ap.add_argument("--budget", type=int, help="evaluations per run (default 100); the table "
                    "also shows 50 when the budget exceeds it")
    ap.add_argument("--table-only", action="store_true", help="build the table from the runs "
                    "on disk, run nothing")
    ap.add_argument("--table-methods", nargs="+", choices=list(METHODS), metavar="METHOD",
                    help="methods in the table (default: every method with runs on disk)")
    ap.add_argument("--import-sample-efficiency", type=Path, metavar="JSON",
                    help="first copy the botorch-logei runs of this sample_efficiency cache")
    ap.add_argument("--min-seeds", type=int, default=5, help="runs a cell needs to take part "
                    "in the best/tied test (default 5)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--name", default="suite", help="runs go to <out>/<name>/, the table to "
                    "<out>/<name>.md")
    args = ap.parse_args(argv)
    quick = args.quick
    seeds = range(args.seeds or (QUICK["seeds"] if quick else 10))
    budget = args.budget or (QUICK["budget"] if quick else 100)
    if budget < 1:
        ap.error(f"--budget {budget}: must be at least 1")
    methods = list(args.methods or (QUICK["methods"] if quick else METHODS))
    problem_names = list(args.problems or (QUICK["problems"] if quick else PROBLEMS))
    name = args.name + ("_quick" if quick else "")
    root = args.out / name
    cache_dir = args.out / "suite"  # the MLP cache depends on the problem only: share it

    if args.import_sample_efficiency:
        import_sample_efficiency(root, args.import_sample_efficiency)
    runnable = []
    for m in methods:
        notice = available(m)
        if notice:
            print(notice, file=sys.stderr)
        else:
            runnable.append(m)
    if not args.table_only:
        from benchmarks.overhead import code_version

        load = os.getloadavg()
        made = run_all(root, problem_names, runnable, seeds, budget, code=code_version(),
                       cache_dir=cache_dir)
        print(f"{made} runs made (load average before: {load[0]:.2f})", flush=True)

    # The table covers every run on disk, not only this invocation's subset, so that topping up
    # one cell never drops the others from the report.
    on_disk = collect(root, PROBLEMS, list(METHODS))
    table_methods = list(args.table_methods or [m for m in METHODS if any(
        on_disk[(p, m)] for p in PROBLEMS)])
    table_problems = [p for p in PROBLEMS if any(on_disk[(p, m)] for m in table_methods)]
    problems = {p: make_problem(p, cache_dir=cache_dir) for p in table_problems}
    runs = {(p, m): on_disk[(p, m)] for p in table_problems for m in table_methods}
    runs = {k: [r for r in v if r["seed"] in seeds] for k, v in runs.items()}
    budgets = sorted({b for b in (50, budget) if b <= budget})
    codes = sorted({r.get("code", "?") for v in runs.values() for r in v})
    loads = [r["load_average"][0] for v in runs.values() for r in v if "load_average" in r]
    command = "python -m benchmarks.suite" + (" " + " ".join(argv if argv is not None
                                                           else sys.argv[1:])).rstrip()
    header = {"command": f"`{command}`",
              "table built (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
              "runs made with ntbo commit": ", ".join(codes) or "-",
              "library versions": _versions(table_methods),
              "seeds": f"{len(seeds)} (0 .. {len(seeds) - 1})",
              "initial design of the model-based methods": f"{N_INITIAL} points",
              "load average (1 min) at the end of the runs": (
                  f"median {np.median(loads):.1f}, max {np.max(loads):.1f}" if loads else "-")}
    min_seeds = args.min_seeds
    report, verdicts = markdown(runs, problems, table_methods, seeds, budgets, header,
                                min(min_seeds, len(seeds)))
    report += "\n" + "\n".join(gp_summary(verdicts, table_methods, budgets))
    png = args.out / f"{name}_regret.png"
    report += f"\nRegret against evaluations: `{png.name}`.\n"
    (args.out / f"{name}.md").write_text(report)
    if any(runs.values()):
        plot(runs, problems, table_methods, png)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
