"""Grouping models (topology x seed) into shape buckets, each trained by one compiled call.

A bucket has one activation and one padded hidden width per layer. Models are placed greedily,
largest first, into the first bucket they can join: the extra padded work of joining must cost
less than compiling a bucket of their own (``compile_macs`` multiply-accumulates), and the
bucket's padded compute must stay within ``max_waste`` times its members' useful compute.
Otherwise they open a new bucket. Widths are rounded up onto a coarse grid (`round_width`) so
that the buckets of later calls, e.g. the next batch of a topology search, often reuse already
compiled shapes. A bucket is cut into equal chunks (the last one topped up with throw-away
copies) when it exceeds the memory budget or, on CPU, when its training step would not stay in
the cache, and into as many chunks as there are calls to run at once; all chunks of a bucket
share one shape and one compilation.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import jax

from nets.mlp import carried_widths
from nets.topology import Topology


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One compiled call: a padded shape and the models trained in it.

    Attributes:
        activation: the shared activation.
        widths: padded hidden widths, one per layer.
        members: indices into the flat list of models (topology-major, then seed); a member
            listed twice is a throw-away copy filling the chunk to its shape.
        n_real: the first ``n_real`` members are the real ones.
    """

    activation: str
    widths: tuple[int, ...]
    members: tuple[int, ...]
    n_real: int


def round_width(width: int, multiple: int) -> int:
    """Rounds ``width`` up onto the grid of padded widths (0 stays 0).

    The grid is ``multiple`` x (1, 2, ..., 8, 12, 16, 24, 32, 48, 64, ...): fine steps up to
    ``8 * multiple``, then alternately x1.5 and x4/3, so padding never adds more than half a
    layer's width beyond ``8 * multiple``.
    """
    units = math.ceil(width / multiple)
    if units > 8:
        power = 2 ** math.floor(math.log2(units))
        units = power if units == power else (3 * power // 2 if units <= 3 * power // 2
                                              else 2 * power)
    return int(units * multiple)


def padded_macs(widths: Sequence[int], n_inputs: int) -> int:
    """Multiply-accumulates per event of one padded model."""
    fans = (n_inputs, *widths, 1)
    return sum(a * b for a, b in zip(fans[:-1], fans[1:]))


def _padded_params(widths: Sequence[int], n_inputs: int) -> int:
    fans = (n_inputs, *widths, 1)
    return sum(a * b + b for a, b in zip(fans[:-1], fans[1:]))


def step_bytes(widths: Sequence[int], n_inputs: int, batch_size: int) -> int:
    """Bytes one model of a padded shape touches in a training step: the minibatch's
    activations, pre-activations and their gradients, and the parameters, their gradient and
    Adam's two moments."""
    return 4 * (4 * batch_size * (sum(widths) + 1) + 4 * _padded_params(widths, n_inputs))


def model_bytes(widths: Sequence[int], n_inputs: int, batch_size: int, eval_batch: int,
                n_val: int) -> int:
    """Device memory one model of a padded shape needs during training, in bytes: its training
    step (`step_bytes`), two more copies of the parameters (the best-validation snapshot and
    the updated parameters), the activations of an evaluation minibatch and the stored best
    validation scores."""
    units = sum(widths) + 1
    return step_bytes(widths, n_inputs, batch_size) + 4 * (
        2 * _padded_params(widths, n_inputs) + 2 * eval_batch * units + 2 * n_val)


#: Training-step bytes (`step_bytes`) one call may touch on CPU. Beyond the cache, XLA's small
#: products slow down: 64 models of (64, 64, 64), batch 512, two calls at once on a 2-core
#: EPYC with 32 MiB of L3 (2026-12-07) took 8.4-9.7 s warm in chunks of 32 models (55 MB per
#: call), 7.2 s in chunks of 16, 5.9-6.6 s of 8, 5.4-5.7 s of 4 (6.9 MB) and 5.6-5.7 s of 2 or 1;
#: 16 such models ran as fast in chunks of 2, 4 or 8, and 4 of (1000,) * 3 in chunks of 1 or 2.
_CPU_CACHE_BUDGET = 8 << 20


def default_cache_budget() -> int | None:
    """Training-step bytes one call may touch: `_CPU_CACHE_BUDGET` when JAX computes on the
    CPU, else None (no limit: an accelerator wants large calls)."""
    return _CPU_CACHE_BUDGET if jax.devices()[0].platform == "cpu" else None


def default_memory_budget() -> int:
    """Bytes a training call may use: half the accelerator's memory, else a quarter of RAM."""
    device = jax.devices()[0]
    try:
        stats = device.memory_stats() or {}
    except Exception:  # some backends do not report memory
        stats = {}
    if device.platform != "cpu" and "bytes_limit" in stats:
        return int(stats["bytes_limit"] * 0.5)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return int(ram * 0.25)


