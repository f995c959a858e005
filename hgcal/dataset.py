"""Loading trigger ntuples (real CMSSW or simulated) into a training :class:`Dataset`.

:func:`load` reads one or more ROOT files (paths or globs), finds every tree named
``HGCalTriggerNtuple`` wherever it sits (or those matching ``tree``), selects generated
electrons (label 1) and charged pions (label 0), matches each to its leading 3D cluster
(``Delta R < 0.2``, cluster pT above a cut), and builds one row per matched particle: the
per-layer cluster energies and any ``cl3d_*`` shower-shape branch. Rows are split
deterministically into train / validation / test.

Per-layer energies come from one of two sources (``layer_energies``):

* ``"cells"``: ``tc_energy`` summed by ``tc_layer`` over the trigger cells with
  ``tc_multicluster_id == cl3d_id`` -- exact energies in every layer, any physical layer;
* ``"layer_pt"``: ``cl3d_layer_pt`` (only in ntuples made with FillLayerInfo), the cluster's
  pT per trigger layer, times cosh of the cluster eta. CMSSW indexes it by trigger layer
  (entry 0 is no layer) and sizes it ``lastTriggerLayer``, so the last trigger layer (layer 52
  in V9) is never stored and reads as 0; the pT-to-energy step uses the cluster eta, not each
  cell's, which moves a layer's energy by about a per cent. It skips the large ``tc_*``
  branches, so it reads faster.
* ``"auto"`` (default): the trigger cells when the tree has the ``tc_*`` branches, else
  ``cl3d_layer_pt``.

The default selection is the community electron/pion one used with the HGCal trigger ntuples:
gen |pdgid| 11 or 211, gen pT > 20 GeV, 1.7 < |eta| < 2.8, 3D clusters with pT > 10 GeV
within Delta R < 0.2 of the particle, the highest-pT one kept.

Files are read in chunks (``uproot`` ``TTree.iterate``), so memory stays bounded for files
larger than RAM. With ``cache_dir`` the result is stored as ``.npz`` (no pickle) keyed by the
files' contents and every option; a cache entry is written only after a complete, successful
read.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import awkward as ak
import numpy as np
import uproot

from hgcal.errors import NtupleError
from hgcal.geometry import Geometry
from hgcal.ntuple import find_trees

__all__ = ["Dataset", "Selection", "load", "SHAPE_FEATURES", "Match", "match_clusters",
           "layer_energies_from_layer_pt"]

#: Shower-shape branches of the ``"shapes"`` feature group (the CMSSW e/gamma BDT inputs and more).
SHAPE_FEATURES = ("cl3d_coreshowerlength", "cl3d_showerlength", "cl3d_firstlayer", "cl3d_maxlayer",
                  "cl3d_szz", "cl3d_srrmean", "cl3d_srrtot", "cl3d_seetot", "cl3d_spptot",
                  "cl3d_meanz", "cl3d_layer10", "cl3d_layer50", "cl3d_layer90", "cl3d_emaxe", "cl3d_hoe")
_SPLITS = {"train": 0, "val": 1, "test": 2}
_CACHE_VERSION = 2
LAYER_SOURCES = ("auto", "cells", "layer_pt")
_CELL_BRANCHES = ("cl3d_id", "tc_layer", "tc_energy", "tc_multicluster_id")


class Selection(NamedTuple):
    """Which generated particles and clusters make rows.

    Attributes:
        signal_pdgid: |pdgid| labelled 1 (electrons).
        background_pdgid: |pdgid| labelled 0 (charged pions).
        gen_pt_min: Minimum generated pT (GeV).
        eta_min, eta_max: Generated |eta| range.
        cluster_pt_min: Minimum 3D-cluster pT (GeV).
        delta_r: Matching cone between particle and cluster.
    """

    signal_pdgid: int = 11
    background_pdgid: int = 211
    gen_pt_min: float = 20.0
    eta_min: float = 1.7
    eta_max: float = 2.8
    cluster_pt_min: float = 10.0
    delta_r: float = 0.2


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows of features with labels and a fixed train / validation / test split.

    ``n`` rows, ``f`` features.

    Attributes:
        X: Features, ``(n, f)`` float32.
        y: Labels (1 electron, 0 pion), ``(n,)`` float32.
        feature_names: Names of the ``f`` columns.
        split: 0 train, 1 validation, 2 test, ``(n,)`` int8.
        weights: Optional per-row weights, ``(n,)`` float32, or None.
        spectators: Per-row quantities that are not features (``gen_pt``, ``gen_eta``,
            ``gen_energy``, ``gen_pdgid``, ``cl3d_pt``, ``cl3d_energy``), each ``(n,)``.
        sources: The files read.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    split: np.ndarray
    weights: np.ndarray | None = None
    spectators: Mapping[str, np.ndarray] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.y.size)

    def _part(self, name: str, values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[self.split == _SPLITS[name]]

    x_train = property(lambda self: self._part("train", self.X), doc="Training features ``(n_train, f)``.")
    y_train = property(lambda self: self._part("train", self.y), doc="Training labels ``(n_train,)``.")
    w_train = property(lambda self: self._part("train", self.weights), doc="Training weights or None.")
    x_val = property(lambda self: self._part("val", self.X), doc="Validation features ``(n_val, f)``.")
    y_val = property(lambda self: self._part("val", self.y), doc="Validation labels ``(n_val,)``.")
    w_val = property(lambda self: self._part("val", self.weights), doc="Validation weights or None.")
    x_test = property(lambda self: self._part("test", self.X), doc="Test features ``(n_test, f)``.")
    y_test = property(lambda self: self._part("test", self.y), doc="Test labels ``(n_test,)``.")
    w_test = property(lambda self: self._part("test", self.weights), doc="Test weights or None.")


# ----------------------------------------------------------------------------------------------
# options


def _expand(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise NtupleError("load: no path given; pass a .root file, a glob or a list of them")
    files: list[Path] = []
    for item in items:
        text = str(item)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise NtupleError(f"{text}: no file matches this pattern; check the path and the glob")
            files.extend(Path(m) for m in matches)
        elif not Path(text).is_file():
            raise NtupleError(f"{text}: file not found; check the path")
        else:
            files.append(Path(text))
    return list(dict.fromkeys(files))


def _feature_names(features: str | Sequence[str], geometry: Geometry) -> tuple[str, ...]:
    names: list[str] = []
    for item in [features] if isinstance(features, str) else list(features):
        if item == "layers":
            names += [f"layer_{k}" for k in geometry.read_layers]
        elif item == "layers_ce_e":
            subdet = np.asarray(geometry.subdet)[geometry.read]
            names += [f"layer_{k}" for k in geometry.read_layers[subdet == 1]]
        elif item == "shapes":
            names += list(SHAPE_FEATURES)
        elif item.startswith("cl3d_") or (item.startswith("layer_") and item[6:].isdigit()):
            names.append(item)
        else:
            raise NtupleError(f"load: unknown feature {item!r}; use 'layers', 'layers_ce_e', 'shapes', "
                              "'layer_<N>' or a 'cl3d_<name>' branch")
    if not names:
        raise NtupleError("load: the feature list is empty; pass e.g. features='layers'")
    if len(set(names)) != len(names):
        raise NtupleError(f"load: feature list repeats a name ({names}); list each feature once")
    return tuple(names)


# ----------------------------------------------------------------------------------------------
# per-chunk computations (pure)


def _delta_phi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def layer_energies_from_layer_pt(layer_pt: ak.Array, eta: np.ndarray, n_read: int) -> np.ndarray:
    """Per-read-layer energies of clusters from ``cl3d_layer_pt``.

    Entry ``k`` of a cluster's vector is trigger layer ``k`` (the ``k``-th read layer of the
    geometry, counting from 1); entry 0 stands for no layer and is ignored. CMSSW's vectors
    have ``n_read`` entries (the last trigger layer has no slot and reads as 0), those of
    :func:`hgcal.write_ntuple` ``n_read + 1``. Energies are pT times cosh of the cluster eta.

    Args:
        layer_pt: Per-cluster lists (or fixed-size arrays) of layer pT, ``(rows, n_read or n_read + 1)``.
        eta: Cluster eta, ``(rows,)``.
        n_read: Number of read layers ``R``.

    Returns:
        Energies of shape ``(rows, R)``.

    Raises:
        NtupleError: If a vector's length is neither ``R`` nor ``R + 1`` (another geometry).
    """
    lengths = ak.to_numpy(ak.num(layer_pt, axis=1))
    wrong = lengths[(lengths != n_read) & (lengths != n_read + 1)]
    if wrong.size:
        raise NtupleError(f"cl3d_layer_pt has {wrong[0]} entries per cluster but the geometry reads {n_read} "
                          f"layers (expected {n_read} or {n_read + 1}); pass the geometry the ntuple was made with")
    padded = ak.fill_none(ak.pad_none(layer_pt, n_read + 1, axis=1, clip=True), 0.0)
    values = ak.to_numpy(padded).astype(np.float64)[:, 1:]
    return values * np.cosh(eta)[:, None]


def _layer_energies_from_cells(event: np.ndarray, cluster_id: np.ndarray, tc_event: np.ndarray,
                               tc_cluster: np.ndarray, tc_layer: np.ndarray, tc_energy: np.ndarray,
                               column_of_layer: np.ndarray) -> np.ndarray:
    """Sums trigger-cell energy by layer for each row's cluster.

    Args:
        event: Chunk-local event index of each row, ``(rows,)``.
        cluster_id: ``cl3d_id`` of each row's cluster, ``(rows,)``.
        tc_event, tc_cluster, tc_layer, tc_energy: Per trigger cell, ``(m,)``.
        column_of_layer: Feature column of each physical layer number (-1: not a feature).

    Returns:
        ``(rows, C)`` energies, C = number of layer columns.
    """
    n_columns = int(column_of_layer.max()) + 1
    if event.size == 0:
        return np.zeros((0, n_columns))
    row_key = event.astype(np.int64) << 32 | cluster_id.astype(np.int64)
    unique, inverse = np.unique(row_key, return_inverse=True)
    tc_key = tc_event.astype(np.int64) << 32 | tc_cluster.astype(np.int64)
    position = np.minimum(np.searchsorted(unique, tc_key), unique.size - 1)
    layer = np.clip(tc_layer, 0, column_of_layer.size - 1)
    column = np.where(tc_layer == layer, column_of_layer[layer], -1)
    keep = (unique[position] == tc_key) & (tc_cluster > 0) & (column >= 0)
    sums = np.bincount(position[keep] * n_columns + column[keep], weights=tc_energy[keep],
                       minlength=unique.size * n_columns).reshape(unique.size, n_columns)
    return sums[inverse]


def _flat(array: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=1))


class Match(NamedTuple):
    """Selected particles of a chunk and their matched clusters, each ``(rows,)``.

    Attributes:
        event: Chunk-local event index.
        particle: Index into the chunk's flattened ``gen_*`` arrays.
        cluster: Index into the chunk's flattened ``cl3d_*`` arrays.
    """

    event: np.ndarray
    particle: np.ndarray
    cluster: np.ndarray


def match_clusters(gen_pdgid: ak.Array, gen_pt: ak.Array, gen_eta: ak.Array, gen_phi: ak.Array,
                   cl3d_pt: ak.Array, cl3d_eta: ak.Array, cl3d_phi: ak.Array, selection: Selection) -> Match:
    """Selects electrons and pions and matches each to its leading cluster within Delta R.

    Args:
        gen_pdgid, gen_pt, gen_eta, gen_phi: Generated particles, ``(events, var)``.
        cl3d_pt, cl3d_eta, cl3d_phi: 3D clusters, ``(events, var)``.
        selection: The cuts.

    Returns:
        The matched (particle, cluster) pairs in event order.
    """
    pdgid = np.abs(gen_pdgid)
    wanted = ((pdgid == selection.signal_pdgid) | (pdgid == selection.background_pdgid)) & (
        gen_pt > selection.gen_pt_min) & (np.abs(gen_eta) > selection.eta_min) & (np.abs(gen_eta) < selection.eta_max)
    d_eta = gen_eta[:, :, np.newaxis] - cl3d_eta[:, np.newaxis, :]
    d_phi = _delta_phi(gen_phi[:, :, np.newaxis], cl3d_phi[:, np.newaxis, :])
    pt, _ = ak.broadcast_arrays(cl3d_pt[:, np.newaxis, :], d_eta)
    inside = (d_eta ** 2 + d_phi ** 2 < selection.delta_r ** 2) & (pt > selection.cluster_pt_min)
    best = ak.fill_none(ak.argmax(ak.where(inside, pt, -np.inf), axis=2), 0)
    use = _flat(wanted & ak.any(inside, axis=2))
    event = np.repeat(np.arange(len(gen_pt)), ak.to_numpy(ak.num(gen_pt, axis=1)))[use]
    first_cluster = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(cl3d_pt, axis=1)))])[:-1]
    return Match(event=event, particle=np.flatnonzero(use), cluster=first_cluster[event] + _flat(best)[use])


def _layer_columns(chunk: ak.Array, match: Match, layer_names: list[str], geometry: Geometry,
                   use_layer_pt: bool, where: str) -> dict[str, np.ndarray]:
    """Per-layer energies of each row's cluster, one ``(rows,)`` column per ``layer_<N>`` name."""
    if use_layer_pt:
        read_layers = [int(k) for k in geometry.read_layers]
        unknown = [n for n in layer_names if int(n[6:]) not in read_layers]
        if unknown:
            raise NtupleError(f"{where}: feature {unknown[0]!r} is not a read layer of geometry {geometry.name!r}, "
                              "and cl3d_layer_pt holds read layers only; pick read layers, another geometry "
                              "or layer_energies='cells'")
        eta = _flat(chunk["cl3d_eta"]).astype(np.float64)[match.cluster]
        try:
            per_layer = layer_energies_from_layer_pt(ak.flatten(chunk["cl3d_layer_pt"], axis=1)[match.cluster],
                                                     eta, len(read_layers))
        except NtupleError as err:
            raise NtupleError(f"{where}: branch {err}") from None
        return {n: per_layer[:, read_layers.index(int(n[6:]))] for n in layer_names}
    numbers = [int(n[6:]) for n in layer_names]
    column_of_layer = np.full(max(numbers) + 1, -1)
    column_of_layer[numbers] = np.arange(len(numbers))
    tc_counts = ak.to_numpy(ak.num(chunk["tc_layer"], axis=1))
    sums = _layer_energies_from_cells(
        match.event, _flat(chunk["cl3d_id"]).astype(np.int64)[match.cluster],
        np.repeat(np.arange(len(chunk)), tc_counts), _flat(chunk["tc_multicluster_id"]).astype(np.int64),
        _flat(chunk["tc_layer"]).astype(np.int64), _flat(chunk["tc_energy"]).astype(np.float64), column_of_layer)
    return {name: sums[:, i] for i, name in enumerate(layer_names)}


