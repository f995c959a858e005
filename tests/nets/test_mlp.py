"""The padded MLP computes exactly what the unpadded one does."""

import jax
import numpy as np
import pytest

import nets
from nets.mlp import apply_padded, carried_widths, pad_params, unpad_params

N_INPUTS = 5


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).normal(size=(20, N_INPUTS)).astype(np.float32)


def _random_params(topology, seed):
    """Non-zero biases too, so that masking is really exercised."""
    params = nets.init_params(topology, N_INPUTS, seed)
    rng = np.random.default_rng(seed + 100)
    for layer in params.values():
        layer["bias"] = rng.normal(size=layer["bias"].shape).astype(np.float32)
    return params


@pytest.mark.parametrize("hidden, activation", [
    ((7, 3), "relu"), ((7, 0, 3), "sigmoid"), ((4,), "tanh"), ((), "relu"), ((0, 0), "elu")])
def test_padded_forward_equals_unpadded(x, hidden, activation):
    topology = nets.Topology(hidden, activation)
    params = _random_params(topology, 3)
    widths = (16, 8, 8)
    layers, padding = pad_params(params, topology, N_INPUTS, widths)
    padded = apply_padded(layers, padding, x, activation)
    np.testing.assert_allclose(padded, nets.apply(topology, params, x), rtol=1e-5, atol=1e-6)


def test_absent_layers_are_identity(x):
    """(7, 0, 3) in a 3-layer bucket: the third padded layer passes its input through."""
    topology = nets.Topology((7, 0, 3))
    params = _random_params(topology, 0)
    layers, padding = pad_params(params, topology, N_INPUTS, (8, 8, 8))
    assert padding.present.tolist() == [1.0, 1.0, 0.0]
    # a garbage kernel in the identity layer must not matter
    layers[2] = (np.full_like(layers[2][0], 7.0), np.full_like(layers[2][1], 7.0))
    out = apply_padded(layers, padding, x, "relu")
    np.testing.assert_allclose(out, nets.apply(topology, params, x), rtol=1e-5, atol=1e-6)


def test_pad_unpad_round_trip_and_zero_padding():
    topology = nets.Topology((7, 0, 3))
    params = _random_params(topology, 2)
    layers, padding = pad_params(params, topology, N_INPUTS, (8, 8, 16))
    back = unpad_params(layers, topology, N_INPUTS)
    assert jax.tree.structure(back) == jax.tree.structure(params)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)
    kernel0 = layers[0][0]
    assert np.all(kernel0[:, 7:] == 0)
    assert np.all(layers[2][0] == 0)  # identity layer
    assert np.all(layers[3][0][3:] == 0)  # output kernel beyond carried width 3
    assert carried_widths(topology, N_INPUTS, 3) == (7, 3, 3)
    assert padding.masks[2].tolist() == [1.0] * 3 + [0.0] * 13


def test_init_is_independent_of_padding_and_at_true_fans():
    topology = nets.Topology((50, 10))
    a = nets.init_params(topology, N_INPUTS, 9)
    b = nets.init_params(topology, N_INPUTS, 9)
    np.testing.assert_array_equal(a["Dense_1"]["kernel"], b["Dense_1"]["kernel"])
    limit = np.sqrt(6 / (50 + 10))
    k = a["Dense_1"]["kernel"]
    assert k.shape == (50, 10) and np.abs(k).max() <= limit and np.abs(k).max() > 0.8 * limit


def test_flax_module_agrees(x):
    topology = nets.Topology((6, 0, 4), "tanh")
    params = _random_params(topology, 4)
    out = nets.MLP(topology).apply({"params": params}, x)
    np.testing.assert_allclose(out, nets.apply(topology, params, x), rtol=1e-5, atol=1e-6)


def test_hand_written_backward_matches_autodiff(x):
    """The padded network's gradient (custom dense backward) equals JAX's autodiff of the
    unpadded network, and is exactly zero on every padded weight."""
    topology = nets.Topology((7, 0, 3), "tanh")
    params = _random_params(topology, 5)
    layers, padding = pad_params(params, topology, N_INPUTS, (8, 8, 8))
    y = np.sin(x[:, 0])

    def padded_loss(layers):
        return jax.numpy.mean((apply_padded(layers, padding, x, "tanh") - y) ** 2)

    def plain_loss(params):
        return jax.numpy.mean((nets.apply(topology, params, x) - y) ** 2)

    padded_grads = jax.grad(padded_loss)([(jax.numpy.asarray(k), jax.numpy.asarray(b))
                                          for k, b in layers])
    plain_grads = jax.grad(plain_loss)(params)
    cut = unpad_params([tuple(map(np.asarray, g)) for g in padded_grads], topology, N_INPUTS)
    for a, b in zip(jax.tree.leaves(cut), jax.tree.leaves(plain_grads)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    kernel0 = np.asarray(padded_grads[0][0])
    assert np.all(kernel0[:, 7:] == 0) and np.all(np.asarray(padded_grads[2][0]) == 0)
    assert np.all(np.asarray(padded_grads[3][0])[3:] == 0)
