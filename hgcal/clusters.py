"""3D-cluster quantities computed from trigger cells, with the CMSSW definitions.

The definitions follow the HGCal trigger's shower-shape code (CMSSW
L1Trigger/L1THGCal/src/backend/HGCalShowerShape.cc) as documented for the trigger ntuplizer:
``showerlength`` = last - first layer + 1 and ``firstlayer``/``maxlayer`` in physical layer
numbers; ``coreshowerlength`` = the most consecutive trigger layers with energy;
``layer10/50/90`` = interpolated trigger-layer position holding 10/50/90 % of the energy;
``emaxe`` = largest layer energy / cluster energy; ``hoe`` = CE-H / CE-E energy;
``meanz`` = |energy-weighted mean z|; ``szz``, ``seetot``, ``spptot``, ``srrtot`` =
energy-weighted RMS of z, eta, phi and r/z; ``*max`` = the largest per-layer RMS;
``srrmean`` = the energy-weighted mean of the per-layer RMS of r/z.

Cells are given as a dense window per layer around the shower axis, which makes every sum a
vectorised reduction. The eta, phi and r/z spreads are evaluated to first order in the cell's
offset from the axis (the window is a few centimetres wide at |z| > 3 m, so the error is far
below the cell size).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cluster_quantities", "CLUSTER_FIELDS"]

#: Names (without the ``cl3d_`` prefix) returned by :func:`cluster_quantities`.
CLUSTER_FIELDS = (
    "energy", "pt", "eta", "phi", "clusters_n", "showerlength", "coreshowerlength", "firstlayer",
    "maxlayer", "seetot", "seemax", "spptot", "sppmax", "szz", "srrtot", "srrmax", "srrmean",
    "emaxe", "hoe", "meanz", "layer10", "layer50", "layer90",
)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _longest_run(hit: np.ndarray) -> np.ndarray:
    """Longest run of consecutive True along axis 1 of ``hit`` (n, R) -> (n,)."""
    run = np.zeros(hit.shape[0], dtype=np.int32)
    best = np.zeros_like(run)
    for column in hit.T:
        run = (run + 1) * column
        np.maximum(best, run, out=best)
    return best


def _quantile_position(cumulative: np.ndarray, q: float) -> np.ndarray:
    """Interpolated 1-based trigger-layer position where the cumulative fraction reaches q."""
    reached = cumulative >= q - 1e-9
    k = np.argmax(reached, axis=1)
    rows = np.arange(cumulative.shape[0])
    previous = np.where(k > 0, cumulative[rows, np.maximum(k - 1, 0)], 0.0)
    step = cumulative[rows, k] - previous
    return k + _safe_divide(q - previous, step)


def _spread(sum_u: np.ndarray, sum_uu: np.ndarray, layer_energy: np.ndarray, energy: np.ndarray):
    """Total, max-per-layer and energy-weighted mean-per-layer RMS from per-layer moments (n, R)."""
    total = np.sqrt(np.maximum(_safe_divide(sum_uu.sum(1), energy)
                               - _safe_divide(sum_u.sum(1), energy) ** 2, 0.0))
    per_layer = np.sqrt(np.maximum(_safe_divide(sum_uu, layer_energy)
                                   - _safe_divide(sum_u, layer_energy) ** 2, 0.0))
    return total, per_layer.max(axis=1), _safe_divide((per_layer * layer_energy).sum(1), energy)


def cluster_quantities(cells: np.ndarray, offset_x: np.ndarray, offset_y: np.ndarray,
                       axis_x: np.ndarray, axis_y: np.ndarray, z_cm: np.ndarray,
                       z_sign: np.ndarray, layers: np.ndarray, is_ce_h: np.ndarray) -> dict[str, np.ndarray]:
    """Computes the 3D-cluster quantities of one cluster per shower.

    Args:
        cells: Energies (GeV) of the cells kept in the cluster, shape ``(n, R, G, G)``
            (shower, read layer, x cell, y cell), zero where nothing was kept.
        offset_x: x of each cell column's centre relative to the shower axis (cm), ``(n, R, G)``.
        offset_y: y of each cell row's centre relative to the shower axis (cm), ``(n, R, G)``.
        axis_x: x of the shower axis at each read layer (cm), ``(n, R)``.
        axis_y: y of the shower axis at each read layer (cm), ``(n, R)``.
        z_cm: |z| of the read layers (cm), ``(R,)``.
        z_sign: +1 or -1, the endcap of each shower, ``(n,)``.
        layers: Physical layer numbers of the read layers, ``(R,)``.
        is_ce_h: Whether each read layer is in CE-H, ``(R,)``.

    Returns:
        Mapping of each name in :data:`CLUSTER_FIELDS` to an array of shape ``(n,)``, and
        ``"layer_energy"`` of shape ``(n, R)``. Empty clusters have zeros (``hoe`` = -1).
    """
    # einsum reduces the short cell axes several times faster than ndarray.sum
    along_x = np.einsum("nrij->nri", cells).astype(np.float64)  # sum over y of each x column
    along_y = np.einsum("nrij->nrj", cells).astype(np.float64)  # sum over x of each y row
    y_moment = np.einsum("nrij,nrj->nri", cells, offset_y.astype(cells.dtype)).astype(np.float64)
    layer_energy = along_x.sum(-1)
    energy = layer_energy.sum(axis=1)
    sx = (along_x * offset_x).sum(-1)
    sy = (along_y * offset_y).sum(-1)
    sxx = (along_x * offset_x ** 2).sum(-1)
    syy = (along_y * offset_y ** 2).sum(-1)
    sxy = (y_moment * offset_x).sum(-1)

    centre_x = _safe_divide((layer_energy * axis_x + sx).sum(1), energy)
    centre_y = _safe_divide((layer_energy * axis_y + sy).sum(1), energy)
    mean_z = _safe_divide(layer_energy @ z_cm, energy)
    radius = np.hypot(centre_x, centre_y)
    eta = z_sign * np.arcsinh(_safe_divide(mean_z, radius))
    phi = np.arctan2(centre_y, centre_x)

    hit = layer_energy > 0
    n_layers = hit.shape[1]
    first = np.argmax(hit, axis=1)
    last = n_layers - 1 - np.argmax(hit[:, ::-1], axis=1)
    cumulative = _safe_divide(np.cumsum(layer_energy, axis=1), energy[:, None])
    ce_e_energy = layer_energy[:, ~is_ce_h].sum(1)
    has = energy > 0

    cos_phi, sin_phi = np.cos(phi)[:, None], np.sin(phi)[:, None]
    s_r = cos_phi * sx + sin_phi * sy
    s_rr = cos_phi ** 2 * sxx + 2 * cos_phi * sin_phi * sxy + sin_phi ** 2 * syy
    s_t = -sin_phi * sx + cos_phi * sy
    s_tt = sin_phi ** 2 * sxx - 2 * cos_phi * sin_phi * sxy + cos_phi ** 2 * syy
    axis_r = np.hypot(axis_x, axis_y)
    d_eta = np.abs(np.tanh(eta))[:, None] / axis_r
    seetot, seemax, _ = _spread(-d_eta * s_r, d_eta ** 2 * s_rr, layer_energy, energy)
    spptot, sppmax, _ = _spread(s_t / axis_r, s_tt / axis_r ** 2, layer_energy, energy)
    srrtot, srrmax, srrmean = _spread(s_r / z_cm, s_rr / z_cm ** 2, layer_energy, energy)

    out = {
        "energy": energy,
        "pt": energy / np.cosh(eta),
        "eta": eta,
        "phi": phi,
        "clusters_n": hit.sum(1),
        "showerlength": np.where(has, layers[last] - layers[first] + 1, 0),
        "coreshowerlength": _longest_run(hit),
        "firstlayer": np.where(has, layers[first], 0),
        "maxlayer": np.where(has, layers[np.argmax(layer_energy, axis=1)], 0),
        "seetot": seetot, "seemax": seemax, "spptot": spptot, "sppmax": sppmax,
        "szz": np.sqrt(np.maximum(_safe_divide(layer_energy @ z_cm ** 2, energy) - mean_z ** 2, 0.0)),
        "srrtot": srrtot, "srrmax": srrmax, "srrmean": srrmean,
        "emaxe": _safe_divide(layer_energy.max(axis=1), energy),
        "hoe": np.where(ce_e_energy > 0, _safe_divide(layer_energy[:, is_ce_h].sum(1), ce_e_energy), -1.0),
        "meanz": mean_z,
        "layer10": np.where(has, _quantile_position(cumulative, 0.10), 0.0),
        "layer50": np.where(has, _quantile_position(cumulative, 0.50), 0.0),
        "layer90": np.where(has, _quantile_position(cumulative, 0.90), 0.0),
        "layer_energy": layer_energy,
    }
    return out
