"""Regenerates the study's figures and tables: ``python -m paper_figs --scale smoke|cpu|paper``.

1. grid search over 3-layer topologies (heat-map slices, best point);
2. GP BO against the grid, random search and CMA-ES (best versus trainings, trainings needed);
3. performance over resource availability, up to 15 layers, with hls4ml exports;
4. parallel BO, q = 1, 4, 8, at equal trainings and equal wall-clock;
5. the HGCal fast-simulation validation figures (`paper_figs.hgcal_validation`).

Each figure is a PNG with a ``.md`` beside it (caption and tables); ``index.md`` lists them and
``summary.json`` holds the headline numbers. Trainings are cached under ``--work``: a rerun at the
same scale trains nothing it has trained before.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from paper_figs.scales import SCALES

PARTS = (1, 2, 3, 4, 5)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m paper_figs", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke",
                        help="smoke: CI, minutes; cpu: about 2 h on 2 cores; paper: widths to 2000, GPU")
    parser.add_argument("--out", default=None,
                        help="figures folder (default: paper_figs/figures for cpu and paper, "
                             "results/paper_figs/<scale>/figures otherwise)")
    parser.add_argument("--work", default=None,
                        help="data, cache and search folders (default: results/paper_figs/<scale>)")
    parser.add_argument("--parts", default="1,2,3,4,5", help="comma-separated parts to run (1-5)")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run the paper scale without a GPU anyway (days of CPU time)")
    args = parser.parse_args(argv)
    try:
        args.parts = sorted({int(p) for p in args.parts.split(",") if p.strip()})
    except ValueError:
        parser.error(f"--parts {args.parts!r}: give numbers from 1 to 5, e.g. --parts 1,2")
    if not args.parts or not set(args.parts) <= set(PARTS):
        parser.error(f"--parts {args.parts}: give numbers from 1 to 5, e.g. --parts 1,2")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    import jax
    if scale.needs_gpu and jax.default_backend() != "gpu" and not args.allow_cpu:
        print(f"paper_figs: scale {scale.name!r} trains widths up to {scale.max_width} and is meant for a "
              f"GPU, but JAX runs on {jax.default_backend()}; install the cuda extra on a GPU machine, "
              "use --scale cpu, or pass --allow-cpu to run it here anyway", file=sys.stderr)
        return 2
    if scale.needs_gpu and jax.default_backend() != "gpu":
        print(f"paper_figs: warning: scale {scale.name!r} is meant for a GPU; running on CPU",
              file=sys.stderr)
    work = Path(args.work or f"results/paper_figs/{scale.name}")
    default_out = "paper_figs/figures" if scale.name in ("cpu", "paper") else f"{work}/figures"
    out = Path(args.out or default_out)
    out.mkdir(parents=True, exist_ok=True)
    summary = run(scale, args.parts, work, out)
    path = out / "summary.json"
    try:
        earlier = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        earlier = {}
    if earlier.get("scale") == scale.name:  # a partial rerun keeps the other parts' numbers
        summary = {**earlier, **summary, "parts": sorted(set(earlier.get("parts", [])) | set(args.parts))}
    path.write_text(json.dumps(_plain(summary), indent=1, allow_nan=False))
    print(f"paper_figs: scale {scale.name} done in {summary['seconds']:.0f} s; figures in {out}")
    return 0


def run(scale, parts, work: Path, out: Path) -> dict:
    """Runs the chosen parts; returns the headline numbers."""
    from paper_figs import plots, report, resources, study
    from paper_figs.cache import MetricCache

    start = time.perf_counter()
    machine = report.machine()
    summary: dict = {"scale": scale.name, "machine": machine, "parts": parts}
    log = _logger(start)
    prepared = data = None
    if set(parts) & {1, 2, 3, 4}:
        prepared = study.prepare_data(scale, work)
        data = plots.data_line(scale, len(prepared.data.y_train), len(prepared.data.y_val))
        log(f"data ready: {len(prepared.data.y_train)} training events")
    grid = cache = None
    if set(parts) & {1, 2, 4}:
        cache = MetricCache(work / "cache", prepared.data, scale.training())
        t = time.perf_counter()
        grid = study.run_grid(scale, cache)
        grid_seconds = time.perf_counter() - t
        log(f"grid: {grid.size} points, {cache.trained} trainings run now ({cache.train_seconds:.0f} s); "
            f"best {grid.best} = {grid.best_value:.4g}")
        summary["grid"] = {"size": grid.size, "best": list(grid.best), "best_value": grid.best_value,
                           "noise": grid.noise, "trainings_run": cache.trained,
                           "train_seconds": cache.train_seconds}
        if 1 in parts:
            plots.draw_grid(grid, scale, out, data, machine, grid_seconds)

    def lookup(topologies):
        per_seed = cache.values(topologies, scale.train_seeds)
        return per_seed.mean(axis=1)

    if 2 in parts:
        t = time.perf_counter()
        runs = {method: [study.run_search(method, grid.widths, lookup, scale.search_budget, seed,
                                          options=study.method_options(method, scale))
                         for seed in range(scale.search_seeds)]
                for method in ("gp", "random", "cmaes")}
        grid_run = study.grid_order_run(grid, lookup)
        verdict = plots.draw_searches(grid, runs, grid_run, scale, out, data, machine,
                                      time.perf_counter() - t)
        summary["searches"] = verdict
        log(f"searches: GP within 1/5 of the grid for {verdict['gp']['within_fifth']} of "
            f"{verdict['gp']['seeds']} seeds (trainings to reach: {verdict['gp']['reached']})")
    if 4 in parts:
        t = time.perf_counter()
        parallel = {q: [study.run_search("gp", grid.widths, lookup, scale.parallel_budget, seed, q=q,
                                         options=study.method_options("gp", scale))
                        for seed in range(scale.parallel_seeds)]
                    for q in scale.parallel_qs}
        plots.draw_parallel(grid, parallel, scale, out, data, machine, time.perf_counter() - t)
        summary["parallel"] = {str(q): [r.best_so_far(scale.parallel_budget)[-1] for r in rs]
                               for q, rs in parallel.items()}
        log("parallel BO done")
    if 3 in parts:
        t = time.perf_counter()
        ladder = [("neurons", b) for b in scale.neuron_budgets] + [("dsp", b) for b in scale.dsp_budgets]
        results = []
        for kind, budget in ladder:
            results.append(resources.search_budget(scale, prepared, work, kind, budget))
            log(f"budget {kind} {budget}: best {results[-1].topology} = {results[-1].value:.4g}")
        exported, done = 0, {}
        for index in sorted(range(len(results)), key=lambda i: (results[i].neurons, results[i].budget)):
            r = results[index]
            if r.topology in done:  # exported already under a smaller budget
                label, first = done[r.topology]
                note = first if "verdict" not in first else \
                    {**first, "verdict": f"{first['verdict']} (as {label})"}
            elif exported >= scale.export_max:
                note = {"note": f"not exported: {scale.export_max} exports at scale {scale.name}"}
            else:
                note = resources.export_best(r, scale, prepared, work)
                exported += not note.get("note", "").startswith("skipped")
                done[r.topology] = (f"{r.kind} {r.budget}", note)
                log(f"export {r.kind} {r.budget}: {note.get('verdict', note.get('note'))}")
            results[index] = _with_export(r, note)
        n_inputs = prepared.data.x_train.shape[1]
        grid_points = None if grid is None else plots.grid_resources(grid, n_inputs, scale)
        plots.draw_resources(results, scale, out, data, machine, time.perf_counter() - t, grid_points)
        summary["resources"] = [{"kind": r.kind, "budget": r.budget, "topology": r.topology, "value": r.value,
                                 "export": r.export} for r in results]
    if 5 in parts:
        from paper_figs import hgcal_validation
        t = time.perf_counter()
        hgcal_validation.main(["--out", str(out), "--n", str(scale.hgcal_n)])
        summary["hgcal_seconds"] = time.perf_counter() - t
        log("hgcal validation figures done")
    summary["seconds"] = time.perf_counter() - start
    write_index(out, scale, machine, summary)
    return summary


def _plain(value):
    """JSON-ready: tuples and numpy values to plain ones, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _with_export(result, export: dict):
    import dataclasses
    return dataclasses.replace(result, export=export)


