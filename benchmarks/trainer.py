"""Speed benchmark of `nets.train_many` against Keras 3 (JAX backend) training one model at a time.

Workload (issue 3): 16 random 3-layer ReLU topologies with widths 4-64, 50,000 training events
x 8 features (plus 10,000 validation events), 5 epochs, batch 512, Adam with cosine warm restarts
(one cycle per epoch). The peer trains the same 16 models one after another with Keras 3 `fit`,
the same optimizer constants, schedule, batch size and validation each epoch.

Reported: wall time of each (ours cold, i.e. with compilation, and warm, i.e. compiled programs
reused), the speed-up, the useful (unpadded) FLOP rate against the machine's measured float32
matmul peak, and with ``--scaling`` a table of time and memory versus number of models and width
(memory: the planner's upper bound for the call, and the device's peak bytes in use where it
reports them -- on CPU the process's peak resident set size, which only ever grows).

Usage::

    python -m benchmarks.trainer                 # the comparison
    python -m benchmarks.trainer --scaling       # plus the scaling table
    python -m benchmarks.trainer --quick         # a small smoke run (no targets)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nets  # noqa: E402
from nets.buckets import model_bytes  # noqa: E402


def make_data(n_train: int, n_val: int, n_features: int = 8, seed: int = 0) -> nets.Data:
    """A nonlinear binary problem with standardised features."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    logit = 2 * x[:, 0] - x[:, 1] ** 2 + x[:, 2] * x[:, 3] + np.sin(2 * x[:, 4]) + 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return nets.Data(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def random_topologies(n: int, low: int = 4, high: int = 64, depth: int = 3,
                      seed: int = 0) -> list[nets.Topology]:
    """``n`` ReLU topologies with ``depth`` layers of uniform random widths in [low, high]."""
    rng = np.random.default_rng(seed)
    return [nets.Topology(tuple(int(w) for w in rng.integers(low, high + 1, depth)))
            for _ in range(n)]


def useful_flops(topologies, n_inputs: int, n_train: int, n_val: int, epochs: int) -> float:
    """Unpadded FLOPs of training: 6 per MAC per training event (forward and backward), 2 per
    MAC per validation event, every epoch."""
    macs = sum(t.macs(n_inputs) for t in topologies)
    return float(macs * (6 * n_train + 2 * n_val) * epochs)


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 FLOP/s of a large square matmul on the default device."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def run_ours(topologies, data, epochs, batch_size, lr, restarts):
    """Wall time of one `train_many` call and its results."""
    start = time.perf_counter()
    results = nets.train_many(topologies, data, seeds=(0,), epochs=epochs, batch_size=batch_size,
                              lr=lr, restarts=restarts)
    return time.perf_counter() - start, results


def run_keras(topologies, data, epochs, batch_size, lr, restarts):
    """Wall time of training each topology in turn with Keras 3 `fit`, and their val AUCs."""
    import keras

    steps = int(np.ceil(len(data.x_train) / batch_size))
    cycle = epochs // (restarts + 1)
    if cycle * (restarts + 1) != epochs:
        raise SystemExit("for the Keras peer, epochs must be a multiple of restarts + 1")
    aucs = []
    start = time.perf_counter()
    for i, topology in enumerate(topologies):
        keras.utils.set_random_seed(i)
        model = keras.Sequential(
            [keras.Input((data.x_train.shape[1],))]
            + [keras.layers.Dense(w, activation=topology.activation) for w in topology.layers]
            + [keras.layers.Dense(1)])
        schedule = keras.optimizers.schedules.CosineDecayRestarts(
            lr, first_decay_steps=cycle * steps, t_mul=1.0, m_mul=1.0, alpha=0.0)
        model.compile(optimizer=keras.optimizers.Adam(schedule, epsilon=1e-7),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                  validation_data=(data.x_val, data.y_val), shuffle=True, verbose=0)
        aucs.append(nets.metrics.auc(model.predict(data.x_val, verbose=0)[:, 0], data.y_val))
    return time.perf_counter() - start, aucs


