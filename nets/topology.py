"""`Topology`: the shape of a fully connected network, independent of its parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

from nets.errors import TrainError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "linear")


@dataclasses.dataclass(frozen=True)
class Topology:
    """Hidden-layer widths and activation of a multi-layer perceptron with one output.

    A width of 0 means "no layer": ``Topology((32, 0, 16))`` is the same network as
    ``Topology((32, 16))``. This lets a search space with a fixed number of width dimensions
    also choose the depth.

    Args:
        hidden: widths of the hidden layers, input side first; each an int >= 0.
        activation: one of ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"elu"``, ``"linear"``
            (all supported by hls4ml).
    """

    hidden: tuple[int, ...] = (750, 1000, 750)
    activation: str = "relu"

    def __post_init__(self):
        try:
            hidden = tuple(int(w) for w in self.hidden)
        except (TypeError, ValueError):
            raise TrainError(
                f"Topology.hidden={self.hidden!r} is not a sequence of integers; "
                "pass widths like (64, 32)") from None
        if any(w < 0 or w != float(v) for w, v in zip(hidden, self.hidden)):
            raise TrainError(
                f"Topology.hidden={self.hidden!r} has a negative or fractional width; "
                "use whole numbers >= 0 (0 means no layer)")
        if self.activation not in ACTIVATIONS:
            raise TrainError(
                f"Topology.activation={self.activation!r} is unknown; use one of {ACTIVATIONS}")
        object.__setattr__(self, "hidden", hidden)

    @property
    def layers(self) -> tuple[int, ...]:
        """The widths of the layers that exist (zeros dropped)."""
        return tuple(w for w in self.hidden if w > 0)

    @property
    def depth(self) -> int:
        """Number of hidden layers that exist."""
        return len(self.layers)

    def fans(self, n_inputs: int) -> tuple[int, ...]:
        """Widths from input to output: ``(n_inputs, *layers, 1)``."""
        return (int(n_inputs), *self.layers, 1)

    def n_params(self, n_inputs: int) -> int:
        """Number of trainable parameters (kernels and biases) for ``n_inputs`` features."""
        f = self.fans(n_inputs)
        return sum(a * b + b for a, b in zip(f[:-1], f[1:]))

    def macs(self, n_inputs: int) -> int:
        """Multiply-accumulates of one forward pass of one event."""
        f = self.fans(n_inputs)
        return sum(a * b for a, b in zip(f[:-1], f[1:]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; inverse of `from_dict`."""
        return {"hidden": list(self.hidden), "activation": self.activation}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Topology":
        """Builds a topology from `to_dict` output."""
        if not isinstance(d, dict) or "hidden" not in d:
            raise TrainError(f"topology {d!r} has no 'hidden' field; expected "
                             "{'hidden': [...], 'activation': 'relu'}")
        return cls(hidden=tuple(d["hidden"]), activation=d.get("activation", "relu"))
