"""hgcal: HGCal trigger geometry, fast shower simulation and ROOT ntuple I/O (uproot).

Real CMS trigger ntuples and the fast simulation feed the topology search through one loader::

    import hgcal
    electrons = hgcal.simulate(20_000, "e-", seed=1)
    pions = hgcal.simulate(20_000, "pi-", seed=2)
    hgcal.write_ntuple("showers.root", [electrons, pions])
    data = hgcal.load("showers.root", features="layers")   # data.x_train, data.y_train, ...

Public names: :class:`Geometry`, :func:`simulate` (-> :class:`Showers`), :func:`concatenate`,
:func:`write_ntuple`, :func:`load` (-> :class:`Dataset`), :class:`Selection`, the model
settings :class:`EMModel`, :class:`PionModel`, :class:`TransverseModel`, :class:`Digitisation`,
and the errors :class:`NtupleError`, :class:`GeometryError`. ``python -m hgcal.simulate``
is the command line. This room imports none of bo, nets, fpga or ntbo.
"""

from hgcal.dataset import SHAPE_FEATURES, Dataset, Selection, load
from hgcal.errors import GeometryError, NtupleError
from hgcal.geometry import PRESETS, Geometry
from hgcal.ntuple import find_trees, write_ntuple
from hgcal.showers import EMModel, PionModel
from hgcal.simulation import Digitisation, Showers, TransverseModel, concatenate, simulate

__all__ = [
    "Geometry", "PRESETS", "simulate", "Showers", "concatenate", "EMModel", "PionModel",
    "TransverseModel", "Digitisation", "write_ntuple", "find_trees", "load", "Dataset", "Selection",
    "SHAPE_FEATURES", "NtupleError", "GeometryError",
]
