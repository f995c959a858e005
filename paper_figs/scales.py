"""The sizes of the study: how much data, training and searching each scale spends.

``smoke`` exercises every part in CI in minutes (tiny data, few epochs, a 4 x 4 x 3 grid); ``cpu``
is the study on a 2-core machine in about two hours (a 7 x 7 x 6 grid of widths 1 ... 256);
``paper`` is the original study's size (widths 1 ... 2000) and needs a GPU. ``tiny`` is smaller
than smoke, for the test suite.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Scale:
    """Every knob of one scale.

    Attributes:
        name: the scale's name.
        events_per_class: simulated electrons and pions each (geometry ``seed8``).
        epochs, batch_size, lr: training options of every network (`nets.train_many`).
        train_seeds: initialisation seeds; a topology's metric is the mean over them.
        max_width: widest layer of the grid.
        grid_levels: log-spaced widths per layer of the 3-layer grid (7 x 7 x 6 = 294 points,
            the original study's count).
        search_budget: trainings per search run (the original: 100).
        n_initial: of which from the space-filling initial design (the original: 20).
        search_seeds: search seeds per method.
        parallel_qs: batch sizes of the parallel-BO comparison.
        parallel_budget: trainings per parallel run (divisible by every q).
        parallel_seeds: search seeds per q.
        neuron_budgets: ladder of total-neuron budgets (resource study).
        dsp_budgets: ladder of DSP budgets (`fpga.estimate` at `precision`, `reuse_factor`).
        precision, reuse_factor: the fixed FPGA settings of the DSP ladder and of the exports.
        max_depth: deepest network of the resource study (the original: 15).
        ladder_width: widest layer of the resource study.
        ladder_budget: trainings of each budget's search.
        ladder_q: topologies per training call in those searches.
        export_max: how many budgets' best networks go through hls4ml (smallest budgets first).
        export_max_multipliers: networks with more weights are not compiled for C simulation
            (g++ time grows with the unrolled multiplications).
        hgcal_n: showers per sample of the physics validation figures.
        needs_gpu: the scale is meant for a GPU.
    """

    name: str
    events_per_class: int
    epochs: int
    batch_size: int
    lr: float
    train_seeds: tuple[int, ...]
    max_width: int
    grid_levels: tuple[int, int, int]
    search_budget: int
    n_initial: int
    search_seeds: int
    parallel_qs: tuple[int, ...]
    parallel_budget: int
    parallel_seeds: int
    neuron_budgets: tuple[int, ...]
    dsp_budgets: tuple[int, ...]
    precision: str
    reuse_factor: int
    max_depth: int
    ladder_width: int
    ladder_budget: int
    ladder_q: int
    export_max: int
    export_max_multipliers: int
    hgcal_n: int
    needs_gpu: bool = False

    def __post_init__(self):
        if any(self.parallel_budget % q for q in self.parallel_qs):
            raise ValueError(f"scale {self.name}: parallel_budget {self.parallel_budget} must be "
                             f"divisible by every q in {self.parallel_qs}")
        if not 1 <= self.n_initial < self.search_budget:
            raise ValueError(f"scale {self.name}: n_initial {self.n_initial} must be in "
                             f"[1, search_budget={self.search_budget})")

    def grid_widths(self) -> tuple[tuple[int, ...], ...]:
        """Per layer, the grid's widths: log-spaced from 1 to `max_width`, rounded, distinct."""
        return tuple(log_widths(self.max_width, n) for n in self.grid_levels)

    @property
    def grid_size(self) -> int:
        return int(np.prod([len(w) for w in self.grid_widths()]))

    def training(self) -> dict:
        """The options passed to `nets.train_many` (besides seeds); part of the cache key."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}


def log_widths(max_width: int, n: int) -> tuple[int, ...]:
    """n widths log-spaced from 1 to max_width, rounded to integers (duplicates dropped).

    >>> log_widths(256, 7)
    (1, 3, 6, 16, 40, 102, 256)
    """
    if n < 1 or max_width < 1:
        raise ValueError(f"log_widths needs n >= 1 and max_width >= 1, got n={n}, max_width={max_width}")
    if n == 1:
        return (int(max_width),)
    return tuple(dict.fromkeys(int(round(w)) for w in np.geomspace(1, max_width, n)))


SCALES = {
    "tiny": Scale(
        name="tiny", events_per_class=600, epochs=2, batch_size=128, lr=3e-3, train_seeds=(0, 1),
        max_width=8, grid_levels=(3, 3, 2), search_budget=8, n_initial=3, search_seeds=2,
        parallel_qs=(1, 4), parallel_budget=8, parallel_seeds=1, neuron_budgets=(6,),
        dsp_budgets=(), precision="fixed<16,6>", reuse_factor=1, max_depth=15, ladder_width=8,
        ladder_budget=3, ladder_q=3, export_max=0, export_max_multipliers=0, hgcal_n=100),
    "smoke": Scale(
        name="smoke", events_per_class=1500, epochs=3, batch_size=256, lr=3e-3, train_seeds=(0, 1),
        max_width=16, grid_levels=(4, 4, 3), search_budget=15, n_initial=3, search_seeds=3,
        parallel_qs=(1, 4, 8), parallel_budget=16, parallel_seeds=2, neuron_budgets=(8, 24),
        dsp_budgets=(150,), precision="fixed<16,6>", reuse_factor=1, max_depth=15, ladder_width=16,
        ladder_budget=4, ladder_q=4, export_max=1, export_max_multipliers=400, hgcal_n=300),
    "cpu": Scale(
        name="cpu", events_per_class=15000, epochs=15, batch_size=512, lr=3e-3, train_seeds=(0, 1),
        max_width=256, grid_levels=(7, 7, 6), search_budget=100, n_initial=20, search_seeds=5,
        parallel_qs=(1, 4, 8), parallel_budget=96, parallel_seeds=5,
        neuron_budgets=(8, 16, 32, 64, 128, 256), dsp_budgets=(100, 300, 1000, 3000),
        precision="fixed<16,6>", reuse_factor=1, max_depth=15, ladder_width=128, ladder_budget=30,
        ladder_q=4, export_max=10, export_max_multipliers=8000, hgcal_n=3000),
    "paper": Scale(
        name="paper", events_per_class=50000, epochs=50, batch_size=512, lr=3e-3,
        train_seeds=(0, 1, 2), max_width=2000, grid_levels=(7, 7, 6), search_budget=100,
        n_initial=20, search_seeds=10, parallel_qs=(1, 4, 8), parallel_budget=96, parallel_seeds=10,
        neuron_budgets=(8, 16, 32, 64, 128, 256, 512, 1024, 2048),
        dsp_budgets=(100, 300, 1000, 3000, 10000), precision="fixed<16,6>", reuse_factor=1,
        max_depth=15, ladder_width=1024, ladder_budget=60, ladder_q=8, export_max=9,
        export_max_multipliers=20000, hgcal_n=10000, needs_gpu=True),
}
