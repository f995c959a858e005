"""Write -> load round trips, schema variants, the cache, the command line and every bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import hgcal
from hgcal.cli import main
from hgcal.dataset import layer_energies_from_layer_pt

TREE = "hgcalTriggerNtuplizer/HGCalTriggerNtuple"
CMSSW_LAYOUT = Path(__file__).parent / "data" / "cmssw_layout.root"  # std::vector file made with ROOT

# Element types the CMSSW ntuplizer declares (L1Trigger/L1THGCalUtilities/plugins/ntuples:
# HGCalTriggerNtupleEvent, ...Gen, ...HGCMulticlusters, ...HGCTriggerCells), for the branches
# write_ntuple writes; "[]" marks the std::vector ones.
CMSSW_TYPES = {
    "run": "int32", "event": "int32", "lumi": "int32",
    "gen_n": "int32", "gen_PUNumInt": "int32", "gen_TrueNumInt": "float32",
    "vtx_x": "float32", "vtx_y": "float32", "vtx_z": "float32",
    **{f"gen_{k}": "float32[]" for k in ("eta", "phi", "pt", "energy")},
    **{f"gen_{k}": "int32[]" for k in ("charge", "pdgid", "status")},
    "cl3d_n": "int32", "cl3d_id": "uint32[]", "cl3d_clusters_n": "int32[]", "cl3d_quality": "int32[]",
    **{f"cl3d_{k}": "int32[]" for k in ("showerlength", "coreshowerlength", "firstlayer", "maxlayer")},
    **{f"cl3d_{k}": "float32[]" for k in (
        "pt", "energy", "eta", "phi", "seetot", "seemax", "spptot", "sppmax", "szz", "srrtot", "srrmax",
        "srrmean", "emaxe", "hoe", "meanz", "layer10", "layer50", "layer90", "ntc67", "ntc90", "bdteg")},
    "cl3d_layer_pt": "float32[][]",
    "tc_n": "int32",
    **{f"tc_{k}": "uint32[]" for k in ("id", "data", "cluster_id", "multicluster_id")},
    **{f"tc_{k}": "int32[]" for k in ("subdet", "zside", "layer", "waferu", "waferv", "cellu", "cellv")},
    **{f"tc_{k}": "float32[]" for k in ("pt", "mipPt", "energy", "eta", "phi", "x", "y", "z", "multicluster_pt")},
}


@pytest.fixture(scope="module")
def branches(ntuple_path):
    with uproot.open(ntuple_path) as file:
        return dict(zip(file[TREE].keys(), ak.unzip(file[TREE].arrays())))


@pytest.fixture(scope="module")
def dataset(ntuple_path):
    return hgcal.load(ntuple_path, features=["layers", "shapes"])


def _selected(showers):
    """Showers passing the default selection, in file order."""
    keep = showers.has_cluster & (showers.cluster["pt"] > 10) & (showers.pt > 20)
    return keep & (np.abs(showers.eta) > 1.7) & (np.abs(showers.eta) < 2.8)


def _element_type(array: ak.Array) -> str:
    """``float32``, ``int32[]``, ``float32[][]``: the element type and list depth of a branch."""
    text = str(array.type.content)
    return text.split(" * ")[-1] + "[]" * text.count(" * ")


def test_schema_has_the_ntuplizer_names_and_types(branches):
    """Every branch has a real ntuplizer name (no helper branch of our own) and its element type."""
    assert set(branches) == set(CMSSW_TYPES)
    for name, array in branches.items():
        assert _element_type(array) == CMSSW_TYPES[name], name
    with uproot.open(CMSSW_LAYOUT) as file:  # the ROOT-made std::vector file agrees, branch by branch
        tree = file["l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple"]
        for name in CMSSW_TYPES:
            assert _element_type(tree[name].array()) == CMSSW_TYPES[name], name
            assert ("std::vector" in tree[name].typename) == ("[]" in CMSSW_TYPES[name]), name


def test_round_trip_keeps_every_value(branches, dataset, electrons, pions):
    showers = hgcal.concatenate([electrons, pions])
    assert np.array_equal(ak.flatten(branches["gen_pdgid"]), showers.pdgid)
    assert set(ak.flatten(branches["gen_charge"]).tolist()) == {-1}  # e- and pi- are both negative
    for key in ["pt", "eta", "phi", "energy"]:
        assert np.array_equal(ak.flatten(branches[f"gen_{key}"]), getattr(showers, key).astype(np.float32))
    assert np.array_equal(branches["cl3d_n"], showers.has_cluster.astype(np.int32))
    for key, values in showers.cluster.items():
        assert np.array_equal(ak.flatten(branches[f"cl3d_{key}"]), values[showers.has_cluster].astype(
            ak.flatten(branches[f"cl3d_{key}"]).to_numpy().dtype)), key
    assert np.array_equal(branches["tc_n"], showers.tc_count)
    assert np.array_equal(ak.flatten(branches["tc_energy"]), showers.tc_energy)
    # the loader rebuilds the per-layer energies from the trigger cells
    keep = _selected(showers)
    assert len(dataset) == keep.sum()
    assert np.array_equal(dataset.y, (showers.pdgid[keep] == 11).astype(np.float32))
    n_layers = showers.geometry.n_read
    assert dataset.feature_names[:n_layers] == tuple(f"layer_{k}" for k in showers.geometry.read_layers)
    assert np.allclose(dataset.X[:, :n_layers], showers.layer_energy[keep], rtol=1e-5, atol=1e-6)
    for i, name in enumerate(dataset.feature_names[n_layers:], start=n_layers):
        assert np.array_equal(dataset.X[:, i], showers.cluster[name[5:]][keep].astype(np.float32)), name


def test_tc_multicluster_id_links_cells_to_their_cluster(branches):
    owner = branches["tc_multicluster_id"]
    cl3d_id = ak.fill_none(ak.firsts(branches["cl3d_id"]), 0)
    assert ak.all(owner == cl3d_id)
    energy = ak.sum(branches["tc_energy"], axis=1)
    has = branches["cl3d_n"] == 1
    assert np.allclose(energy[has], ak.firsts(branches["cl3d_energy"])[has], rtol=1e-4)


def test_splits_are_deterministic_and_disjoint(ntuple_path, dataset):
    again = hgcal.load(ntuple_path, features=["layers", "shapes"])
    assert np.array_equal(again.split, dataset.split)
    n = len(dataset)
    assert len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test) == n
    assert len(dataset.x_train) == round(0.6 * n) and len(dataset.y_val) == round(0.2 * n)
    other = hgcal.load(ntuple_path, features="layers", seed=1, weights="balanced")
    assert not np.array_equal(other.split, dataset.split)
    assert np.sum(other.weights[other.y == 1]) == pytest.approx(np.sum(other.weights[other.y == 0]))
    assert other.w_train.shape == other.y_train.shape and dataset.w_train is None


def test_newer_tree_path_and_gen_id_load_the_same(tmp_path, branches, ntuple_path):
    renamed = {("gen_id" if k == "gen_pdgid" else k): v for k, v in branches.items()}
    path = hgcal.write_ntuple(tmp_path / "new.root", renamed, tree="l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple")
    new = hgcal.load(path, features=["layers", "cl3d_srrtot"])
    old = hgcal.load(ntuple_path, features=["layers", "cl3d_srrtot"])
    assert np.array_equal(new.X, old.X) and np.array_equal(new.y, old.y)


def test_globs_several_files_and_several_trees(tmp_path, branches, ntuple_path):
    for name in ("a.root", "b.root"):
        shutil.copy(ntuple_path, tmp_path / name)
    single = hgcal.load(ntuple_path, features="layers")
    both = hgcal.load(str(tmp_path / "*.root"), features="layers")
    assert len(both) == 2 * len(single)
    two_chains = tmp_path / "chains.root"
    with uproot.recreate(two_chains) as file:  # one folder per algorithm chain, the same events in each
        groups = {group: ak.zip({k[len(group) + 1:]: v for k, v in branches.items()
                                 if k.startswith(group + "_") and v.ndim == 2})
                  for group in ("gen", "cl3d")}
        for chain in ("chainA", "chainB"):
            file.mktree(f"{chain}/HGCalTriggerNtuple", {k: v.type.content for k, v in groups.items()}).extend(groups)
    assert hgcal.find_trees(uproot.open(two_chains)) == ["chainA/HGCalTriggerNtuple", "chainB/HGCalTriggerNtuple"]
    shapes = hgcal.load(ntuple_path, features="shapes")
    assert len(hgcal.load(two_chains, features="shapes")) == 2 * len(shapes)
    assert np.array_equal(hgcal.load(two_chains, features="shapes", tree="chainB/*").X, shapes.X)
    with pytest.raises(hgcal.NtupleError, match=r"chains.root: no tree matches tree='histo\*'; the file has "
                                                r"\['chainA/HGCalTriggerNtuple', 'chainB/HGCalTriggerNtuple'\]"):
        hgcal.load(two_chains, tree="histo*")


def test_chunked_reading_gives_the_same_rows(ntuple_path, dataset):
    chunked = hgcal.load(ntuple_path, features=["layers", "shapes"], step_size=700)
    assert np.array_equal(chunked.X, dataset.X)


def test_chunked_reading_bounds_memory(ntuple_path, dataset):
    """Peak traced memory follows the chunk (and basket) size, not the file size."""
    peaks = {}
    for step in ("5 MB", "2 GB"):
        tracemalloc.start()
        try:
            data = hgcal.load(ntuple_path, features=["layers", "shapes"], step_size=step)
            peaks[step] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert np.array_equal(data.X, dataset.X)
    assert peaks["5 MB"] < 0.5 * peaks["2 GB"]
    assert peaks["5 MB"] < 0.5 * ntuple_path.stat().st_size  # uncompressed file of 6000 events


def test_cache_is_keyed_by_contents_and_options(tmp_path, ntuple_path):
    copy = tmp_path / "data.root"
    shutil.copy(ntuple_path, copy)
    cache = tmp_path / "cache"
    first = hgcal.load(copy, features="layers", cache_dir=cache)
    entries = sorted(cache.glob("*.npz"))
    assert len(entries) == 1
    with np.load(entries[0], allow_pickle=False) as stored:  # no pickled objects inside
        assert "X" in stored.files
    again = hgcal.load(copy, features="layers", cache_dir=cache)
    assert np.array_equal(again.X, first.X) and again.feature_names == first.feature_names
    assert np.array_equal(again.split, first.split)
    hgcal.load(copy, features="layers", seed=3, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 2
    with open(copy, "ab") as stream:  # new contents, new key
        stream.write(b"\0")
    hgcal.load(copy, features="layers", cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 3


def test_layer_pt_branch_gives_energies():
    """Entry k is trigger layer k (entry 0: no layer); CMSSW's shorter vector lacks the last layer."""
    layer_pt = ak.Array([[0.0, 1.0, 2.0, 0.5], [0.0, 3.0, 0.0], [0.0, 4.0, 1.0]])
    energy = layer_energies_from_layer_pt(layer_pt, np.array([2.0, 1.5, 1.0]), n_read=3)
    expected = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 0.0], [4.0, 1.0, 0.0]]) * np.cosh([[2.0], [1.5], [1.0]])
    assert np.allclose(energy, expected)
    with pytest.raises(hgcal.NtupleError, match="cl3d_layer_pt has 9 entries per cluster.*geometry reads 3"):
        layer_energies_from_layer_pt(ak.Array([[0.0] * 9]), np.array([2.0]), n_read=3)


