"""train_many: padding does not change training, compiled programs are reused, NaNs stay put."""

import time

import jax
import numpy as np
import pytest

import nets
from nets import trainer
from nets.buckets import plan

# one call at a time, so that the tests can count calls whatever the machine's cores
OPTIONS = dict(epochs=4, batch_size=32, lr=3e-2, restarts=1, data_seed=3, parallel=1)
SMALL = nets.Topology((5, 0, 3))
MIXED = [nets.Topology((12, 9, 4)), SMALL, nets.Topology((7,))]


@pytest.fixture(scope="module")
def captured(monkeypatch_module):
    """Records the padded outputs of every compiled call."""
    calls = []
    original = trainer._fit_chunk

    def spy(layers, padding, lr, data, orders, spec):
        out = original(layers, padding, lr, data, orders, spec)
        calls.append((jax.tree.map(np.asarray, padding), jax.tree.map(np.asarray, out)))
        return out

    spy.clear_cache = original.clear_cache
    monkeypatch_module.setattr(trainer, "_fit_chunk", spy)
    return calls


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def mixed(data, captured):
    """Three topologies x two seeds, all in one padded bucket."""
    results = nets.train_many(MIXED, data, seeds=(0, 1), **OPTIONS)
    return results, captured[-1]


@pytest.fixture(scope="module")
def alone(data):
    """SMALL trained on its own at its exact, unpadded shape."""
    chunks = plan([SMALL], 1, 6, max_waste=1.0, width_multiple=1, memory_budget=1 << 30,
                  batch_size=32, eval_batch=152, n_val=150)
    assert [c.widths for c in chunks] == [(5, 3)]  # really unpadded
    return nets.train_many([SMALL], data, seeds=(1,), width_multiple=1, max_waste=1.0,
                           **OPTIONS)[0]


def test_one_bucket_results_in_order(mixed):
    results, (padding, _) = mixed
    assert [(r.topology, r.seed) for r in results] == [(t, s) for t in MIXED for s in (0, 1)]
    assert padding.present.shape == (6, 3)  # one call, six models, three padded layers
    for r in results:
        assert not r.failed and r.message == ""
        assert r.history["loss"].shape == (4,) and r.history["loss"].dtype == np.float32
        assert r.val_auc > 0.6


