"""3D-cluster quantities on hand-built cells against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from hgcal.clusters import CLUSTER_FIELDS, cluster_quantities

Z = np.array([320.0, 325.0, 360.0, 366.0])
LAYERS = np.array([1, 3, 29, 30])
CE_H = np.array([False, False, True, True])


def _one_cell_cluster(layer_energy):
    cells = np.asarray(layer_energy, dtype=np.float64).reshape(1, 4, 1, 1)
    radius = Z / np.sinh(2.0)
    zeros = np.zeros((1, 4, 1))
    return cluster_quantities(cells, zeros, zeros, radius[None, :], np.zeros((1, 4)), Z, np.array([1.0]),
                              LAYERS, CE_H)


def test_longitudinal_quantities_by_hand():
    q = _one_cell_cluster([2.0, 0.0, 6.0, 2.0])
    assert set(CLUSTER_FIELDS) <= set(q)
    assert q["energy"][0] == 10.0
    assert (q["firstlayer"][0], q["maxlayer"][0], q["showerlength"][0]) == (1, 29, 30)
    assert q["coreshowerlength"][0] == 2 and q["clusters_n"][0] == 3
    assert q["emaxe"][0] == pytest.approx(0.6)
    assert q["hoe"][0] == pytest.approx(4.0)
    mean_z = (2 * 320 + 6 * 360 + 2 * 366) / 10
    assert q["meanz"][0] == pytest.approx(mean_z)
    assert q["szz"][0] == pytest.approx(np.sqrt((2 * (320 - mean_z) ** 2 + 6 * (360 - mean_z) ** 2
                                                 + 2 * (366 - mean_z) ** 2) / 10))
    assert (q["layer10"][0], q["layer50"][0], q["layer90"][0]) == pytest.approx((0.5, 2.5, 3.5))
    assert q["eta"][0] == pytest.approx(2.0) and q["phi"][0] == pytest.approx(0.0)
    assert q["pt"][0] == pytest.approx(10.0 / np.cosh(2.0))
    assert q["seetot"][0] == 0.0 and q["srrtot"][0] == 0.0


def test_empty_cluster_is_all_zero():
    q = _one_cell_cluster([0.0, 0.0, 0.0, 0.0])
    assert q["energy"][0] == 0 and q["showerlength"][0] == 0 and q["hoe"][0] == -1.0


def test_transverse_spreads_by_hand():
    """Two equal cells 1 cm either side of the axis along x at phi = 0: dr = +-1, dphi = 0."""
    z = np.array([320.0])
    radius = z / np.sinh(2.0)
    cells = np.zeros((1, 1, 3, 3))
    cells[0, 0, 0, 1] = cells[0, 0, 2, 1] = 1.0
    offsets = np.array([[[-1.0, 0.0, 1.0]]])
    q = cluster_quantities(cells, offsets, offsets, radius[None, :], np.zeros((1, 1)), z, np.array([1.0]),
                           np.array([1]), np.array([False]))
    assert q["srrtot"][0] == pytest.approx(1.0 / 320.0)
    assert q["srrmax"][0] == pytest.approx(1.0 / 320.0) and q["srrmean"][0] == pytest.approx(1.0 / 320.0)
    assert q["seetot"][0] == pytest.approx(np.tanh(2.0) / radius[0])
    # the exact eta of a cell 1 cm off the axis agrees with the first-order spread
    exact = np.arcsinh(z[0] / (radius[0] + 1.0)) - np.arcsinh(z[0] / radius[0])
    assert q["seetot"][0] == pytest.approx(abs(exact), rel=0.02)
    assert q["spptot"][0] == pytest.approx(0.0, abs=1e-12)