def _rows_of_chunk(chunk: ak.Array, gen_id: str, selection: Selection, names: tuple[str, ...],
                   geometry: Geometry, use_layer_pt: bool, where: str = "load") -> dict[str, np.ndarray]:
    """Matches particles to clusters in one chunk of events and returns the row columns."""
    match = match_clusters(chunk[gen_id], chunk["gen_pt"], chunk["gen_eta"], chunk["gen_phi"],
                           chunk["cl3d_pt"], chunk["cl3d_eta"], chunk["cl3d_phi"], selection)
    gen = lambda name: _flat(chunk[name]).astype(np.float64)[match.particle]  # noqa: E731
    cluster = lambda name: _flat(chunk[name]).astype(np.float64)[match.cluster]  # noqa: E731
    pdgid = _flat(chunk[gen_id]).astype(np.int64)[match.particle]
    rows = {
        "y": (np.abs(pdgid) == selection.signal_pdgid).astype(np.float32),
        "gen_pdgid": pdgid, "gen_pt": gen("gen_pt"), "gen_eta": gen("gen_eta"),
        "gen_energy": gen("gen_energy") if "gen_energy" in chunk.fields else gen("gen_pt") * np.cosh(gen("gen_eta")),
        "cl3d_pt": cluster("cl3d_pt"), "cl3d_energy": cluster("cl3d_energy"),
    }
    layer_names = [n for n in names if n.startswith("layer_")]
    layers = _layer_columns(chunk, match, layer_names, geometry, use_layer_pt, where) if layer_names else {}
    for name in names:
        rows["feature:" + name] = layers[name] if name in layers else cluster(name)
    return rows


