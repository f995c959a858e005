"""Vectorised fast simulation of electron and charged-pion showers in the HGCal trigger.

Each shower is simulated in four vectorised steps (numpy, no per-shower Python loop):

1. **Longitudinal.** Electrons: a Grindhammer-Peters Gamma profile with correlated fluctuations
   of (ln T, ln alpha). Charged pions: one MIP per read layer up to an exponentially distributed
   first-interaction depth, then the two-component (electromagnetic in X0, hadronic in lambda)
   profile of the CMS fast simulation with an event-by-event Beta-distributed electromagnetic
   fraction. Each read layer collects the profile over the slab in front of its sensor; what
   lies behind the last read layer leaks out. See :mod:`hgcal.showers`.
2. **Sampling.** The energy of each layer (and component) is Gamma distributed with variance
   ``S^2 * mean`` (GeV^2), so the summed energy has exactly the stochastic term ``S/sqrt(E)``;
   a per-shower Gaussian factor adds the constant term.
3. **Transverse and digitisation.** Each layer's energy is shared over a ``G x G`` window of
   square trigger cells around the projective shower axis with a core-plus-halo mixture of
   separable bell-shaped (logistic) profiles (widths in Moliere radii that grow with depth,
   after the two-component GFlash radial profile of Grindhammer and Peters, hep-ex/0001020)
   and, for the hadronic part, a wide one. Every cell gets Gaussian noise and is kept above
   ``threshold_sigma`` times the noise.
4. **Clustering.** The kept cells of a shower form one 3D cluster whose quantities follow the
   CMSSW definitions (:mod:`hgcal.clusters`); clusters below ``cluster_pt_min`` are dropped.

The result is a :class:`Showers` record that :func:`hgcal.write_ntuple` turns into a trigger
ntuple. A run is reproducible from its ``seed``: showers are drawn in fixed-size chunks, each
from its own child of ``numpy.random.SeedSequence(seed)``, so the worker count does not matter.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np
from scipy.special import ndtri

from hgcal.clusters import cluster_quantities
from hgcal.errors import NtupleError
from hgcal.geometry import Geometry
from hgcal.showers import EMModel, PionModel, draw_em_parameters, pion_mean_parameters, slab_fractions

__all__ = ["simulate", "Showers", "TriggerCells", "concatenate", "TransverseModel", "Digitisation", "PARTICLES"]

#: Particle names accepted by :func:`simulate` and their PDG ids.
PARTICLES = {"e-": 11, "e+": -11, "pi-": -211, "pi+": 211}
#: Showers per random-number chunk (fixed, so results do not depend on the worker count).
CHUNK = 2048


class TransverseModel(NamedTuple):
    """Lateral energy sharing over trigger cells.

    Attributes:
        core_fraction: Share of the electromagnetic energy in the core profile.
        core_width: Per-axis standard deviation of the core at the shower maximum, in
            Moliere radii.
        halo_width: Per-axis standard deviation of the halo at the shower maximum, in
            Moliere radii.
        depth_growth: Widths scale as ``1 - g + g * t / T`` (t / T clipped to [0, 4]).
        hadronic_width_cm: Per-axis standard deviation of the hadronic part, in cm.
    """

    core_fraction: float = 0.75
    core_width: float = 0.3
    halo_width: float = 1.0
    depth_growth: float = 0.4
    hadronic_width_cm: float = 4.0


class Digitisation(NamedTuple):
    """Trigger-cell read-out.

    Attributes:
        grid: Side of the window of trigger cells around the axis (odd).
        noise_mip: Noise of one trigger cell in MIPs (four 200 um cells of 0.13 MIP each).
        threshold_sigma: Cells are kept above this many noise sigmas.
        cluster_pt_min: Clusters below this pT (GeV) are dropped.
    """

    grid: int = 5
    noise_mip: float = 0.26
    threshold_sigma: float = 3.0
    cluster_pt_min: float = 0.5


@dataclass(frozen=True, eq=False)
class Showers:
    """Simulated showers, one generated particle and at most one 3D cluster per event.

    ``n`` showers, ``R`` read layers, ``m`` kept trigger cells in total.

    Attributes:
        geometry: The geometry simulated.
        pdgid: Generated particle id, ``(n,)`` int32.
        energy, pt, eta, phi: Generated kinematics, ``(n,)`` float64.
        cluster: 3D-cluster quantities (names of :data:`hgcal.clusters.CLUSTER_FIELDS`), ``(n,)``.
        has_cluster: Whether the shower left a cluster above ``cluster_pt_min``, ``(n,)`` bool.
        layer_energy: Cluster energy per read layer (GeV), ``(n, R)`` float32.
        deposit: Sampled energy per read layer before lateral sharing, noise and
            thresholds (GeV), ``(n, R)`` float32.
        truth: ``shower_max`` (X0), ``alpha``, ``first_interaction`` (lambda) and
            ``em_fraction`` per shower, ``(n,)``; NaN where not applicable.
        window_x, window_y: Global square-grid index of the first column / row of the
            ``G x G`` window of trigger cells at each read layer, ``(n, R)`` int32.
        tc_count: Kept trigger cells per shower, ``(n,)`` int32 (cells are ordered by shower).
        tc_window_index: Flat index of each kept cell into its shower's ``(R, G, G)`` window,
            ``(m,)`` int32.
        tc_energy: Energy of each kept cell (GeV), ``(m,)`` float32.
        grid: Side ``G`` of the window.
    """

    geometry: Geometry
    pdgid: np.ndarray
    energy: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    cluster: Mapping[str, np.ndarray]
    has_cluster: np.ndarray
    layer_energy: np.ndarray
    deposit: np.ndarray
    truth: Mapping[str, np.ndarray]
    window_x: np.ndarray
    window_y: np.ndarray
    tc_count: np.ndarray
    tc_window_index: np.ndarray
    tc_energy: np.ndarray
    grid: int

    def __len__(self) -> int:
        return int(self.pdgid.size)

    def slice(self, begin: int, end: int) -> "Showers":
        """Showers ``begin:end`` (with their trigger cells) as a new record."""
        starts = np.concatenate([[0], np.cumsum(self.tc_count)])
        cells = slice(starts[begin], starts[end])
        return Showers(geometry=self.geometry, grid=self.grid,
                       cluster={k: v[begin:end] for k, v in self.cluster.items()},
                       truth={k: v[begin:end] for k, v in self.truth.items()},
                       **{k: getattr(self, k)[begin:end] for k in _PER_SHOWER},
                       **{k: getattr(self, k)[cells] for k in _PER_CELL})

    def trigger_cells(self) -> TriggerCells:
        """The kept trigger cells as flat arrays (shower, read layer, global grid x/y, energy)."""
        shower = np.repeat(np.arange(len(self), dtype=np.int64), self.tc_count)
        layer, rest = np.divmod(self.tc_window_index, self.grid * self.grid)
        i, j = np.divmod(rest, self.grid)
        return TriggerCells(shower=shower, layer_index=layer,
                            ix=self.window_x[shower, layer] + i, iy=self.window_y[shower, layer] + j,
                            energy=self.tc_energy)


class TriggerCells(NamedTuple):
    """Kept trigger cells, each array of shape ``(m,)``; see :meth:`Showers.trigger_cells`."""

    shower: np.ndarray
    layer_index: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    energy: np.ndarray


_PER_SHOWER = ("pdgid", "energy", "pt", "eta", "phi", "has_cluster", "layer_energy", "deposit",
               "window_x", "window_y", "tc_count")
_PER_CELL = ("tc_window_index", "tc_energy")


def concatenate(parts: Sequence[Showers]) -> Showers:
    """Joins showers simulated with the same geometry into one record (e.g. electrons + pions)."""
    parts = list(parts)
    if not parts:
        raise NtupleError("concatenate: no Showers given; pass at least one simulate() result")
    geometry = parts[0].geometry
    if any(p.geometry != geometry or p.grid != parts[0].grid for p in parts):
        raise NtupleError("concatenate: the Showers use different geometries or cell windows; "
                          "simulate them with one geometry and one Digitisation.grid")
    join = lambda get: np.concatenate([get(p) for p in parts])  # noqa: E731
    return Showers(
        geometry=geometry, grid=parts[0].grid,
        cluster={k: join(lambda p: p.cluster[k]) for k in parts[0].cluster},
        truth={k: join(lambda p: p.truth[k]) for k in parts[0].truth},
        **{k: join(lambda p: getattr(p, k)) for k in _PER_SHOWER + _PER_CELL},
    )


def _range(value: float | tuple[float, float], name: str) -> tuple[float, float]:
    bounds = (value, value) if np.isscalar(value) else tuple(value)
    if len(bounds) != 2 or not (0 < bounds[0] <= bounds[1]):
        raise NtupleError(f"simulate: option {name}={value!r} must be a positive number or a (low, high) pair")
    return float(bounds[0]), float(bounds[1])


def _draw_kinematics(rng: np.random.Generator, n: int, energy, pt, eta):
    """Energy flat in ``energy`` if given, else pT flat in ``pt``; |eta| flat; both endcaps."""
    abs_eta = rng.uniform(*eta, n)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    phi = rng.uniform(-np.pi, np.pi, n)
    if energy is not None:
        e = rng.uniform(*energy, n)
        transverse = e / np.cosh(abs_eta)
    else:
        transverse = rng.uniform(*pt, n)
        e = transverse * np.cosh(abs_eta)
    return e, transverse, sign * abs_eta, phi


def _gamma_sample(rng: np.random.Generator, mean: np.ndarray, stochastic: float) -> np.ndarray:
    """Gamma draw with the given mean and variance ``stochastic^2 * mean`` (GeV^2)."""
    if stochastic <= 0:
        return mean
    scale = stochastic ** 2
    return rng.standard_gamma(mean / scale) * scale


def _window_fractions(offset: np.ndarray, width: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of a 1D lateral profile (centred on the axis) in each cell of the window.

    The per-axis profile is the logistic density ``sech^2(x / 2s) / 4s`` with standard
    deviation ``width`` (``s = width * sqrt(3) / pi``): bell-shaped like a Gaussian with
    somewhat longer tails, and its cumulative ``(1 + tanh(x / 2s)) / 2`` is cheap and exact.

    Args:
        offset: Fractional position of the axis inside its cell, ``(n, R)``, in [0, 1).
        width: Standard deviation of the profile in cell units, ``(n, R)``.
        edges: Cell edges relative to the axis cell's low edge, ``(G + 1,)``.

    Returns:
        Shares of shape ``(n, R, G)`` (float32).
    """
    half_inverse_scale = (np.pi / (2 * np.sqrt(3.0)) / width).astype(np.float32)
    cdf = np.tanh((edges.astype(np.float32) - offset[..., None].astype(np.float32)) * half_inverse_scale[..., None])
    return np.diff(cdf, axis=-1) * np.float32(0.5)


