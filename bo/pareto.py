"""Multi-objective building blocks: Pareto fronts, hypervolumes, ParEGO and 2-D EHVI.

Every objective is *minimised* (users minimise (error, resource)); acquisitions such as
`ehvi_2d` are utilities that are maximised, in the user's units.

- `pareto_mask`, `pareto_front`: the non-dominated rows of an (n, m) array of objective values.
- `hypervolume`: the exact Lebesgue measure dominated by a set of points and bounded by a
  reference point, for m = 1, 2 (sort and sum rectangles) and m = 3 (a sweep over the third
  objective that sums slabs of 2-D hypervolumes, O(n^2 log n)); `hypervolume_contributions`:
  the exclusive contribution of each point.
- ParEGO (Knowles 2006, "ParEGO: a hybrid algorithm with on-line landscape approximation for
  expensive multiobjective optimization problems", IEEE TEC 10(1)): `random_chebyshev_weights`
  draws weight vectors uniformly on the simplex and `chebyshev_scalarize` applies the augmented
  Chebyshev scalarisation max_j(w_j f_j) + rho * sum_j w_j f_j to objectives normalised to [0, 1],
  so a single-objective GP optimiser can minimise one scalarisation per iteration.
- `ehvi_2d`: expected hypervolume improvement of a candidate with independent Gaussian
  predictions, in closed form for two objectives (Emmerich, Giannakoglou & Naujoks 2006,
  "Single- and multiobjective evolutionary optimization assisted by Gaussian random field
  metamodels", IEEE TEC 10(4); Yang, Emmerich, Deutz & Bäck 2019, "Efficient computation of
  expected hypervolume improvement using box decomposition algorithms", J. Global Optim. 75).
  The region not dominated by the front is cut into vertical strips; in each strip the
  improvement factorises into E[width] * E[height], and each factor is a difference of the
  one-sided expectation psi(c) = E[max(0, c - Y)] = (c - mu) Phi(z) + sigma phi(z). It is written
  in JAX without data-dependent shapes, so it is jittable and vmappable over candidates, and
  accepts fronts padded with NaN rows or holding dominated points.

The combinatorial parts (fronts, hypervolumes) are plain numpy; rows holding NaN or inf are never
on a front and never count towards a hypervolume. User errors raise `bo.SpaceError`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from bo.space import SpaceError

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


# --------------------------------------------------------------------------- Pareto fronts


def _as_values(values, name="values") -> np.ndarray:
    """Objective values as a float (n, m) array, or a SpaceError naming the fix."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2:
        raise SpaceError(f"{name} must be a 2-D array shaped (n_points, n_objectives); got shape {arr.shape}. "
                         f"Stack one row per point (np.reshape(x, (-1, m)) for a flat list).")
    return arr


def _lexicographic_order(arr: np.ndarray) -> np.ndarray:
    """Row indices sorted by the first objective, ties by the next, then by index (stable)."""
    if arr.shape[1] == 0:
        return np.arange(arr.shape[0])
    return np.lexsort(arr.T[::-1])


def pareto_mask(values) -> np.ndarray:
    """Which rows are Pareto-optimal (non-dominated) under minimisation.

    Row j dominates row i when it is no worse in every objective and strictly better in one.
    Duplicated rows do not dominate each other, so every copy of a non-dominated row is kept.
    Rows holding NaN or +-inf are never on the front (and dominate nothing).

    Args:
        values: objective values, shape (n, m).

    Returns:
        A boolean array, shape (n,).

    Raises:
        SpaceError: if values is not two-dimensional.
    """
    arr = _as_values(values)
    n, m = arr.shape
    mask = np.zeros(n, dtype=bool)
    finite = np.flatnonzero(np.all(np.isfinite(arr), axis=1))
    if finite.size == 0:
        return mask
    # In lexicographic order a dominating row always comes before the row it dominates, and
    # dominance is transitive, so a row is dominated iff a front row already found dominates it.
    order = finite[_lexicographic_order(arr[finite])]
    front = np.empty((finite.size, m))
    size = 0
    for i in order:
        row = arr[i]
        found = front[:size]
        if size and np.any(np.all(found <= row, axis=1) & np.any(found < row, axis=1)):
            continue
        front[size] = row
        size += 1
        mask[i] = True
    return mask