def test_layer_pt_is_the_trigger_cell_pt_per_trigger_layer(branches, electrons):
    """cl3d_layer_pt[k] = sum of tc_pt of the cluster's cells in trigger layer k, as CMSSW fills it."""
    read_layers = electrons.geometry.read_layers
    layer_pt = branches["cl3d_layer_pt"]
    assert set(ak.num(layer_pt, axis=2)[ak.num(layer_pt) > 0].to_numpy().ravel()) == {read_layers.size + 1}
    has = ak.to_numpy(branches["cl3d_n"] == 1)
    event = np.repeat(np.arange(len(has)), ak.to_numpy(branches["tc_n"]))
    trigger_layer = np.searchsorted(read_layers, ak.to_numpy(ak.flatten(branches["tc_layer"]))) + 1
    owned = ak.to_numpy(ak.flatten(branches["tc_multicluster_id"])) > 0
    expected = np.zeros((len(has), read_layers.size + 1))
    np.add.at(expected, (event[owned], trigger_layer[owned]), ak.to_numpy(ak.flatten(branches["tc_pt"]))[owned])
    stored = ak.to_numpy(ak.firsts(layer_pt)[has])
    assert np.allclose(stored, expected[has], rtol=1e-5, atol=1e-6)
    assert np.all(stored[:, 0] == 0)


