"""Two-objective benchmark: hypervolume after 60 evaluations on BraninCurrin and ZDT1.

Problems (both minimised on the unit cube; reference points and maximal hypervolumes as in
BoTorch's ``botorch.test_functions.multi_objective``, which this script checks its definitions
against when BoTorch is installed):

============= === ============ ================= ===========================================
problem       d   reference    max hypervolume   definition
============= === ============ ================= ===========================================
BraninCurrin  2   (18, 6)      59.3601187        Branin on [-5, 10] x [0, 15] rescaled to the
                                                 unit square; Currin exponential (Currin et al.
                                                 1991; Belakaria et al. 2019)
ZDT1          4   (11, 11)     120.6666667       Zitzler, Deb & Thiele (2000): f1 = x1,
                                                 g = 1 + 9 mean(x2..xd), f2 = g (1 - sqrt(f1/g))
============= === ============ ================= ===========================================

Methods (each run gets ``--budget`` evaluations; the model-based ones start from a scrambled
Sobol design of ``--n-initial`` points):

=================== ===========================================================================
ntbo-ehvi           ``bo.minimize(..., objectives=2, multiobjective="ehvi", reference=ref)``
ntbo-parego         ``bo.minimize(..., objectives=2, multiobjective="parego")``
ntbo-random         ``bo.minimize(..., method="random", objectives=2)``
optuna-nsga2        Optuna's ``NSGAIISampler(seed=seed)`` with its default population (50)
optuna-nsga2-pop10  the same with ``population_size=10``, a population that fits 60 evaluations
botorch-qlognehvi   BoTorch's tutorial loop: ModelListGP of SingleTaskGPs (standardised outputs),
                    fit_gpytorch_mll, qLogNoisyExpectedHypervolumeImprovement(ref_point,
                    X_baseline, prune_baseline=True), optimize_acqf(q=1, num_restarts=10,
                    raw_samples=512)
=================== ===========================================================================

Peers that are not installed are skipped with a message. Targets (issue 6): the hypervolume of
ntbo-ehvi after 60 evaluations at least that of NSGA-II and within 10 % of qLogNEHVI, both
from the same run (medians over seeds).

Every run is cached in ``<out>/multiobjective_runs.json`` as it finishes (``--fresh`` ignores it).

Usage::

    nice -n 19 python -m benchmarks.multiobjective [--seeds 5] [--budget 60] [--n-initial 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.batch import save  # the same atomic merge of this script's run cache

METHODS = ("ntbo-ehvi", "ntbo-parego", "ntbo-random", "optuna-nsga2", "optuna-nsga2-pop10",
           "botorch-qlognehvi")


class BraninCurrin:
    name, dim = "branincurrin", 2
    reference = np.array([18.0, 6.0])
    max_hypervolume = 59.36011874867746

    def __call__(self, u) -> np.ndarray:
        """Objective values (..., 2) at unit-cube points (..., 2)."""
        u = np.asarray(u, np.float64)
        x1, x2 = 15.0 * u[..., 0] - 5.0, 15.0 * u[..., 1]
        branin = ((x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2
                  + 10 * (1 - 1 / (8 * math.pi)) * np.cos(x1) + 10)
        a, b = u[..., 0], u[..., 1]
        with np.errstate(divide="ignore"):
            factor = 1.0 - np.exp(-1.0 / (2.0 * b))  # 1 at b = 0
        currin = factor * (2300 * a ** 3 + 1900 * a ** 2 + 2092 * a + 60) / (100 * a ** 3 + 500 * a ** 2 + 4 * a + 20)
        return np.stack([branin, currin], axis=-1)


class ZDT1:
    name, dim = "zdt1", 4
    reference = np.array([11.0, 11.0])
    max_hypervolume = 120.0 + 2.0 / 3.0

    def __call__(self, u) -> np.ndarray:
        u = np.asarray(u, np.float64)
        f1 = u[..., 0]
        g = 1.0 + 9.0 * np.mean(u[..., 1:], axis=-1)
        return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=-1)


PROBLEMS = {p.name: p for p in (BraninCurrin(), ZDT1())}


def check_against_botorch() -> str:
    """Compare the definitions with BoTorch's at 256 random points; a line for the report."""
    try:
        import torch
        from botorch.test_functions.multi_objective import ZDT1 as BoZDT1
        from botorch.test_functions.multi_objective import BraninCurrin as BoBraninCurrin
    except ImportError as err:
        return f"not checked against BoTorch ({err})"
    lines = []
    for problem, theirs in ((PROBLEMS["branincurrin"], BoBraninCurrin()), (PROBLEMS["zdt1"], BoZDT1(dim=4))):
        u = np.random.default_rng(0).random((256, problem.dim))
        ref = theirs(torch.as_tensor(u)).numpy()
        err = float(np.max(np.abs(problem(u) - ref) / np.maximum(np.abs(ref), 1.0)))
        same_ref = np.allclose(theirs.ref_point.numpy(), problem.reference)
        same_hv = math.isclose(float(theirs._max_hv), problem.max_hypervolume, rel_tol=1e-9)
        if err > 1e-10 or not (same_ref and same_hv):
            raise RuntimeError(f"{problem.name} disagrees with BoTorch: error {err}, ref {same_ref}, hv {same_hv}")
        lines.append(f"{problem.name} max rel. error {err:.1e}")
    return "definitions, reference points and max hypervolumes match BoTorch's (" + "; ".join(lines) + ")"