#: Standard-normal quantiles at the centres of 2^16 equal-probability bins: indexing it with
#: uniform 16-bit integers draws (finely discretised) Gaussian noise several times faster than
#: a normal generator; tails reach +-4.3 sigma, far beyond the 3-sigma thresholds.
_NORMAL_TABLE = ndtri((np.arange(1 << 16) + 0.5) / (1 << 16)).astype(np.float32)


def _gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard-normal noise of the given shape (float32), from the quantile table."""
    size = int(np.prod(shape))
    index = np.frombuffer(rng.bytes(2 * size), dtype=np.uint16)
    return _NORMAL_TABLE[index].reshape(shape)


class Longitudinal(NamedTuple):
    """Sampled energies per shower and read layer (GeV), each ``(n, R)``, and the truth record.

    ``em_depth`` is the depth of each read layer in units of the electromagnetic part's shower
    maximum, measured from where that part starts (it sets the lateral widths).
    """

    em: np.ndarray
    hadronic: np.ndarray | None
    mip: np.ndarray | None
    em_depth: np.ndarray
    truth: dict


def _lambda_to_x0(geometry: Geometry, depth_lambda: np.ndarray) -> np.ndarray:
    """Converts depths in lambda to X0 along the stack (linear between and beyond the sensors)."""
    lam = np.concatenate([[0.0], geometry.depth_lambda])
    x0 = np.concatenate([[0.0], geometry.depth_x0])
    beyond = x0[-1] + (depth_lambda - lam[-1]) * (x0[-1] - x0[-2]) / (lam[-1] - lam[-2])
    return np.where(depth_lambda <= lam[-1], np.interp(depth_lambda, lam, x0), beyond)


def _electron_longitudinal(rng: np.random.Generator, energy: np.ndarray, geometry: Geometry,
                           em: EMModel) -> Longitudinal:
    """Grindhammer-Peters profile with fluctuated (T, alpha), sampled per read layer."""
    depth_x0 = geometry.read_array("depth_x0")
    shape = draw_em_parameters(rng, energy, em, geometry.critical_energy_mev)
    mean = energy[:, None] * slab_fractions(shape.alpha, shape.beta, depth_x0)
    nan = np.full(energy.size, np.nan)
    return Longitudinal(
        em=_gamma_sample(rng, mean, em.stochastic), hadronic=None, mip=None,
        em_depth=depth_x0[None, :] / shape.shower_max[:, None],
        truth={"shower_max": shape.shower_max, "alpha": shape.alpha, "first_interaction": nan,
               "em_fraction": np.ones(energy.size)})


def _pion_longitudinal(rng: np.random.Generator, energy: np.ndarray, geometry: Geometry, em: EMModel,
                       pion: PionModel) -> Longitudinal:
    """MIPs up to an exponential first interaction, then the two-component profile."""
    n = energy.size
    depth_x0 = geometry.read_array("depth_x0")
    depth_lambda = geometry.read_array("depth_lambda")
    mean = pion_mean_parameters(energy)
    kappa = pion.em_fraction_concentration
    em_fraction = rng.beta(mean.em_fraction * kappa, (1 - mean.em_fraction) * kappa)
    start_lambda = rng.exponential(pion.interaction_length, n)
    start_x0 = _lambda_to_x0(geometry, start_lambda)
    em_total = energy * em_fraction
    if pion.em_profile == "photon":
        photon = draw_em_parameters(rng, np.maximum(em_total, 0.05), em, geometry.critical_energy_mev)
        em_max = photon.shower_max + pion.photon_shift
        alpha_em, beta_em = photon.alpha, (photon.alpha - 1) / em_max
    else:
        alpha_em, beta_em = mean.alpha_em, mean.beta_em
        em_max = (mean.alpha_em - 1) / mean.beta_em
    spread = np.exp(pion.hadronic_shape_spread * rng.standard_normal((2, n)))
    em_mean = em_total[:, None] * slab_fractions(alpha_em, beta_em, depth_x0, start_x0)
    had_mean = (energy * (1 - em_fraction) * pion.hadronic_response)[:, None] * slab_fractions(
        mean.alpha_had * spread[0], mean.beta_had * spread[1], depth_lambda, start_lambda)
    # Moyal (Landau-like) energy loss of the MIP in each layer before the interaction.
    landau = np.maximum(1.0 - pion.mip_width * np.log(rng.standard_normal((n, depth_x0.size)) ** 2), 0.0)
    before = depth_lambda[None, :] < start_lambda[:, None]
    gev_per_mip = geometry.read_array("mev_per_mip") * 1e-3
    return Longitudinal(
        em=_gamma_sample(rng, em_mean, pion.stochastic_em),
        hadronic=_gamma_sample(rng, had_mean, pion.stochastic_had),
        mip=np.where(before, landau * gev_per_mip, 0.0),
        em_depth=(depth_x0[None, :] - start_x0[:, None]) / em_max[:, None],
        truth={"shower_max": np.full(n, np.nan), "alpha": np.full(n, np.nan),
               "first_interaction": start_lambda, "em_fraction": em_fraction})


class Window(NamedTuple):
    """The ``G x G`` trigger cells around the projective axis at each read layer.

    Attributes:
        axis_x, axis_y: Axis position (cm), ``(n, R)``.
        cell_x, cell_y: Global grid index of the cell the axis crosses, ``(n, R)``.
        frac_x, frac_y: Axis position inside that cell, in cell units in [0, 1), ``(n, R)``.
        offset_x, offset_y: Cell-centre positions relative to the axis (cm), ``(n, R, G)``.
    """

    axis_x: np.ndarray
    axis_y: np.ndarray
    cell_x: np.ndarray
    cell_y: np.ndarray
    frac_x: np.ndarray
    frac_y: np.ndarray
    offset_x: np.ndarray
    offset_y: np.ndarray


def _window(eta: np.ndarray, phi: np.ndarray, z_cm: np.ndarray, cell: float, grid: int) -> Window:
    radius = z_cm[None, :] / np.sinh(np.abs(eta))[:, None]
    axis_x, axis_y = radius * np.cos(phi)[:, None], radius * np.sin(phi)[:, None]
    cell_x, cell_y = np.floor(axis_x / cell), np.floor(axis_y / cell)
    frac_x, frac_y = axis_x / cell - cell_x, axis_y / cell - cell_y
    centres = np.arange(-(grid // 2), grid // 2 + 1) + 0.5
    return Window(axis_x, axis_y, cell_x, cell_y, frac_x, frac_y,
                  (centres - frac_x[..., None]) * cell, (centres - frac_y[..., None]) * cell)


def _share_over_cells(longitudinal: Longitudinal, window: Window, geometry: Geometry,
                      transverse: TransverseModel, grid: int) -> np.ndarray:
    """Cell energies ``(n, R, G, G)`` (float32) before noise.

    Each component (EM core, EM halo, hadronic, MIP) is separable in x and y, so a layer's
    cells are ``sum_c w_c outer(share_x_c, share_y_c)``: one batched matrix product.
    """
    cell = geometry.cell_size_cm
    edges = np.arange(-(grid // 2), grid // 2 + 2, dtype=np.float64)
    growth = 1 - transverse.depth_growth + transverse.depth_growth * np.clip(longitudinal.em_depth, 0.0, 4.0)
    rm_cells = geometry.moliere_radius_cm / cell
    widths = [transverse.core_width * rm_cells * growth, transverse.halo_width * rm_cells * growth]
    weights = [transverse.core_fraction * longitudinal.em, (1 - transverse.core_fraction) * longitudinal.em]
    if longitudinal.hadronic is not None:
        widths.append(np.full_like(window.frac_x, transverse.hadronic_width_cm / cell))
        weights.append(longitudinal.hadronic)
    share_x = [_window_fractions(window.frac_x, w, edges) for w in widths]
    share_y = [_window_fractions(window.frac_y, w, edges) for w in widths]
    if longitudinal.mip is not None:  # a MIP deposits in the cell the axis crosses
        centre = np.zeros((1, 1, grid), dtype=np.float32)
        centre[..., grid // 2] = 1.0
        share_x.append(np.broadcast_to(centre, share_x[0].shape))
        share_y.append(np.broadcast_to(centre, share_y[0].shape))
        weights.append(longitudinal.mip)
    weighted_x = np.stack(share_x, axis=-1) * np.stack(weights, axis=-1)[..., None, :].astype(np.float32)
    return np.matmul(weighted_x, np.stack(share_y, axis=-1).swapaxes(-1, -2))


def _simulate_chunk(seed: np.random.SeedSequence, n: int, pdgid: int, geometry: Geometry, kinematics: dict,
                    em: EMModel, pion: PionModel, transverse: TransverseModel, digi: Digitisation) -> Showers:
    rng = np.random.default_rng(seed)
    energy, pt, eta, phi = _draw_kinematics(rng, n, **kinematics)
    if abs(pdgid) == 11:
        longitudinal = _electron_longitudinal(rng, energy, geometry, em)
        constant = em.constant
    else:
        longitudinal = _pion_longitudinal(rng, energy, geometry, em, pion)
        constant = pion.constant
    scale = np.maximum(1.0 + constant * rng.standard_normal(n), 0.0)[:, None]
    longitudinal = longitudinal._replace(**{k: getattr(longitudinal, k) * scale for k in ("em", "hadronic")
                                            if getattr(longitudinal, k) is not None})
    deposit = sum(part for part in longitudinal[:3] if part is not None)

    z_cm = geometry.read_array("z_cm")
    window = _window(eta, phi, z_cm, geometry.cell_size_cm, digi.grid)
    cells = _share_over_cells(longitudinal, window, geometry, transverse, digi.grid)
    noise = (digi.noise_mip * geometry.read_array("mev_per_mip") * 1e-3).astype(np.float32)[None, :, None, None]
    cells += noise * _gaussian_noise(rng, cells.shape)
    cells *= cells > digi.threshold_sigma * noise

    quantities = cluster_quantities(cells, window.offset_x, window.offset_y, window.axis_x, window.axis_y,
                                    z_cm, np.sign(eta), geometry.read_layers,
                                    np.asarray(geometry.subdet)[geometry.read] == 2)
    layer_energy = quantities.pop("layer_energy")
    flat = np.flatnonzero(cells)
    per_shower = int(np.prod(cells.shape[1:]))
    half = digi.grid // 2
    return Showers(
        geometry=geometry, grid=digi.grid,
        pdgid=np.full(n, pdgid, dtype=np.int32), energy=energy, pt=pt, eta=eta, phi=phi,
        cluster=quantities, has_cluster=quantities["pt"] >= digi.cluster_pt_min,
        layer_energy=layer_energy.astype(np.float32), deposit=deposit.astype(np.float32),
        truth=longitudinal.truth,
        window_x=(window.cell_x - half).astype(np.int32), window_y=(window.cell_y - half).astype(np.int32),
        tc_count=np.bincount(flat // per_shower, minlength=n).astype(np.int32),
        tc_window_index=(flat % per_shower).astype(np.int32),
        tc_energy=cells.ravel()[flat],
    )


def simulate(n: int, particle: str = "e-", energy: float | tuple[float, float] | None = None,
             pt: float | tuple[float, float] = (20.0, 100.0), eta: float | tuple[float, float] = (1.7, 2.8),
             geometry: Geometry | str | Path = "v9-trigger", seed: int | Sequence[int] = 0, *,
             em: EMModel = EMModel(),
             pion: PionModel = PionModel(), transverse: TransverseModel = TransverseModel(),
             digitisation: Digitisation = Digitisation(), workers: int = 1) -> Showers:
    """Simulates ``n`` single-particle showers as the HGCal Level-1 trigger sees them.

    Args:
        n: Number of showers.
        particle: ``"e-"``, ``"e+"``, ``"pi-"`` or ``"pi+"``.
        energy: Fixed energy (GeV) or a (low, high) range drawn flat in energy; overrides ``pt``.
        pt: Fixed pT or a (low, high) range drawn flat in pT (GeV); default 20-100 GeV.
        eta: Fixed |eta| or a (low, high) range drawn flat; the endcap (sign) is random.
        geometry: A :class:`Geometry`, a preset name or a geometry file.
        seed: Seed (an int or a sequence of ints, as ``numpy.random.SeedSequence`` takes);
            the same seed gives the same showers.
        em: Electron longitudinal profile and resolution.
        pion: Charged-pion shower model.
        transverse: Lateral sharing over trigger cells.
        digitisation: Trigger-cell window, noise, threshold and cluster pT cut.
        workers: Threads to spread the chunks over (numpy releases the GIL).

    Returns:
        Showers with ``n`` entries.

    Raises:
        NtupleError: For an unknown particle or an invalid option.
    """
    if pion.em_profile not in ("photon", "fastsim"):
        raise NtupleError(f"simulate: PionModel.em_profile={pion.em_profile!r}; use 'photon' or 'fastsim'")
    if particle not in PARTICLES:
        raise NtupleError(f"simulate: unknown particle {particle!r}; use one of {sorted(PARTICLES)}")
    if int(n) < 0:
        raise NtupleError(f"simulate: n={n} must be >= 0")
    if digitisation.grid < 1 or digitisation.grid % 2 == 0:
        raise NtupleError(f"simulate: Digitisation.grid={digitisation.grid} must be a positive odd number")
    geometry = Geometry.resolve(geometry)
    kinematics = dict(energy=None if energy is None else _range(energy, "energy"),
                      pt=_range(pt, "pt"), eta=_range(eta, "eta"))
    sizes = [min(CHUNK, n - start) for start in range(0, int(n), CHUNK)] or [0]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    run = lambda args: _simulate_chunk(args[0], args[1], PARTICLES[particle], geometry, kinematics,  # noqa: E731
                                       em, pion, transverse, digitisation)
    if workers > 1 and len(sizes) > 1:
        with ThreadPoolExecutor(workers) as pool:
            chunks = list(pool.map(run, zip(seeds, sizes)))
    else:
        chunks = [run(args) for args in zip(seeds, sizes)]
    return chunks[0] if len(chunks) == 1 else concatenate(chunks)
