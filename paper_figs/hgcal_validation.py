"""Validation figures of the HGCal fast simulation, for the README.

Draws, from fixed-seed samples:

1. ``hgcal_profiles.png`` -- mean longitudinal profiles of 50 GeV electrons and charged pions
   on a fine 0.25 X0 sampling, with the parameterisations overlaid (Grindhammer-Peters median
   profile for electrons; for pions the mean two-component profile averaged over the
   exponential first-interaction depth).
2. ``hgcal_resolution.png`` -- cluster-energy resolution versus energy with the fit
   ``S / sqrt(E) (+) C``.
3. ``hgcal_first_interaction.png`` -- first-interaction depths of pions against the exponential.
4. ``hgcal_features.png`` -- electron and pion distributions of cluster features (v9-trigger).

Usage::

    python paper_figs/hgcal_validation.py [--out paper_figs/figures] [--n 3000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import hgcal  # noqa: E402
from hgcal.showers import em_median_parameters, gamma_cdf, pion_mean_parameters  # noqa: E402

STEP = 0.25
FINE = hgcal.Geometry.from_dict({"name": "fine", "depth_x0": np.arange(STEP, 120.01, STEP).tolist()})


def _slab(alpha, beta, depth, start=0.0):
    return np.diff(gamma_cdf(alpha, beta, np.concatenate([[0.0], depth]) - start))


def expected_pion_profile(energy: float, pion: hgcal.PionModel, em: hgcal.EMModel) -> np.ndarray:
    """Mean pion energy per fine slab: mean parameters, averaged over the first-interaction depth."""
    depth_x0 = np.asarray(FINE.depth_x0)
    x0_per_lambda = depth_x0[-1] / FINE.depth_lambda[-1]
    mean = pion_mean_parameters(np.array([energy]))
    c = mean.em_fraction[0]
    photon = em_median_parameters(np.array([c * energy]), em, FINE.critical_energy_mev)
    t_max = photon.shower_max[0] + pion.photon_shift
    alpha_em, beta_em = photon.alpha[0], (photon.alpha[0] - 1) / t_max
    starts = np.linspace(0.0, 12.0, 1201)[:-1] + 0.005  # lambda
    weights = np.exp(-starts / pion.interaction_length) * 0.01 / pion.interaction_length
    profile = np.zeros_like(depth_x0)
    for start, weight in zip(starts, weights):
        em_part = c * _slab(alpha_em, beta_em, depth_x0, start * x0_per_lambda)
        had_part = (1 - c) * pion.hadronic_response * _slab(mean.alpha_had[0], mean.beta_had[0] / x0_per_lambda,
                                                            depth_x0, start * x0_per_lambda)
        profile += weight * energy * (em_part + had_part)
    return profile


def draw_profiles(out: Path, n: int) -> None:
    energy = 50.0
    middle = np.asarray(FINE.depth_x0) - STEP / 2
    digitisation = hgcal.Digitisation(grid=1)
    electrons = hgcal.simulate(n, "e-", energy=energy, eta=2.2, geometry=FINE, seed=1, digitisation=digitisation)
    pions = hgcal.simulate(n, "pi-", energy=energy, eta=2.2, geometry=FINE, seed=2, digitisation=digitisation)
    median = em_median_parameters(np.array([energy]), hgcal.EMModel(), FINE.critical_energy_mev)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(middle, electrons.deposit.mean(0) / STEP, where="mid", label="e$^-$ simulated")
    ax.plot(middle, energy * _slab(median.alpha, median.beta, np.asarray(FINE.depth_x0)) / STEP, "k--",
            lw=1, label="Grindhammer-Peters (median)")
    ax.step(middle, pions.deposit.mean(0) / STEP, where="mid", label=r"$\pi^-$ simulated")
    ax.plot(middle, expected_pion_profile(energy, hgcal.PionModel(), hgcal.EMModel()) / STEP, "k:", lw=1,
            label="two-component mean")
    ax.set(xlabel="depth [X$_0$]", ylabel="dE/dt [GeV / X$_0$]", xlim=(0, 80), title="50 GeV, |$\\eta$| = 2.2")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hgcal_profiles.png", dpi=150)
    plt.close(fig)


def draw_resolution(out: Path, n: int) -> None:
    energies = np.array([20.0, 50.0, 100.0, 200.0, 400.0, 800.0])
    fig, ax = plt.subplots(figsize=(6, 4))
    grid = np.linspace(15, 900, 200)
    for particle, seed in (("e-", 10), ("pi-", 20)):
        resolution = []
        for energy in energies:
            cluster = hgcal.simulate(n, particle, energy=energy, eta=2.2, seed=seed + int(energy)).cluster["energy"]
            resolution.append(cluster.std() / cluster.mean())
        design = np.stack([1 / energies, np.ones_like(energies)], axis=1)
        (s2, c2), *_ = np.linalg.lstsq(design, np.square(resolution), rcond=None)
        s, c = np.sqrt(max(s2, 0)), np.sqrt(max(c2, 0))
        points = ax.plot(energies, resolution, "o", label=f"{particle}: S = {s:.3f}, C = {c:.3f}")
        ax.plot(grid, np.sqrt(s ** 2 / grid + c ** 2), color=points[0].get_color(), lw=1)
    ax.set(xscale="log", xlabel="energy [GeV]", ylabel=r"$\sigma_E / E$ (cluster)",
           title=f"fit S/$\\sqrt{{E}}$ $\\oplus$ C; configured e$^-$ S = {hgcal.EMModel().stochastic}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hgcal_resolution.png", dpi=150)
    plt.close(fig)


def draw_first_interaction(out: Path, pions: hgcal.Showers) -> None:
    depth = pions.truth["first_interaction"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(depth, bins=60, range=(0, 6), density=True, histtype="step", label=r"$\pi^-$ simulated")
    grid = np.linspace(0, 6, 200)
    ax.plot(grid, np.exp(-grid), "k--", lw=1, label=r"exp($-s/\lambda$)")
    ce_e_end = pions.geometry.depth_lambda[27]
    ax.axvline(ce_e_end, color="grey", lw=0.8)
    ax.text(ce_e_end + 0.05, 0.8, "end of CE-E", color="grey")
    ax.set(xlabel=r"first-interaction depth [$\lambda$]", ylabel="density", yscale="log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "hgcal_first_interaction.png", dpi=150)
    plt.close(fig)


def draw_features(out: Path, electrons: hgcal.Showers, pions: hgcal.Showers) -> None:
    names = ["showerlength", "firstlayer", "coreshowerlength", "layer50", "emaxe", "hoe", "szz", "srrtot"]
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.5))
    for ax, name in zip(axes.ravel(), names):
        e, p = electrons.cluster[name], pions.cluster[name]
        if name == "hoe":
            e, p = np.log10(np.maximum(e, 1e-4)), np.log10(np.maximum(p, 1e-4))
            name = "log10(hoe)"
        low, high = np.percentile(np.concatenate([e, p]), [0.5, 99.5])
        ax.hist(e, bins=40, range=(low, high), density=True, histtype="step", label="e$^-$")
        ax.hist(p, bins=40, range=(low, high), density=True, histtype="step", label=r"$\pi^-$")
        ax.set_xlabel(f"cl3d_{name}")
    axes[0, 0].legend()
    fig.suptitle(r"v9-trigger, pT 20-100 GeV, 1.7 < |$\eta$| < 2.8")
    fig.tight_layout()
    fig.savefig(out / "hgcal_features.png", dpi=150)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="paper_figs/figures", help="folder for the PNG files")
    parser.add_argument("--n", type=int, default=3000, help="showers per sample")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    electrons = hgcal.simulate(args.n, "e-", seed=1)
    pions = hgcal.simulate(args.n, "pi-", seed=2)
    draw_profiles(out, args.n)
    draw_resolution(out, args.n)
    draw_first_interaction(out, pions)
    draw_features(out, electrons, pions)
    print(f"wrote 4 figures to {out}")


if __name__ == "__main__":
    main()
