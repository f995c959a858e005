"""The study's figures, each with a caption and the markdown tables of its numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from paper_figs.report import fmt, markdown_table, write_figure_text  # noqa: E402
from paper_figs.resources import BudgetResult, dsp_of  # noqa: E402
from paper_figs.scales import Scale  # noqa: E402
from paper_figs.study import GridResult, SearchRun, all_topologies, trainings_to_reach  # noqa: E402

METRIC = "pion efficiency at 95 % electron efficiency"
COLORS = {"gp": "C0", "random": "C1", "cmaes": "C2", "grid": "k"}
LABELS = {"gp": "GP BO (log-EI)", "random": "random", "cmaes": "CMA-ES", "grid": "grid (bo grid order)"}


def data_line(scale: Scale, n_train: int, n_val: int) -> str:
    return (f"Data: `hgcal.simulate` electrons (seed 1) and charged pions (seed 2), "
            f"{scale.events_per_class} each, geometry `seed8` (the original study's 8 depths), "
            f"energy per layer as features (standardised), {n_train} training and {n_val} validation "
            f"events after selection. Training: `nets.train_many`, {scale.epochs} epochs, batch "
            f"{scale.batch_size}, Adam lr {scale.lr}, training seeds {list(scale.train_seeds)}; a "
            f"topology's value is the mean over those seeds of the {METRIC} on the validation split "
            f"(lower is better; the original study's precision is one minus it).")


def _footer(scale: Scale, machine: str, seconds: float | None = None) -> str:
    took = "" if seconds is None else f" This part took {seconds:.0f} s."
    gpu = " This scale is meant for a GPU." if scale.needs_gpu else ""
    return f"Scale `{scale.name}`.{gpu} Machine: {machine}.{took}"


# ----------------------------------------------------------------------------------------------
# part 1


def draw_grid(grid: GridResult, scale: Scale, folder: Path, data: str, machine: str,
              seconds: float | None = None) -> Path:
    w1, w2, w3 = grid.widths
    panels = len(w3)
    cols = min(3, panels)
    rows = int(np.ceil(panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    finite = grid.values[np.isfinite(grid.values)]
    norm = LogNorm(vmin=max(finite.min(), 1e-4), vmax=max(finite.max(), finite.min() * 1.01, 1e-4 * 1.01))
    for k, ax in enumerate(axes.flat):
        if k >= panels:
            ax.axis("off")
            continue
        image = ax.imshow(np.clip(grid.values[:, :, k].T, norm.vmin, None), origin="lower", norm=norm,
                          cmap="viridis_r", aspect="auto")
        ax.set_xticks(range(len(w1)), [str(w) for w in w1])
        ax.set_yticks(range(len(w2)), [str(w) for w in w2])
        ax.set(xlabel="layer 1 width", ylabel="layer 2 width", title=f"layer 3 width = {w3[k]}")
        if grid.best[2] == w3[k]:
            ax.plot(w1.index(grid.best[0]), w2.index(grid.best[1]), "r*", ms=14, mec="w")
        fig.colorbar(image, ax=ax, label=METRIC if k % cols == cols - 1 else None)
    fig.suptitle(f"{grid.size}-point grid of 3-layer MLPs; best {grid.best}: {grid.best_value:.4g}")
    fig.tight_layout()
    fig.savefig(folder / "grid_heatmaps.png", dpi=120)
    plt.close(fig)
    caption = (
        f"Grid search over 3-layer ReLU MLPs, as in the original study: widths log-spaced from 1 to "
        f"{scale.max_width}, {len(w1)} x {len(w2)} x {len(w3)} = {grid.size} topologies "
        f"(layer 1: {list(w1)}; layer 2: {list(w2)}; layer 3: {list(w3)}). Each panel is a slice at one "
        f"layer-3 width; the red star is the best point, {grid.best} with {grid.best_value:.4g}. "
        f"Training noise: the pooled standard deviation of one training over seeds in the best quarter of "
        f"the grid is {grid.single_noise:.3g}; the standard error of a {len(scale.train_seeds)}-seed mean, "
        f"{grid.noise:.3g}, is the tolerance 'within training noise' of the search figures. Every topology "
        f"is trained once per training seed and its metric cached (JSON keyed by data and training "
        f"options); the searches of the other figures read the same cache. Training the grid took "
        f"{grid.train_seconds:.0f} s ({grid.size * len(scale.train_seeds)} trainings, wall time from the "
        f"cache). {data} {_footer(scale, machine, seconds)}")
    flat = grid.values.ravel()
    order = np.argsort(np.where(np.isfinite(flat), flat, np.inf), kind="stable")  # ties: grid order
    index = list(np.ndindex(grid.values.shape))
    rows_table = []
    for rank, flat in enumerate(order, 1):
        i, j, k = index[flat]
        seeds = grid.per_seed[i, j, k]
        rows_table.append([rank, w1[i], w2[j], w3[k], float(grid.values[i, j, k]),
                           float(np.std(seeds, ddof=1)) if len(seeds) > 1 else float("nan")])
    summary = markdown_table(["quantity", "value"], [
        ["grid points", grid.size], ["best topology", "x".join(map(str, grid.best))],
        ["best value", grid.best_value], ["one training's noise (std)", grid.single_noise],
        ["noise of a seed mean (tolerance)", grid.noise],
        ["median wall time of one training [s]", grid.wall_per_training],
        ["wall time of all the grid's trainings [s]", grid.train_seconds]])
    table = markdown_table(["rank", "layer 1", "layer 2", "layer 3", "value (mean)", "std over seeds"],
                           rows_table)
    return write_figure_text(folder, "grid_heatmaps", "Grid search over 3-layer topologies", caption,
                             [("Summary", summary), ("Every grid point, best first", table)])


# ----------------------------------------------------------------------------------------------
# part 2


def _band(ax, curves: np.ndarray, x, color, label, ls="-"):
    median = np.nanmedian(curves, axis=0)
    ax.plot(x, median, color=color, ls=ls, label=label)
    if len(curves) > 1:
        ax.fill_between(x, np.nanquantile(curves, 0.25, axis=0), np.nanquantile(curves, 0.75, axis=0),
                        color=color, alpha=0.2, lw=0)
        ax.plot(x, np.nanmin(curves, axis=0), color=color, lw=0.6, ls=":")
        ax.plot(x, np.nanmax(curves, axis=0), color=color, lw=0.6, ls=":")


def draw_searches(grid: GridResult, runs: dict[str, list[SearchRun]], grid_run: SearchRun, scale: Scale,
                  folder: Path, data: str, machine: str, seconds: float | None = None) -> dict:
    """Best value versus trainings for each method; returns the target's verdict."""
    budget = scale.search_budget
    target = grid.best_value + grid.noise
    fifth = grid.size / 5
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(1, budget + 1)
    for method, method_runs in runs.items():
        _band(ax, np.array([r.best_so_far(budget) for r in method_runs]), x, COLORS.get(method, None),
              f"{LABELS.get(method, method)} ({len(method_runs)} seeds)")
    grid_x = np.arange(1, grid.size + 1)
    ax.plot(grid_x, grid_run.best_so_far(grid.size), color="k", lw=1, label=LABELS["grid"])
    ax.axhline(grid.best_value, color="k", ls="--", lw=0.8, label="grid best")
    ax.axhspan(grid.best_value, target, color="k", alpha=0.1, label="within training noise")
    ax.axvline(fifth, color="gray", ls="-.", lw=0.8, label="1/5 of the grid's trainings")
    ax.set(xscale="log", yscale="log", xlabel="trainings", ylabel=f"best {METRIC}",
           title="Searches against the grid")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "search_curves.png", dpi=120)
    plt.close(fig)

    reach_rows, verdict = [], {}
    for method, method_runs in runs.items():
        reached = [trainings_to_reach(r, target) for r in method_runs]
        within = sum(1 for n in reached if n is not None and n <= fifth)
        verdict[method] = {"reached": reached, "within_fifth": within, "seeds": len(method_runs)}
        counts = [n for n in reached if n is not None]
        exact = [trainings_to_reach(r, grid.best_value) for r in method_runs]
        reach_rows.append([LABELS.get(method, method), len(method_runs),
                           ", ".join("–" if n is None else str(n) for n in reached),
                           float(np.median([n if n is not None else np.inf for n in reached]))
                           if counts else float("nan"),
                           f"{within} / {len(method_runs)}",
                           ", ".join("–" if n is None else str(n) for n in exact)])
    grid_reach = trainings_to_reach(grid_run, target)
    reach_rows.append([LABELS["grid"], 1, str(grid_reach), grid_reach, "–",
                       str(trainings_to_reach(grid_run, grid.best_value))])
    checkpoints = sorted({c for c in (scale.n_initial, budget // 5, budget // 2, budget, int(fifth))
                          if 1 <= c <= budget})
    best_rows = []
    for method, method_runs in runs.items():
        curves = np.array([r.best_so_far(budget) for r in method_runs])
        row = [LABELS.get(method, method)]
        for c in checkpoints:
            column = curves[:, c - 1]
            row.append(f"{np.nanmedian(column):.4g} [{np.nanquantile(column, 0.25):.4g}, "
                       f"{np.nanquantile(column, 0.75):.4g}]")
        best_rows.append(row)
    gp = verdict.get("gp", {"within_fifth": 0, "seeds": 0})
    holds = gp["within_fifth"] >= int(np.ceil(0.8 * gp["seeds"])) and gp["seeds"] >= 5
    verdict["target"] = {"holds": bool(holds), "target_value": target, "fifth": fifth}
    caption = (
        f"Best value found versus number of trainings: GP Bayesian optimisation "
        f"({scale.n_initial} scrambled-Sobol initial points, then log-EI), random search and CMA-ES "
        f"(`bo.Optimizer` methods gp, random, cmaes), {budget} trainings each, over "
        f"{scale.search_seeds} search seeds (median line, interquartile band, dotted min and max), "
        f"against the {grid.size}-point grid (in `bo`'s grid order, black). Every method searches the "
        f"grid's widths (one integer per layer: the index of its log width), so every value is looked up "
        f"in the grid's cache of trained metrics and the searches cost no training beyond the grid's; a "
        f"topology a method proposes again costs no training and is not counted again (CMA-ES and random "
        f"search repeat points; a run that asks {20 * budget} times without spending its budget stops and "
        f"keeps its best). 'Reached' means a value <= grid best + {grid.noise:.3g} (the noise of a "
        f"seed-mean), i.e. {target:.4g}. Target of the issue: GP BO reaches it within 1/5 of the grid's "
        f"trainings ({fifth:.1f}) for at least 4 of 5 seeds: "
        f"{'holds' if holds else 'does not hold'} here ({gp['within_fifth']} of {gp['seeds']} seeds). "
        f"{data} {_footer(scale, machine, seconds)}")
    reach = markdown_table(["method", "seeds", "trainings to reach (per seed)", "median",
                            f"seeds within {fifth:.0f} trainings",
                            "trainings to reach the grid's best exactly (per seed)"], reach_rows)
    best = markdown_table(["method"] + [f"best after {c} trainings: median [IQR]" for c in checkpoints],
                          best_rows)
    write_figure_text(folder, "search_curves", "BO against grid, random search and CMA-ES", caption,
                      [("Trainings needed to reach the grid's best within training noise", reach),
                       ("Best value found", best)])
    return verdict


# ----------------------------------------------------------------------------------------------
# part 4


def draw_parallel(grid: GridResult, runs: dict[int, list[SearchRun]], scale: Scale, folder: Path,
                  data: str, machine: str, seconds: float | None = None) -> Path:
    budget = scale.parallel_budget
    target = grid.best_value + grid.noise
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for index, (q, q_runs) in enumerate(sorted(runs.items())):
        color, ls = f"C{index}", ("-", "--", "-.", ":")[index % 4]  # the curves overlap early on
        curves = np.array([r.best_so_far(budget) for r in q_runs])
        _band(left, curves, np.arange(1, budget + 1), color, f"q = {q}", ls)
        batches = budget // q
        by_batch = np.array([[r.best_after_batches(b) for b in range(1, batches + 1)] for r in q_runs])
        _band(right, by_batch, np.arange(1, batches + 1), color, f"q = {q}", ls)
    for ax in (left, right):
        ax.axhline(grid.best_value, color="k", ls="--", lw=0.8, label="grid best")
        ax.axhspan(grid.best_value, target, color="k", alpha=0.1)
        ax.set(xscale="log", yscale="log")
    left.set(xlabel="trainings", ylabel=f"best {METRIC}", title="equal trainings")
    right.set(xlabel="batches = wall-clock in training times (q workers)", title="equal wall-clock")
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "parallel_bo.png", dpi=120)
    plt.close(fig)
    qs = sorted(runs)
    equal_batches = budget // max(qs)
    rows = []
    for q in qs:
        q_runs = runs[q]
        at_budget = np.array([r.best_so_far(budget)[-1] for r in q_runs])
        at_wall = np.array([r.best_after_batches(equal_batches) for r in q_runs])
        reached = [trainings_to_reach(r, target) for r in q_runs]
        batches_to = [None if n is None else int(r.batch_of[n - 1]) + 1 for r, n in zip(q_runs, reached)]
        rows.append([q, len(q_runs), budget // q,
                     f"{np.nanmedian(at_budget):.4g} [{np.nanquantile(at_budget, 0.25):.4g}, "
                     f"{np.nanquantile(at_budget, 0.75):.4g}]",
                     f"{np.nanmedian(at_wall):.4g} [{np.nanquantile(at_wall, 0.25):.4g}, "
                     f"{np.nanquantile(at_wall, 0.75):.4g}]",
                     ", ".join("–" if n is None else str(n) for n in reached),
                     ", ".join("–" if n is None else str(n) for n in batches_to)])
    caption = (
        f"Parallel GP BO: q = {', '.join(map(str, qs))} topologies per batch (Kriging-believer "
        f"fantasies for the pending points, `bo.Optimizer.ask(q)`), {budget} trainings per run, "
        f"{scale.parallel_seeds} search seeds (median, interquartile band, dotted min/max). Left: "
        f"at equal numbers of trainings. Right: at equal wall-clock, modelled as batches x the time of "
        f"one training, i.e. q workers each training one network of a batch at once (median training "
        f"time here {grid.wall_per_training:.3g} s, its share of a vmapped call); the table's 'equal "
        f"wall-clock' column compares every q after {equal_batches} batches. Searches run over the "
        f"grid's widths with its cached metrics (no training beyond the grid's). 'Reached' as in the "
        f"search figure: <= {target:.4g}. {data} {_footer(scale, machine, seconds)}")
    table = markdown_table(["q", "seeds", "batches", f"best after {budget} trainings: median [IQR]",
                            f"best after {equal_batches} batches (equal wall-clock)",
                            "trainings to reach (per seed)", "batches to reach (per seed)"], rows)
    return write_figure_text(folder, "parallel_bo", "Parallel BO at equal trainings and equal wall-clock",
                             caption, [("Parallel BO", table)])