def pareto_front(values) -> tuple[np.ndarray, np.ndarray]:
    """The non-dominated rows of values (minimisation), sorted by the first objective.

    Args:
        values: objective values, shape (n, m).

    Returns:
        (indices, front): indices into values, shape (k,), ordered by the first objective (ties by
        the next objectives, then by index); front = values[indices], shape (k, m). Duplicated
        non-dominated rows all appear.

    Raises:
        SpaceError: if values is not two-dimensional.
    """
    arr = _as_values(values)
    indices = np.flatnonzero(pareto_mask(arr))
    indices = indices[_lexicographic_order(arr[indices])]
    return indices, arr[indices]


# --------------------------------------------------------------------------- hypervolume


def _check_reference(arr: np.ndarray, reference, max_objectives: int | None = 3) -> np.ndarray:
    """The reference point as a float (m,) array matching arr's objectives, or a SpaceError."""
    ref = np.asarray(reference, dtype=float)
    m = arr.shape[1]
    if ref.ndim != 1 or ref.shape[0] != m:
        raise SpaceError(f"reference must be one point with {m} objectives, shape ({m},), like the front's rows; "
                         f"got shape {ref.shape}.")
    if not np.all(np.isfinite(ref)):
        raise SpaceError(f"reference must be finite; got {ref.tolist()}. Choose a point slightly worse than the "
                         f"worst acceptable value of each objective (e.g. the nadir plus a margin).")
    if m == 0:
        raise SpaceError("the front has no objectives (shape (n, 0)); pass values shaped (n, m) with m >= 1.")
    if max_objectives is not None and m > max_objectives:
        raise SpaceError(f"exact hypervolume is implemented for 1 to {max_objectives} objectives; got {m}. "
                         f"Reduce the objectives or scalarise them (bo.pareto.chebyshev_scalarize, ParEGO).")
    return ref


