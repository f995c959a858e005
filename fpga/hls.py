"""Keras 3 model -> hls4ml project compiled for C simulation, and its agreement with training.

hls4ml 1.3's Keras v3 frontend parses a model on any Keras backend, so no TensorFlow is needed;
`compile` builds the C++ emulation with g++ (the ``ap_types`` headers ship with hls4ml) and
needs no vendor tool. ``hm.build()`` (Vivado/Vitis, where installed) synthesises it;
`calibration.read_report` and `calibration.compare` put its report beside `estimate`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import shutil
from typing import Any

import numpy as np

from fpga.errors import ExportError
from fpga.keras_export import SUPPORTED_ACTIVATIONS
from fpga.precision import parse_precision

STRATEGY_NAMES = {"latency": "Latency", "resource": "Resource",
                  "resource_unrolled": "Resource_Unrolled"}
DEFAULT_PART = "xcvu13p-flga2577-2-e"


def _activation_name(layer) -> str:
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", str(fn))


def check_model(model) -> None:
    """Checks that a Keras model holds only layers the export supports.

    Raises:
        ExportError: naming the first unsupported layer (class, activation or zero width).
    """
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if not isinstance(model, keras.Sequential):
        raise ExportError(f"model is a {type(model).__name__}; pass the keras.Sequential that "
                          "fpga.to_keras builds")
    for layer in model.layers:
        if type(layer) not in (keras.layers.Dense, keras.layers.Activation):
            raise ExportError(f"layer {layer.name!r} is a {type(layer).__name__}; the export "
                              "supports Dense and Activation layers only (fold normalisation "
                              "into Dense weights)")
        act = _activation_name(layer)
        if act not in SUPPORTED_ACTIVATIONS:
            raise ExportError(f"layer {layer.name!r} uses activation {act!r}, which the export "
                              f"does not support; use one of {SUPPORTED_ACTIVATIONS}")
        if isinstance(layer, keras.layers.Dense) and layer.units < 1:
            raise ExportError(f"layer {layer.name!r} has zero width")


def _integer_bits(max_abs: float) -> int:
    """Integer bits (sign included) of a signed fixed-point type that holds +-max_abs."""
    return max(1, math.floor(math.log2(max_abs)) + 2) if max_abs > 0 else 1


def layer_ranges(model, x) -> dict[str, float]:
    """Largest |value| of each layer's output (and of the input) over a calibration set.

    Args:
        model: the Keras model.
        x: calibration inputs, shape (n, n_inputs).

    Returns:
        ``{layer name: max |output|}``, plus ``"input"`` for the inputs.
    """
    import keras

    h = np.asarray(x, np.float32)
    ranges = {"input": float(np.max(np.abs(h)))}
    for layer in model.layers:
        h = keras.ops.convert_to_numpy(layer(h))
        ranges[layer.name] = float(np.max(np.abs(h)))
    return ranges


def _calibrated_config(config: dict, model, x, width: int) -> dict:
    """Sets per-layer result and weight precisions from ranges seen on ``x`` (same total width)."""
    import keras

    ranges = layer_ranges(model, x)
    names = config["LayerName"]
    input_name = next((n for n in names if n not in {l.name for l in model.layers}), None)
    if input_name is not None:
        bits = _integer_bits(ranges["input"])
        names[input_name]["Precision"]["result"] = f"fixed<{width},{bits}>"
    for layer in model.layers:
        prec = names[layer.name]["Precision"]
        if isinstance(layer, keras.layers.Activation):
            prec["result"] = f"fixed<{width},{_integer_bits(ranges[layer.name])}>"
        else:  # Dense results keep hls4ml's exact 'auto' accumulator width
            kernel, bias = (np.abs(w).max() for w in layer.get_weights())
            prec["weight"] = f"fixed<{width},{_integer_bits(float(kernel))}>"
            prec["bias"] = f"fixed<{width},{_integer_bits(float(bias))}>"
    return config


def to_hls(model, precision: str = "fixed<16,6>", reuse_factor: int = 1,
           strategy: str = "latency", part: str = DEFAULT_PART, clock_period: float = 5.0,
           output_dir: str = "hls4ml_prj", backend: str = "Vitis", io_type: str = "io_parallel",
           calibration_data=None, compile: bool = True):
    """Converts a Keras model to an hls4ml project and compiles its C simulation.

    Args:
        model: a ``keras.Sequential`` of Dense and Activation layers (`to_keras` output).
        precision: default fixed-point type, e.g. ``"fixed<16,6>"``; Dense accumulators and
            results use hls4ml 1.3's inferred (exact) widths.
        reuse_factor: hls4ml reuse factor R (Resource strategy moves it to the closest valid).
        strategy: ``"latency"``, ``"resource"`` or ``"resource_unrolled"``.
        part: FPGA part string.
        clock_period: ns.
        output_dir: project folder (created or overwritten).
        backend: ``"Vitis"`` (default) or ``"Vivado"``.
        io_type: ``"io_parallel"`` (default) or ``"io_stream"``.
        calibration_data: optional inputs, shape (n, n_inputs): when given, the input, weights,
            biases and activation outputs get the integer bits their largest magnitude needs
            (same total width as ``precision``).
        compile: build the C simulation with g++ (``False``: write the project only).

    Returns:
        The hls4ml ``ModelGraph``; ``.predict(x)`` runs the C simulation, shape (n, 1).

    Raises:
        ExportError: unsupported layer or option, hls4ml missing, conversion or compile failure.
    """
    check_model(model)
    width = parse_precision(precision).width
    if strategy not in STRATEGY_NAMES:
        raise ExportError(f"strategy={strategy!r} is unknown; use one of {tuple(STRATEGY_NAMES)}")
    if (isinstance(reuse_factor, bool) or not isinstance(reuse_factor, numbers.Integral)
            or reuse_factor < 1):
        raise ExportError(f"reuse_factor={reuse_factor!r} must be an integer >= 1")
    reuse_factor = int(reuse_factor)
    try:
        import hls4ml
    except ImportError:
        raise ExportError("to_hls needs hls4ml: pip install hls4ml (1.3 or newer)") from None
    if compile and shutil.which("g++") is None:
        raise ExportError("g++ not found; install a C++ compiler or pass compile=False")
    config = hls4ml.utils.config_from_keras_model(
        model, granularity="name", backend=backend, default_precision=str(precision),
        default_reuse_factor=reuse_factor)
    config["Model"]["Strategy"] = STRATEGY_NAMES[strategy]
    if calibration_data is not None:
        config = _calibrated_config(config, model, calibration_data, width)
    try:
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, backend=backend, output_dir=os.fspath(output_dir),
            part=part, clock_period=clock_period, io_type=io_type)
    except Exception as err:  # hls4ml raises bare Exceptions for unsupported input
        raise ExportError(f"hls4ml could not convert the model: {err}") from err
    if compile:
        try:
            hls_model.compile()
        except Exception as err:
            raise ExportError(f"compiling the C simulation in {output_dir} failed: {err}") from err
    return hls_model


def predict_hls(hls_model, x) -> np.ndarray:
    """C-simulation outputs, shape (n,), for inputs of shape (n, n_inputs)."""
    x = np.ascontiguousarray(np.asarray(x, np.float64))
    return np.asarray(hls_model.predict(x), np.float64).reshape(len(x), -1)[:, 0]


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How closely the C simulation reproduces the trained model on a test set.

    Attributes:
        n_events: events compared.
        max_abs_diff: largest |logit_hls - logit_reference|.
        mean_abs_diff: mean of the same.
        auc_reference: AUC of the trained model (NaN without labels).
        auc_hls: AUC of the C simulation.
        auc_diff: ``auc_hls - auc_reference``.
        background_efficiency_reference: at ``signal_efficiency``.
        background_efficiency_hls: the same for the C simulation.
        background_efficiency_diff: hls minus reference.
        signal_efficiency: working point of the background efficiencies.
    """

    n_events: int
    max_abs_diff: float
    mean_abs_diff: float
    auc_reference: float = float("nan")
    auc_hls: float = float("nan")
    auc_diff: float = float("nan")
    background_efficiency_reference: float = float("nan")
    background_efficiency_hls: float = float("nan")
    background_efficiency_diff: float = float("nan")
    signal_efficiency: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (NaN as None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in dataclasses.asdict(self).items()}

    def check(self, max_abs_diff: float = 0.05, max_auc_diff: float = 0.002,
              max_background_efficiency_diff: float | None = None) -> "Agreement":
        """Returns self, or raises when agreement is worse than the tolerances.

        Raises:
            ExportError: listing every figure beyond its tolerance.
        """
        bad = []
        if not self.max_abs_diff <= max_abs_diff:
            bad.append(f"max |delta logit| {self.max_abs_diff:.4g} > {max_abs_diff}")
        if not math.isnan(self.auc_diff) and not abs(self.auc_diff) <= max_auc_diff:
            bad.append(f"|delta AUC| {abs(self.auc_diff):.4g} > {max_auc_diff}")
        if (max_background_efficiency_diff is not None
                and not math.isnan(self.background_efficiency_diff)
                and not abs(self.background_efficiency_diff) <= max_background_efficiency_diff):
            bad.append(f"|delta background efficiency| {abs(self.background_efficiency_diff):.4g}"
                       f" > {max_background_efficiency_diff}")
        if bad:
            raise ExportError("the hls4ml C simulation disagrees with the trained model: "
                              + "; ".join(bad) + ". Widen the precision (more integer bits, "
                              "or pass calibration data) or relax the tolerance")
        return self