def test_loader_takes_cells_first_and_layer_pt_agrees(tmp_path, ntuple_path, dataset, branches):
    layers = [f"layer_{k}" for k in range(1, 53)]
    names = list(dataset.feature_names)
    columns = [names.index(n) for n in names if n in layers]
    cells = hgcal.load(ntuple_path, features="layers", layer_energies="cells")
    assert np.array_equal(cells.X, dataset.X[:, columns])  # "auto" read the trigger cells
    from_pt = hgcal.load(ntuple_path, features="layers", layer_energies="layer_pt")
    total = cells.X.sum(axis=1, keepdims=True)
    # pT -> energy with the cluster's eta instead of each cell's: ~1 % on a layer, far less in total
    large = cells.X > 0.05 * total
    assert np.allclose(from_pt.X[large], cells.X[large], rtol=0.02)
    assert np.all(np.abs(from_pt.X - cells.X) <= 0.005 * total)
    assert np.allclose(from_pt.X.sum(axis=1), total[:, 0], rtol=0.005)
    assert not np.array_equal(from_pt.X, cells.X)
    # without the trigger cells, "auto" falls back to cl3d_layer_pt
    no_cells = hgcal.write_ntuple(tmp_path / "nocells.root",
                                  {k: v for k, v in branches.items() if not k.startswith("tc_")})
    assert np.array_equal(hgcal.load(no_cells, features="layers").X, from_pt.X)