# ----------------------------------------------------------------------------------------------
# reading


def _needed_branches(tree, file: Path, path: str, names: tuple[str, ...],
                     layer_source: str = "auto") -> tuple[list[str], str, bool]:
    keys = set(tree.keys())
    where = f"{file}: tree {path!r}"
    gen_id = "gen_pdgid" if "gen_pdgid" in keys else "gen_id" if "gen_id" in keys else None
    if gen_id is None:
        raise NtupleError(f"{where} has neither branch 'gen_pdgid' nor 'gen_id'; "
                          "run the ntuplizer with the gen ntuple enabled")
    needed = [gen_id, "gen_pt", "gen_eta", "gen_phi", "cl3d_pt", "cl3d_energy", "cl3d_eta", "cl3d_phi"]
    needed += [n for n in names if n.startswith("cl3d_")]
    use_layer_pt = False
    if any(n.startswith("layer_") for n in names):
        has_cells = all(branch in keys for branch in _CELL_BRANCHES)
        use_layer_pt = layer_source == "layer_pt" or (
            layer_source == "auto" and not has_cells and "cl3d_layer_pt" in keys)
        needed += ["cl3d_layer_pt"] if use_layer_pt else list(_CELL_BRANCHES)
    for branch in needed:
        if branch not in keys:
            if branch == "cl3d_layer_pt":
                hint = ("layer_energies='layer_pt' needs an ntuple made with FillLayerInfo; "
                        "use layer_energies='cells' (the tc_* branches) instead")
            elif branch in _CELL_BRANCHES:
                hint = ("per-layer features need the tc_* branches (trigger-cell ntuple) or cl3d_layer_pt "
                        "(FillLayerInfo); enable one, or drop the 'layers' features")
            else:
                hint = "choose features this file has, or re-run the ntuplizer with that branch"
            raise NtupleError(f"{where} has no branch {branch!r}; {hint}")
    for name in names:
        typename = tree[name].typename.replace("std::", "").replace(" ", "") if name.startswith("cl3d_") else ""
        if "vector<vector" in typename or "][" in typename:  # vector<vector<float>> or float[cl3d_n][39]
            raise NtupleError(f"{where}: branch {name!r} holds a list per cluster, not one number; "
                              "use it through the 'layers' features or pick a scalar cl3d_* branch")
    if "gen_energy" in keys:
        needed.append("gen_energy")
    return list(dict.fromkeys(needed)), gen_id, use_layer_pt


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _read_file(file: Path, names, selection, geometry, step_size, layer_source: str = "auto",
               tree_pattern: str | None = None) -> Iterable[dict[str, np.ndarray]]:
    short = _missing_bytes(file)  # caught up front: the lost bytes may hold no branch that load reads
    if short:
        raise NtupleError(f"{file}: truncated ROOT file ({short}); the file looks truncated or corrupt, "
                          "copy it again")
    try:
        handle = uproot.open(file)
    except Exception as exc:  # uproot raises ValueError, OSError, struct errors ... for non-ROOT data
        raise NtupleError(f"{file}: not a readable ROOT file ({_first_line(exc)}); "
                          "check that it is a complete .root file") from None
    with handle:
        try:
            trees = find_trees(handle)
        except Exception as exc:
            raise NtupleError(f"{file}: cannot list the file's contents ({type(exc).__name__}); "
                              "the file looks truncated or corrupt, copy it again") from None
        if not trees:
            raise NtupleError(f"{file}: no TTree named 'HGCalTriggerNtuple' in this file; "
                              "pass HGCal trigger ntuples (hgcalTriggerNtuplizer output)")
        if tree_pattern is not None:
            chosen = [path for path in trees if fnmatch.fnmatchcase(path, tree_pattern)]
            if not chosen:
                raise NtupleError(f"{file}: no tree matches tree={tree_pattern!r}; the file has {trees}, "
                                  "pass one of them (or a pattern such as 'l1tHGCal*/*')")
            trees = chosen
        for path in trees:
            try:
                tree = handle[path]
            except Exception as exc:
                raise NtupleError(f"{file}: tree {path!r} cannot be read ({type(exc).__name__}); "
                                  "the file looks truncated or corrupt, copy it again") from None
            branches, gen_id, use_layer_pt = _needed_branches(tree, file, path, names, layer_source)
            chunks = tree.iterate(branches, step_size=step_size, library="ak", report=True)
            read_up_to = 0
            while True:
                try:
                    chunk, report = next(chunks)
                except StopIteration:
                    break
                except Exception as exc:  # decompression, basket and seek errors of a damaged file
                    broken = _unreadable_branch(tree, branches, read_up_to)
                    branch = f" branch {broken!r}" if broken else ""
                    raise NtupleError(f"{file}: tree {path!r}{branch} cannot be read past entry {read_up_to} "
                                      f"({_first_line(exc)}); the file looks truncated or corrupt, "
                                      "copy it again") from None
                read_up_to = report.tree_entry_stop
                yield _rows_of_chunk(chunk, gen_id, selection, names, geometry, use_layer_pt,
                                     f"{file}: tree {path!r}")