def agreement(hls_model, topology, params, x, y=None,
              signal_efficiency: float = 0.95) -> Agreement:
    """Compares the C simulation with the trained (Flax) model, `nets.apply`.

    Args:
        hls_model: compiled hls4ml model.
        topology: the network's `nets.Topology`.
        params: its unpadded parameters.
        x: test inputs, shape (n, n_inputs).
        y: optional labels (1 signal, 0 background), shape (n,), for the AUC and background
            efficiency differences.
        signal_efficiency: working point of the background efficiency.

    Returns:
        `Agreement`.
    """
    import nets

    reference = np.asarray(nets.apply(topology, params, np.asarray(x, np.float32)), np.float64)
    emulated = predict_hls(hls_model, x)
    diff = np.abs(emulated - reference)
    fields: dict[str, Any] = {"n_events": int(len(reference)), "max_abs_diff": float(diff.max()),
                              "mean_abs_diff": float(diff.mean()),
                              "signal_efficiency": signal_efficiency}
    if y is not None:
        y = np.asarray(y).reshape(-1)
        auc_ref, auc_hls = nets.metrics.auc(reference, y), nets.metrics.auc(emulated, y)
        be = nets.metrics.background_efficiency
        be_ref, be_hls = be(reference, y, signal_efficiency), be(emulated, y, signal_efficiency)
        fields.update(auc_reference=auc_ref, auc_hls=auc_hls, auc_diff=auc_hls - auc_ref,
                      background_efficiency_reference=be_ref, background_efficiency_hls=be_hls,
                      background_efficiency_diff=be_hls - be_ref)
    return Agreement(**fields)


def write_agreement(path, result: Agreement, **extra) -> str:
    """Writes the agreement report (and any extra JSON-able fields) as JSON; returns the path."""
    path = os.fspath(path)
    with open(path, "w") as f:
        json.dump({**result.to_dict(), **extra}, f, indent=1)
    return path