def space(problem):
    import bo

    return bo.Space([bo.Real(f"x{i + 1}", 0.0, 1.0) for i in range(problem.dim)])


def to_unit(point: dict, dim: int) -> np.ndarray:
    return np.array([point[f"x{i + 1}"] for i in range(dim)])


def run_ntbo(problem, method: str, budget: int, n_initial: int, seed: int) -> np.ndarray:
    import bo

    def fun(p):
        return problem(to_unit(p, problem.dim)).tolist()

    if method == "random":
        res = bo.minimize(fun, space(problem), budget, method="random", seed=seed, objectives=2)
    else:
        options = {"reference": tuple(problem.reference)} if method == "ehvi" else {}
        res = bo.minimize(fun, space(problem), budget, seed=seed, objectives=2, n_initial=n_initial,
                          multiobjective=method, **options)
    return np.asarray(res.ys)


def run_nsga2(problem, budget: int, seed: int, population: int | None) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options = {} if population is None else {"population_size": population}
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=seed, **options))
    values = []

    def objective(trial):
        u = np.array([trial.suggest_float(f"x{i + 1}", 0.0, 1.0) for i in range(problem.dim)])
        values.append(problem(u))
        return tuple(values[-1])

    study.optimize(objective, n_trials=budget)
    return np.asarray(values)


def run_botorch(problem, budget: int, n_initial: int, seed: int) -> np.ndarray:
    import torch
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import SumMarginalLogLikelihood
    from torch.quasirandom import SobolEngine

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # the machine is shared; one thread each avoids oversubscription
    dtype = torch.float64
    bounds = torch.stack([torch.zeros(problem.dim, dtype=dtype), torch.ones(problem.dim, dtype=dtype)])
    X = SobolEngine(problem.dim, scramble=True, seed=seed).draw(n_initial).to(dtype)
    F = torch.as_tensor(problem(X.numpy()))
    ref = (-torch.as_tensor(problem.reference, dtype=dtype)).tolist()  # BoTorch maximises
    while len(X) < budget:
        Y = -F
        models = [SingleTaskGP(X, Y[:, i:i + 1], outcome_transform=Standardize(m=1)) for i in range(2)]
        model = ModelListGP(*models)
        fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model, ref_point=ref, X_baseline=X, prune_baseline=True,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128])))
        candidate, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10, raw_samples=512,
                                     options={"batch_limit": 5, "maxiter": 200})
        X = torch.cat([X, candidate.detach()])
        F = torch.cat([F, torch.as_tensor(problem(candidate.detach().numpy()))])
    return F.numpy()


def run_one(problem, method: str, budget: int, n_initial: int, seed: int) -> dict:
    """One run: its objective values and the hypervolume after each 10 evaluations."""
    import bo

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method.startswith("ntbo-"):
            values = run_ntbo(problem, method.removeprefix("ntbo-"), budget, n_initial, seed)
        elif method.startswith("optuna-nsga2"):
            values = run_nsga2(problem, budget, seed, 10 if method.endswith("pop10") else None)
        else:
            values = run_botorch(problem, budget, n_initial, seed)
    seconds = time.perf_counter() - start
    if values.shape != (budget, 2):
        raise RuntimeError(f"{method} on {problem.name} returned values shaped {values.shape}")
    checkpoints = list(range(10, budget + 1, 10))
    trace = [bo.hypervolume(values[:n], problem.reference) for n in checkpoints]
    return {"hypervolume": trace[-1], "checkpoints": checkpoints, "trace": trace,
            "values": values.tolist(), "seconds": seconds}


def available(method: str) -> str | None:
    """None if the method can run, else why not."""
    module = {"optuna": "optuna", "botorch": "botorch"}.get(method.split("-")[0])
    if module is None:
        return None
    try:
        __import__(module)
        return None
    except ImportError as err:
        return str(err)


