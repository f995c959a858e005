"""fpga: from a trained topology to hls4ml, and an analytic resource and latency model.

* `estimate(topology, n_inputs, precision=..., reuse_factor=..., strategy=..., device=...)`:
  DSP, LUT, FF, BRAM18 and latency of the hls4ml implementation, per layer and in total, and
  as fractions of the device; pure Python, microseconds per call, so the search can use it as a
  known constraint or a second objective. Calibrated against hls4ml's CI synthesis points
  (`calibration`).
* `to_keras(topology, params)`: stock Keras 3 ``Sequential`` (Dense + Activation) of a nets model.
* `to_hls(model, ...)`: hls4ml project compiled for C simulation with g++, and `agreement`
  between it and the trained model; ``python -m fpga.export`` does both from a saved model.

Keras and hls4ml are imported only when their functions are called. Reads nets' parameter
format; imports nothing from bo/, hgcal/ or ntbo/.
"""

from fpga import calibration
from fpga.devices import DEVICES, Device, get_device
from fpga.errors import ExportError
from fpga.estimate import LayerResources, Resources, estimate
from fpga.export import ExportResult, export
from fpga.hls import Agreement, agreement, to_hls
from fpga.keras_export import to_keras
from fpga.precision import Precision, parse_precision

__all__ = [
    "Agreement", "DEVICES", "Device", "ExportError", "ExportResult", "LayerResources",
    "Precision", "Resources", "agreement", "calibration", "estimate", "export", "get_device",
    "parse_precision", "to_hls", "to_keras",
]