# ----------------------------------------------------------------------------------------------
# part 3


def grid_resources(grid: GridResult, n_inputs: int, scale: Scale) -> np.ndarray:
    """(grid.size, 3) neurons, DSPs and value of every 3-layer grid network (grid order)."""
    return np.array([[sum(t), dsp_of(t, n_inputs, scale), value]
                     for t, value in zip(all_topologies(grid.widths), grid.values.ravel())], dtype=float)


def draw_resources(results: Sequence[BudgetResult], scale: Scale, folder: Path, data: str, machine: str,
                   seconds: float | None = None, grid_points: np.ndarray | None = None) -> Path:
    """The resource ladder; `grid_points` (from `grid_resources`) adds the 3-layer grid as a reference."""
    kinds = [k for k in ("neurons", "dsp") if any(r.kind == k for r in results)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.5 * len(kinds), 4.2), squeeze=False)
    for ax, kind in zip(axes.flat, kinds):
        chosen = [r for r in results if r.kind == kind]
        column = 0 if kind == "neurons" else 1
        points = np.vstack([r.points for r in chosen if len(r.points)] or [np.zeros((0, 3))])
        if len(points):
            ax.scatter(np.maximum(points[:, column], 0.5), points[:, 2], s=8, color="0.6",
                       label="every trained network")
            front = _pareto(points[:, column], points[:, 2])
            ax.step(np.maximum(points[front, column], 0.5), points[front, 2], where="post", color="C3",
                    marker="o", ms=3, label="Pareto front")
        if grid_points is not None and len(grid_points):
            ok = np.isfinite(grid_points[:, 2])
            g = grid_points[ok]
            ax.scatter(np.maximum(g[:, column], 0.5), g[:, 2], s=8, marker="x", color="C2", alpha=0.5,
                       label="3-layer grid networks")
            front = _pareto(g[:, column], g[:, 2])
            ax.step(np.maximum(g[front, column], 0.5), g[front, 2], where="post", color="C2", lw=1,
                    label="grid Pareto front")
        done = [r for r in chosen if r.topology is not None]
        ax.plot([r.budget for r in done], [r.value for r in done], "o-", color="C0",
                label="best within budget")
        ax.set(xscale="log", yscale="log", ylabel=f"best {METRIC}",
               xlabel="hidden neurons" if kind == "neurons" else
               f"DSPs (fpga.estimate, {scale.precision}, reuse {scale.reuse_factor})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "resources_pareto.png", dpi=120)
    plt.close(fig)
    rows = []
    for r in results:
        e = r.export
        if "note" in e:
            sim = e["note"]
            diff = auc = "–"
        else:
            sim = e.get("verdict", "")
            diff = fmt(e.get("max_abs_diff"))
            auc = fmt(e.get("auc_diff"))
        grid_best = float("nan")
        if grid_points is not None:
            fits = grid_points[grid_points[:, 0 if r.kind == "neurons" else 1] <= r.budget, 2]
            fits = fits[np.isfinite(fits)]
            grid_best = float(fits.min()) if len(fits) else float("nan")
        rows.append([r.kind, r.budget, "–" if r.topology is None else "x".join(map(str, r.topology)),
                     "–" if r.topology is None else len(r.topology), r.value, r.value_std, grid_best,
                     r.neurons, r.dsp, r.trained, diff, auc,
                     fmt(e.get("background_efficiency_diff")) if "note" not in e else "–", sim])
    caption = (
        f"Performance over resource availability: for each budget, `ntbo.search` (GP BO, "
        f"{scale.ladder_budget} trainings, {scale.ladder_q} per batch, the budget a known constraint so "
        f"every proposal fits) over MLPs of 1 to {scale.max_depth} hidden layers of 1 to "
        f"{scale.ladder_width} neurons (log scale). Budgets: total hidden neurons "
        f"{list(scale.neuron_budgets)}; DSPs from `fpga.estimate` at {scale.precision}, reuse factor "
        f"{scale.reuse_factor}, VU13P: {list(scale.dsp_budgets)}. Grey: every trained network "
        f"(x = what it uses); red: their Pareto front; blue: the best found within each budget (plotted at "
        f"the budget). The best network of each budget (up to {scale.export_max}, smallest budgets first, "
        f"at most {scale.export_max_multipliers} weights) is exported with `fpga.export_model` (Keras 3 -> "
        f"hls4ml, {scale.precision} with per-layer integer bits calibrated on the test inputs, C "
        f"simulation with g++) and compared with the trained network on 2000 test events (a seeded "
        f"sample): max |logit difference|, AUC and background-efficiency differences. These searches "
        f"train their own networks (no cache is shared with the grid; `ntbo.search` resumes from its "
        f"SQLite study). Green "
        f"crosses, where drawn: the 3-layer grid's networks from the grid figure, the same data and "
        f"training, with their Pareto front; the table gives the grid's best within each budget. {data} "
        f"{_footer(scale, machine, seconds)}")
    table = markdown_table(["budget kind", "budget", "best network", "layers", "value", "std over seeds",
                            "best 3-layer grid network within budget", "neurons", "DSP", "trainings",
                            "C sim max abs diff", "C sim AUC diff",
                            "C sim bkg-eff diff", "C simulation"], rows)
    return write_figure_text(folder, "resources_pareto", "Performance over resource availability", caption,
                             [("Best network of each budget", table)])


def _pareto(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both cost and value, by increasing cost."""
    order = np.lexsort((value, cost))
    front, best = [], np.inf
    for i in order:
        if value[i] < best:
            front.append(i)
            best = value[i]
    return np.array(front, dtype=int)
