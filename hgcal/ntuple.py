"""Trigger ntuples: writing simulated showers and finding trees, with uproot.

The schema is that of the CMSSW HGCal trigger ntuplizer (L1Trigger/L1THGCalUtilities,
``HGCalTriggerNtupleManager`` with the event, gen, trigger-cell and multicluster ntuples): one
entry per event with flat ``run``, ``event``, ``lumi`` (and the gen ntuple's ``gen_PUNumInt``,
``gen_TrueNumInt``, ``vtx_x/y/z``) and jagged ``gen_*``, ``cl3d_*`` and ``tc_*`` branches, each
group with its ``*_n`` counter, element types as the ntuplizer declares them (``cl3d_id``,
``tc_id``, ``tc_data``, ``tc_cluster_id``, ``tc_multicluster_id`` unsigned; ``gen_pdgid``,
``gen_charge``, ``gen_status``, ``cl3d_showerlength`` & co., ``tc_layer`` & co. int; the rest
float). ``tc_multicluster_id`` links a trigger cell to the ``cl3d_id`` of its 3D cluster (0 for
none); ``cl3d_layer_pt`` holds each cluster's pT per trigger layer (FillLayerInfo). The default
tree path is ``hgcalTriggerNtuplizer/HGCalTriggerNtuple``; newer CMSSW releases write
``l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple``.

Layout: uproot cannot write ``std::vector`` branches (scikit-hep/uproot5 issues 257 and
1486), so jagged branches are counted C arrays, ``float cl3d_pt[cl3d_n]``, sharing the counters
``gen_n``, ``cl3d_n``, ``tc_n`` that the real ntuple has as well (no extra branch names), and
``cl3d_layer_pt`` is ``float cl3d_layer_pt[cl3d_n][R+1]`` where CMSSW writes
``std::vector<std::vector<float>>``. uproot and ROOT read both layouts to the same arrays
(``var * float32``, and ``var * var`` or ``var * (R+1)`` for ``cl3d_layer_pt``); ROOT's
``TTree::Draw("cl3d_pt")`` and ``cl3d_layer_pt[0][k]`` work on either. Not written: the
doubly jagged ``gen_daughters`` and ``cl3d_clusters_id``, the ``genpart_*`` block, and the
pre-V9 ``tc_wafer``/``tc_cell`` (empty vectors in V9 ntuples).

The fast simulation uses a square grid of trigger cells, so ``tc_waferu/v`` and
``tc_cellu/v`` hold the grid index divided by / modulo 8 rather than hexagonal coordinates.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import awkward as ak
import numpy as np
import uproot

from hgcal.errors import NtupleError
from hgcal.simulation import Showers

__all__ = ["write_ntuple", "showers_to_branches", "find_trees", "DEFAULT_TREE", "TREE_NAME"]

TREE_NAME = "HGCalTriggerNtuple"
DEFAULT_TREE = f"hgcalTriggerNtuplizer/{TREE_NAME}"
_GROUPS = ("gen", "genpart", "cl3d", "tc")
_INT_CLUSTER_FIELDS = ("clusters_n", "showerlength", "coreshowerlength", "firstlayer", "maxlayer")


def _cells_to_contain(shower: np.ndarray, energy: np.ndarray, n: int,
                      fractions: Sequence[float]) -> list[np.ndarray]:
    """Fewest cells (largest first) holding each fraction of a shower's energy, each ``(n,)``.

    Args:
        shower: Shower index of each cell, ``(m,)``, non-decreasing.
        energy: Cell energies, ``(m,)``.
        n: Number of showers.
        fractions: Energy fractions, e.g. (0.67, 0.90).
    """
    by_energy = np.argsort(-energy, kind="stable")
    order = by_energy[np.argsort(shower[by_energy], kind="stable")]
    shower, energy = shower[order], energy[order].astype(np.float64)
    total = np.bincount(shower, weights=energy, minlength=n)
    cumulative = np.cumsum(energy)
    start = np.concatenate([[0.0], cumulative])[np.searchsorted(shower, np.arange(n))]
    before = cumulative - energy - start[shower]
    return [np.bincount(shower, weights=before < q * total[shower] * (1 - 1e-9), minlength=n).astype(np.float32)
            for q in fractions]


def showers_to_branches(showers: Showers, first_event: int = 0) -> dict[str, np.ndarray | ak.Array]:
    """Ntuple branches of simulated showers: flat event branches and jagged groups.

    Args:
        showers: Simulated showers, ``n`` of them.
        first_event: Event number of the first shower.

    Returns:
        Mapping of branch name (``run``, ``gen_pdgid``, ``cl3d_pt``, ``tc_layer``, ...) to an
        array of length ``n`` (jagged for the groups).
    """
    n = len(showers)
    geometry = showers.geometry
    one = np.ones(n, dtype=np.int64)
    branches: dict[str, np.ndarray | ak.Array] = {
        "run": np.ones(n, dtype=np.int32),
        "event": np.arange(first_event + 1, first_event + n + 1, dtype=np.int32),
        "lumi": np.ones(n, dtype=np.int32),
        "gen_PUNumInt": np.zeros(n, dtype=np.int32),  # no pile-up
        "gen_TrueNumInt": np.zeros(n, dtype=np.float32),
        "vtx_x": np.zeros(n, dtype=np.float32), "vtx_y": np.zeros(n, dtype=np.float32),
        "vtx_z": np.zeros(n, dtype=np.float32),
    }
    gen = {
        "pdgid": showers.pdgid.astype(np.int32),
        "status": np.ones(n, dtype=np.int32),
        "charge": np.where(np.isin(showers.pdgid, (11, -211)), -1, 1).astype(np.int32),  # e-, pi- negative
        "eta": showers.eta, "phi": showers.phi, "pt": showers.pt, "energy": showers.energy,
    }
    for key, values in gen.items():
        branches[f"gen_{key}"] = ak.unflatten(np.asarray(values, dtype=np.float32 if values.dtype.kind == "f"
                                                          else np.int32), one)

    has = showers.has_cluster
    counts = has.astype(np.int64)
    cluster_id = np.where(has, np.arange(1, n + 1), 0).astype(np.uint32)
    cells = showers.trigger_cells()
    ntc67, ntc90 = _cells_to_contain(cells.shower, cells.energy, n, (0.67, 0.90))
    cl3d = {"id": cluster_id, "bdteg": np.zeros(n, np.float32), "quality": np.ones(n, np.int32),
            "ntc67": ntc67, "ntc90": ntc90}
    for key, values in showers.cluster.items():
        cl3d[key] = values.astype(np.int32 if key in _INT_CLUSTER_FIELDS else np.float32)
    for key, values in cl3d.items():
        branches[f"cl3d_{key}"] = ak.unflatten(values[has], counts)

    layer_index = cells.layer_index
    z_sign = np.sign(showers.eta)[cells.shower]
    z = geometry.read_array("z_cm")[layer_index] * z_sign
    x = (cells.ix + 0.5) * geometry.cell_size_cm
    y = (cells.iy + 0.5) * geometry.cell_size_cm
    eta = np.arcsinh(z / np.hypot(x, y))
    mip = cells.energy / (geometry.read_array("mev_per_mip")[layer_index] * 1e-3)
    owner = cluster_id[cells.shower]
    tc = {
        "id": (((z_sign > 0).astype(np.uint32) << 31) | (layer_index.astype(np.uint32) << 24)
               | ((cells.ix.astype(np.uint32) & 0xFFF) << 12) | (cells.iy.astype(np.uint32) & 0xFFF)),
        "subdet": np.asarray(geometry.subdet, dtype=np.int32)[geometry.read][layer_index],
        "zside": z_sign.astype(np.int32),
        "layer": geometry.read_layers[layer_index].astype(np.int32),
        "waferu": (cells.ix // 8).astype(np.int32), "waferv": (cells.iy // 8).astype(np.int32),
        "cellu": (cells.ix % 8).astype(np.int32), "cellv": (cells.iy % 8).astype(np.int32),
        "data": np.rint(mip).astype(np.uint32),
        "pt": (cells.energy / np.cosh(eta)).astype(np.float32),
        "mipPt": (mip / np.cosh(eta)).astype(np.float32),
        "energy": cells.energy.astype(np.float32),
        "eta": eta.astype(np.float32), "phi": np.arctan2(y, x).astype(np.float32),
        "x": x.astype(np.float32), "y": y.astype(np.float32), "z": z.astype(np.float32),
        "cluster_id": np.where(owner > 0, owner * np.uint32(64) + layer_index.astype(np.uint32), 0).astype(np.uint32),
        "multicluster_id": owner,
        "multicluster_pt": np.where(owner > 0, showers.cluster["pt"][cells.shower], 0.0).astype(np.float32),
    }
    for key, values in tc.items():
        branches[f"tc_{key}"] = ak.unflatten(values, showers.tc_count.astype(np.int64))
    layer_pt = _layer_pt(cells.shower, layer_index, tc["pt"], n, geometry.n_read)
    branches["cl3d_layer_pt"] = ak.unflatten(layer_pt[has], counts)
    return branches


def _layer_pt(shower: np.ndarray, layer_index: np.ndarray, pt: np.ndarray, n: int, n_read: int) -> np.ndarray:
    """``cl3d_layer_pt`` as the ntuplizer fills it: trigger-cell pT summed per trigger layer.

    CMSSW indexes the vector by trigger layer (1 = first read layer, 0 = no layer, always 0).
    Its vector has ``lastTriggerLayer`` entries, which leaves no slot for the last trigger
    layer; this one has ``n_read + 1`` so that every read layer keeps its pT.

    Args:
        shower: Shower index of each trigger cell, ``(m,)``.
        layer_index: Read-layer index (0-based) of each trigger cell, ``(m,)``.
        pt: Trigger-cell pT, ``(m,)``.
        n: Number of showers.
        n_read: Number of read layers ``R``.

    Returns:
        ``(n, R + 1)`` float32, column 0 zero.
    """
    slot = shower.astype(np.int64) * (n_read + 1) + 1 + layer_index.astype(np.int64)
    sums = np.bincount(slot, weights=pt.astype(np.float64), minlength=n * (n_read + 1))
    return sums.reshape(n, n_read + 1).astype(np.float32)


def _group(branches: Mapping[str, np.ndarray | ak.Array]) -> dict[str, np.ndarray | ak.Array]:
    """Zips jagged branches sharing a prefix (``gen_``, ``cl3d_``, ``tc_``) so they share a counter."""
    grouped: dict[str, dict[str, ak.Array]] = {}
    flat: dict[str, np.ndarray | ak.Array] = {}
    for name, values in branches.items():
        prefix, _, rest = name.partition("_")
        if prefix in _GROUPS and rest and rest != "n" and isinstance(values, ak.Array) and values.ndim > 1:
            grouped.setdefault(prefix, {})[rest] = _fixed_inner(name, values)
        elif not (prefix in _GROUPS and rest == "n"):
            flat[name] = np.asarray(values) if not isinstance(values, ak.Array) else values
    for prefix, fields in grouped.items():
        try:
            flat[prefix] = ak.zip(fields, depth_limit=2)
        except ValueError:
            raise NtupleError(f"write_ntuple: the {prefix}_* branches have different lengths per event; "
                              "give every branch of a group the same counts") from None
    return flat


def _fixed_inner(name: str, values: ak.Array) -> ak.Array:
    """A list-per-object branch (``std::vector<std::vector<float>>`` read from CMSSW) as fixed-size arrays.

    uproot writes one level of variable-length lists per branch; an inner list of the same
    length for every object (``cl3d_layer_pt``) becomes a fixed-size array, ``float x[n][L]``.

    Raises:
        NtupleError: If the inner lists differ in length (``gen_daughters``, ``cl3d_clusters_id``).
    """
    if values.ndim <= 2:
        return values
    try:
        return ak.to_regular(values, axis=2)
    except ValueError:
        raise NtupleError(f"write_ntuple: branch {name!r} holds lists of different lengths per object, which "
                          "uproot cannot write; leave it out of the mapping") from None


def _offsets_count_inner_arrays(tree) -> None:
    """Makes uproot write jagged arrays of fixed-size arrays (``cl3d_layer_pt[cl3d_n][39]``) readably.

    uproot 5.7 flattens such a branch before writing its basket, so the entry offsets are
    counted in scalars instead of inner arrays and the file reads back broken (``wrong number
    of bytes``). Giving the basket writer of this one tree its array back in shape fixes
    the offsets; a basket that already arrives shaped (a fixed uproot) passes unchanged.

    Args:
        tree: The ``uproot.WritableTree`` just made by ``mktree``.
    """
    cascading = getattr(tree, "_cascading", None)
    write = getattr(cascading, "write_jagged_basket", None)
    if write is None or not hasattr(cascading, "_branch_data"):
        return  # another uproot layout: the round-trip test of cl3d_layer_pt says whether it still works

    def write_shaped(sink, branch_name, compression, array, offsets):
        shape = cascading._branch_data[cascading._branch_lookup[branch_name]].get("shape", ())
        if shape and array.ndim == 1:
            array = array.reshape(-1, *shape)
        return write(sink, branch_name, compression, array, offsets)

    cascading.write_jagged_basket = write_shaped


def _types(data: Mapping[str, np.ndarray | ak.Array]) -> dict:
    return {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}


def _chunks(events: Showers | Iterable[Showers] | Mapping, chunk_size: int) -> Iterable[dict]:
    """Branch dictionaries of at most ``chunk_size`` events, pulled lazily from ``events``."""
    if isinstance(events, Mapping):
        yield dict(events)
        return
    written = 0
    geometry = None
    for showers in [events] if isinstance(events, Showers) else events:
        if not isinstance(showers, Showers):
            raise NtupleError(f"write_ntuple: got a {type(showers).__name__}; pass hgcal.simulate() results "
                              "or a mapping of branch names to arrays")
        if geometry is not None and (showers.geometry, showers.grid) != geometry:
            raise NtupleError("write_ntuple: the Showers use different geometries or cell windows; "
                              "simulate them with one geometry and one Digitisation.grid")
        geometry = (showers.geometry, showers.grid)
        for begin in range(0, len(showers), chunk_size):
            part = showers.slice(begin, min(begin + chunk_size, len(showers)))
            yield showers_to_branches(part, first_event=written)
            written += len(part)


def write_ntuple(path: str | Path, events: Showers | Iterable[Showers] | Mapping, *,
                 tree: str = DEFAULT_TREE, chunk_size: int = 20_000,
                 compression: uproot.compression.Compression | None = uproot.ZLIB(1)) -> Path:
    """Writes a ROOT file in the HGCal trigger-ntuple schema.

    The file is written to a temporary name in the same folder and renamed when complete, so
    a failure never leaves a partial file at ``path``.

    Args:
        path: Output ``.root`` file (overwritten).
        events: Showers from :func:`hgcal.simulate`, an iterable of them (e.g. electrons and
            pions; a generator is consumed piece by piece, so memory stays bounded), or a mapping
            of branch name to array (numpy for flat branches, awkward jagged arrays for ``gen_*``,
            ``cl3d_*``, ``tc_*``; a list per object of one length, such as ``cl3d_layer_pt``,
            becomes a fixed-size array).
        tree: Path of the tree inside the file.
        chunk_size: Events converted and written per basket.
        compression: uproot compression (``None`` writes faster, larger files).

    Returns:
        The path written.

    Raises:
        NtupleError: If the folder does not exist or the branches are inconsistent.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise NtupleError(f"write_ntuple: folder {path.parent} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(suffix=".root.tmp", dir=path.parent)
    os.close(handle)
    try:
        with uproot.recreate(temporary, compression=compression) as file:
            output = None
            for branches in _chunks(events, chunk_size):
                data = _group(branches)
                if output is None:
                    output = file.mktree(tree, _types(data), counter_name=lambda group: f"{group}_n",
                                         field_name=lambda group, field: f"{group}_{field}")
                    _offsets_count_inner_arrays(output)
                output.extend(data)
            if output is None:
                raise NtupleError("write_ntuple: no events given; pass at least one shower")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def find_trees(file: uproot.ReadOnlyDirectory) -> list[str]:
    """Paths of every TTree named ``HGCalTriggerNtuple`` in an open file, at any depth.

    Args:
        file: An open uproot file.

    Returns:
        Sorted tree paths without cycle numbers (e.g. ``hgcalTriggerNtuplizer/HGCalTriggerNtuple``).
    """
    found = {key.split(";")[0] for key, classname in file.classnames(recursive=True).items()
             if classname == "TTree" and key.split(";")[0].split("/")[-1] == TREE_NAME}
    return sorted(found)
