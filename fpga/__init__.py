"""fpga: from a trained topology to hls4ml, and an analytic resource and latency model.

* `estimate(topology, n_inputs, precision=..., reuse_factor=..., strategy=..., device=...)`:
  DSP, LUT, FF, BRAM18 and latency of the hls4ml implementation, per layer and in total, and
  as fractions of the device; pure Python, microseconds per call, so the search can use it as a
  known constraint or a second objective. Calibrated against hls4ml's CI synthesis points
  (`calibration`).
* `to_keras(topology, params)`: stock Keras 3 ``Sequential`` (Dense + Activation) of a nets model.
* `to_hls(model, ...)`: hls4ml project compiled for C simulation with g++, and `agreement`
  between it and the trained model; `export_model` (and ``python -m fpga.export``) does the
  whole chain from a trained or saved model and fails loudly on disagreement.

Keras and hls4ml are imported only when their functions are called. Reads nets' parameter
format; imports nothing from bo/, hgcal/ or ntbo/.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports Keras; a user's choice wins

from fpga import calibration  # noqa: E402
from fpga.devices import DEVICES, Device, get_device  # noqa: E402
from fpga.errors import ExportError  # noqa: E402
from fpga.resources import LayerResources, Resources, estimate  # noqa: E402
from fpga.hls import Agreement, agreement, to_hls  # noqa: E402
from fpga.keras_export import to_keras  # noqa: E402
from fpga.pipeline import ExportResult, export_model  # noqa: E402
from fpga.precision import Precision, parse_precision  # noqa: E402

__all__ = [
    "Agreement", "DEVICES", "Device", "ExportError", "ExportResult", "LayerResources",
    "Precision", "Resources", "agreement", "calibration", "estimate", "export_model",
    "get_device", "parse_precision", "to_hls", "to_keras",
]