def peak_memory_bytes() -> int:
    """Peak device memory where the device reports it, else the process's peak RSS."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def scaling(data, epochs, batch_size, widths, counts):
    """Time and memory versus number of models (widths 4-64) and versus width (4 models)."""
    rows = []
    n_inputs = data.x_train.shape[1]
    cases = [("models", n, random_topologies(n, seed=n)) for n in counts]
    cases += [("width", w, [nets.Topology((w, w, w))] * 4) for w in widths]
    for kind, value, topologies in cases:
        cold, _ = run_ours(topologies, data, epochs, batch_size, 1e-3, 0)
        warm, _ = run_ours(topologies, data, epochs, batch_size, 1e-3, 0)
        flops = useful_flops(topologies, n_inputs, len(data.x_train), len(data.x_val), epochs)
        widest = max(max(t.layers) for t in topologies)
        planned = len(topologies) * model_bytes((widest,) * 3, n_inputs, batch_size,
                                                4096, len(data.x_val))
        rows.append({"vary": kind, "value": value, "n_models": len(topologies),
                     "cold_s": round(cold, 3), "warm_s": round(warm, 3),
                     "useful_gflops_per_s": round(flops / warm / 1e9, 2),
                     "planned_bytes_upper": planned, "peak_bytes": peak_memory_bytes()})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras peer")
    parser.add_argument("--scaling", action="store_true", help="also the scaling table")
    parser.add_argument("--max-width", type=int, default=None,
                        help="largest width of the scaling table (default 2000 on GPU, 256 on CPU)")
    parser.add_argument("--json", default=None, help="write all numbers to this file")
    args = parser.parse_args(argv)

    n_models, n_train, n_val, epochs = (4, 5000, 1000, 2) if args.quick else (16, 50000, 10000, 5)
    batch_size, lr, restarts = 512, 1e-3, epochs - 1  # one cosine cycle per epoch
    data = make_data(n_train, n_val)
    topologies = random_topologies(n_models)
    n_inputs = data.x_train.shape[1]
    report = {"device": str(jax.devices()[0]), "load_average": os.getloadavg(),
              "topologies": [t.hidden for t in topologies]}

    peak = matmul_peak(1024 if args.quick else 2048)
    cold, results = run_ours(topologies, data, epochs, batch_size, lr, restarts)
    warm, results = run_ours(topologies, data, epochs, batch_size, lr, restarts)
    flops = useful_flops(topologies, n_inputs, n_train, n_val, epochs)
    report.update(matmul_peak_gflops=peak / 1e9, ours_cold_s=cold, ours_warm_s=warm,
                  useful_gflops_per_s_warm=flops / warm / 1e9,
                  fraction_of_peak_warm=flops / warm / peak,
                  ours_val_auc_mean=float(np.mean([r.val_auc for r in results])),
                  failed=sum(r.failed for r in results))
    if not args.no_keras:
        keras_s, keras_aucs = run_keras(topologies, data, epochs, batch_size, lr, restarts)
        report.update(keras_s=keras_s, keras_val_auc_mean=float(np.mean(keras_aucs)),
                      speedup_cold=keras_s / cold, speedup_warm=keras_s / warm)
    if args.scaling:
        on_gpu = jax.devices()[0].platform == "gpu"
        top = args.max_width or (2000 if on_gpu else 256)
        widths = [w for w in (16, 64, 256, 1000, 2000) if w <= top]
        report["scaling"] = scaling(data, epochs, batch_size, widths, (1, 4, 16, 64))
    report["load_average_end"] = os.getloadavg()
    print(json.dumps({k: v for k, v in report.items() if k != "scaling"}, indent=1,
                     default=float))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=float)
    return report


if __name__ == "__main__":
    sys.exit(main() and 0)
