"""Errors a user of :mod:`hgcal` can cause.

The room raises one family of exceptions so that callers (the ``ntbo`` command line in
particular) can catch them all and print the one-line message alone:

* :class:`NtupleError` -- a ROOT file, tree, branch, selection or cache that cannot be used.
* :class:`GeometryError` -- a geometry preset or geometry file that cannot be used; a subclass
  of :class:`NtupleError`, so ``except hgcal.NtupleError`` catches every user error of the room.

Every message names the file, tree, branch or field at fault and says what to do.
"""

from __future__ import annotations

__all__ = ["NtupleError", "GeometryError"]


class NtupleError(ValueError):
    """A user-supplied input of the hgcal room (file, tree, branch, option) is unusable."""


class GeometryError(NtupleError):
    """A geometry preset name, geometry file or geometry field is unusable."""