def _counted_copy(path, tree):
    """The std::vector fixture rewritten by write_ntuple as counted arrays."""
    with uproot.open(CMSSW_LAYOUT) as file:
        source = file["l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple"]
        skip = ("gen_daughters", "cl3d_clusters_id", "tc_wafer", "tc_cell")  # ragged inside, or empty in V9
        arrays = {k: source[k].array() for k in source.keys() if k not in skip and not k.startswith("genpart_")}
    return hgcal.write_ntuple(path, arrays, tree=tree)


def test_std_vector_layout_loads_like_counted_arrays(tmp_path):
    """A ROOT-made file in the CMSSW layout (std::vector, vector<vector<float>> cl3d_layer_pt of
    lastTriggerLayer entries, empty tc_wafer, genpart_* without counter) loads like our layout."""
    options = dict(features=["layers", "shapes"], split=(1.0, 0.0, 0.0))
    vectors = hgcal.load(CMSSW_LAYOUT, **options)
    assert len(vectors) == 16 and vectors.y.sum() == 8
    # per-layer energies add up to the cluster energy (all cells belong to the cluster)
    assert np.allclose(vectors.X[:, :38].sum(axis=1), vectors.spectators["cl3d_energy"], rtol=1e-4)
    copy = _counted_copy(tmp_path / "counted.root", "l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple")
    with uproot.open(copy) as file:
        assert file["l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple/cl3d_layer_pt"].typename == "float[][38]"
    counted = hgcal.load(copy, **options)
    assert np.array_equal(counted.X, vectors.X) and np.array_equal(counted.y, vectors.y)
    vectors_pt = hgcal.load(CMSSW_LAYOUT, layer_energies="layer_pt", **options)
    assert np.array_equal(hgcal.load(copy, layer_energies="layer_pt", **options).X, vectors_pt.X)
    # CMSSW's vector has no slot for the last trigger layer (52): it reads as 0
    assert np.all(vectors_pt.X[:, 37] == 0) and vectors.X[:, 37].max() > 0
    assert np.allclose(vectors_pt.X[:, :37].sum(axis=1), vectors.X[:, :37].sum(axis=1), rtol=0.005)


# --------------------------------------------------------------------------------------------
# bad inputs: one NtupleError naming file, tree and branch; nothing written to the cache


