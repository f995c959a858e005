"""Flax (nets) parameters -> Keras 3: same predictions, stock layers, errors that name the layer."""

import numpy as np
import pytest

import fpga
import nets

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("activation", nets.ACTIVATIONS)
def test_predictions_equal_flax(activation):
    topo = nets.Topology((12, 0, 7), activation)
    params = nets.init_params(topo, 5, seed=3)
    params["Dense_0"]["bias"] = np.linspace(-1, 1, 12).astype(np.float32)
    x = np.random.default_rng(1).normal(size=(64, 5)).astype(np.float32) * 3
    model = fpga.to_keras(topo, params)
    got = np.asarray(model.predict(x, verbose=0))
    assert got.shape == (64, 1)
    want = np.asarray(nets.apply(topo, params, x))
    np.testing.assert_allclose(got[:, 0], want, atol=1e-5, rtol=0)
    flax = nets.MLP(topo).apply({"params": params}, x)
    np.testing.assert_allclose(got[:, 0], np.asarray(flax), atol=1e-5, rtol=0)


def test_stock_layers_and_names():
    topo = nets.Topology((4, 3), "tanh")
    model = fpga.to_keras(topo, nets.init_params(topo, 2, seed=0))
    assert isinstance(model, keras.Sequential)
    assert [type(l) for l in model.layers] == [keras.layers.Dense, keras.layers.Activation] * 2 \
        + [keras.layers.Dense]
    assert [l.name for l in model.layers] == ["Dense_0", "Activation_0", "Dense_1",
                                              "Activation_1", "Dense_2"]
    assert keras.backend.backend() == "jax"


def test_no_hidden_layer():
    topo = nets.Topology((), "relu")
    params = nets.init_params(topo, 3, seed=0)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(fpga.to_keras(topo, params).predict(x, verbose=0)[:, 0],
                               np.asarray(nets.apply(topo, params, x)), atol=1e-6)


def good():
    topo = nets.Topology((4,), "relu")
    return topo, nets.init_params(topo, 3, seed=0)


def test_wrong_kernel_shape_names_layer():
    topo, params = good()
    params["Dense_1"]["kernel"] = np.zeros((5, 1), np.float32)
    with pytest.raises(fpga.ExportError, match=r"Dense_1\.kernel has shape \(5, 1\)"):
        fpga.to_keras(topo, params)


def test_missing_and_extra_layers():
    topo, params = good()
    del params["Dense_1"]
    with pytest.raises(fpga.ExportError, match="Dense_1"):
        fpga.to_keras(topo, params)
    topo, params = good()
    params["Dense_7"] = params["Dense_1"]
    with pytest.raises(fpga.ExportError, match="Dense_7"):
        fpga.to_keras(topo, params)


def test_zero_width_layer_in_params():
    topo, params = good()
    params["Dense_0"]["kernel"] = np.zeros((3, 0), np.float32)
    with pytest.raises(fpga.ExportError, match="Dense_0.kernel has zero width"):
        fpga.to_keras(topo, params)


def test_non_finite_weights():
    topo, params = good()
    params["Dense_0"]["bias"][2] = np.nan
    with pytest.raises(fpga.ExportError, match="Dense_0.bias holds NaN"):
        fpga.to_keras(topo, params)


def test_unsupported_activation():
    class Swish:
        hidden = layers = (4,)
        activation = "swish"

    with pytest.raises(fpga.ExportError, match="'swish'"):
        fpga.to_keras(Swish(), good()[1])


def test_input_count_mismatch():
    topo, params = good()
    with pytest.raises(fpga.ExportError, match="Dense_0.kernel"):
        fpga.to_keras(topo, params, n_inputs=7)
