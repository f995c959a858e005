"""Parts 1, 2 and 4 of the study: the 3-layer grid, searches against it, and parallel BO.

All three work on the same grid of widths (log-spaced from 1 to the scale's maximum) and read
every metric through one `MetricCache`, so the grid's trainings are the only ones: a search
proposes grid points (an integer index per layer, i.e. the log width) and looks their value up.
A topology's value is its validation background efficiency (pions kept at 95 % electron
efficiency; the original study's "precision" is one minus it), averaged over the training seeds.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

import bo
import hgcal
import nets
from paper_figs.cache import MetricCache
from paper_figs.scales import Scale

GEOMETRY = "seed8"
ELECTRON_SEED, PION_SEED = 1, 2


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The study's data.

    Attributes:
        root: the ROOT ntuple the events were written to (read by ``ntbo.search`` too).
        dataset: `hgcal.Dataset` as loaded (raw features).
        data: `nets.Data` with features standardised by the training split's mean and std.
    """

    root: Path
    dataset: hgcal.Dataset
    data: nets.Data


def prepare_data(scale: Scale, work: Path) -> Prepared:
    """Simulates electrons and pions once per scale (cached as a ROOT ntuple) and loads them."""
    work.mkdir(parents=True, exist_ok=True)
    root = work / f"showers-{GEOMETRY}-{scale.events_per_class}.root"
    if not root.exists():
        electrons = hgcal.simulate(scale.events_per_class, "e-", geometry=GEOMETRY, seed=ELECTRON_SEED)
        pions = hgcal.simulate(scale.events_per_class, "pi-", geometry=GEOMETRY, seed=PION_SEED)
        tmp = root.with_name(root.stem + ".partial.root")
        hgcal.write_ntuple(tmp, [electrons, pions])
        tmp.replace(root)
    dataset = hgcal.load(root, features="layers", geometry=GEOMETRY, cache_dir=work / "cache")
    mean = dataset.x_train.mean(axis=0)
    std = np.where(dataset.x_train.std(axis=0) > 0, dataset.x_train.std(axis=0), 1.0)

    def scaled(x):
        return ((x - mean) / std).astype(np.float32)

    data = nets.Data(scaled(dataset.x_train), dataset.y_train.astype(np.float32),
                     scaled(dataset.x_val), dataset.y_val.astype(np.float32))
    return Prepared(root, dataset, data)


# ----------------------------------------------------------------------------------------------
# part 1: the grid


@dataclasses.dataclass(frozen=True)
class GridResult:
    """The full grid.

    Attributes:
        widths: per layer, its levels.
        values: (n1, n2, n3) mean metric over training seeds.
        per_seed: (n1, n2, n3, k) metric of each training seed.
        best: the best topology's widths.
        best_value: its mean metric.
        noise: standard error of a k-seed mean (pooled training-seed standard deviation of the
            best quarter of the grid, over sqrt(k)): the tolerance "within training noise".
        single_noise: the pooled standard deviation of one training.
        wall_per_training: median wall time of one training (its share of a compiled call), s.
        train_seconds: the wall time of all the grid's trainings (from the cache, so a rerun
            that trains nothing still reports what training took).
    """

    widths: tuple[tuple[int, ...], ...]
    values: np.ndarray
    per_seed: np.ndarray
    best: tuple[int, ...]
    best_value: float
    noise: float
    single_noise: float
    wall_per_training: float
    train_seconds: float = float("nan")

    @property
    def size(self) -> int:
        return int(self.values.size)