def _dominating_reference(arr: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The finite rows of arr strictly better than the reference in every objective."""
    keep = np.all(np.isfinite(arr), axis=1) & np.all(arr < ref, axis=1)
    return arr[keep]


def _hypervolume_1d(points: np.ndarray, ref: np.ndarray) -> float:
    return float(ref[0] - points[:, 0].min()) if len(points) else 0.0


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by points (all strictly dominating ref), shape (n, 2): sort and sum strips.

    Sorted by the first objective, the strip [x_i, x_{i+1}) is dominated above the running
    minimum of the second objective; dominated and duplicated points merge into their strips.
    """
    if len(points) == 0:
        return 0.0
    order = np.argsort(points[:, 0], kind="stable")
    x = points[order, 0]
    height = ref[1] - np.minimum.accumulate(points[order, 1])
    width = np.diff(np.append(x, ref[0]))
    return float(np.sum(width * height))


def _hypervolume_3d(points: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by points (all strictly dominating ref), shape (n, 3): slabs along z.

    Between consecutive sorted third-objective values z_k and z_{k+1} (the last slab ends at the
    reference), the dominated cross-section is the 2-D hypervolume of the first k + 1 points.
    """
    if len(points) == 0:
        return 0.0
    points = points[pareto_mask(points)]
    order = np.argsort(points[:, 2], kind="stable")
    points = points[order]
    thickness = np.diff(np.append(points[:, 2], ref[2]))
    total = 0.0
    for k in np.flatnonzero(thickness > 0):
        total += thickness[k] * _hypervolume_2d(points[: k + 1, :2], ref[:2])
    return float(total)


_HYPERVOLUME = {1: _hypervolume_1d, 2: _hypervolume_2d, 3: _hypervolume_3d}


def hypervolume(front, reference) -> float:
    """Exact hypervolume dominated by a set of points and bounded by a reference (minimisation).

    The measure of { z : z <= reference and some point p <= z }. Points need not be
    non-dominated or in any order; points that do not strictly dominate the reference (and rows
    holding NaN or inf) add nothing.

    Args:
        front: objective values, shape (n, m) with m in {1, 2, 3}.
        reference: the reference (anti-ideal) point, shape (m,), finite.

    Returns:
        The hypervolume, a float >= 0 (0.0 for an empty front).

    Raises:
        SpaceError: if front is not (n, m), m > 3, or reference is not a finite (m,) point.
    """
    arr = _as_values(front, "front")
    ref = _check_reference(arr, reference)
    return _HYPERVOLUME[arr.shape[1]](_dominating_reference(arr, ref), ref)


def hypervolume_contributions(front, reference) -> np.ndarray:
    """Exclusive hypervolume contribution of each point: hypervolume(all) - hypervolume(all but it).

    The volume that only this point dominates. Dominated points, duplicated points (removing one
    copy leaves the other), points not strictly dominating the reference and non-finite rows
    contribute 0. Each non-dominated point is left out in turn, all other rows (dominated ones
    included) kept: O(n^2 log n) for two objectives, O(n^3 log n) for three. On a front without
    dominated points, two objectives give (x_{i+1} - x_i) * (y_{i-1} - y_i) along the sorted front.

    Args:
        front: objective values, shape (n, m) with m in {1, 2, 3}.
        reference: the reference point, shape (m,), finite.

    Returns:
        Contributions, shape (n,), each >= 0.

    Raises:
        SpaceError: as `hypervolume`.
    """
    arr = _as_values(front, "front")
    ref = _check_reference(arr, reference)
    contributions = np.zeros(arr.shape[0])
    candidates = np.all(np.isfinite(arr), axis=1) & np.all(arr < ref, axis=1)
    candidates[candidates] = pareto_mask(arr[candidates])
    index = np.flatnonzero(candidates)
    if index.size == 0:
        return contributions
    points = arr[index]
    _, inverse, counts = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    # Dominated points lie inside their dominator's box and copies inside each other's: both
    # own nothing. Every other point is left out in turn, with all the remaining points kept.
    total = hypervolume(arr, ref)
    for j in np.flatnonzero(counts[inverse.reshape(-1)] == 1):
        rest = np.delete(arr, index[j], axis=0)
        contributions[index[j]] = max(total - hypervolume(rest, ref), 0.0)
    return contributions


# --------------------------------------------------------------------------- ParEGO


def random_chebyshev_weights(key_or_seed, m: int, n: int) -> jax.Array:
    """Weight vectors drawn uniformly on the probability simplex (for ParEGO scalarisations).

    Knowles (2006) cycles through an evenly spaced lattice of weights; drawing them uniformly
    (normalised exponentials, i.e. Dirichlet(1, ..., 1)) covers the front as well without fixing
    the number of iterations in advance.

    Args:
        key_or_seed: a JAX PRNG key, or an int seed.
        m: number of objectives, >= 1.
        n: number of weight vectors, >= 0.

    Returns:
        Weights, shape (n, m), float64, non-negative, each row summing to one.

    Raises:
        SpaceError: if m < 1 or n < 0.
    """
    if int(m) != m or m < 1 or int(n) != n or n < 0:
        raise SpaceError(f"random_chebyshev_weights needs m >= 1 objectives and n >= 0 vectors; got m={m}, n={n}.")
    key = jax.random.key(int(key_or_seed)) if isinstance(key_or_seed, (int, np.integer)) else key_or_seed
    draws = jax.random.exponential(key, (int(n), int(m)), dtype=jnp.float64)
    return draws / jnp.sum(draws, axis=-1, keepdims=True)


def chebyshev_scalarize(values, weights, ideal=None, nadir=None, rho: float = 0.05) -> jax.Array:
    """Augmented Chebyshev scalarisation of normalised objectives (ParEGO, Knowles 2006, eq. 2).

    With f' = (f - ideal) / (nadir - ideal), the scalarisation is
    max_j(w_j f'_j) + rho * sum_j w_j f'_j, to be minimised. With positive weights and rho > 0 its
    minimiser over any set of points is Pareto-optimal. Objectives whose nadir equals their ideal
    are left unscaled. Plain jnp operations, so it works under jit and grad.

    Args:
        values: objective values, shape (..., m).
        weights: weights, shape (m,) or broadcastable against values (e.g. (n, m) for one
            weight vector per row; values[:, None] against weights[None] for all pairs).
        ideal: the best value of each objective, shape (m,); default: the minimum of values over
            its rows (values then must be (n, m) and hold no NaN).
        nadir: the worst value of each objective, shape (m,); default: the maximum over the rows.
        rho: weight of the augmentation term (Knowles uses 0.05).

    Returns:
        The scalarised values, shape values.shape[:-1] broadcast with weights.shape[:-1].
    """
    values = jnp.asarray(values, dtype=jnp.float64)
    weights = jnp.asarray(weights, dtype=jnp.float64)
    ideal = jnp.min(values, axis=0) if ideal is None else jnp.asarray(ideal, dtype=jnp.float64)
    nadir = jnp.max(values, axis=0) if nadir is None else jnp.asarray(nadir, dtype=jnp.float64)
    scale = nadir - ideal
    scale = jnp.where(scale > 0, scale, 1.0)
    weighted = weights * (values - ideal) / scale
    return jnp.max(weighted, axis=-1) + rho * jnp.sum(weighted, axis=-1)


# --------------------------------------------------------------------------- EHVI


def _normal_pdf(z):
    return jnp.exp(-0.5 * z * z - _LOG_SQRT_2PI)


def _psi(bound, mean, std):
    """E[max(0, bound - Y)] for Y ~ N(mean, std^2): (bound - mean) Phi(z) + std phi(z).

    std = 0 gives max(0, bound - mean) exactly (and a finite gradient).
    """
    positive = std > 0
    safe_std = jnp.where(positive, std, 1.0)
    gap = bound - mean
    z = gap / safe_std
    smooth = gap * ndtr(z) + safe_std * _normal_pdf(z)
    return jnp.where(positive, smooth, jnp.maximum(gap, 0.0))


def ehvi_2d(mean, std, front, reference) -> jax.Array:
    """Expected hypervolume improvement for two minimised objectives, in closed form.

    The candidate's objectives are independent Gaussians N(mean_j, std_j^2); the improvement of
    an outcome y is hypervolume(front + {y}) - hypervolume(front) with the given reference.
    Sorting the front by its first objective (a_1 <= ... <= a_k) cuts the region not dominated
    by it into strips [a_i, a_{i+1}) x (-inf, b_i), with a_0 = -inf, a_{k+1} = reference_0,
    b_0 = reference_1 and b_i the running minimum of the second objective. So

        EHVI = sum_i [psi_0(a_{i+1}) - psi_0(a_i)] * psi_1(b_i),   psi_j(c) = E[max(0, c - Y_j)].

    Front rows that hold NaN/inf or do not strictly dominate the reference are ignored, so a
    front padded with NaN rows to a fixed capacity gives the same value (no recompilation as
    the front grows). Dominated and duplicated rows are harmless. Jittable; vmap over
    candidates, or pass mean and std with leading batch dimensions.

    Args:
        mean: predicted means of the two objectives, shape (..., 2), in the user's units.
        std: predicted standard deviations, shape (..., 2), >= 0 (0 gives the exact improvement).
        front: the current points (normally the Pareto front), shape (k, 2); k may be 0.
        reference: the reference point, shape (2,).

    Returns:
        EHVI, shape (...), >= 0 up to rounding; a utility to maximise.

    Raises:
        SpaceError: if the last dimension of mean, std or front is not 2, or reference is not (2,).
    """
    mean = jnp.asarray(mean, dtype=jnp.float64)
    std = jnp.asarray(std, dtype=jnp.float64)
    front = jnp.asarray(front, dtype=jnp.float64)
    reference = jnp.asarray(reference, dtype=jnp.float64)
    if front.ndim == 1 and front.shape[0] == 0:
        front = front.reshape(0, 2)
    if mean.shape[-1:] != (2,) or std.shape[-1:] != (2,):
        raise SpaceError(f"ehvi_2d needs mean and std shaped (..., 2); got {mean.shape} and {std.shape}.")
    if front.ndim != 2 or front.shape[1] != 2:
        raise SpaceError(f"ehvi_2d needs a front shaped (k, 2); got {front.shape}. Use ParEGO for m > 2.")
    if reference.shape != (2,):
        raise SpaceError(f"ehvi_2d needs a reference shaped (2,); got {reference.shape}.")
    return _ehvi_2d(mean, std, front, reference)


@jax.jit
def _ehvi_2d(mean, std, front, reference):
    """`ehvi_2d` on checked float64 arrays: mean, std (..., 2), front (k, 2), reference (2,)."""
    valid = jnp.all(jnp.isfinite(front), axis=1) & jnp.all(front < reference, axis=1)
    points = jnp.where(valid[:, None], front, reference)
    order = jnp.argsort(points[:, 0])
    upper = jnp.concatenate([points[order, 0], reference[:1]])                       # a_1 .. a_{k+1}
    # Ignored rows sit at the reference, so the running minimum never exceeds reference[1].
    height = jnp.concatenate([reference[1:], jax.lax.cummin(points[order, 1])])      # b_0 .. b_k
    psi_upper = _psi(upper, mean[..., :1], std[..., :1])                             # (..., k + 1)
    psi_lower = jnp.concatenate([jnp.zeros_like(psi_upper[..., :1]), psi_upper[..., :-1]], axis=-1)
    return jnp.sum((psi_upper - psi_lower) * _psi(height, mean[..., 1:], std[..., 1:]), axis=-1)