def _logger(start: float):
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {message}", flush=True)
    return log


HGCAL_FIGURES = (
    ("hgcal_profiles", "Mean longitudinal profiles of 50 GeV electrons and charged pions (0.25 X0 slabs) "
                       "against the Grindhammer-Peters and two-component parameterisations."),
    ("hgcal_resolution", "Cluster-energy resolution versus energy with the S / sqrt(E) (+) C fit."),
    ("hgcal_first_interaction", "First-interaction depths of pions against the exponential."),
    ("hgcal_features", "Electron and pion distributions of cluster features (v9-trigger)."),
)


def write_index(out: Path, scale, machine: str, summary: dict) -> Path:
    """``index.md``: every figure of this run with its caption file, and the command."""
    lines = [f"# Figures at scale `{scale.name}`", "",
             f"Made by `python -m paper_figs --scale {scale.name}`; its last run (parts "
             f"{', '.join(map(str, summary['parts']))}) took {summary['seconds']:.0f} s on {machine}. Each "
             "figure's own page says what its part took.",
             ""]
    for stem, title in (("grid_heatmaps", "Grid search over 3-layer topologies"),
                        ("search_curves", "BO against grid, random search and CMA-ES"),
                        ("resources_pareto", "Performance over resource availability"),
                        ("parallel_bo", "Parallel BO")):
        if (out / f"{stem}.md").exists():
            lines += [f"- [{title}]({stem}.md): ![{title}]({stem}.png)"]
    if any((out / f"{stem}.png").exists() for stem, _ in HGCAL_FIGURES):
        lines += ["", f"HGCal fast-simulation validation (`paper_figs.hgcal_validation`, {scale.hgcal_n} "
                      f"showers per sample, fixed seeds):", ""]
        lines += [f"- ![{stem}]({stem}.png) {text}" for stem, text in HGCAL_FIGURES
                  if (out / f"{stem}.png").exists()]
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
