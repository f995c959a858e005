"""Longitudinal shower parameterisations used by the fast simulation (pure functions).

Electrons follow the Grindhammer-Peters (GFlash) description: the longitudinal energy profile in
t = depth / X0 is a Gamma density ``f(t) = (beta t)^(alpha-1) beta exp(-beta t) / Gamma(alpha)``
with shower maximum ``T = (alpha - 1) / beta``; (ln T, ln alpha) fluctuate event by event as a
correlated bivariate normal.

* G. Grindhammer and S. Peters, "The parameterized simulation of electromagnetic showers in
  homogeneous and sampling calorimeters", hep-ex/0001020.
* Default coefficients: the fit of the Grindhammer-Peters means and spreads to HGCal showers in the
  LLR HGCal fast-shower studies for the trigger primitive generator; the spread of ln alpha is the
  sampling-calorimeter value of Grindhammer and Peters.

Charged pions follow the two-component model of the CMS fast simulation (FastSimulation/
ShowerDevelopment, HDShower), itself after G. Grindhammer, M. Rudowicz and S. Peters,
Nucl. Instrum. Meth. A290 (1990) 469: the first inelastic interaction happens at an exponentially
distributed depth; behind it the energy density is a mixture of a Gamma profile in X0 (the
electromagnetic part, weight c) and a Gamma profile in lambda (the hadronic part, weight 1 - c),
with ``aedep = ln((0.35 + 0.09 ln E) E)`` setting all shape parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import gammainc

__all__ = [
    "EMModel",
    "PionModel",
    "EMParameters",
    "PionParameters",
    "em_median_parameters",
    "draw_em_parameters",
    "pion_mean_parameters",
    "gamma_cdf",
    "slab_fractions",
]


class EMModel(NamedTuple):
    """Coefficients of the electron longitudinal profile, with y = E / Ec.

    Median shower maximum ``T = t0 + t1 ln y``, median ``alpha = a0 + a1 ln y``,
    ``sigma(ln T) = 1 / (st0 + st1 ln y)``, ``sigma(ln alpha) = 1 / (sa0 + sa1 ln y)``,
    correlation ``rho = r0 + r1 ln y``. ``stochastic`` (GeV^1/2) and ``constant`` set the
    sampling resolution ``sigma/E = stochastic / sqrt(E) (+) constant``.
    """

    t0: float = -1.396
    t1: float = 1.007
    a0: float = -0.0433
    a1: float = 0.540
    st0: float = -2.506
    st1: float = 1.245
    sa0: float = -0.82
    sa1: float = 0.79
    r0: float = 0.7858
    r1: float = -0.0232
    stochastic: float = 0.25
    constant: float = 0.007


class PionModel(NamedTuple):
    """Charged-pion shower model.

    Attributes:
        interaction_length: Mean depth of the first inelastic interaction, in lambda.
        em_fraction_concentration: Concentration kappa of the Beta distribution of the
            event-by-event electromagnetic fraction c (mean from the CMS fast simulation,
            standard deviation ``sqrt(c (1 - c) / (kappa + 1))``).
        hadronic_response: Signal of the hadronic part relative to the electromagnetic
            scale (h/e of the non-compensating calorimeter).
        stochastic_em: Sampling term of the electromagnetic part (GeV^1/2).
        stochastic_had: Sampling term of the hadronic part (GeV^1/2).
        constant: Constant term of the resolution.
        mip_width: Width of the (Moyal) energy-loss distribution of a MIP, in MIPs.
        em_profile: Shape of the electromagnetic part. ``"photon"`` (default): the
            Grindhammer-Peters profile, with its fluctuations, of a photon of energy ``c E``
            (the leading-pi0 picture, so that a pion with c near 1 showers like an electron;
            photon cascades peak ``photon_shift`` X0 later than electron ones, the Rossi-
            approximation difference C_gamma - C_e = 1 of the PDG review "Passage of particles
            through matter"). ``"fastsim"``: the average shape ``(alpha_em, beta_em)`` of the
            CMS fast simulation.
        photon_shift: Shift of the shower maximum of photon cascades, in X0.
        hadronic_shape_spread: Event-by-event spread (sigma of the log) of ``alpha_had`` and
            ``beta_had``; GFlash lets every hadronic profile parameter fluctuate
            (Grindhammer, Rudowicz, Peters 1990).
    """

    interaction_length: float = 1.0
    em_fraction_concentration: float = 4.0
    hadronic_response: float = 0.8
    stochastic_em: float = 0.25
    stochastic_had: float = 0.5
    constant: float = 0.02
    mip_width: float = 0.08
    em_profile: str = "photon"
    photon_shift: float = 1.0
    hadronic_shape_spread: float = 0.3


class EMParameters(NamedTuple):
    """Per-shower Gamma-profile parameters, each of shape ``(n,)``: maximum T (X0), alpha, beta (1/X0)."""

    shower_max: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray


class PionParameters(NamedTuple):
    """Per-shower two-component parameters, each of shape ``(n,)``.

    ``alpha_em``, ``beta_em`` (1/X0) shape the electromagnetic part; ``alpha_had``,
    ``beta_had`` (1/lambda) the hadronic part; ``em_fraction`` is the mean weight c.
    """

    alpha_em: np.ndarray
    beta_em: np.ndarray
    alpha_had: np.ndarray
    beta_had: np.ndarray
    em_fraction: np.ndarray


def _log_y(energy_gev: np.ndarray, critical_energy_mev: float) -> np.ndarray:
    return np.log(np.asarray(energy_gev, dtype=np.float64) * 1e3 / critical_energy_mev)


def em_median_parameters(energy_gev: np.ndarray, model: EMModel, critical_energy_mev: float) -> EMParameters:
    """Median (exp of the mean of the logs) Gamma parameters of an electron shower.

    Args:
        energy_gev: Electron energies, shape ``(n,)``.
        model: Profile coefficients.
        critical_energy_mev: Critical energy Ec of the medium.

    Returns:
        EMParameters with T, alpha and ``beta = (alpha - 1) / T``, each ``(n,)``.
    """
    log_y = _log_y(energy_gev, critical_energy_mev)
    shower_max = model.t0 + model.t1 * log_y
    alpha = model.a0 + model.a1 * log_y
    return EMParameters(shower_max, alpha, (alpha - 1.0) / shower_max)


def draw_em_parameters(rng: np.random.Generator, energy_gev: np.ndarray, model: EMModel,
                       critical_energy_mev: float) -> EMParameters:
    """Draws correlated (ln T, ln alpha) per shower, as Grindhammer and Peters prescribe.

    ``ln T = <ln T> + s_T (sqrt((1+rho)/2) z1 + sqrt((1-rho)/2) z2)`` and
    ``ln alpha = <ln alpha> + s_a (sqrt((1+rho)/2) z1 - sqrt((1-rho)/2) z2)`` with z1, z2
    standard normal; then T >= 1 X0 and alpha >= 1.1 are enforced.

    Args:
        rng: Random generator.
        energy_gev: Electron energies, shape ``(n,)``.
        model: Profile coefficients.
        critical_energy_mev: Critical energy Ec of the medium.

    Returns:
        EMParameters, each of shape ``(n,)``.
    """
    log_y = _log_y(energy_gev, critical_energy_mev)
    median = em_median_parameters(energy_gev, model, critical_energy_mev)
    sigma_t = 1.0 / (model.st0 + model.st1 * log_y)
    sigma_a = 1.0 / (model.sa0 + model.sa1 * log_y)
    rho = model.r0 + model.r1 * log_y
    z1, z2 = rng.standard_normal((2, log_y.size))
    common, opposite = np.sqrt((1 + rho) / 2) * z1, np.sqrt((1 - rho) / 2) * z2
    shower_max = np.maximum(median.shower_max * np.exp(sigma_t * (common + opposite)), 1.0)
    alpha = np.maximum(median.alpha * np.exp(sigma_a * (common - opposite)), 1.1)
    return EMParameters(shower_max, alpha, (alpha - 1.0) / shower_max)


def pion_mean_parameters(energy_gev: np.ndarray) -> PionParameters:
    """Two-component profile parameters of the CMS fast simulation (valid above 10 GeV).

    With ``aedep = ln((0.35 + 0.09 ln E) E)``: ``alpha_em = 1.30 + 0.255 aedep``,
    ``beta_em = 0.289 - 0.010 aedep``, ``alpha_had = 0.38 + 0.23 aedep``,
    ``beta_had = 0.83 - 0.049 aedep``, ``c = 0.509 - 0.021 aedep``.

    Args:
        energy_gev: Pion energies, shape ``(n,)``.
    """
    energy = np.asarray(energy_gev, dtype=np.float64)
    aedep = np.log((0.35 + 0.09 * np.log(energy)) * energy)
    return PionParameters(
        alpha_em=1.30 + 0.255 * aedep,
        beta_em=0.289 - 0.010 * aedep,
        alpha_had=0.38 + 0.23 * aedep,
        beta_had=0.83 - 0.049 * aedep,
        em_fraction=0.509 - 0.021 * aedep,
    )


def gamma_cdf(alpha: np.ndarray, beta: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Fraction of a Gamma(alpha, beta) profile contained before ``depth`` (0 for depth <= 0).

    Args:
        alpha: Shape, broadcastable against ``depth``.
        beta: Rate (1 / depth unit), broadcastable against ``depth``.
        depth: Depth in the profile's unit.
    """
    return gammainc(alpha, beta * np.maximum(depth, 0.0))


def slab_fractions(alpha: np.ndarray, beta: np.ndarray, boundaries: np.ndarray,
                   start: np.ndarray | float = 0.0) -> np.ndarray:
    """Fraction of a Gamma profile deposited in each read layer's slab.

    Read layer k collects the depth interval ``(boundaries[k-1], boundaries[k]]`` (the first one
    from the front face), i.e. its own sensor, the absorber in front of it and any unread layer.

    Args:
        alpha: Shapes, shape ``(n,)``.
        beta: Rates, shape ``(n,)``.
        boundaries: Sensor depths of the read layers, shape ``(R,)``, increasing.
        start: Depth where the profile starts, scalar or shape ``(n,)``.

    Returns:
        Fractions of shape ``(n, R)``; ``1 - sum`` is the leakage behind the last read layer.
    """
    depth = boundaries[None, :] - np.reshape(start, (-1, 1))
    cdf = gamma_cdf(alpha[:, None], beta[:, None], depth)
    return np.diff(cdf, axis=1, prepend=0.0)