def default_parallel() -> int:
    """Compiled calls to run at once: the CPU cores this process may use when JAX computes on
    the CPU (one call runs mostly on one core there), else 1 (one accelerator)."""
    if jax.devices()[0].platform != "cpu":
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan(topologies: Sequence[Topology], n_seeds: int, n_inputs: int, *,
         max_waste: float | None, width_multiple: int, memory_budget: int, batch_size: int,
         eval_batch: int, n_val: int, events: int = 0, compile_macs: float = 0.0,
         parallel: int = 1, cache_budget: int | None = None) -> list[Chunk]:
    """Buckets ``len(topologies) * n_seeds`` models and cuts buckets into memory-sized chunks.

    Model ``k`` is topology ``k // n_seeds`` with seed index ``k % n_seeds``; the seeds of one
    topology always share a bucket.

    Args:
        topologies: the distinct topologies.
        n_seeds: seeds per topology.
        n_inputs: number of input features.
        max_waste: most padded compute per unit of useful compute in a bucket, whatever a
            compilation costs (None: no limit). A model alone is never refused: its own
            padding to the width grid is allowed.
        width_multiple: unit of the padded-width grid (see `round_width`).
        memory_budget: bytes one compiled call may use.
        batch_size: training minibatch size.
        eval_batch: validation chunk size.
        n_val: number of validation events.
        events: events one model processes in the whole run (training set size x epochs),
            which converts per-event padding waste into total work.
        compile_macs: work worth one compilation; a merge must add less extra work than this
            (0: only merges that add no work, i.e. models of the same padded shape).
        parallel: calls that will run at once; a bucket is cut into at least this many chunks
            (at most one per member), so that they can.
        cache_budget: training-step bytes (`step_bytes`) one call may touch; a bucket is cut
            into chunks that stay within it, one model each at least (None: no limit).

    Returns:
        Chunks covering every model exactly once among their real members.
    """
    n_hidden = max((t.depth for t in topologies), default=0)
    order = sorted(range(len(topologies)),
                   key=lambda i: (-topologies[i].macs(n_inputs), i))
    buckets: list[dict] = []
    for i in order:
        topo = topologies[i]
        carried = carried_widths(topo, n_inputs, n_hidden)
        useful = topo.macs(n_inputs) * n_seeds
        for bucket in buckets:
            if bucket["activation"] != topo.activation:
                continue
            widths = tuple(round_width(max(a, b), width_multiple)
                           for a, b in zip(bucket["carried"], carried))
            n_models = bucket["n_models"] + n_seeds
            merged = padded_macs(widths, n_inputs) * n_models
            apart = (padded_macs(bucket["widths"], n_inputs) * bucket["n_models"]
                     + padded_macs([round_width(c, width_multiple) for c in carried], n_inputs)
                     * n_seeds)
            extra_work = 3 * (merged - apart) * events  # forward and backward
            capped = max_waste is not None and merged > max(
                apart, max_waste * (bucket["useful"] + useful))
            if not capped and (merged <= apart or extra_work < compile_macs):
                bucket.update(carried=tuple(max(a, b) for a, b in zip(bucket["carried"], carried)),
                              widths=widths, n_models=n_models, useful=bucket["useful"] + useful)
                bucket["topologies"].append(i)
                break
        else:
            buckets.append({"activation": topo.activation, "carried": carried,
                            "widths": tuple(round_width(c, width_multiple) for c in carried),
                            "n_models": n_seeds, "useful": useful, "topologies": [i]})
    chunks = []
    for bucket in buckets:
        depth = max(topologies[i].depth for i in bucket["topologies"])
        bucket["widths"] = bucket["widths"][:depth]  # drop layers that are identity for all
        members = [t * n_seeds + s for t in sorted(bucket["topologies"]) for s in range(n_seeds)]
        capacity = memory_budget // model_bytes(bucket["widths"], n_inputs, batch_size,
                                                eval_batch, n_val)
        if cache_budget is not None:
            capacity = min(capacity, cache_budget // step_bytes(bucket["widths"], n_inputs,
                                                                batch_size))
        capacity = max(1, capacity)
        n_chunks = max(math.ceil(len(members) / capacity), min(parallel, len(members)))
        size = math.ceil(len(members) / n_chunks)
        for start in range(0, len(members), size):
            real = members[start:start + size]
            filler = [real[0]] * (size - len(real))
            chunks.append(Chunk(bucket["activation"], bucket["widths"], tuple(real + filler),
                                len(real)))
    return chunks