def _missing_bytes(file: Path) -> str:
    """``"has 1200 of 149083 bytes"`` when a ROOT file is shorter than its header's end (fEND)."""
    with open(file, "rb") as stream:
        header = stream.read(20)
    if len(header) < 16 or header[:4] != b"root":
        return ""
    large = int.from_bytes(header[4:8], "big") >= 1_000_000  # 64-bit seeks
    end = int.from_bytes(header[12:20] if large else header[12:16], "big")
    size = file.stat().st_size
    return f"has {size} of {end} bytes" if size < end else ""


def _unreadable_branch(tree, branches: Sequence[str], entry_start: int) -> str | None:
    """The first of ``branches`` that fails to read from ``entry_start`` on (None if all read).

    Runs only after a chunk failed, to name the damaged branch in the error.
    """
    for branch in branches:
        try:
            tree[branch].array(entry_start=entry_start, library="ak")
        except Exception:  # the same damage the chunk met, seen branch by branch
            return branch
    return None


def _contents_hash(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        with open(file, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 22), b""):
                digest.update(block)
        digest.update(b"\0file\0")
    return digest.hexdigest()


def _save_cache(target: Path, dataset: Dataset, options: dict) -> None:
    arrays = {"X": dataset.X, "y": dataset.y, "split": dataset.split,
              "feature_names": np.asarray(dataset.feature_names, dtype=str),
              "options": np.asarray(json.dumps(options, sort_keys=True)),
              "sources": np.asarray(dataset.sources, dtype=str)}
    if dataset.weights is not None:
        arrays["weights"] = dataset.weights
    arrays.update({f"spectator:{k}": v for k, v in dataset.spectators.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".npz.tmp", dir=target.parent)
    os.close(handle)
    try:
        with open(temporary, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _load_cache(target: Path) -> Dataset | None:
    try:
        with np.load(target, allow_pickle=False) as data:
            return Dataset(
                X=data["X"], y=data["y"], split=data["split"],
                feature_names=tuple(str(s) for s in data["feature_names"]),
                weights=data["weights"] if "weights" in data.files else None,
                spectators={k.split(":", 1)[1]: data[k] for k in data.files if k.startswith("spectator:")},
                sources=tuple(str(s) for s in data["sources"]))
    except (OSError, ValueError, KeyError):
        return None  # unreadable cache entries are rebuilt


def _split_labels(n: int, fractions: tuple[float, float, float], seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    split = np.full(n, 2, dtype=np.int8)
    split[order[:n_train]] = 0
    split[order[n_train:n_train + n_val]] = 1
    return split


def load(paths: str | Path | Sequence[str | Path], features: str | Sequence[str] = "layers", *,
         selection: Selection = Selection(), geometry: Geometry | str | Path = "v9-trigger",
         split: tuple[float, float, float] = (0.6, 0.2, 0.2), seed: int = 0, weights: str | None = None,
         cache_dir: str | Path | None = None, step_size: str | int = "100 MB",
         layer_energies: str = "auto", tree: str | None = None) -> Dataset:
    """Reads HGCal trigger ntuples into a Dataset of electron (1) and pion (0) rows.

    Args:
        paths: A file, a glob (``"data/*.root"``) or a list of them.
        features: Feature names or groups: ``"layers"`` (energy in every read layer of
            ``geometry``), ``"layers_ce_e"`` (CE-E read layers only), ``"shapes"``
            (:data:`SHAPE_FEATURES`), ``"layer_<N>"`` (physical layer N) or any ``"cl3d_<name>"``
            branch.
        selection: Particle and cluster selection.
        geometry: Geometry whose read layers define the ``"layers"`` features.
        split: Train, validation, test fractions (summing to 1).
        seed: Seed of the deterministic split.
        weights: None, or ``"balanced"`` for class weights ``n / (2 n_class)``.
        cache_dir: Folder for the ``.npz`` cache (None: no cache).
        step_size: Chunk size for ``uproot`` iteration (entries or a size such as ``"100 MB"``).
        layer_energies: Source of the per-layer energies: ``"auto"``, ``"cells"`` or
            ``"layer_pt"`` (see the module docstring).
        tree: Which ``HGCalTriggerNtuple`` trees to read, as a path or ``fnmatch`` pattern
            (``"l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple"``, ``"*Histomax*/*"``); None reads
            every one. A file with several algorithm chains holds the same particles once per
            chain, so pick one chain to avoid duplicate rows.

    Returns:
        The Dataset; ``X`` float32 ``(n, f)``, ``y`` float32 ``(n,)``.

    Raises:
        NtupleError: For a missing, non-ROOT or truncated file, a file without a trigger tree,
            a tree without a needed branch, bad options or an empty selection.
    """
    files = _expand(paths)
    geometry = Geometry.resolve(geometry)
    names = _feature_names(features, geometry)
    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1) > 1e-9:
        raise NtupleError(f"load: split={split!r} must be three non-negative fractions summing to 1")
    if weights not in (None, "balanced"):
        raise NtupleError(f"load: weights={weights!r} is not supported; use None or 'balanced'")
    if layer_energies not in LAYER_SOURCES:
        raise NtupleError(f"load: layer_energies={layer_energies!r} is not one of {LAYER_SOURCES}")
    selection = Selection(*selection)
    options = {"version": _CACHE_VERSION, "features": names, "selection": selection._asdict(),
               "geometry": geometry.to_dict(), "split": list(split), "seed": seed, "weights": weights,
               "layer_energies": layer_energies, "tree": tree}
    target = None
    if cache_dir is not None:
        key = hashlib.sha256((_contents_hash(files) + json.dumps(options, sort_keys=True)).encode()).hexdigest()
        target = Path(cache_dir) / f"hgcal-{key[:24]}.npz"
        if target.is_file() and (cached := _load_cache(target)) is not None:
            return cached

    parts = [rows for file in files
             for rows in _read_file(file, names, selection, geometry, step_size, layer_energies, tree)]
    columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}
    if not parts or columns["y"].size == 0:
        raise NtupleError(f"{', '.join(map(str, files))}: no generated particle passes the selection "
                          f"{selection} with a matched cluster; check the files or loosen `selection`")
    X = np.stack([columns["feature:" + n] for n in names], axis=1).astype(np.float32)
    y = columns["y"]
    row_weights = None
    if weights == "balanced":
        counts = np.bincount(y.astype(np.int64), minlength=2).astype(np.float64)
        row_weights = (y.size / (2 * np.maximum(counts, 1)))[y.astype(np.int64)].astype(np.float32)
    dataset = Dataset(X=X, y=y, feature_names=names, split=_split_labels(y.size, tuple(split), seed),
                      weights=row_weights, sources=tuple(str(f) for f in files),
                      spectators={k: columns[k] for k in ("gen_pdgid", "gen_pt", "gen_eta", "gen_energy",
                                                          "cl3d_pt", "cl3d_energy")})
    if target is not None:
        _save_cache(target, dataset, options)
    return dataset