def all_topologies(widths: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    return list(itertools.product(*widths))


def run_grid(scale: Scale, cache: MetricCache) -> GridResult:
    """Trains (or looks up) every grid topology with every training seed."""
    widths = scale.grid_widths()
    topologies = all_topologies(widths)
    # one training call per layer-1 width, so an interrupted run keeps what it finished
    per_seed = np.vstack([cache.values([t for t in topologies if t[0] == w], scale.train_seeds)
                          for w in widths[0]])
    shape = tuple(len(w) for w in widths)
    values = np.nanmean(per_seed, axis=1) if per_seed.shape[1] > 1 else per_seed[:, 0]
    if not np.isfinite(values).any():
        raise RuntimeError("every grid training failed; check the data and the training options")
    best_index = int(np.nanargmin(values))
    good = np.isfinite(values) & (values <= np.nanquantile(values, 0.25))
    k = per_seed.shape[1]
    single = float(np.sqrt(np.nanmean(np.var(per_seed[good], axis=1, ddof=1)))) if k > 1 else 0.0
    walls = cache.wall_times(topologies, scale.train_seeds)
    return GridResult(widths, values.reshape(shape), per_seed.reshape(shape + (k,)),
                      topologies[best_index], float(values[best_index]), single / np.sqrt(k), single,
                      float(np.median(walls)), float(walls.sum()))


# ----------------------------------------------------------------------------------------------
# part 2 and 4: searches over the grid's widths


def grid_space(widths: Sequence[Sequence[int]]) -> bo.Space:
    """One integer per layer: the index of its width on the log grid (so the GP sees log widths)."""
    return bo.Space([bo.Integer(f"layer{i + 1}", 0, len(w) - 1) for i, w in enumerate(widths)])


def decode(point: dict, widths: Sequence[Sequence[int]]) -> tuple[int, ...]:
    return tuple(int(w[int(point[f"layer{i + 1}"])]) for i, w in enumerate(widths))


@dataclasses.dataclass(frozen=True)
class SearchRun:
    """One search: the values of its distinct trainings in order, and its batches.

    Attributes:
        method: "gp", "random", "cmaes" or "grid".
        seed: search seed.
        q: topologies per ask.
        values: (n,) metric of each distinct topology, in the order they were first proposed.
        topologies: the n topologies.
        batch_of: (n,) index of the ask that first proposed each.
        asks: how many asks were made (a repeated topology costs no training).
    """

    method: str
    seed: int
    q: int
    values: np.ndarray
    topologies: tuple[tuple[int, ...], ...]
    batch_of: np.ndarray
    asks: int

    def best_so_far(self, budget: int) -> np.ndarray:
        """(budget,) best value after each training; a run that stopped early keeps its last best."""
        finite = np.where(np.isfinite(self.values), self.values, np.inf)
        best = np.minimum.accumulate(finite) if len(finite) else np.full(1, np.inf)
        out = np.full(budget, best[-1])
        out[:min(budget, len(best))] = best[:budget]
        return np.where(np.isinf(out), np.nan, out)

    def best_after_batches(self, batches: int) -> float:
        """Best value among the trainings of the first `batches` asks."""
        chosen = self.values[(self.batch_of < batches) & np.isfinite(self.values)]
        return float(chosen.min()) if len(chosen) else float("nan")


def run_search(method: str, widths, lookup: Callable[[list], np.ndarray], budget: int, seed: int,
               q: int = 1, options: dict | None = None, max_asks: int | None = None) -> SearchRun:
    """Runs one search over the grid space until `budget` distinct topologies are trained.

    Args:
        method: a `bo.Optimizer` method.
        widths: per layer, the grid's widths.
        lookup: maps a list of topologies to their (n,) values (the cache).
        budget: distinct trainings to spend.
        seed: the optimiser's seed.
        q: points per ask.
        options: the method's options.
        max_asks: stop after this many asks even if the budget is not spent (a method that keeps
            proposing topologies it has already seen); default 20 x budget.
    """
    optimizer = bo.Optimizer(grid_space(widths), method=method, seed=seed, **(options or {}))
    seen: dict[tuple[int, ...], float] = {}
    order: list[tuple[int, ...]] = []
    batch_of: list[int] = []
    asks = 0
    max_asks = 20 * budget if max_asks is None else max_asks
    while len(order) < budget and asks < max_asks:
        points = optimizer.ask(min(q, budget - len(order)))
        topologies = [decode(p, widths) for p in points]
        new = [t for t in dict.fromkeys(topologies) if t not in seen]
        if new:
            seen.update(zip(new, (float(v) for v in lookup(new))))
            order += new
            batch_of += [asks] * len(new)
        optimizer.tell(points, [seen[t] for t in topologies])
        asks += 1
    values = np.array([seen[t] for t in order], dtype=float)
    return SearchRun(method, seed, q, values, tuple(order), np.array(batch_of, dtype=int), asks)


def grid_order_run(grid: GridResult, lookup) -> SearchRun:
    """The grid search as a search: `bo`'s grid strategy, every point once, in its order."""
    levels = {f"layer{i + 1}": len(w) for i, w in enumerate(grid.widths)}
    return run_search("grid", grid.widths, lookup, grid.size, seed=0, options={"levels": levels})


def trainings_to_reach(run: SearchRun, target: float) -> int | None:
    """1-based count of trainings after which the run's best is <= target, or None."""
    hits = np.flatnonzero(np.isfinite(run.values) & (run.values <= target))
    return int(hits[0]) + 1 if len(hits) else None


def method_options(method: str, scale: Scale) -> dict:
    """The options each method runs with (the GP's initial design: `scale.n_initial` points)."""
    return {"gp": {"n_initial": scale.n_initial}}.get(method, {})
