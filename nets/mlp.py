"""The multi-layer perceptron, in two forms that compute the same function.

* Unpadded: a dict ``{"Dense_0": {"kernel": (fan_in, fan_out), "bias": (fan_out,)}, ...,
  "Dense_<depth>": <output layer>}`` of float32 arrays — the parameter format of Flax's
  `nn.Dense` layers in `MLP`, which `fpga` and saved files use.
* Padded: a tuple of ``(kernel, bias)`` layers shared by every model of a shape bucket. Each
  topology is padded to the bucket's width per layer; units beyond a model's width are masked to
  zero, and hidden layers beyond a model's depth are identities. The padded weights start at zero
  and, because masked units and zero inputs give them zero gradient, stay exactly zero under Adam.

The trainer runs the padded network feature-major (`forward_t`: activations (units, events),
kernels (fan_out, fan_in)) through a dense layer with a hand-written backward pass. On CPU, XLA
hands a matrix product to its fast small-matrix library only when the left operand contracts
its minor axis; autodiff of ``x @ kernel`` gives the weight gradient ``x.T @ dz``, which does
not, and ran about four times slower than the forward product. Feature-major, the weight
gradient ``dz @ h.T`` qualifies, and the input gradient uses an explicit (small) transpose of
the kernel.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from nets.topology import Topology

F32 = jnp.float32

_ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "elu": jax.nn.elu,
    "linear": lambda z: z,
}

Params = dict[str, dict[str, np.ndarray]]


def activation_fn(name: str):
    """The elementwise function behind an activation name."""
    return _ACTIVATIONS[name]


def layer_name(i: int) -> str:
    """Name of layer ``i`` in the parameter dict (Flax's default `nn.Dense` naming)."""
    return f"Dense_{i}"


def init_params(topology: Topology, n_inputs: int, seed: int) -> Params:
    """Glorot-uniform kernels at the true fan-in and fan-out, zero biases.

    Drawn with numpy from ``seed`` alone, so a model starts from the same weights whatever
    bucket it is later padded into.

    Args:
        topology: the network.
        n_inputs: number of input features.
        seed: integer seed of the draw.

    Returns:
        Unpadded parameters; kernel ``i`` has shape (fans[i], fans[i+1]).
    """
    rng = np.random.default_rng(seed)
    fans = topology.fans(n_inputs)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(fans[:-1], fans[1:])):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params[layer_name(i)] = {
            "kernel": rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
            "bias": np.zeros(fan_out, np.float32),
        }
    return params


def apply(topology: Topology, params: Params, x) -> jax.Array:
    """Runs an unpadded network.

    Args:
        topology: the network's topology.
        params: unpadded parameters, as `init_params` or `TrainResult.params`.
        x: inputs, shape (n, n_inputs).

    Returns:
        Raw outputs, shape (n,), float32: logits for classification (apply `jax.nn.sigmoid`
        for probabilities), predictions for regression.
    """
    act = activation_fn(topology.activation)
    h = jnp.asarray(x, F32)
    for i in range(topology.depth):
        layer = params[layer_name(i)]
        h = act(h @ jnp.asarray(layer["kernel"], F32) + jnp.asarray(layer["bias"], F32))
    out = params[layer_name(topology.depth)]
    return (h @ jnp.asarray(out["kernel"], F32) + jnp.asarray(out["bias"], F32))[:, 0]


class MLP(nn.Module):
    """The same network as a Flax module; its ``params`` collection has the unpadded format.

    ``MLP(topology).apply({"params": result.params}, x)`` equals ``apply(topology, params, x)``.
    """

    topology: Topology

    @nn.compact
    def __call__(self, x):
        act = activation_fn(self.topology.activation)
        h = jnp.asarray(x, F32)
        for width in self.topology.layers:
            h = act(nn.Dense(width, param_dtype=F32, dtype=F32)(h))
        return nn.Dense(1, param_dtype=F32, dtype=F32)(h)[:, 0]


class Padding(NamedTuple):
    """How one model sits inside a bucket of padded shape.

    Attributes:
        masks: per hidden layer, shape (padded width,), 1.0 for the model's real units.
        present: shape (n_hidden_padded,), 1.0 where the model has a real layer, 0.0 where the
            padded layer is an identity.
    """

    masks: tuple[np.ndarray, ...]
    present: np.ndarray


def carried_widths(topology: Topology, n_inputs: int, n_hidden: int) -> tuple[int, ...]:
    """Widths of the signal a model carries through ``n_hidden`` padded hidden layers.

    Real layers carry their width; identity layers (beyond the model's depth) carry the last
    real width onward (``n_inputs`` for a model with no hidden layer).
    """
    widths = list(topology.layers)
    last = widths[-1] if widths else int(n_inputs)
    return tuple(widths + [last] * (n_hidden - len(widths)))