def markdown(runs: dict, seeds, budget: int, n_initial: int, header: dict, methods) -> str:
    lines = ["# Two objectives: hypervolume after %d evaluations" % budget, ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", f"Hypervolume after {budget} evaluations ({n_initial} initial for the model-based methods), "
              f"median [min, max] over seeds {list(seeds)}; in brackets after the problem, the maximum "
              "attainable. Higher is better.", "",
              "| problem | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    medians = {}
    for name, problem in PROBLEMS.items():
        row = [f"{name} ({problem.max_hypervolume:.2f})"]
        for m in methods:
            vals = [runs[k]["hypervolume"] for s in seeds if (k := f"{m}|{name}|b{budget}|i{n_initial}|s{s}") in runs]
            if not vals:
                row.append("not run")
                continue
            medians[name, m] = float(np.median(vals))
            done = "" if len(vals) == len(seeds) else f" ({len(vals)} of {len(seeds)} seeds)"
            row.append(f"{np.median(vals):.3f} [{min(vals):.2f}, {max(vals):.2f}]{done}")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Targets (medians): ntbo-ehvi >= NSGA-II and >= 0.9 x qLogNEHVI.", ""]
    for name in PROBLEMS:
        ours = medians.get((name, "ntbo-ehvi"))
        if ours is None:
            continue
        for peer in ("optuna-nsga2", "optuna-nsga2-pop10"):
            if (name, peer) in medians:
                lines.append(f"- {name}: ntbo-ehvi {ours:.3f} {'>=' if ours >= medians[name, peer] else 'NOT >='} "
                             f"{peer} {medians[name, peer]:.3f}")
        # Against qLogNEHVI on the seeds it finished (it is the slowest by far).
        both = [s for s in seeds if all(f"{m}|{name}|b{budget}|i{n_initial}|s{s}" in runs
                                        for m in ("ntbo-ehvi", "botorch-qlognehvi"))]
        if both:
            ours_b, theirs = (float(np.median([runs[f"{m}|{name}|b{budget}|i{n_initial}|s{s}"]["hypervolume"]
                                               for s in both])) for m in ("ntbo-ehvi", "botorch-qlognehvi"))
            if theirs > 0:
                lines.append(f"- {name}: ntbo-ehvi / qLogNEHVI = {ours_b:.3f} / {theirs:.3f} = {ours_b / theirs:.3f} "
                             f"on seeds {both} ({'within' if ours_b >= 0.9 * theirs else 'NOT within'} 10 %)")
    secs = {m: np.median([r["seconds"] for k, r in runs.items() if k.startswith(m + "|")]) for m in methods
            if any(k.startswith(m + "|") for k in runs)}
    lines += ["", "Median wall time per run (s; loaded shared machine, not a speed benchmark): "
              + ", ".join(f"{m} {v:.0f}" for m, v in secs.items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--n-initial", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="tabulate the cached runs, run nothing")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "multiobjective_runs.json"
    if args.fresh and cache.exists():
        cache.unlink()
    runs = json.loads(cache.read_text()) if cache.exists() else {}
    methods = []
    for m in args.methods:
        why = available(m)
        if why:
            print(f"skipping {m}: {why}", file=sys.stderr)
        else:
            methods.append(m)
    check = check_against_botorch()
    load_before = os.getloadavg()
    for name in args.problems:
        for seed in range(args.seeds):
            for m in methods:
                key = f"{m}|{name}|b{args.budget}|i{args.n_initial}|s{seed}"
                if key in runs or args.report_only:
                    continue
                runs[key] = run_one(PROBLEMS[name], m, args.budget, args.n_initial, seed)
                print(f"{key}: hypervolume {runs[key]['hypervolume']:.3f} in {runs[key]['seconds']:.0f} s", flush=True)
                save(cache, runs)
    header = {"command": "nice -n 19 python -m benchmarks.multiobjective " + " ".join(argv),
              "check": check,
              "load average before / after": f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (2 cores)"}
    if cache.exists():  # runs other processes finished meanwhile
        runs = {**json.loads(cache.read_text()), **runs}
    seeds = range(args.seeds)
    all_methods = [m for m in METHODS if any(k.startswith(m + "|") for k in runs)]
    summary = {name: {m: [runs[k]["hypervolume"] for s in seeds
                          if (k := f"{m}|{name}|b{args.budget}|i{args.n_initial}|s{s}") in runs]
                      for m in all_methods} for name in PROBLEMS}
    (args.out / "multiobjective.json").write_text(json.dumps({"header": header, "hypervolume": summary}, indent=1))
    text = markdown(runs, seeds, args.budget, args.n_initial, header, all_methods)
    (args.out / "multiobjective.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
