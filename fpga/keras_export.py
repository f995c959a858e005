"""Flax (nets) parameters -> a stock Keras 3 ``Sequential`` that hls4ml can parse.

hls4ml dispatches on exact Keras layer classes, so the model holds only ``Dense`` layers
(named ``Dense_<i>`` like the parameters) and ``Activation`` layers (``Activation_<i>``); the
output layer is linear and gives the logit, as `nets.apply` does. Flax and Keras both store a
dense kernel as (fan_in, fan_out), so weights copy over unchanged.
"""

from __future__ import annotations

import os

import numpy as np

from fpga.errors import ExportError

SUPPORTED_ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "linear")
"""Activations that both nets and hls4ml's Keras 3 parser implement."""


def check_params(topology, params, n_inputs: int | None = None) -> int:
    """Checks that ``params`` fit ``topology`` and returns the number of inputs.

    Args:
        topology: a `nets.Topology` (``.layers``, ``.activation``).
        params: ``{"Dense_<i>": {"kernel": (fan_in, fan_out), "bias": (fan_out,)}}``.
        n_inputs: expected inputs; None takes them from ``Dense_0``'s kernel.

    Raises:
        ExportError: naming the layer: unsupported activation, zero-width, missing or extra
            layer, wrong shape, non-finite weights.
    """
    activation = getattr(topology, "activation", None)
    if activation not in SUPPORTED_ACTIVATIONS:
        raise ExportError(f"activation {activation!r} of the hidden layers is not supported by "
                          f"the hls4ml export; use one of {SUPPORTED_ACTIVATIONS}")
    widths = tuple(int(w) for w in topology.layers)  # widths of 0 mean "no layer" in nets
    if not isinstance(params, dict):
        raise ExportError(f"params must be a dict of layers, got {type(params).__name__}")
    expected = [f"Dense_{i}" for i in range(len(widths) + 1)]
    extra = sorted(set(params) - set(expected))
    if extra:
        raise ExportError(f"params layer {extra[0]} is not in topology hidden={widths} "
                          f"(expected {expected})")
    first = params.get("Dense_0", {}).get("kernel") if isinstance(params.get("Dense_0"), dict) \
        else None
    if n_inputs is None:
        if first is None or np.ndim(first) != 2:
            raise ExportError("layer Dense_0 has no 2-D 'kernel'; cannot tell the number of inputs")
        n_inputs = int(np.shape(first)[0])
    fans = (int(n_inputs), *map(int, widths), 1)
    for i, name in enumerate(expected):
        layer = params.get(name)
        if not isinstance(layer, dict) or "kernel" not in layer or "bias" not in layer:
            raise ExportError(f"layer {name} is missing from params or lacks 'kernel'/'bias'")
        for field, shape in (("kernel", (fans[i], fans[i + 1])), ("bias", (fans[i + 1],))):
            value = np.asarray(layer[field])
            if 0 in value.shape:
                raise ExportError(f"layer {name}.{field} has zero width (shape {value.shape}); "
                                  "a layer needs at least one unit, or leave it out")
            if value.shape != shape:
                raise ExportError(f"layer {name}.{field} has shape {value.shape}, expected {shape} "
                                  f"for topology hidden={widths} with {n_inputs} inputs")
            if not np.all(np.isfinite(value)):
                raise ExportError(f"layer {name}.{field} holds NaN or inf; retrain or reload it")
    return int(n_inputs)


def to_keras(topology, params, n_inputs: int | None = None):
    """Builds a Keras 3 ``Sequential`` that computes the same logits as `nets.apply`.

    Runs on whichever Keras backend is active; JAX by default (``KERAS_BACKEND`` is set to
    ``"jax"`` unless the user chose another before Keras was first imported). TensorFlow is
    not needed.

    Args:
        topology: a `nets.Topology` (widths of 0 are absent layers, as in nets).
        params: unpadded nets parameters, ``{"Dense_<i>": {"kernel", "bias"}}``.
        n_inputs: number of input features; None reads it from ``Dense_0``.

    Returns:
        ``keras.Sequential`` with an ``Input((n_inputs,))``, then ``Dense_<i>`` +
        ``Activation_<i>`` per hidden layer and a linear ``Dense_<depth>`` of width 1; its
        ``predict(x)`` has shape (n, 1).

    Raises:
        ExportError: see `check_params`.
    """
    n_inputs = check_params(topology, params, n_inputs)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    widths = tuple(int(w) for w in topology.layers)
    layers = [keras.Input((n_inputs,), name="features")]
    for i, width in enumerate(widths):
        layers.append(keras.layers.Dense(width, name=f"Dense_{i}"))
        layers.append(keras.layers.Activation(topology.activation, name=f"Activation_{i}"))
    layers.append(keras.layers.Dense(1, name=f"Dense_{len(widths)}"))
    model = keras.Sequential(layers, name="ntbo_mlp")
    for i in range(len(widths) + 1):
        layer = params[f"Dense_{i}"]
        model.get_layer(f"Dense_{i}").set_weights(
            [np.asarray(layer["kernel"], np.float32), np.asarray(layer["bias"], np.float32)])
    return model