def _assert_fails(tmp_path, paths, match, **options):
    cache = tmp_path / "cache"
    with pytest.raises(hgcal.NtupleError, match=match) as info:
        hgcal.load(paths, cache_dir=cache, **options)
    assert "\n" not in str(info.value)
    assert not cache.exists() or not any(cache.iterdir())


def test_missing_file_and_empty_glob(tmp_path):
    _assert_fails(tmp_path, tmp_path / "nope.root", "nope.root: file not found")
    _assert_fails(tmp_path, str(tmp_path / "*.root"), "no file matches")


def test_not_a_root_file(tmp_path, ntuple_path):
    path = tmp_path / "notes.root"
    path.write_text("these are not the showers you are looking for\n" * 20)
    _assert_fails(tmp_path, path, "notes.root: not a readable ROOT file")
    _assert_fails(tmp_path, [ntuple_path, path], "notes.root: not a readable ROOT file")  # after a good file


@pytest.mark.parametrize("fraction", [0.001, 0.01, 0.5, 0.99, 0.9999])
def test_truncated_file(tmp_path, ntuple_path, fraction):
    """uproot's files keep the tree's metadata up front, ROOT's at the end: both fail cleanly."""
    for source, name in ((ntuple_path, "uproot"), (CMSSW_LAYOUT, "root")):
        data = source.read_bytes()
        path = tmp_path / f"truncated-{name}.root"
        path.write_bytes(data[: int(len(data) * fraction)])
        _assert_fails(tmp_path, path, f"truncated-{name}.root.*truncated or corrupt, copy it again")


def test_corrupt_basket_names_the_branch(tmp_path):
    path = tmp_path / "corrupt.root"
    hgcal.write_ntuple(path, [hgcal.simulate(300, "e-", seed=4)])  # compressed: damage breaks decompression
    with uproot.open(path) as file:
        seek = int(file[TREE]["tc_energy"].member("fBasketSeek")[0])
    data = bytearray(path.read_bytes())
    data[seek + 200: seek + 1200] = b"\xff" * 1000  # inside tc_energy's first basket, past its key
    path.write_bytes(bytes(data))
    _assert_fails(tmp_path, path, "corrupt.root: tree 'hgcalTriggerNtuplizer/HGCalTriggerNtuple' branch "
                  "'tc_energy' cannot be read past entry 0 .*copy it again")


def test_file_without_trigger_tree(tmp_path):
    path = tmp_path / "other.root"
    with uproot.recreate(path) as file:
        file.mktree("Events", {"x": np.int64}).extend({"x": np.arange(3)})
    _assert_fails(tmp_path, path, "other.root: no TTree named 'HGCalTriggerNtuple'")


def test_tree_without_a_needed_branch(tmp_path, branches, ntuple_path):
    path = hgcal.write_ntuple(tmp_path / "nocl.root", {k: v for k, v in branches.items() if k != "cl3d_eta"})
    _assert_fails(tmp_path, path,
                  r"nocl.root: tree 'hgcalTriggerNtuplizer/HGCalTriggerNtuple' has no branch 'cl3d_eta'")
    path = hgcal.write_ntuple(tmp_path / "notc.root", {k: v for k, v in branches.items()
                                                       if not k.startswith("tc_") and k != "cl3d_layer_pt"})
    _assert_fails(tmp_path, path, "no branch 'tc_layer'.*tc_\\* branches.*cl3d_layer_pt")
    assert len(hgcal.load(path, features="shapes")) > 0  # shapes need no trigger cells
    _assert_fails(tmp_path, path, "notc.root: tree .* has no branch 'cl3d_layer_pt'; layer_energies='layer_pt' needs",
                  layer_energies="layer_pt")
    _assert_fails(tmp_path, ntuple_path, "showers.root: tree .* branch cl3d_layer_pt has 39 entries.*reads 8 layers",
                  geometry="seed8",
                  layer_energies="layer_pt")


def test_empty_selection(tmp_path, ntuple_path):
    _assert_fails(tmp_path, ntuple_path, "no generated particle passes the selection",
                  selection=hgcal.Selection(gen_pt_min=1e6))


