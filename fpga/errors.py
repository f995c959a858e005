"""The one exception type that the fpga room raises for mistakes a user can make."""


class ExportError(ValueError):
    """A bad topology, parameter set, precision, reuse factor, device or export option.

    Raised by `to_keras`, `to_hls` and `estimate` alike; the message names the layer or field at
    fault and says how to fix it.
    """
