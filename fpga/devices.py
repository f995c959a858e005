"""FPGA parts and their resources, for the fractions that `estimate` reports.

Counts come from the Xilinx UltraScale+ product tables as collected in ``shared/FPGA.md``
(Xilinx DS890, "UltraScale Architecture and Product Data Sheet: Overview"): the VU13P is the
Serenity-S1 FPGA of the CMS Phase-2 Level-1 trigger and hls4ml's default part; the VU9P is the
Alveo U200 FPGA. Any other part is a `Device` built from its data sheet and passed directly.
"""

from __future__ import annotations

import dataclasses

from fpga.errors import ExportError


@dataclasses.dataclass(frozen=True)
class Device:
    """An FPGA part and how much of each resource it has.

    Attributes:
        name: short name, e.g. ``"xcvu13p"``.
        part: full part string for hls4ml, e.g. ``"xcvu13p-flga2577-2-e"``.
        dsp: DSP slices (DSP48E2 on UltraScale+).
        lut: 6-input look-up tables.
        ff: flip-flops.
        bram18: 18 Kb block RAMs (a 36 Kb block counts as two).
        uram: UltraRAM blocks.
    """

    name: str
    part: str
    dsp: int
    lut: int
    ff: int
    bram18: int
    uram: int = 0


DEVICES: dict[str, Device] = {
    "xcvu13p": Device("xcvu13p", "xcvu13p-flga2577-2-e", dsp=12_288, lut=1_728_000,
                      ff=3_456_000, bram18=5_376, uram=1_280),
    "xcvu9p": Device("xcvu9p", "xcvu9p-flga2104-2L-e", dsp=6_840, lut=1_182_240,
                     ff=2_364_480, bram18=4_320, uram=960),
}
"""Known parts by short name; the default is ``"xcvu13p"``."""


def get_device(device: str | Device) -> Device:
    """Looks up a part by short name or full part string, or passes a `Device` through.

    Args:
        device: ``"xcvu13p"``, ``"xcvu13p-flga2577-2-e"``, ``"VU9P"``, ... or a `Device`.

    Raises:
        ExportError: unknown part.
    """
    if isinstance(device, Device):
        return device
    key = str(device).lower()
    for name, dev in DEVICES.items():
        if key in (name, name[2:], dev.part) or key.startswith(name + "-"):
            return dev
    raise ExportError(f"device={device!r} is unknown; use one of {sorted(DEVICES)} or pass "
                      "fpga.Device(name, part, dsp=..., lut=..., ff=..., bram18=...) "
                      "built from the part's data sheet")