def pad_params(params: Params, topology: Topology, n_inputs: int,
               widths: Sequence[int]) -> tuple[list[tuple[np.ndarray, np.ndarray]], Padding]:
    """Zero-pads one model's parameters to a bucket's hidden ``widths``.

    Args:
        params: unpadded parameters.
        topology: their topology; ``topology.depth <= len(widths)``.
        n_inputs: number of input features.
        widths: the bucket's padded hidden widths, each >= the model's carried width there.

    Returns:
        ``(layers, padding)``: ``layers[i] = (kernel, bias)`` with kernel shape
        (padded fan-in, padded fan-out) for the ``len(widths)`` hidden layers and the output layer.
    """
    padded_fans = (int(n_inputs), *widths, 1)
    carried = carried_widths(topology, n_inputs, len(widths))
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(padded_fans[:-1], padded_fans[1:])):
        kernel = np.zeros((fan_in, fan_out), np.float32)
        bias = np.zeros(fan_out, np.float32)
        real = (i < topology.depth) or (i == len(widths))
        if real:
            source = params[layer_name(min(i, topology.depth))]
            k, b = source["kernel"], source["bias"]
            kernel[:k.shape[0], :k.shape[1]] = k
            bias[:b.shape[0]] = b
        layers.append((kernel, bias))
    masks = tuple((np.arange(p) < c).astype(np.float32) for p, c in zip(widths, carried))
    present = (np.arange(len(widths)) < topology.depth).astype(np.float32)
    return layers, Padding(masks, present)


def unpad_params(layers: Sequence[tuple[np.ndarray, np.ndarray]], topology: Topology,
                 n_inputs: int) -> Params:
    """Inverse of `pad_params`: cuts one model's real weights out of its padded layers."""
    fans = topology.fans(n_inputs)
    params = {}
    for i in range(topology.depth + 1):
        kernel, bias = layers[i if i < topology.depth else len(layers) - 1]
        params[layer_name(i)] = {"kernel": np.array(kernel[:fans[i], :fans[i + 1]], np.float32),
                                 "bias": np.array(bias[:fans[i + 1]], np.float32)}
    return params


@jax.custom_vjp
def _dense_t(kernel_t: jax.Array, h: jax.Array) -> jax.Array:
    """``kernel_t @ h``: kernel (fan_out, fan_in), activations (fan_in, n) -> (fan_out, n)."""
    return kernel_t @ h


def _dense_t_forward(kernel_t, h):
    return kernel_t @ h, (kernel_t, h)


def _dense_t_backward(saved, grad):
    kernel_t, h = saved
    grad_kernel = jnp.einsum("on,in->oi", grad, h)
    # the barrier keeps XLA from folding the transpose back into a slow contraction
    grad_h = jax.lax.optimization_barrier(kernel_t.T) @ grad
    return grad_kernel, grad_h


_dense_t.defvjp(_dense_t_forward, _dense_t_backward)


def _resize_rows(h: jax.Array, width: int) -> jax.Array:
    """Cuts or zero-extends the first axis of ``h`` (units, n) to ``width`` (static)."""
    have = h.shape[0]
    if have >= width:
        return h[:width]
    return jnp.pad(h, [(0, width - have), (0, 0)])


def forward_t(layers_t, padding: Padding, x_t: jax.Array, activation: str) -> jax.Array:
    """Runs one padded model feature-major (vmap it over a bucket).

    Args:
        layers_t: padded ``(kernel_t, bias)`` pairs, hidden layers then output layer, each
            kernel transposed: shape (padded fan-out, padded fan-in).
        padding: the model's masks and present-layer flags.
        x_t: inputs, shape (n_inputs, n).
        activation: activation name, shared by the bucket.

    Returns:
        Raw outputs, shape (n,).
    """
    act = activation_fn(activation)
    h = x_t
    for (kernel_t, bias), mask, present in zip(layers_t[:-1], padding.masks, padding.present):
        dense = act(_dense_t(kernel_t, h) + bias[:, None]) * mask[:, None]
        h = jnp.where(present > 0, dense, _resize_rows(h, kernel_t.shape[0]))
    kernel_t, bias = layers_t[-1]
    return _dense_t(kernel_t, h)[0] + bias[0]


def apply_padded(layers, padding: Padding, x: jax.Array, activation: str) -> jax.Array:
    """Runs one padded model (vmap it over a bucket).

    Args:
        layers: padded ``(kernel, bias)`` pairs, hidden layers then output layer.
        padding: the model's masks and present-layer flags.
        x: inputs, shape (n, n_inputs).
        activation: activation name, shared by the bucket.

    Returns:
        Raw outputs, shape (n,).
    """
    layers_t = [(jnp.asarray(kernel).T, bias) for kernel, bias in layers]
    return forward_t(layers_t, padding, jnp.asarray(x).T, activation)
