"""Statistical validation of the fast simulation against closed forms (fixed seeds, can fail)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import gamma as gamma_function

import hgcal
from hgcal.showers import (EMModel, draw_em_parameters, em_median_parameters, pion_mean_parameters,
                           slab_fractions)

FINE = hgcal.Geometry.from_dict({"name": "fine", "depth_x0": np.arange(0.25, 60.01, 0.25).tolist()})


def test_gamma_profile_slabs_reproduce_the_closed_form_mean():
    """Slab fractions of a Gamma profile: sum to the CDF, mean depth alpha/beta, density at T."""
    alpha, beta = np.array([4.0]), np.array([0.5])
    edges = np.arange(0.01, 80.0, 0.01)
    fractions = slab_fractions(alpha, beta, edges)[0]
    assert fractions.sum() == pytest.approx(1.0, abs=1e-9)
    assert ((edges - 0.005) * fractions).sum() == pytest.approx(alpha[0] / beta[0], rel=1e-4)
    peak = edges[np.argmax(fractions)] - 0.005
    assert peak == pytest.approx((alpha[0] - 1) / beta[0], abs=0.01)
    density = fractions[599] / 0.01  # t = 6 = T
    expected = beta[0] * (beta[0] * 6.0) ** (alpha[0] - 1) * np.exp(-beta[0] * 6.0) / gamma_function(alpha[0])
    assert density == pytest.approx(expected, rel=1e-3)


def test_pion_parameters_match_the_fast_simulation_example():
    p = pion_mean_parameters(np.array([50.0]))
    assert (p.alpha_em[0], p.beta_em[0]) == pytest.approx((2.21, 0.253), abs=0.005)
    assert (p.alpha_had[0], p.beta_had[0], p.em_fraction[0]) == pytest.approx((1.20, 0.656, 0.43), abs=0.005)


def test_em_fluctuations_have_the_prescribed_moments():
    model, energy = EMModel(), np.full(40_000, 100.0)
    draw = draw_em_parameters(np.random.default_rng(3), energy, model, 5.36)
    log_y = np.log(100e3 / 5.36)
    median = em_median_parameters(energy[:1], model, 5.36)
    log_t, log_a = np.log(draw.shower_max), np.log(draw.alpha)
    assert log_t.mean() == pytest.approx(np.log(median.shower_max[0]), abs=0.003)
    assert log_a.mean() == pytest.approx(np.log(median.alpha[0]), abs=0.003)
    assert log_t.std() == pytest.approx(1 / (model.st0 + model.st1 * log_y), rel=0.02)
    assert log_a.std() == pytest.approx(1 / (model.sa0 + model.sa1 * log_y), rel=0.02)
    assert np.corrcoef(log_t, log_a)[0, 1] == pytest.approx(model.r0 + model.r1 * log_y, abs=0.02)
    assert np.allclose(draw.beta, (draw.alpha - 1) / draw.shower_max)


@pytest.mark.parametrize("energy", [10.0, 50.0, 100.0])
def test_electron_centroid_and_maximum_follow_grindhammer_peters(energy):
    """Mean simulated profile on a fine 0.25 X0 sampling vs the parameterisation, within 5 %."""
    showers = hgcal.simulate(3000, "e-", energy=energy, eta=2.2, geometry=FINE, seed=int(energy),
                             digitisation=hgcal.Digitisation(grid=1))
    profile = showers.deposit.mean(axis=0).astype(np.float64)
    middle = np.asarray(FINE.depth_x0) - 0.125
    centroid = (profile * middle).sum() / profile.sum()
    peak = np.argmax(profile)
    window = slice(peak - 6, peak + 7)
    curve = np.polyfit(middle[window], profile[window], 2)
    maximum = -curve[1] / (2 * curve[0])
    expected = em_median_parameters(np.array([energy]), EMModel(), FINE.critical_energy_mev)
    assert centroid == pytest.approx(expected.alpha[0] / expected.beta[0], rel=0.05)
    assert maximum == pytest.approx(expected.shower_max[0], rel=0.05)


def test_stochastic_term_fits_the_configured_one():
    """sigma/E of the cluster energy (noise, thresholds, windows included) vs S/sqrt(E) (+) C."""
    energies = np.array([20.0, 50.0, 100.0, 200.0, 400.0])
    resolution = []
    for energy in energies:
        cluster = hgcal.simulate(1500, "e-", energy=energy, eta=2.2, seed=int(energy)).cluster["energy"]
        resolution.append(cluster.std() / cluster.mean())
    design = np.stack([1 / energies, np.ones_like(energies)], axis=1)
    (s_squared, c_squared), *_ = np.linalg.lstsq(design, np.square(resolution), rcond=None)
    assert np.sqrt(s_squared) == pytest.approx(EMModel().stochastic, rel=0.15)


def test_pion_first_interaction_is_exponential_in_lambda(pions):
    depth = pions.truth["first_interaction"]
    assert depth.mean() == pytest.approx(hgcal.PionModel().interaction_length, rel=0.05)
    assert stats.kstest(depth, stats.expon(scale=1.0).cdf).pvalue > 0.01


def test_pions_crossing_ce_e_leave_only_mips(pions):
    """Observable check: the share of pions that are MIP-like through CE-E is exp(-lambda_CE-E)."""
    geometry = pions.geometry
    ce_e = np.asarray(geometry.subdet)[geometry.read] == 1
    mip_gev = geometry.read_array("mev_per_mip")[ce_e] * 1e-3
    mip_like = np.all(pions.deposit[:, ce_e] < 3 * mip_gev, axis=1)
    expected = np.exp(-geometry.read_array("depth_lambda")[ce_e][-1])
    assert mip_like.mean() == pytest.approx(expected, abs=0.025)


def test_simulation_is_deterministic_and_worker_independent():
    one = hgcal.simulate(5000, "pi-", seed=4)
    two = hgcal.simulate(5000, "pi-", seed=4, workers=2)
    other = hgcal.simulate(5000, "pi-", seed=5)
    assert np.array_equal(one.tc_energy, two.tc_energy) and np.array_equal(one.deposit, two.deposit)
    assert not np.array_equal(one.deposit, other.deposit)


def test_spectra_follow_the_defaults(electrons):
    assert electrons.pt.min() >= 20 and electrons.pt.max() <= 100
    assert stats.kstest(electrons.pt, stats.uniform(20, 80).cdf).pvalue > 0.01
    assert stats.kstest(np.abs(electrons.eta), stats.uniform(1.7, 1.1).cdf).pvalue > 0.01
    assert np.allclose(electrons.energy, electrons.pt * np.cosh(electrons.eta))
    assert 0.4 < np.mean(electrons.eta > 0) < 0.6


def test_clusters_reconstruct_the_electron(electrons):
    c = electrons.cluster
    assert electrons.has_cluster.all()
    assert np.abs(c["eta"] - electrons.eta).max() < 0.02
    assert np.abs(np.angle(np.exp(1j * (c["phi"] - electrons.phi)))).max() < 0.02
    response = c["energy"] / electrons.energy
    assert 0.9 < np.median(response) < 1.02
    assert np.allclose(electrons.layer_energy.sum(1), c["energy"], rtol=1e-4)
    assert (c["firstlayer"] <= c["maxlayer"]).all() and (c["showerlength"] >= c["coreshowerlength"]).all()
    assert (c["layer10"] <= c["layer50"]).all() and (c["layer50"] <= c["layer90"]).all()


def test_leakage_behind_the_last_layer():
    """Behind a short 15 X0 stack, the mean contained fraction follows the Gamma CDF."""
    short = hgcal.Geometry.from_dict({"name": "short", "depth_x0": [5.0, 10.0, 15.0]})
    showers = hgcal.simulate(4000, "e-", energy=100.0, eta=2.0, geometry=short, seed=8)
    contained = showers.deposit.sum(axis=1) / showers.energy
    draw = draw_em_parameters(np.random.default_rng(0), np.full(200_000, 100.0), EMModel(), 5.36)
    expected = slab_fractions(draw.alpha, draw.beta, np.array([15.0])).mean()
    assert expected < 0.9  # there is leakage to see
    assert contained.mean() == pytest.approx(expected, abs=0.008)
