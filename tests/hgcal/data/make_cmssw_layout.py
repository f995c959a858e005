"""Makes ``cmssw_layout.root``: a small trigger ntuple in the CMSSW ntuplizer's own layout.

uproot cannot write ``std::vector`` branches, so this fixture is written with ROOT (PyROOT)
from an ``hgcal.write_ntuple`` file. It has the layout of an ``l1tHGCalTriggerNtuplizer`` file:
tree ``l1tHGCalTriggerNtuplizer/HGCalTriggerNtuple``; ``std::vector<float|int|unsigned int|bool>``
branches with the element types that HGCalTriggerNtupleGen, ...HGCMulticlusters and
...HGCTriggerCells declare; ``std::vector<std::vector<...>>`` for ``gen_daughters``,
``cl3d_clusters_id`` and ``cl3d_layer_pt``; ``cl3d_layer_pt`` sized ``lastTriggerLayer`` (38 in
V9, index = trigger layer, entry 0 empty, the last trigger layer dropped as CMSSW does);
``tc_wafer``/``tc_cell`` empty as in every V9 ntuple; ``genpart_*`` without a counter.

Reading the source with ROOT also checks that ROOT reads uproot's counted arrays, the fixed-size
``cl3d_layer_pt[cl3d_n][39]`` included: each cluster's layer pT must add up to the pT of its
trigger cells.

Regenerate (ROOT from PyPI: ``pip install root``, in its own environment)::

    .venv/bin/python -m hgcal.simulate --electrons 8 --pions 8 --seed 5 --out /tmp/counted.root
    python make_cmssw_layout.py /tmp/counted.root tests/hgcal/data/cmssw_layout.root
"""

from __future__ import annotations

import sys
from array import array

import ROOT

TREE = "HGCalTriggerNtuple"
FOLDER = "l1tHGCalTriggerNtuplizer"
N_TRIGGER_LAYERS = 38  # V9: 14 CE-E (odd) + 24 CE-H layers; CMSSW's vector has this many entries

# (branch, element type, source branch or None for a constant) in the ntuplizer's order
EVENT = [("run", "i", "run"), ("event", "i", "event"), ("lumi", "i", "lumi")]
GEN_SCALARS = [("gen_n", "i", "gen_n"), ("gen_PUNumInt", "i", "gen_PUNumInt"),
               ("gen_TrueNumInt", "f", "gen_TrueNumInt"),
               ("vtx_x", "f", "vtx_x"), ("vtx_y", "f", "vtx_y"), ("vtx_z", "f", "vtx_z")]
GEN = [("gen_eta", "float", "gen_eta"), ("gen_phi", "float", "gen_phi"), ("gen_pt", "float", "gen_pt"),
       ("gen_energy", "float", "gen_energy"), ("gen_charge", "int", "gen_charge"),
       ("gen_pdgid", "int", "gen_pdgid"), ("gen_status", "int", "gen_status")]
GENPART = [("genpart_eta", "float", "gen_eta"), ("genpart_phi", "float", "gen_phi"),
           ("genpart_pt", "float", "gen_pt"), ("genpart_energy", "float", "gen_energy"),
           ("genpart_mother", "int", -1), ("genpart_exphi", "float", "gen_phi"),
           ("genpart_exeta", "float", "gen_eta"), ("genpart_pid", "int", "gen_pdgid"),
           ("genpart_gen", "int", 1), ("genpart_reachedEE", "int", 2), ("genpart_fromBeamPipe", "bool", True)]
CL3D_HEAD = [("cl3d_id", "unsigned int"), ("cl3d_pt", "float"), ("cl3d_energy", "float"),
             ("cl3d_eta", "float"), ("cl3d_phi", "float"), ("cl3d_clusters_n", "int")]
CL3D_TAIL = [("cl3d_showerlength", "int"), ("cl3d_coreshowerlength", "int"), ("cl3d_firstlayer", "int"),
             ("cl3d_maxlayer", "int")] + [(f"cl3d_{k}", "float") for k in (
                 "seetot", "seemax", "spptot", "sppmax", "szz", "srrtot", "srrmax", "srrmean", "emaxe", "hoe",
                 "meanz", "layer10", "layer50", "layer90", "ntc67", "ntc90", "bdteg")] + [("cl3d_quality", "int")]
TC = [("tc_id", "unsigned int", "tc_id"), ("tc_subdet", "int", "tc_subdet"), ("tc_zside", "int", "tc_zside"),
      ("tc_layer", "int", "tc_layer"), ("tc_wafer", "int", None), ("tc_waferu", "int", "tc_waferu"),
      ("tc_waferv", "int", "tc_waferv"), ("tc_wafertype", "int", 0), ("tc_panel_number", "int", 0),
      ("tc_panel_sector", "int", 0), ("tc_cell", "int", None), ("tc_cellu", "int", "tc_cellu"),
      ("tc_cellv", "int", "tc_cellv"), ("tc_data", "unsigned int", "tc_data"),
      ("tc_uncompressedCharge", "unsigned int", "tc_data"), ("tc_compressedCharge", "unsigned int", "tc_data"),
      ("tc_pt", "float", "tc_pt"), ("tc_mipPt", "float", "tc_mipPt"), ("tc_energy", "float", "tc_energy"),
      ("tc_eta", "float", "tc_eta"), ("tc_phi", "float", "tc_phi"), ("tc_x", "float", "tc_x"),
      ("tc_y", "float", "tc_y"), ("tc_z", "float", "tc_z"), ("tc_cluster_id", "unsigned int", "tc_cluster_id"),
      ("tc_multicluster_id", "unsigned int", "tc_multicluster_id"),
      ("tc_multicluster_pt", "float", "tc_multicluster_pt")]


