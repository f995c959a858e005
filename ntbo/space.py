"""From a `SpaceConfig` to a `bo.Space`, from its points to `nets.Topology`, and the known
constraints (total neurons, DSPs) checked before a topology is trained."""

from __future__ import annotations

import dataclasses

import numpy as np

import bo
import nets

from ntbo.config import ConstraintConfig, SpaceConfig
from ntbo.errors import ConfigError


def build_space(space: SpaceConfig) -> bo.Space:
    """The optimiser's space: ``depth`` (``"depth"`` encoding; ``width_k`` is then active only
    when depth >= k), ``width_1 ..``, and optionally ``activation`` and ``lr``."""
    (d_min, d_max), (w_min, w_max) = space.depth, space.width
    params, conditions = [], {}
    if space.encoding == "depth":
        if d_max > d_min:
            params.append(bo.Integer("depth", d_min, d_max))
            # Widths of absent layers do not vary in the surrogate (nor make new points).
            conditions = {f"width_{i + 1}": ("depth", i + 1) for i in range(d_min, d_max)}
        params += [bo.Integer(f"width_{i + 1}", w_min, w_max, log=space.log and w_max > w_min)
                   for i in range(d_max)]
    else:
        params += [bo.Integer(f"width_{i + 1}", w_min, w_max, log=space.log and w_max > w_min)
                   for i in range(d_min)]
        params += [bo.Integer(f"width_{i + 1}", 0, w_max) for i in range(d_min, d_max)]
    if isinstance(space.activation, tuple) and len(space.activation) > 1:
        params.append(bo.Categorical("activation", space.activation))
    if space.lr is not None and space.lr[1] > space.lr[0]:
        params.append(bo.Real("lr", space.lr[0], space.lr[1], log=True))
    return bo.Space(params, conditions)


def layer_widths(point: dict, space: SpaceConfig) -> tuple[int, ...]:
    """The widths of the hidden layers a point has (zero widths and widths beyond the depth
    dropped), input side first."""
    row = width_columns({k: np.asarray([v]) for k, v in point.items()}, space)[0]
    return tuple(int(w) for w in row if w > 0)


def width_columns(columns: dict, space: SpaceConfig) -> np.ndarray:
    """The layer widths of n points given as columns (`bo.Space.decode_columns`), shape
    (n, max depth), 0 where a layer is absent (beyond the depth, or a width below the minimum
    in the zero-width encoding)."""
    d_min, d_max = space.depth
    widths = np.stack([np.asarray(columns[f"width_{i + 1}"], np.int64) for i in range(d_max)], axis=1)
    if space.encoding == "depth":
        depth = np.asarray(columns.get("depth", np.full(len(widths), d_min)), np.int64)
        present = np.arange(d_max) < depth[:, None]
    else:
        present = widths >= max(space.width[0], 1)
    return np.where(present & (widths > 0), widths, 0)


def topology_of(point: dict, space: SpaceConfig) -> nets.Topology:
    """The network a point describes (see `layer_widths`)."""
    return nets.Topology(layer_widths(point, space), point.get("activation", default_activation(space)))


def default_activation(space: SpaceConfig) -> str:
    """The activation of points without an ``activation`` parameter."""
    return space.activation[0] if isinstance(space.activation, tuple) else space.activation


def lr_of(point: dict, space: SpaceConfig, default: float) -> float:
    """The learning rate a point trains with."""
    if space.lr is None:
        return float(default)
    return float(point.get("lr", space.lr[0]))


@dataclasses.dataclass(frozen=True)
class Check:
    """Known properties of a topology and whether it satisfies the constraints.

    Attributes:
        feasible: True when every constraint holds.
        reason: why not, or "".
        resources: ``{"neurons", "params", and with fpga: "dsp", "lut", "ff", "bram18",
            "latency_ns"}``.
    """

    feasible: bool
    reason: str
    resources: dict


def _fpga():
    try:
        import fpga
    except ImportError:
        return None
    return fpga


def check_constraints(topology: nets.Topology, n_inputs: int, constraint: ConstraintConfig) -> Check:
    """Counts neurons and parameters, estimates FPGA resources when the fpga room is present,
    and checks the limits."""
    resources = {"neurons": sum(topology.layers), "params": topology.n_params(n_inputs)}
    fpga = _fpga()
    reasons = []
    if fpga is not None:
        try:
            r = fpga.estimate(topology, n_inputs, precision=constraint.precision,
                              reuse_factor=constraint.reuse_factor, device=constraint.device)
            resources.update(dsp=r.dsp, lut=r.lut, ff=r.ff, bram18=r.bram18,
                             latency_ns=float(r.latency_ns))
        except fpga.ExportError as err:
            if constraint.max_dsp is not None:
                reasons.append(f"no resource estimate: {err}")
    if constraint.max_neurons is not None and resources["neurons"] > constraint.max_neurons:
        reasons.append(f"{resources['neurons']} neurons > max_neurons {constraint.max_neurons}")
    if constraint.max_dsp is not None and resources.get("dsp", 0) > constraint.max_dsp:
        reasons.append(f"{resources['dsp']} DSPs > max_dsp {constraint.max_dsp}")
    return Check(not reasons, "; ".join(reasons), resources)


def require_fpga(constraint: ConstraintConfig) -> None:
    """Raises ConfigError when a DSP limit is set but the fpga room cannot be imported, or
    when the fpga options (precision, reuse factor, device) are invalid."""
    fpga = _fpga()
    if fpga is None:
        if constraint.max_dsp is not None:
            raise ConfigError("constraint.max_dsp needs the fpga room (fpga.estimate), which is "
                              "not importable here; remove max_dsp or use max_neurons")
        return
    try:
        fpga.estimate(nets.Topology((4,)), 4, precision=constraint.precision,
                      reuse_factor=constraint.reuse_factor, device=constraint.device)
    except fpga.ExportError as err:
        raise ConfigError(f"constraint: {err}") from None