def test_bad_options(tmp_path, ntuple_path):
    _assert_fails(tmp_path, ntuple_path, "unknown feature 'energy_per_layer'", features="energy_per_layer")
    _assert_fails(tmp_path, ntuple_path, "split=", split=(0.5, 0.5, 0.5))
    _assert_fails(tmp_path, ntuple_path, "layer_energies='sums' is not one of", layer_energies="sums")
    for path in (ntuple_path, CMSSW_LAYOUT):
        _assert_fails(tmp_path, path, f"{path.name}: tree .*: branch 'cl3d_layer_pt' holds a list per cluster",
                      features="cl3d_layer_pt")
    with pytest.raises(hgcal.NtupleError, match="unknown particle 'mu-'"):
        hgcal.simulate(10, "mu-")
    with pytest.raises(hgcal.NtupleError, match="does not exist"):
        hgcal.write_ntuple(tmp_path / "no" / "such.root", hgcal.simulate(10, "e-"))


def test_module_entry_point(tmp_path):
    out = tmp_path / "module.root"
    run = subprocess.run([sys.executable, "-m", "hgcal.simulate", "--electrons", "50", "--pions", "50",
                          "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "wrote 50 electrons and 50 pions" in run.stdout and run.stderr == ""
    with uproot.open(out) as file:
        assert file[TREE].num_entries == 100


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli.root"
    assert main(["--electrons", "300", "--pions", "300", "--out", str(out), "--seed", "3", "--batch", "200"]) == 0
    data = hgcal.load(out)
    assert 0.3 < data.y.mean() < 0.8
    with uproot.open(out) as file:  # four batches, one continuous event numbering
        assert file[TREE]["event"].array(library="np").tolist() == list(range(1, 601))
    assert main(["--electrons", "0", "--out", str(out)]) == 2
    assert main(["--electrons", "5", "--geometry", "v10", "--out", str(out)]) == 2
    assert "unknown geometry preset 'v10'" in capsys.readouterr().err


def test_matching_by_hand(tmp_path):
    """Delta R < 0.2, cluster pT > 10, leading cluster wins, same endcap, pdgid and gen cuts."""
    jagged = lambda rows, dtype=np.float32: ak.values_astype(ak.Array(rows), dtype)  # noqa: E731
    events = {
        "gen_pdgid": jagged([[11], [-211, 22], [11], [211]], np.int32),
        "gen_pt": jagged([[40.0], [50.0, 60.0], [15.0], [30.0]]),
        "gen_eta": jagged([[2.0], [-2.0, 2.0], [2.0], [1.9]]),
        "gen_phi": jagged([[0.0], [1.0, 0.0], [0.0], [3.1]]),
        "cl3d_pt": jagged([[30.0, 50.0, 80.0, 5.0], [40.0, 20.0], [14.0], [25.0]]),
        "cl3d_energy": jagged([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0], [7.0], [8.0]]),
        "cl3d_eta": jagged([[2.05, 2.0, 2.3, 2.0], [2.0, -2.1], [2.0], [1.9]]),
        "cl3d_phi": jagged([[0.0, 0.1, 0.0, 0.0], [1.0, 1.0], [0.0], [-3.1]]),
    }
    path = hgcal.write_ntuple(tmp_path / "hand.root", events)
    data = hgcal.load(path, features="cl3d_energy", split=(1.0, 0.0, 0.0))
    # event 1 -> the 50 GeV cluster; event 2 -> the pion's cluster in its own endcap (not the
    # photon's); event 3 fails gen pT; event 4 matches across the phi = +-pi boundary.
    assert data.X[:, 0].tolist() == [2.0, 6.0, 8.0]
    assert data.y.tolist() == [1.0, 0.0, 0.0]


def test_ntc_counts_by_hand(branches):
    from hgcal.ntuple import _cells_to_contain

    ntc67, ntc90 = _cells_to_contain(np.array([0, 0, 0, 1, 1, 1]), np.array([1.0, 5.0, 4.0, 2.0, 2.0, 0.5]),
                                     3, (0.67, 0.90))
    assert ntc67.tolist() == [2, 2, 0] and ntc90.tolist() == [2, 3, 0]
    assert ak.all(branches["cl3d_ntc67"] <= branches["cl3d_ntc90"])
    assert ak.all(ak.sum(branches["cl3d_ntc90"], axis=1) <= branches["tc_n"])
