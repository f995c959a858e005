"""Shared tiny inputs for the ntbo tests: one small simulated ntuple and a config factory."""

from __future__ import annotations

import pytest

import hgcal


@pytest.fixture(scope="session")
def ntuple(tmp_path_factory):
    """A ROOT ntuple with 250 electrons and 250 pions (about 300 rows after selection)."""
    path = tmp_path_factory.mktemp("ntuple") / "showers.root"
    hgcal.write_ntuple(path, [hgcal.simulate(250, "e-", seed=1), hgcal.simulate(250, "pi-", seed=2)])
    return str(path)


@pytest.fixture
def make_config(ntuple, tmp_path):
    """Returns config dicts for tiny, fast searches; keyword sections update the defaults."""
    def make(folder="run", **sections):
        values = {
            "data": {"paths": [ntuple]},
            "space": {"depth": [1, 2], "width": [2, 16]},
            "objective": {"seeds": 2, "epochs": 2, "batch_size": 64},
            "search": {"method": "random", "budget": 4, "q": 2, "seed": 0},
            "executor": {"kind": "local"},
            "results": str(tmp_path / folder),
        }
        for name, value in sections.items():
            values[name] = {**values.get(name, {}), **value} if isinstance(value, dict) else value
        return values
    return make


@pytest.fixture(autouse=True)
def no_persistent_compilation_cache(monkeypatch):
    """`ntbo search` turns on JAX's on-disk cache under ~/.cache; tests leave it off."""
    monkeypatch.setenv("NTBO_JAX_CACHE", "")
