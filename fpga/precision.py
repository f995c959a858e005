"""hls4ml fixed-point precision strings, e.g. ``"fixed<16,6>"`` or ``"ap_fixed<8,3,RND,SAT>"``."""

from __future__ import annotations

import dataclasses
import re

from fpga.errors import ExportError

_PATTERN = re.compile(r"^\s*(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,[^>]*)?>\s*$")


@dataclasses.dataclass(frozen=True)
class Precision:
    """A fixed-point type: ``width`` bits in all, ``integer`` of them left of the binary point.

    Attributes:
        width: total bits, sign included.
        integer: integer bits, sign included (may exceed ``width`` or be negative, as in ap_fixed).
        signed: False for ``ufixed``.
    """

    width: int
    integer: int
    signed: bool = True

    @property
    def fractional(self) -> int:
        """Bits right of the binary point."""
        return self.width - self.integer

    def __str__(self) -> str:
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer}>"


def parse_precision(text: str | Precision) -> Precision:
    """Reads an hls4ml precision string.

    Args:
        text: ``"fixed<W,I>"``, ``"ufixed<W,I>"``, with an optional ``ap_`` prefix and optional
            rounding/saturation modes (ignored here), or a `Precision`.

    Raises:
        ExportError: anything else, or a width outside 1..64.
    """
    if isinstance(text, Precision):
        return text
    match = _PATTERN.match(str(text))
    if not match:
        raise ExportError(f"precision={text!r} is not a fixed-point type; write it as "
                          "'fixed<16,6>' (16 bits in all, 6 integer bits incl. sign)")
    unsigned, width, integer = match.groups()
    if not 1 <= int(width) <= 64:
        raise ExportError(f"precision={text!r}: width {width} must lie in 1..64 bits")
    return Precision(int(width), int(integer), signed=not unsigned)
