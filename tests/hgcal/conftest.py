"""Shared, session-scoped samples for the hgcal tests (simulated once, written once)."""

from __future__ import annotations

import pytest

import hgcal


@pytest.fixture(scope="session")
def electrons() -> hgcal.Showers:
    return hgcal.simulate(3000, "e-", seed=11)


@pytest.fixture(scope="session")
def pions() -> hgcal.Showers:
    return hgcal.simulate(3000, "pi-", seed=12)


@pytest.fixture(scope="session")
def ntuple_path(tmp_path_factory, electrons, pions):
    path = tmp_path_factory.mktemp("ntuple") / "showers.root"
    hgcal.write_ntuple(path, [electrons, pions], compression=None)
    return path
