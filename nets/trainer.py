"""`train_many`: trains many MLP topologies x seeds, one compiled program per shape bucket.

Each bucket chunk is a single ``jit(vmap(fit_one))`` call: ``vmap`` over the models of the chunk,
``lax.scan`` over epochs and, inside, over minibatch steps. On CPU one such call keeps about one
core busy (its small products are not worth splitting), so chunks run from a thread pool, one
per core, and a bucket is cut into that many chunks of one shape. All models of a call see the
same minibatches in the same order, drawn on the host from ``data_seed`` once per `train_many` call
(int32 event indices, epochs x n_train of them, kept on the device with the data). The network
runs feature-major (see `nets.mlp.forward_t`); parameters enter and leave a call in the usual
(fan_in, fan_out) layout. Optimiser: Adam with a per-model (traced) peak learning rate times
a shared SGDR warm-restart factor. After every epoch each model's validation loss is measured and
its parameters are snapshotted when the loss improves; the returned parameters are that best
snapshot. Models never interact inside a call, so one whose loss turns NaN is reported as failed
and leaves the others' numbers exactly as they would be without it.

Everything on the device is float32 with explicit dtypes, so results do not change when another
part of the program turns on JAX's x64 mode.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import math
import time
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from nets import buckets, metrics
from nets.data import _check_arrays
from nets.errors import TrainError
from nets.mlp import Padding, Params, forward_t, init_params, pad_params, unpad_params
from nets.schedule import Schedule, sgdr
from nets.topology import Topology

F32 = jnp.float32
I32 = jnp.int32

#: How many times each training program was traced (compiled), keyed by its static spec.
#: A cache hit leaves it unchanged; tests read it to prove that equal shapes reuse programs.
TRACE_COUNTS: collections.Counter = collections.Counter()

#: Extra padded work (multiply-accumulates) worth one compilation: models share a bucket when
#: that adds less than this. In `benchmarks.trainer` on 2 CPU cores, the bucket's tracing and
#: compilation (cold minus warm) took 1.6 s and 2.5 s while its padded work ran at 64 and
#: 37 GMAC/s, one call at a time (2026-11-27, 2026-12-07): 1.0e11 and 0.9e11
#: multiply-accumulates; with two calls at once, 1.8 s at 75 GMAC/s: 1.4e11 (2026-12-07).
_COMPILE_MACS = 1e11


@dataclasses.dataclass(frozen=True, eq=False)
class TrainResult:
    """The outcome of training one topology with one seed.

    Attributes:
        topology: the trained topology.
        seed: the initialisation seed.
        params: unpadded parameters at the epoch of best validation loss (see `nets.apply`).
        history: per-epoch float32 arrays of shape (epochs,): ``"loss"`` (training loss, mean
            over the epoch), ``"val_loss"``, ``"lr"`` (learning rate at the epoch's first step).
        best_epoch: epoch (0-based) whose parameters were kept; -1 if no epoch was finite.
        val_loss: validation loss of the kept parameters.
        val_auc: validation ROC AUC of the kept parameters (classification only, else None).
        val_background_efficiency: fraction of background passing the cut that keeps 95 % of the
            validation signal (classification only, else None).
        failed: True when the loss became NaN or infinite during training.
        message: why it failed, or "".
        wall_time_s: this model's share of its compiled call's wall time (compilation included).
        n_inputs: number of input features.
        config: the training options, for the record.
    """

    topology: Topology
    seed: int
    params: Params
    history: dict[str, np.ndarray]
    best_epoch: int
    val_loss: float
    val_auc: float | None
    val_background_efficiency: float | None
    failed: bool
    message: str
    wall_time_s: float
    n_inputs: int
    config: dict[str, Any]

    def save(self, path) -> tuple[str, str]:
        """Writes ``<path>.npz`` (parameters) and ``<path>.json`` (topology, config, history)."""
        from nets.io import save
        info = {"seed": self.seed, "config": self.config,
                "history": {k: v.tolist() for k, v in self.history.items()},
                "best_epoch": self.best_epoch, "val_loss": self.val_loss, "val_auc": self.val_auc,
                "val_background_efficiency": self.val_background_efficiency,
                "failed": self.failed, "message": self.message}
        return save(path, self.topology, self.params, n_inputs=self.n_inputs, info=info)


class _Spec(NamedTuple):
    """Everything static about a compiled training call (hashable; part of the jit cache key)."""

    activation: str
    loss: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    n_train: int
    n_val: int
    schedule: Schedule
    b1: float
    b2: float
    eps: float


class _DeviceData(NamedTuple):
    """Training arrays (features first) and validation arrays cut into equal evaluation chunks."""

    x_train: jax.Array  # (n_features, n_train)
    y_train: jax.Array  # (n_train,)
    w_train: jax.Array  # (n_train,)
    x_val: jax.Array  # (n_chunks, n_features, eval_batch)
    y_val: jax.Array  # (n_chunks, eval_batch)
    w_val: jax.Array  # (n_chunks, eval_batch); zero on padding rows


def _per_event_loss(outputs, targets, loss: str):
    """Binary cross-entropy on logits (numerically stable form) or squared error."""
    if loss == "bce":
        return (jnp.maximum(outputs, 0) - outputs * targets
                + jnp.log1p(jnp.exp(-jnp.abs(outputs))))
    return (outputs - targets) ** 2


def _weighted_loss(layers_t, padding, x_t, y, w, spec: _Spec):
    """Returns ``(sum of w * loss, sum of w, raw outputs)`` of one model on one batch.

    Shapes: ``x_t`` (n_features, n), ``y`` and ``w`` (n,); kernels transposed (see `forward_t`).
    """
    outputs = forward_t(layers_t, padding, x_t, spec.activation)
    return jnp.sum(w * _per_event_loss(outputs, y, spec.loss)), jnp.sum(w), outputs


def _mean_loss(layers, padding, x, y, w, spec):
    total, weight, _ = _weighted_loss(layers, padding, x, y, w, spec)
    return total / jnp.maximum(weight, F32(1e-30)), (total, weight)


def _adam(layers, grads, m, v, rate, step, spec: _Spec):
    """One Adam update (Kingma & Ba 2015) with bias correction; ``step`` counts from 1."""
    b1, b2 = F32(spec.b1), F32(spec.b2)
    m = jax.tree.map(lambda m_, g: b1 * m_ + (1 - b1) * g, m, grads)
    v = jax.tree.map(lambda v_, g: b2 * v_ + (1 - b2) * g * g, v, grads)
    t = step.astype(F32)
    m_scale = rate / (1 - b1 ** t)
    v_scale = 1 / (1 - b2 ** t)
    layers = jax.tree.map(
        lambda p, m_, v_: p - m_scale * m_ / (jnp.sqrt(v_scale * v_) + F32(spec.eps)),
        layers, m, v)
    return layers, m, v


def _evaluate(layers, padding, data: _DeviceData, spec: _Spec):
    """Validation loss and scores (probabilities, or predictions for regression)."""
    def chunk(batch):
        return _weighted_loss(layers, padding, *batch, spec)
    totals, weights, outputs = jax.lax.map(chunk, (data.x_val, data.y_val, data.w_val))
    scores = jax.nn.sigmoid(outputs) if spec.loss == "bce" else outputs
    return jnp.sum(totals) / jnp.maximum(jnp.sum(weights), F32(1e-30)), scores.reshape(-1)


def _fit_one(layers, padding: Padding, lr, data: _DeviceData, orders, spec: _Spec):
    """Trains one padded model for ``spec.epochs`` epochs (vmapped over a chunk's models).

    ``layers`` have transposed kernels; ``orders`` (epochs, steps, batch) holds event indices.
    """
    steps, batch = spec.steps_per_epoch, spec.batch_size
    grad_fn = jax.grad(_mean_loss, has_aux=True)

    def step(carry, inputs):
        layers, m, v = carry
        index, valid, t = inputs
        w = data.w_train[index] * valid
        grads, (total, weight) = grad_fn(layers, padding, data.x_train[:, index],
                                         data.y_train[index], w, spec)
        rate = lr * spec.schedule.factor(t)
        layers, m, v = _adam(layers, grads, m, v, rate, t + 1, spec)
        return (layers, m, v), (total, weight)

    def epoch(carry, inputs):
        layers, m, v, best = carry
        e, order = inputs
        valid = (jnp.arange(steps * batch, dtype=I32) < spec.n_train).astype(F32)
        ts = e * steps + jnp.arange(steps, dtype=I32)
        (layers, m, v), (totals, weights) = jax.lax.scan(
            step, (layers, m, v), (order, valid.reshape(steps, batch), ts))
        train_loss = jnp.sum(totals) / jnp.maximum(jnp.sum(weights), F32(1e-30))
        val_loss, scores = _evaluate(layers, padding, data, spec)
        improved = val_loss < best[1]  # False for NaN
        best = jax.tree.map(lambda new, old: jnp.where(improved, new, old),
                            (layers, val_loss, e, scores), best)
        lr_now = lr * spec.schedule.factor(e * steps)
        return (layers, m, v, best), (train_loss, val_loss, lr_now)

    zeros = jax.tree.map(jnp.zeros_like, layers)
    best = (layers, F32(jnp.inf), I32(-1), jnp.zeros(data.y_val.size, F32))
    (_, _, _, best), history = jax.lax.scan(
        epoch, (layers, zeros, zeros, best), (jnp.arange(spec.epochs, dtype=I32), orders))
    return best, history


def _transpose_kernels(layers):
    return tuple((jnp.swapaxes(kernel, -1, -2), bias) for kernel, bias in layers)


@functools.partial(jax.jit, static_argnames="spec")
def _fit_chunk(layers, padding, lr, data, orders, spec: _Spec):
    """The compiled call: `_fit_one` vmapped over the leading (model) axis of its first three
    arguments. Shapes: each ``layers`` leaf (n_models, ...), kernels (n_models, fan_in,
    fan_out); ``lr`` (n_models,); ``orders`` (epochs, steps, batch) int32."""
    TRACE_COUNTS[spec] += 1  # runs only while tracing
    fit = functools.partial(_fit_one, spec=spec)
    best, history = jax.vmap(fit, in_axes=(0, 0, 0, None, None))(
        _transpose_kernels(layers), padding, lr, data, orders)
    return (_transpose_kernels(best[0]), *best[1:]), history


def train_many(topologies: Sequence[Topology], data: Any, seeds: Sequence[int] = (0,),
               epochs: int = 20, batch_size: int = 256, lr: float | Sequence[float] = 1e-3,
               restarts: int = 0, *, t_mult: float = 1.0, alpha: float = 0.0,
               loss: str = "bce", class_weight: str | dict | None = None, data_seed: int = 0,
               b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7,
               max_waste: float | None = None, width_multiple: int = 8,
               memory_budget: int | None = None, parallel: int | None = None
               ) -> list[TrainResult]:
    """Trains every topology with every seed; models of similar shape share a compiled program.

    Args:
        topologies: the networks to train.
        data: object with ``x_train`` (n_train, n_features), ``y_train`` (n_train,), ``x_val``
            (n_val, n_features), ``y_val`` (n_val,), optional ``w_train``, ``w_val`` event
            weights — e.g. `nets.Data` or `hgcal.Dataset`.
        seeds: initialisation seeds; each topology is trained once per seed.
        epochs: passes over the training set.
        batch_size: events per optimizer step; the last step of an epoch takes the remainder.
        lr: peak Adam learning rate, one for all or one per topology.
        restarts: number of SGDR warm restarts (0: a single cosine decay over the run).
        t_mult: ratio of successive cycle lengths.
        alpha: end-of-cycle learning rate as a fraction of the peak.
        loss: ``"bce"`` (binary cross-entropy, labels 0/1, output is a logit) or ``"mse"``.
        class_weight: None, ``"balanced"`` (weights n / (2 n_class) from the training labels) or
            ``{0: w0, 1: w1}``; multiplies event weights in training and validation losses.
        data_seed: seed of the minibatch order (shared by all models).
        b1, b2, eps: Adam's constants (defaults as Keras).
        max_waste: most padded compute a bucket may spend per unit of useful compute (>= 1;
            None: no limit). Within it, models share a bucket when the extra padded work costs
            less than compiling a bucket of their own; 1.0 trains each distinct shape (rounded
            to ``width_multiple``) in a program of its own.
        width_multiple: padded widths are rounded up to a multiple of this.
        memory_budget: bytes one compiled call may use; default half the accelerator's memory,
            or a quarter of RAM on CPU, shared by the calls that run at once. On CPU a call
            also keeps its training step within `nets.buckets.default_cache_budget` (8 MiB).
        parallel: compiled calls run at once, each from a thread of its own. A bucket is cut
            into up to this many equal chunks (one model each at most) that share one
            compilation. One call runs mostly on one CPU core, so on CPU this multiplies the
            throughput by up to the number of cores. None: the cores this process may use when
            JAX computes on the CPU, else 1.

    Returns:
        One `TrainResult` per (topology, seed), topology-major:
        ``results[i * len(seeds) + j]`` is topology ``i`` with ``seeds[j]``.

    Raises:
        TrainError: for invalid topologies, data or options.
    """
    topologies = [_as_topology(t, i) for i, t in enumerate(topologies)]
    seeds = _check_seeds(seeds)
    arrays = _check_arrays(data)
    _check_options(epochs, batch_size, loss, max_waste, width_multiple, parallel, arrays)
    parallel = buckets.default_parallel() if parallel is None else int(parallel)
    rates = _learning_rates(lr, len(topologies))
    n_train, n_inputs = arrays["x_train"].shape
    n_val = arrays["x_val"].shape[0]
    steps = math.ceil(n_train / batch_size)
    schedule = sgdr(epochs, steps, restarts, t_mult, alpha)
    device_data = _to_device(arrays, class_weight, loss, _eval_batch(n_val))
    chunks = plan_chunks(topologies, len(seeds), n_inputs, n_train, n_val, epochs=epochs,
                         batch_size=batch_size, max_waste=max_waste,
                         width_multiple=width_multiple, memory_budget=memory_budget,
                         parallel=parallel)
    orders = jax.device_put(_minibatch_orders(n_train, epochs, steps, batch_size, data_seed))
    config = {"epochs": epochs, "batch_size": batch_size, "restarts": restarts,
              "t_mult": t_mult, "alpha": alpha, "loss": loss, "data_seed": data_seed,
              "class_weight": class_weight, "b1": b1, "b2": b2, "eps": eps}
    results: list[TrainResult | None] = [None] * (len(topologies) * len(seeds))

    def train(chunk):
        spec = _Spec(chunk.activation, loss, epochs, steps, batch_size, n_train, n_val,
                     schedule, b1, b2, eps)
        models = [(topologies[k // len(seeds)], seeds[k % len(seeds)], rates[k // len(seeds)])
                  for k in chunk.members]
        start = time.perf_counter()
        best, history = _run_chunk(models, chunk.widths, n_inputs, device_data, orders, spec)
        wall = (time.perf_counter() - start) / chunk.n_real
        for j, k in enumerate(chunk.members[:chunk.n_real]):
            topology, seed, rate = models[j]
            results[k] = _result(topology, seed, n_inputs, best, history, j, arrays,
                                 dict(config, lr=rate), wall, loss)

    if parallel == 1 or len(chunks) == 1:
        for chunk in chunks:
            train(chunk)
    else:
        # JAX compiles a shape once even when several threads ask for it at the same time
        with concurrent.futures.ThreadPoolExecutor(min(parallel, len(chunks))) as pool:
            # re-raises the first error (or Ctrl-C), cancelling the chunks not yet started
            list(pool.map(train, chunks))
    return results


def plan_chunks(topologies: Sequence[Topology], n_seeds: int, n_inputs: int, n_train: int,
                n_val: int, *, epochs: int, batch_size: int, max_waste: float | None = None,
                width_multiple: int = 8, memory_budget: int | None = None,
                parallel: int | None = None) -> list[buckets.Chunk]:
    """The compiled calls `train_many` makes for these options and data sizes: its shape buckets
    cut into chunks by `nets.buckets.plan`, with `train_many`'s defaults (the memory budget
    shared by the calls that run at once; on CPU, each call's training step kept within
    `nets.buckets.default_cache_budget`)."""
    parallel = buckets.default_parallel() if parallel is None else int(parallel)
    budget = (buckets.default_memory_budget() // parallel if memory_budget is None
              else int(memory_budget))
    return buckets.plan(topologies, n_seeds, n_inputs, max_waste=max_waste,
                        width_multiple=width_multiple, memory_budget=budget,
                        batch_size=batch_size, eval_batch=_eval_batch(n_val), n_val=n_val,
                        events=n_train * epochs, compile_macs=_COMPILE_MACS, parallel=parallel,
                        cache_budget=buckets.default_cache_budget())


def _minibatch_orders(n_train: int, epochs: int, steps: int, batch_size: int,
                      seed: int) -> np.ndarray:
    """Each epoch's shuffled event indices, shape (epochs, steps, batch_size) int32; the last
    step's unused tail points at event 0 and is masked out by the trainer."""
    rng = np.random.default_rng(seed)
    orders = np.zeros((epochs, steps * batch_size), np.int32)
    for e in range(epochs):
        orders[e, :n_train] = rng.permutation(n_train)
    return orders.reshape(epochs, steps, batch_size)


def _run_chunk(models, widths, n_inputs, data, orders, spec):
    """Pads, stacks and trains one chunk; returns its outputs as numpy arrays."""
    padded = [pad_params(init_params(t, n_inputs, s), t, n_inputs, widths) for t, s, _ in models]
    layers = tuple((np.stack([p[0][i][0] for p in padded]), np.stack([p[0][i][1] for p in padded]))
                   for i in range(len(widths) + 1))
    padding = Padding(tuple(np.stack([p[1].masks[i] for p in padded]) for i in range(len(widths))),
                      np.stack([p[1].present for p in padded]))
    lr = np.asarray([r for _, _, r in models], np.float32)
    out = _fit_chunk(layers, padding, lr, data, orders, spec)
    return jax.tree.map(np.asarray, out)


def _result(topology, seed, n_inputs, best, history, j, arrays, config, wall, loss):
    """Builds model ``j``'s `TrainResult` from its chunk's outputs."""
    best_layers, best_val, best_epoch, best_scores = best
    layers = [(k[j], b[j]) for k, b in best_layers]
    hist = {name: h[j].astype(np.float32) for name, h in zip(("loss", "val_loss", "lr"), history)}
    bad = ~(np.isfinite(hist["loss"]) & np.isfinite(hist["val_loss"]))
    failed = bool(bad.any()) or int(best_epoch[j]) < 0
    message = ""
    if failed:
        first = int(np.argmax(bad)) if bad.any() else 0
        message = (f"loss became NaN or infinite at epoch {first}; lower lr "
                   f"(was {config['lr']:g}) or standardise the inputs")
    auc = bkg = None
    if loss == "bce" and int(best_epoch[j]) >= 0:
        scores = best_scores[j][:len(arrays["y_val"])]
        auc = metrics.auc(scores, arrays["y_val"], arrays["w_val"])
        bkg = metrics.background_efficiency(scores, arrays["y_val"], 0.95, arrays["w_val"])
    return TrainResult(topology, int(seed), unpad_params(layers, topology, n_inputs), hist,
                       int(best_epoch[j]), float(best_val[j]), auc, bkg, failed, message,
                       wall, int(n_inputs), config)


def _to_device(arrays, class_weight, loss, eval_batch) -> _DeviceData:
    """Applies class weights and moves the data to the device, validation cut into chunks."""
    weights = {}
    for part in ("train", "val"):
        y = arrays[f"y_{part}"]
        w = arrays[f"w_{part}"]
        w = np.ones_like(y) if w is None else w
        weights[part] = w * _class_weights(class_weight, arrays["y_train"], arrays["w_train"],
                                           loss)[(y > 0.5).astype(int)]
    n_val, n_features = arrays["x_val"].shape
    n_chunks = math.ceil(n_val / eval_batch)
    pad = n_chunks * eval_batch - n_val

    def chunked(a):
        a = np.concatenate([np.asarray(a, np.float32), np.zeros((pad, *a.shape[1:]), np.float32)])
        return a.reshape(n_chunks, eval_batch, *a.shape[1:])

    # numpy only: a jnp operation here would compile a small program of its own
    host = _DeviceData(np.ascontiguousarray(arrays["x_train"].T, np.float32),
                       np.asarray(arrays["y_train"], np.float32),
                       np.asarray(weights["train"], np.float32),
                       np.ascontiguousarray(chunked(arrays["x_val"]).transpose(0, 2, 1)),
                       chunked(arrays["y_val"]), chunked(weights["val"]))
    return jax.device_put(host)


def _class_weights(class_weight, y_train, w_train, loss) -> np.ndarray:
    """Weights of class 0 and class 1, shape (2,)."""
    if class_weight is None:
        return np.ones(2, np.float32)
    if loss != "bce":
        raise TrainError("class_weight is set but loss='mse'; class weights need loss='bce'")
    if class_weight == "balanced":
        w = np.ones_like(y_train) if w_train is None else w_train
        totals = np.asarray([w[y_train < 0.5].sum(), w[y_train > 0.5].sum()])
        return (totals.sum() / (2 * np.maximum(totals, 1e-30))).astype(np.float32)
    if isinstance(class_weight, dict) and set(class_weight) == {0, 1}:
        values = np.asarray([class_weight[0], class_weight[1]], np.float32)
        if np.all(values > 0) and np.all(np.isfinite(values)):
            return values
    raise TrainError(f"class_weight={class_weight!r} is invalid; use None, 'balanced' or "
                     "{0: w0, 1: w1} with positive weights")


def _eval_batch(n_val: int, largest: int = 4096) -> int:
    """Validation chunk size: at most ``largest``, chunks about equal, a multiple of 8."""
    n_chunks = math.ceil(n_val / largest)
    return 8 * math.ceil(math.ceil(n_val / n_chunks) / 8)


def _as_topology(t, i) -> Topology:
    if isinstance(t, Topology):
        return t
    if isinstance(t, dict):
        return Topology.from_dict(t)
    raise TrainError(f"topologies[{i}]={t!r} is not a nets.Topology; wrap widths as "
                     "nets.Topology(hidden=(...))")


def _check_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, (int, np.integer)):
        seeds = (seeds,)
    seeds = tuple(seeds)
    if not seeds or any(not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise TrainError(f"seeds={seeds!r} must be a non-empty sequence of integers >= 0")
    return tuple(int(s) for s in seeds)


def _learning_rates(lr, n_topologies) -> list[float]:
    rates = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    if rates.ndim != 1 or len(rates) not in (1, n_topologies):
        raise TrainError(f"lr has {rates.size} values; give one, or one per topology "
                         f"({n_topologies})")
    if not np.all(np.isfinite(rates) & (rates > 0)):
        raise TrainError(f"lr={lr!r} must be finite and > 0, e.g. 1e-3")
    return [float(r) for r in np.broadcast_to(rates, (n_topologies,))]


def _check_options(epochs, batch_size, loss, max_waste, width_multiple, parallel, arrays):
    for name, value in (("epochs", epochs), ("batch_size", batch_size),
                        ("width_multiple", width_multiple)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise TrainError(f"{name}={value!r} must be an integer >= 1")
    if loss not in ("bce", "mse"):
        raise TrainError(f"loss={loss!r} is unknown; use 'bce' (classification) or 'mse'")
    if parallel is not None and (not isinstance(parallel, (int, np.integer)) or parallel < 1):
        raise TrainError(f"parallel={parallel!r} must be an integer >= 1 or None (one call per "
                         "CPU core, one on an accelerator)")
    if max_waste is not None and not max_waste >= 1.0:
        raise TrainError(f"max_waste={max_waste!r} must be >= 1 (1 allows no padding) or None "
                         "(no limit)")
    if loss == "bce":
        for part in ("train", "val"):
            y = arrays[f"y_{part}"]
            if not np.all((y == 0) | (y == 1)):
                raise TrainError(f"data.y_{part} holds values other than 0 and 1; loss='bce' "
                                 "needs 0/1 labels (use loss='mse' for regression)")
