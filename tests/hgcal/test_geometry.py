"""Geometry presets against the stack tables, custom files, and every geometry error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hgcal import Geometry, GeometryError, NtupleError


def test_v9_trigger_matches_the_derived_stack():
    g = Geometry.preset("v9-trigger")
    assert len(g.layer) == 52 and g.n_read == 14 + 24
    assert list(g.read_layers[:14]) == list(range(1, 28, 2))
    depth = dict(zip(g.layer, g.depth_x0))
    lam = dict(zip(g.layer, g.depth_lambda))
    # Cumulative X0 / lambda at the sensors (HGCal TDR stack with PDG constants).
    for layer, x0 in {1: 0.44, 3: 2.28, 27: 24.38, 28: 25.34, 29: 27.80}.items():
        assert depth[layer] == pytest.approx(x0, abs=0.02)
    for layer, x0 in {40: 55.4, 52: 107.9}.items():  # CE-H steps are quoted as "about 2.5 X0"
        assert depth[layer] == pytest.approx(x0, abs=0.1)
    for layer, value in {1: 0.023, 27: 1.453, 28: 1.517, 29: 1.78, 40: 4.67, 52: 10.16}.items():
        assert lam[layer] == pytest.approx(value, abs=0.01)
    assert g.z_cm[0] > 319.0 and g.z_cm[27] == pytest.approx(319.0 + 34.0, abs=0.1)
    assert set(g.subdet[:28]) == {1} and set(g.subdet[28:]) == {2}
    weights = dict(zip(g.layer, g.mev_per_mip))
    assert (weights[1], weights[3], weights[29]) == (8.37, 20.85, 82.7)


def test_seed8_has_the_original_depths():
    g = Geometry.preset("seed8")
    assert g.depth_x0 == (5.1, 8.5, 11.9, 14.7, 17.2, 18.7, 21.1, 27.07)
    assert g.n_read == 8


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_custom_file_round_trip(tmp_path, suffix):
    path = tmp_path / f"three{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"name": "three", "depth_x0": [5, 10, 20], "readout": [True, False, True]}))
    else:
        path.write_text('name = "three"\ndepth_x0 = [5.0, 10.0, 20.0]\nreadout = [true, false, true]\n')
    g = Geometry.from_file(path)
    assert g.name == "three" and g.layer == (1, 2, 3) and list(g.read_layers) == [1, 3]
    assert np.allclose(g.depth_lambda, np.array([5, 10, 20]) * 1.517 / 25.354)
    assert Geometry.resolve(str(path)) == g
    assert Geometry.from_dict(g.to_dict()) == g


@pytest.mark.parametrize("spec, field", [
    ({"depth_x0": [1, 2], "colour": 3}, "colour"),
    ({"readout": [True]}, "depth_x0"),
    ({"depth_x0": [1, 2], "readout": [True]}, "readout"),
    ({"depth_x0": [2, 1]}, "depth_x0"),
    ({"depth_x0": [1, 2], "readout": [False, False]}, "readout"),
    ({"depth_x0": [1, 2], "subdet": [1, 7]}, "subdet"),
    ({"depth_x0": [1, 2], "layer": [3, 3]}, "layer"),
    ({"depth_x0": ["a", 2]}, "wrong type"),
])
def test_bad_fields_name_the_field(spec, field):
    with pytest.raises(GeometryError, match=field):
        Geometry.from_dict(spec, source="geo.toml")


def test_bad_files_and_presets(tmp_path):
    with pytest.raises(GeometryError, match="unknown geometry preset 'v10'"):
        Geometry.preset("v10")
    with pytest.raises(GeometryError, match="cannot read"):
        Geometry.from_file(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("depth_x0 = [1, 2")
    with pytest.raises(GeometryError, match="broken.toml: not valid TOML"):
        Geometry.from_file(broken)
    with pytest.raises(GeometryError, match=r"\.json or \.toml"):
        Geometry.from_file(tmp_path / "geo.yaml")
    # GeometryError is an NtupleError: one exception family per room.
    assert issubclass(GeometryError, NtupleError)
