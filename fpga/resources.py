"""`estimate`: analytic resources and latency of an hls4ml ``io_parallel`` MLP, fast to call.

`estimate` walks the network layer by layer, as hls4ml lays it out (``Dense``, ``Activation``,
..., output ``Dense``), and counts:

* **Multipliers**: hls4ml's ``multiplier_limit = ceil(n_in * n_out / R)`` (Vivado/Vitis dense
  templates, ``hls4ml/backends/vivado/passes/core_templates.py``); with the Resource strategy the
  reuse factor is first moved to the closest valid one, as hls4ml's
  ``FPGABackend.set_closest_reuse_factor`` does.
* **DSP vs LUT multipliers**: hls4ml's own estimator (``VivadoDSPEstimator`` in
  ``hls4ml/optimization/dsp_aware_pruning/objectives/vivado_objectives.py``) gives a multiplier a
  DSP when the weight has >= 9 bits and none below; a DSP48E2 multiplies 27 x 18 bits (Xilinx
  UG579), so wider products take ``ceil(a/27) * ceil(b/18)`` slices. With constant weights
  (Latency strategy, R = 1) synthesis turns a few trivial constants (0, powers of two) into
  shifts: `DSP_FRACTION` of the wide multipliers land on DSPs (calibrated, below). Multipliers
  in LUTs cost `LUT_PER_BIT2_CONSTANT` LUTs per bit^2 for constant weights and
  `LUT_PER_BIT2_GENERIC` when weights change from cycle to cycle (R > 1).
* **Adders**: one accumulation per product, ``multipliers`` adders of the accumulator width
  (hls4ml 1.3's inferred ``accum_t`` = b_a + b_w + ceil(log2 n_in) + 1, or the width given),
  one LUT per bit on the UltraScale+ carry chain (Xilinx UG574).
* **Activations**: ReLU is a per-bit gate; sigmoid, tanh and ELU read a 1024 x 18 table
  (hls4ml's default ``TableSize``/``table_t``), one BRAM18 per two neurons (two ports); their
  LUT costs and pipeline depths are calibrated.
* **BRAM for weights** (Resource strategy, R > 1): ``ceil(n_in * n_out * b_w / (R * 36))``
  blocks as in hls4ml's ``VivadoMultiObjectiveEstimator``, times ``ceil(R / 512)`` for depth.
* **Latency**: a combinational delay per layer (multiplier + adder-tree levels + activation)
  accumulated along the network and cut into clock periods less Vitis HLS's default 12.5 %
  clock uncertainty; tables add their read cycles; each layer adds ``R - 1`` cycles.
  ``latency_ns = cycles * clock_period`` (the HLS report's convention); the initiation interval
  is the largest reuse factor.
* **FF**: pipeline registers, `FF_PER_PIPELINE_BIT` of a layer's output bits per pipeline stage
  of its datapath, plus accumulator registers when R > 1. (hls4ml's own rough FF formula,
  n_in * n_out * b_w + n_out * b_out, gives 2,048 where synthesis reports 18.)

Calibration (Vitis 2023.1 C synthesis in hls4ml's CI baselines,
``test/pytest/baselines/Vitis/2023.1/test_keras_api_test_activations_io_parallel-Vitis-*.json``:
Dense(1 -> 64) with lecun-uniform weights + activation, ``fixed<16,6>`` everywhere — hls4ml's
``granularity="model"`` config, so 16-bit accumulators — R = 1, xcvu13p, 5 ns):

==========  =========  ================  ==============  ========  ======
activation  DSP        LUT               FF              BRAM18    cycles
==========  =========  ================  ==============  ========  ======
relu        62 vs 61   2,842 vs 2,840    0 vs 18         0 vs 0    0 vs 0
sigmoid     62 vs 62   11,002 vs 11,005  2,295 vs 1,689  32 vs 32  3 vs 3
elu         62 vs 63   4,819 vs 4,821    1,530 vs 2,135  32 vs 32  2 vs 2
==========  =========  ================  ==============  ========  ======

(estimate vs synthesis; `calibration.calibration_table` recomputes it.)
`DSP_FRACTION` = 62/64 is the mean of the three syntheses (three independent weight draws of the
same layer): DSP error -1.6 % to +1.6 %. The activation LUT costs are fitted to the three points
(so LUT error there is ~0 by construction) and `FF_PER_PIPELINE_BIT` to sigmoid and ELU (FF
error -28 % to +36 %). Held out, the CI's Dense(1 -> 2) + ELU with weights in [1, 10]
(``test_keras_api_test_dense_io_parallel-Vitis.json``: 2 DSP, 190 LUT, 89 FF, 1 BRAM18,
2 cycles) is estimated at 2 DSP, 143 LUT (-25 %), 48 FF (-46 %), 1 BRAM18, 2 cycles. The
multiplier, DSP-versus-LUT and BRAM rules are hls4ml's own and exact in count; adder trees
(n_in > 1), narrow precisions, R > 1 and the Resource strategy are modelled from first
principles and not yet checked against synthesis, so their error is unknown: trust the
multiplier and DSP counts, and treat LUT, FF and latency there as guides to be checked with
`calibration.compare` once a vendor report exists (for scale: rule4ml, arXiv:2408.05314, a
learned estimator, reports 10-30 % sMAPE).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any

from fpga.devices import Device, get_device
from fpga.errors import ExportError
from fpga.precision import Precision, parse_precision

# -- hls4ml / Xilinx rules -------------------------------------------------------------------
DSP_MIN_WEIGHT_BITS = 9
"""A multiplier whose weight has fewer bits goes to LUTs (hls4ml's ``VivadoDSPEstimator``)."""
DSP_PORTS = (27, 18)
"""Operand widths of one DSP48E2 multiplier (Xilinx UG579)."""
TABLE_BRAM18_PER_NEURON = 0.5
"""A 1024 x 18 activation table fills one BRAM18, whose two ports serve two neurons."""
CLOCK_UNCERTAINTY = 0.125
"""Vitis HLS's default clock uncertainty: the scheduler fills 87.5 % of each period."""
BRAM_WIDTH_BITS = 36
BRAM_DEPTH = 512

# -- calibrated or derived constants (see the module docstring) ---------------------------
DSP_FRACTION = 62 / 64
"""Share of wide constant-weight multipliers that synthesis puts on DSPs (mean of 61, 62, 63)."""
LUT_PER_ADDER_BIT = 1.0
"""One LUT6 per sum bit on the CARRY8 chain (Xilinx UG574)."""
LUT_PER_BIT2_CONSTANT = 0.5
"""LUTs per b_a * b_w of a constant-coefficient multiplier: shift-and-add over the ~b_w/3
non-zero canonical-signed-digits of the weight (derived; not yet checked by synthesis)."""
LUT_PER_BIT2_GENERIC = 1.2
"""LUTs per b_a * b_w of a general LUT multiplier: 365-411 LUTs for 18 x 18 (hls4ml issue 99)."""
ACTIVATION_LUT_PER_NEURON = {"relu": 24.4, "sigmoid": 151.9, "tanh": 151.9, "elu": 55.3,
                             "linear": 0.0}
"""LUTs per neuron at 16 bits, fitted: (LUT - Dense part 1,280) / 64 for each calibration point;
tanh shares sigmoid's table implementation. Scaled by the activation's bit width / 16."""
TABLE_CYCLES = {"sigmoid": 3, "tanh": 3, "elu": 2}
"""Pipeline cycles of a table activation (calibration points: sigmoid 3, ELU 2)."""
T_MULT_NS = 1.9
T_ADD_NS = 0.88
T_ACTIVATION_NS = {"relu": 0.25, "linear": 0.0}
"""Combinational delays: DSP multiply, one adder-tree level (a Vitis HLS 32-bit add), ReLU.
Their sum, 3.03 ns, is the 3.018 ns that synthesis estimated for Dense(1 -> 64) + ReLU."""
FF_PER_PIPELINE_BIT = 0.747
"""Flip-flops per output bit per pipeline cycle, fitted to sigmoid (1,689) and ELU (2,135)."""
RESOURCE_EXTRA_CYCLES = 2
"""Cycles a Resource-strategy Dense layer adds over Latency at the same R (unverified)."""

STRATEGIES = ("latency", "resource", "resource_unrolled")


@dataclasses.dataclass(frozen=True)
class LayerResources:
    """One hls4ml layer's share of the estimate.

    Attributes:
        name: ``"Dense_<i>"`` or ``"Activation_<i>"``, the names `to_keras` gives the layers.
        kind: ``"dense"`` or the activation name.
        n_in: inputs (for an activation, its width).
        n_out: outputs.
        reuse_factor: the reuse factor used (after hls4ml's correction for Resource).
        precision: weight/input precision of the layer.
        multipliers: hls4ml's ``multiplier_limit`` (0 for activations).
        dsp: DSP slices.
        lut: LUTs.
        ff: flip-flops.
        bram18: 18 Kb block RAMs.
        latency_cycles: clock cycles the layer adds to the network's latency.
    """

    name: str
    kind: str
    n_in: int
    n_out: int
    reuse_factor: int
    precision: str
    multipliers: int
    dsp: int
    lut: int
    ff: int
    bram18: int
    latency_cycles: int


@dataclasses.dataclass(frozen=True)
class Resources:
    """Estimated resources and latency of a network on a device.

    Attributes:
        layers: per-layer estimates, input side first.
        device: the part.
        clock_period: ns.
        strategy: hls4ml strategy.
        multipliers, dsp, lut, ff, bram18, latency_cycles: totals over ``layers``.
        latency_ns: ``latency_cycles * clock_period``.
        interval: initiation interval in cycles (the largest reuse factor).
    """

    layers: tuple[LayerResources, ...]
    device: Device
    clock_period: float
    strategy: str
    multipliers: int
    dsp: int
    lut: int
    ff: int
    bram18: int
    latency_cycles: int
    latency_ns: float
    interval: int

    @property
    def bram(self) -> int:
        """Alias of ``bram18``."""
        return self.bram18

    @property
    def fractions(self) -> dict[str, float]:
        """Share of the device used: ``{"dsp", "lut", "ff", "bram18"}`` -> fraction in [0, inf)."""
        d = self.device
        return {"dsp": self.dsp / d.dsp, "lut": self.lut / d.lut, "ff": self.ff / d.ff,
                "bram18": self.bram18 / d.bram18}

    @property
    def max_fraction(self) -> float:
        """The largest of `fractions`: the resource that binds first."""
        return max(self.fractions.values())

    def fits(self, fraction: float = 1.0, latency_ns: float | None = None) -> bool:
        """True if every resource stays within ``fraction`` of the device (and the latency limit).

        Args:
            fraction: budget per resource as a share of the device, e.g. 0.1.
            latency_ns: optional latency limit in ns.
        """
        ok = self.max_fraction <= fraction
        return ok and (latency_ns is None or self.latency_ns <= latency_ns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready totals, fractions and per-layer rows."""
        totals = {k: getattr(self, k) for k in ("multipliers", "dsp", "lut", "ff", "bram18",
                                                "latency_cycles", "latency_ns", "interval")}
        return {**totals, "device": self.device.name, "clock_period": self.clock_period,
                "strategy": self.strategy, "fractions": self.fractions,
                "layers": [dataclasses.asdict(layer) for layer in self.layers]}

    def table(self) -> str:
        """A plain-text per-layer table with a total row."""
        head = f"{'layer':<14}{'mult':>8}{'DSP':>8}{'LUT':>10}{'FF':>10}{'BRAM18':>8}{'cycles':>8}"
        rows = [head] + [f"{r.name:<14}{r.multipliers:>8}{r.dsp:>8}{r.lut:>10}{r.ff:>10}"
                         f"{r.bram18:>8}{r.latency_cycles:>8}" for r in self.layers]
        rows.append(f"{'total':<14}{self.multipliers:>8}{self.dsp:>8}{self.lut:>10}{self.ff:>10}"
                    f"{self.bram18:>8}{self.latency_cycles:>8}")
        f = self.fractions
        rows.append(f"{self.device.name}: DSP {f['dsp']:.2%}, LUT {f['lut']:.2%}, "
                    f"FF {f['ff']:.2%}, BRAM18 {f['bram18']:.2%}; "
                    f"latency {self.latency_ns:g} ns, II {self.interval}")
        return "\n".join(rows)


# -- small pure rules ----------------------------------------------------------------------

def multiplier_limit(n_in: int, n_out: int, reuse_factor: int) -> int:
    """hls4ml's ``multiplier_limit``: multipliers a dense layer instantiates, ceil(n_in*n_out/R)."""
    return -(-n_in * n_out // reuse_factor)


def dsp_per_multiplier(input_bits: int, weight_bits: int) -> int:
    """DSP48E2 slices per multiplier; 0 when the weight is narrower than 9 bits (goes to LUTs)."""
    if weight_bits < DSP_MIN_WEIGHT_BITS:
        return 0
    wide, narrow = max(input_bits, weight_bits), min(input_bits, weight_bits)
    return math.ceil(wide / DSP_PORTS[0]) * math.ceil(narrow / DSP_PORTS[1])


def accumulator_bits(input_bits: int, weight_bits: int, n_in: int) -> int:
    """hls4ml 1.3's inferred ``accum_t`` width for a dense layer with bias."""
    return input_bits + weight_bits + math.ceil(math.log2(n_in)) + 1 if n_in > 1 else \
        input_bits + weight_bits + 1


def _is_valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml's ``FPGABackend._validate_reuse_factor`` conditions."""
    mult = math.ceil(n_in * n_out / min(n_in, rf))
    return (((mult % n_out) == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in)
            and (n_in * n_out) % rf == 0)


@functools.lru_cache(maxsize=4096)
def valid_reuse_factors(n_in: int, n_out: int) -> tuple[int, ...]:
    """Reuse factors hls4ml accepts for a Resource-strategy dense layer (divisors of n_in*n_out)."""
    total = n_in * n_out
    divisors = set()
    for d in range(1, math.isqrt(total) + 1):
        if total % d == 0:
            divisors.update((d, total // d))
    return tuple(sorted(rf for rf in divisors if _is_valid_reuse_factor(n_in, n_out, rf)))


def closest_reuse_factor(n_in: int, n_out: int, reuse_factor: int) -> int:
    """The valid reuse factor hls4ml switches to (the nearest; the smaller one on a tie)."""
    valid = valid_reuse_factors(n_in, n_out)
    return min(valid, key=lambda rf: (abs(rf - reuse_factor), rf))


# -- the model -----------------------------------------------------------------------------

def _per_layer(value, n_layers: int, name: str) -> list:
    """Broadcasts one value, or checks a sequence has one entry per Dense layer."""
    if isinstance(value, (str, numbers.Integral, Precision)) and not isinstance(value, bool):
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ExportError(f"{name} has {len(values)} entries but the network has {n_layers} "
                          "Dense layers (hidden + output); give one value or one per layer")
    return values


def _check_reuse(rf, layer: str) -> int:
    if isinstance(rf, bool) or not isinstance(rf, numbers.Integral) or rf < 1:
        raise ExportError(f"reuse_factor={rf!r} for {layer} must be an integer >= 1")
    return int(rf)


def _dense(name, n_in, n_out, rf, p: Precision, acc_bits, strategy, period_eff, path_ns):
    """One Dense layer; returns (LayerResources, combinational path after it in ns)."""
    rf = min(rf, n_in * n_out)
    if strategy != "latency":
        rf = closest_reuse_factor(n_in, n_out, rf)
    b = p.width
    mults = multiplier_limit(n_in, n_out, rf)
    constant = strategy == "latency" and rf == 1
    per_dsp = dsp_per_multiplier(b, b)
    dsp_mults = (round(DSP_FRACTION * mults) if constant else mults) if per_dsp else 0
    lut_per_mult = (LUT_PER_BIT2_CONSTANT if constant else LUT_PER_BIT2_GENERIC) * b * b
    lut = (mults - dsp_mults) * lut_per_mult + mults * acc_bits * LUT_PER_ADDER_BIT
    bram = ff_acc = 0
    if rf > 1:
        lut += mults * b * (rf - 1) / 3  # an R:1 input multiplexer per multiplier (4:1 per LUT6)
        ff_acc = min(mults, n_out) * acc_bits  # running sums held between cycles
        if strategy == "latency":
            lut += mults * b * math.ceil(rf / 64)  # weights as LUT ROMs (64 x 1 bit per LUT6)
        else:
            bram = math.ceil(n_in * n_out * b / (rf * BRAM_WIDTH_BITS)) * math.ceil(rf / BRAM_DEPTH)
    delay = T_MULT_NS + T_ADD_NS * math.ceil(math.log2(n_in + 1))
    if rf == 1:
        stages = math.floor((path_ns + delay) / period_eff) - math.floor(path_ns / period_eff)
        path_ns += delay
    else:  # the accumulator registers the result each cycle: the path restarts
        stages = math.ceil(delay / period_eff)
        path_ns = 0.0
    cycles = stages + rf - 1 + (RESOURCE_EXTRA_CYCLES if strategy != "latency" else 0)
    ff = stages * n_out * acc_bits * FF_PER_PIPELINE_BIT + ff_acc
    return LayerResources(name, "dense", n_in, n_out, rf, str(p), mults, dsp_mults * per_dsp,
                          round(lut), round(ff), bram, cycles), path_ns


def _activation(name, kind, n, p: Precision, period_eff, path_ns):
    """One Activation layer; returns (LayerResources, combinational path after it in ns)."""
    b = p.width
    lut = n * ACTIVATION_LUT_PER_NEURON[kind] * b / 16
    if kind in TABLE_CYCLES:
        cycles, path_ns = TABLE_CYCLES[kind], 0.0
        bram = math.ceil(n * TABLE_BRAM18_PER_NEURON)
    else:
        delay = T_ACTIVATION_NS[kind]
        cycles = math.floor((path_ns + delay) / period_eff) - math.floor(path_ns / period_eff)
        path_ns, bram = path_ns + delay, 0
    ff = cycles * n * b * FF_PER_PIPELINE_BIT
    return LayerResources(name, kind, n, n, 1, str(p), 0, 0, round(lut), round(ff), bram,
                          cycles), path_ns


def estimate(topology, n_inputs: int, precision="fixed<16,6>", reuse_factor=1,
             strategy: str = "latency", device: str | Device = "xcvu13p",
             clock_period: float = 5.0, accumulator=None) -> Resources:
    """Estimates DSP, LUT, FF, BRAM and latency of an MLP converted by hls4ml (io_parallel).

    Pure Python, about 20-50 µs for a three-layer network, so a search can call it on every
    candidate, e.g. as a constraint ``lambda x: estimate(topo(x), 16).dsp - budget``.

    Args:
        topology: a `nets.Topology` (anything with ``.layers`` widths and ``.activation``).
        n_inputs: number of input features.
        precision: weight and data precision, e.g. ``"fixed<16,6>"``; one string, or one per
            Dense layer (hidden layers then the output layer).
        reuse_factor: hls4ml reuse factor R, one int or one per Dense layer.
        strategy: ``"latency"`` (default), ``"resource"`` or ``"resource_unrolled"``.
        device: part name (``"xcvu13p"``, ``"xcvu9p"``, full part strings) or a `Device`.
        clock_period: target clock period in ns.
        accumulator: accumulator precision; None uses hls4ml 1.3's inferred width
            (b_a + b_w + ceil(log2 n_in) + 1), as `to_hls` does; ``"fixed<16,6>"`` reproduces
            hls4ml's ``granularity="model"`` configuration of the calibration points.

    Returns:
        `Resources` with per-layer rows ``Dense_0, Activation_0, ..., Dense_<depth>`` and totals.

    Raises:
        ExportError: unknown activation, strategy, device or precision; bad reuse factor,
            ``n_inputs`` or clock period.
    """
    activation = getattr(topology, "activation", None)
    if activation not in ACTIVATION_LUT_PER_NEURON:
        raise ExportError(f"activation {activation!r} has no resource model; use one of "
                          f"{sorted(ACTIVATION_LUT_PER_NEURON)}")
    if strategy not in STRATEGIES:
        raise ExportError(f"strategy={strategy!r} is not modelled; use one of {STRATEGIES}")
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, numbers.Integral) or n_inputs < 1:
        raise ExportError(f"n_inputs={n_inputs!r} must be an integer >= 1")
    n_inputs = int(n_inputs)
    if not clock_period > 0:
        raise ExportError(f"clock_period={clock_period!r} must be a positive number of ns")
    dev = get_device(device)
    fans = (n_inputs, *topology.layers, 1)
    n_dense = len(fans) - 1
    precisions = [parse_precision(p) for p in _per_layer(precision, n_dense, "precision")]
    reuse = [_check_reuse(rf, f"Dense_{i}")
             for i, rf in enumerate(_per_layer(reuse_factor, n_dense, "reuse_factor"))]
    acc = None if accumulator is None else parse_precision(accumulator).width
    period_eff = clock_period * (1 - CLOCK_UNCERTAINTY)
    rows, path = [], 0.0
    for i, (n_in, n_out) in enumerate(zip(fans[:-1], fans[1:])):
        p = precisions[i]
        acc_bits = acc or accumulator_bits(p.width, p.width, n_in)
        row, path = _dense(f"Dense_{i}", n_in, n_out, reuse[i], p, acc_bits, strategy,
                           period_eff, path)
        rows.append(row)
        if i < n_dense - 1 and activation != "linear":
            row, path = _activation(f"Activation_{i}", activation, n_out, p, period_eff, path)
            rows.append(row)
    cycles = sum(r.latency_cycles for r in rows)
    return Resources(
        layers=tuple(rows), device=dev, clock_period=float(clock_period), strategy=strategy,
        multipliers=sum(r.multipliers for r in rows), dsp=sum(r.dsp for r in rows),
        lut=sum(r.lut for r in rows), ff=sum(r.ff for r in rows),
        bram18=sum(r.bram18 for r in rows), latency_cycles=cycles,
        latency_ns=cycles * float(clock_period), interval=max(r.reuse_factor for r in rows))