def leaf_values(tree, name: str) -> list[float]:
    """Values of a (counted) leaf in the current entry, read through TLeaf (PyROOT's attribute
    access cannot parse two-dimensional counted leaves)."""
    leaf = tree.GetLeaf(name)
    return [leaf.GetValue(i) for i in range(leaf.GetLen())]


def cast(kind: str, value):
    return float(value) if kind == "float" else bool(value) if kind == "bool" else int(value)


def main(source: str, target: str) -> None:
    infile = ROOT.TFile.Open(source)
    intree = infile.Get(f"hgcalTriggerNtuplizer/{TREE}")
    outfile = ROOT.TFile(target, "RECREATE", "", 209)  # LZMA, level 9: a small fixture
    outfile.mkdir(FOLDER).cd()
    tree = ROOT.TTree(TREE, TREE)

    scalars = {}
    for name, code, _ in EVENT + GEN_SCALARS:
        scalars[name] = array(code, [0])
        tree.Branch(name, scalars[name], f"{name}/{code.upper()}")
    vectors = {}

    def vector_branch(name, element):
        vectors[name] = ROOT.std.vector(element)()
        tree.Branch(name, vectors[name])

    for name, element, _ in GEN:
        vector_branch(name, element)
    vector_branch("gen_daughters", ROOT.std.vector("int"))
    for name, element, _ in GENPART:
        vector_branch(name, element)
    tree.Branch("cl3d_n", scalars.setdefault("cl3d_n", array("i", [0])), "cl3d_n/I")
    for name, element in CL3D_HEAD:
        vector_branch(name, element)
    vector_branch("cl3d_clusters_id", ROOT.std.vector("unsigned int"))
    vector_branch("cl3d_layer_pt", ROOT.std.vector("float"))
    for name, element in CL3D_TAIL:
        vector_branch(name, element)
    tree.Branch("tc_n", scalars.setdefault("tc_n", array("i", [0])), "tc_n/I")
    for name, element, _ in TC:
        vector_branch(name, element)

    for entry in range(intree.GetEntries()):
        intree.GetEntry(entry)
        for vector in vectors.values():
            vector.clear()
        for name, _, source_name in EVENT + GEN_SCALARS:
            scalars[name][0] = type(scalars[name][0])(leaf_values(intree, source_name)[0])
        n_gen = int(scalars["gen_n"][0])
        for name, element, source_name in GEN:
            for value in leaf_values(intree, source_name):
                vectors[name].push_back(cast(element, value))
        for _ in range(n_gen):
            vectors["gen_daughters"].push_back(ROOT.std.vector("int")())
        for name, element, source_name in GENPART:
            values = leaf_values(intree, source_name) if isinstance(source_name, str) else [source_name] * n_gen
            for value in values:
                vectors[name].push_back(cast(element, value))

        n_cl3d = int(leaf_values(intree, "cl3d_n")[0])
        scalars["cl3d_n"][0] = n_cl3d
        for name, element in CL3D_HEAD + CL3D_TAIL:
            for value in leaf_values(intree, name):
                vectors[name].push_back(cast(element, value))
        cl3d_id = leaf_values(intree, "cl3d_id")
        layer_pt = leaf_values(intree, "cl3d_layer_pt")
        width = len(layer_pt) // max(n_cl3d, 1)
        tc = {name: leaf_values(intree, name) for name in ("tc_cluster_id", "tc_multicluster_id", "tc_pt")}
        for k in range(n_cl3d):
            own = [i for i, owner in enumerate(tc["tc_multicluster_id"]) if owner == cl3d_id[k]]
            ids = ROOT.std.vector("unsigned int")()
            for cluster_id in sorted({int(tc["tc_cluster_id"][i]) for i in own}):
                ids.push_back(cluster_id)
            vectors["cl3d_clusters_id"].push_back(ids)
            row = layer_pt[k * width:(k + 1) * width]
            cells_pt = sum(tc["tc_pt"][i] for i in own)
            assert abs(sum(row) - cells_pt) <= 1e-4 * cells_pt + 1e-6, (entry, sum(row), cells_pt)
            assert row[0] == 0.0, row[:3]
            vector = ROOT.std.vector("float")()
            for value in row[:N_TRIGGER_LAYERS]:
                vector.push_back(value)
            vectors["cl3d_layer_pt"].push_back(vector)

        n_tc = int(leaf_values(intree, "tc_n")[0])
        scalars["tc_n"][0] = n_tc
        for name, element, source_name in TC:
            if source_name is None:
                continue  # pre-V9 ids: empty in V9 ntuples
            values = leaf_values(intree, source_name) if isinstance(source_name, str) else [source_name] * n_tc
            for value in values:
                vectors[name].push_back(cast(element, value))
        tree.Fill()
    outfile.Write()
    outfile.Close()
    infile.Close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