def test_padded_bucket_matches_unpadded_alone(mixed, alone):
    results, _ = mixed
    inside = results[MIXED.index(SMALL) * 2 + 1]
    assert inside.topology == SMALL and inside.seed == alone.seed
    for key in ("loss", "val_loss", "lr"):
        np.testing.assert_allclose(inside.history[key], alone.history[key], rtol=2e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(inside.params), jax.tree.leaves(alone.params)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_padded_weights_stay_exactly_zero(mixed):
    results, (padding, (best, _)) = mixed
    best_layers = best[0]
    masks = [np.ones_like(padding.masks[0][:, :6])] + list(padding.masks)  # inputs unpadded
    for i, (kernel, bias) in enumerate(best_layers[:-1]):
        real = masks[i][:, :, None] * masks[i + 1][:, None, :] * padding.present[:, i, None, None]
        assert np.all(kernel[real == 0] == 0)
        assert np.all(bias[(masks[i + 1] * padding.present[:, i, None]) == 0] == 0)
    out_kernel = best_layers[-1][0]
    assert np.all(out_kernel[:, :, 0][masks[-1] == 0] == 0)
    # the real weights did train
    assert not np.allclose(results[0].params["Dense_0"]["kernel"],
                           nets.init_params(MIXED[0], 6, 0)["Dense_0"]["kernel"])


def test_absent_layer_gives_the_shallower_network(mixed):
    results, _ = mixed
    small = results[2]
    assert small.topology == SMALL and list(small.params) == ["Dense_0", "Dense_1", "Dense_2"]
    assert small.params["Dense_1"]["kernel"].shape == (5, 3)
    assert small.params["Dense_2"]["kernel"].shape == (3, 1)


def test_best_validation_snapshot(mixed, data):
    # a high learning rate makes the validation loss bounce, so the best epoch is not always
    # the last; lr is traced, so this reuses the compiled program
    bouncing = nets.train_many(MIXED, data, seeds=(0, 1), **dict(OPTIONS, lr=0.3))
    assert any(r.best_epoch < 3 for r in bouncing)
    for r in mixed[0] + bouncing:
        assert r.best_epoch == int(np.argmin(r.history["val_loss"]))
        assert r.val_loss == pytest.approx(float(r.history["val_loss"].min()), rel=1e-6)
        scores = np.asarray(jax.nn.sigmoid(nets.apply(r.topology, r.params, data.x_val)))
        y = data.y_val
        bce = -np.mean(y * np.log(scores) + (1 - y) * np.log(1 - scores))
        assert bce == pytest.approx(r.val_loss, rel=1e-4)
        assert r.val_auc == pytest.approx(nets.metrics.auc(scores, y), abs=1e-6)


def test_learning_rate_restarts_at_configured_steps(mixed):
    steps = 15  # ceil(450 / 32)
    schedule = nets.sgdr(epochs=4, steps_per_epoch=steps, restarts=1)
    assert schedule.restart_steps == (2 * steps,)
    factors = np.array([float(schedule.factor(t)) for t in range(4 * steps)])
    assert factors[0] == 1.0 and factors[2 * steps] == 1.0
    assert np.all(np.diff(factors[:2 * steps]) < 0) and np.all(np.diff(factors[2 * steps:]) < 0)
    assert factors[2 * steps - 1] < 0.01
    # the trainer uses it: the lr recorded at each epoch's first step
    lr = mixed[0][0].history["lr"]
    np.testing.assert_allclose(lr, 3e-2 * factors[[0, steps, 2 * steps, 3 * steps]], rtol=1e-6)
    assert lr[2] == pytest.approx(3e-2)


def test_uneven_cycles_with_t_mult():
    schedule = nets.sgdr(epochs=7, steps_per_epoch=10, restarts=2, t_mult=2.0)
    assert schedule.starts == (0, 10, 30) and schedule.lengths == (10, 20, 40)
    assert float(schedule.factor(30)) == 1.0
    assert float(schedule.factor(29)) < float(schedule.factor(30))


def test_same_shape_does_not_recompile(data, mixed):
    before = sum(trainer.TRACE_COUNTS.values())
    other = [nets.Topology((10, 16, 1)), nets.Topology((3, 5)), nets.Topology((8,))]
    results = nets.train_many(other, data, seeds=(4, 5), **OPTIONS)
    assert sum(trainer.TRACE_COUNTS.values()) == before
    assert all(not r.failed for r in results)


def test_chunks_of_one_bucket_share_one_compilation(data, mixed):
    before = sum(trainer.TRACE_COUNTS.values())
    # room for ~2 models per call: 6 models -> 3 chunks of one shape
    budget = 2 * trainer.buckets.model_bytes((16, 16, 8), 6, 32, 152, 150) + 1
    split = nets.train_many(MIXED, data, seeds=(0, 1), memory_budget=budget, **OPTIONS)
    assert sum(trainer.TRACE_COUNTS.values()) == before + 1
    for a, b in zip(split, mixed[0]):
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_on_cpu_a_call_keeps_its_training_step_within_the_cache_budget(data, mixed, captured,
                                                                       monkeypatch):
    assert trainer.buckets.default_cache_budget() == trainer.buckets._CPU_CACHE_BUDGET  # CPU
    # room for ~3 models' training steps: 6 models -> 2 calls of one shape
    per_model = trainer.buckets.step_bytes((16, 16, 8), 6, 32)
    monkeypatch.setattr(trainer.buckets, "_CPU_CACHE_BUDGET", 3 * per_model + 1)
    before = len(captured)
    split = nets.train_many(MIXED, data, seeds=(0, 1), **OPTIONS)
    assert [p.present.shape[0] for p, _ in captured[before:]] == [3, 3]
    for a, b in zip(split, mixed[0]):
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_max_waste_one_trains_each_shape_in_its_own_call(data, mixed, captured):
    before = len(captured)
    split = nets.train_many(MIXED, data, seeds=(0, 1), max_waste=1.0, width_multiple=1,
                            **OPTIONS)
    assert [p.present.shape[0] for p, _ in captured[before:]] == [2, 2, 2]  # 3 calls
    for a, b in zip(split, mixed[0]):  # the same training, at each model's own shape
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_calls_at_once_share_one_compilation_and_train_the_same(data, mixed, captured):
    trainer._fit_chunk.clear_cache()  # the threads start cold, all at the same time
    before, traces = len(captured), sum(trainer.TRACE_COUNTS.values())
    split = nets.train_many(MIXED, data, seeds=(0, 1), **dict(OPTIONS, parallel=3))
    assert [p.present.shape for p, _ in captured[before:]] == [(2, 3)] * 3  # 3 calls of 2
    assert sum(trainer.TRACE_COUNTS.values()) == traces + 1  # compiled once, for all three
    for a, b in zip(split, mixed[0]):
        assert (a.topology, a.seed) == (b.topology, b.seed)
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(a.val_auc, b.val_auc, rtol=1e-5)


def test_an_error_in_one_call_starts_no_further_call(data, monkeypatch):
    started = []

    def broken(*args):
        started.append(args)
        time.sleep(0.5)  # long enough for train_many to cancel what has not started
        raise RuntimeError("out of memory")

    monkeypatch.setattr(trainer, "_run_chunk", broken)
    # three shapes, each cut in two: six calls for two threads
    with pytest.raises(RuntimeError, match="out of memory"):
        nets.train_many(MIXED, data, seeds=(0, 1), max_waste=1.0, width_multiple=1,
                        **dict(OPTIONS, parallel=2))
    assert 2 <= len(started) < 6


def test_diverging_model_is_flagged_and_isolated(data, mixed):
    results, _ = mixed
    rates = [3e-2, 1e30, 3e-2]
    broken = nets.train_many(MIXED, data, seeds=(0, 1), **dict(OPTIONS, lr=rates))
    for r in broken[2:4]:
        assert r.failed and "NaN" in r.message and "lr" in r.message
    for i in (0, 1, 4, 5):
        assert not broken[i].failed
        for key in ("loss", "val_loss"):
            np.testing.assert_array_equal(broken[i].history[key], results[i].history[key])
        for a, b in zip(jax.tree.leaves(broken[i].params), jax.tree.leaves(results[i].params)):
            np.testing.assert_array_equal(a, b)


@pytest.fixture
def x64_mode():
    previous = jax.config.jax_enable_x64

    def set_mode(on):
        jax.config.update("jax_enable_x64", on)

    yield set_mode
    jax.config.update("jax_enable_x64", previous)


def test_same_results_with_and_without_x64(data, x64_mode):
    runs = {}
    for on in (False, True):
        x64_mode(on)
        r = nets.train_many([nets.Topology((4, 4))], data, epochs=2, batch_size=128, lr=1e-2)[0]
        runs[on] = r
        assert all(v.dtype == np.float32 for v in jax.tree.leaves(r.params))
    np.testing.assert_allclose(runs[True].history["loss"], runs[False].history["loss"],
                               rtol=1e-6)
    for a, b in zip(jax.tree.leaves(runs[True].params), jax.tree.leaves(runs[False].params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_regression_with_mse_and_weights(data):
    y = data.x_train[:, 0] * 2.0 - data.x_train[:, 1]
    reg = nets.Data(data.x_train, y, data.x_val, data.x_val[:, 0] * 2.0 - data.x_val[:, 1],
                    w_train=np.ones_like(y))
    r = nets.train_many([nets.Topology((8,), "linear")], reg, loss="mse", epochs=6,
                        batch_size=128, lr=3e-2)[0]
    assert r.val_auc is None and r.val_background_efficiency is None
    assert r.history["val_loss"][-1] < 0.2 * r.history["val_loss"][0]


@pytest.mark.parametrize("options, field", [
    (dict(lr=-1.0), "lr"), (dict(lr=[1e-3, 1e-3]), "lr"), (dict(epochs=0), "epochs"),
    (dict(restarts=4), "restarts"), (dict(loss="hinge"), "loss"), (dict(seeds=(-1,)), "seeds"),
    (dict(class_weight="weird"), "class_weight"), (dict(max_waste=0.5), "max_waste"),
    (dict(parallel=0), "parallel"), (dict(parallel=1.5), "parallel"),
])
def test_bad_options_raise_train_error(data, options, field):
    with pytest.raises(nets.TrainError, match=field):
        nets.train_many([SMALL], data, **dict(dict(epochs=4, batch_size=64), **options))


def test_bad_data_raises_train_error(data):
    with pytest.raises(nets.TrainError, match="x_val"):
        nets.train_many([SMALL], object())
    with pytest.raises(nets.TrainError, match="y_train"):
        nets.Data(data.x_train, data.y_train[:-1], data.x_val, data.y_val)
    with pytest.raises(nets.TrainError, match="y_train"):
        nets.train_many([SMALL], nets.Data(data.x_train, data.y_train * 3, data.x_val,
                                           data.y_val))
    with pytest.raises(nets.TrainError, match="topologies"):
        nets.train_many([(4, 4)], data)


def test_duck_typed_data_with_event_weights(data, mixed):
    """Any object with the split attributes works; event weights change the training."""
    from types import SimpleNamespace
    w = np.where(data.y_train > 0, 3.0, 1.0).astype(np.float32)
    duck = SimpleNamespace(x_train=data.x_train, y_train=data.y_train, x_val=data.x_val,
                           y_val=data.y_val, w_train=w)
    before = sum(trainer.TRACE_COUNTS.values())
    weighted = nets.train_many(MIXED, duck, seeds=(0, 1), **OPTIONS)
    assert sum(trainer.TRACE_COUNTS.values()) == before  # weights are data, not shape
    assert not np.allclose(weighted[0].history["loss"], mixed[0][0].history["loss"])
    # class_weight {0: 1, 1: 3} is the same thing as those event weights
    by_class = nets.train_many(MIXED, data, seeds=(0, 1), class_weight={0: 1.0, 1: 3.0},
                               **OPTIONS)
    for a, b in zip(weighted, by_class):
        np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-6)


def test_balanced_class_weights():
    y = np.array([0, 0, 0, 1], np.float32)
    np.testing.assert_allclose(trainer._class_weights("balanced", y, None, "bce"),
                               [4 / 6, 4 / 2])
    w = np.array([1, 1, 1, 3], np.float32)
    np.testing.assert_allclose(trainer._class_weights("balanced", y, w, "bce"), [1.0, 1.0])
