"""Pareto fronts, hypervolumes, ParEGO scalarisations and 2-D EHVI against independent references.

References: brute-force pairwise dominance, hand-computed areas and volumes, inclusion-exclusion
over dominated boxes, an exact count over the grid of point coordinates, Monte Carlo, and
one-dimensional quadrature for the EHVI factors.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from bo import pareto
from bo.space import SpaceError

# --------------------------------------------------------------------------- references


def brute_force_mask(values):
    """Row i is on the front iff it is finite and no finite row dominates it (O(n^2))."""
    values = np.asarray(values, dtype=float)
    finite = np.all(np.isfinite(values), axis=1)
    mask = np.zeros(len(values), dtype=bool)
    for i in range(len(values)):
        if not finite[i]:
            continue
        mask[i] = not any(finite[j] and np.all(values[j] <= values[i]) and np.any(values[j] < values[i])
                          for j in range(len(values)))
    return mask


def inclusion_exclusion(points, reference):
    """Hypervolume as sum over non-empty subsets S of (-1)^(|S|+1) vol([max_S p, reference])."""
    points = np.asarray(points, dtype=float)
    reference = np.asarray(reference, dtype=float)
    points = points[np.all(points < reference, axis=1)]
    total = 0.0
    for size in range(1, len(points) + 1):
        for subset in itertools.combinations(range(len(points)), size):
            corner = points[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * np.prod(reference - corner)
    return total


def grid_count(points, reference):
    """Exact hypervolume by summing the cells of the grid of coordinates whose lower corner is dominated."""
    points = np.asarray(points, dtype=float)
    reference = np.asarray(reference, dtype=float)
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    edges = [np.unique(np.append(points[:, j], reference[j])) for j in range(points.shape[1])]
    corners = np.stack(np.meshgrid(*[e[:-1] for e in edges], indexing="ij"), axis=-1)
    sizes = np.stack(np.meshgrid(*[np.diff(e) for e in edges], indexing="ij"), axis=-1)
    dominated = np.any(np.all(points[:, None, :] <= corners.reshape(-1, 1, points.shape[1]).swapaxes(0, 1),
                              axis=-1), axis=0)
    return float(np.sum(np.prod(sizes.reshape(-1, points.shape[1]), axis=1)[dominated]))


def improvement(y, front, reference):
    """Exact hypervolume improvement of one outcome y over front."""
    front = np.asarray(front, dtype=float).reshape(-1, len(reference))
    return pareto.hypervolume(np.vstack([front, y]), reference) - pareto.hypervolume(front, reference)


def integral_of(fun, mean, std):
    """E[fun(Y)] for Y ~ N(mean, std^2) by quadrature."""
    value, _ = integrate.quad(lambda y: fun(y) * stats.norm.pdf(y, mean, std), -np.inf, np.inf, limit=200)
    return value


small_values = st.one_of(st.integers(0, 6).map(float), st.floats(0.0, 10.0, allow_nan=False, width=32))


def point_sets(m, min_size=0, max_size=8):
    return st.lists(st.tuples(*[small_values] * m), min_size=min_size, max_size=max_size).map(
        lambda rows: np.array(rows, dtype=float).reshape(-1, m))


# --------------------------------------------------------------------------- Pareto fronts


def test_pareto_mask_by_hand_with_ties_duplicates_and_non_finite_rows():
    values = [[1, 2], [2, 1], [2, 2], [1, 2], [0, 5], [np.nan, 0], [np.inf, -1], [1, 3], [-np.inf, 0]]
    expected = [True, True, False, True, True, False, False, False, False]
    np.testing.assert_array_equal(pareto.pareto_mask(values), expected)


def test_pareto_front_sorted_by_first_objective_and_indices_point_into_values():
    values = np.array([[3.0, 1.0], [1.0, 3.0], [2.5, 2.5], [2.0, 2.0], [1.0, 3.0]])
    indices, front = pareto.pareto_front(values)
    np.testing.assert_array_equal(indices, [1, 4, 3, 0])
    np.testing.assert_array_equal(front, values[indices])


def test_pareto_front_three_objectives_by_hand():
    values = [[1, 2, 3], [3, 2, 1], [2, 2, 2], [2, 3, 3], [1, 2, 3.5], [1, 1, 9]]
    indices, _ = pareto.pareto_front(values)
    assert sorted(indices.tolist()) == [0, 1, 2, 5]


def test_pareto_front_empty_and_all_nan():
    indices, front = pareto.pareto_front(np.zeros((0, 2)))
    assert indices.shape == (0,) and front.shape == (0, 2)
    assert not pareto.pareto_mask([[np.nan, 1.0], [2.0, np.nan]]).any()


def test_pareto_front_rejects_flat_input():
    with pytest.raises(SpaceError, match=r"\(n_points, n_objectives\)"):
        pareto.pareto_front([1.0, 2.0, 3.0])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1, 2, 3]).flatmap(lambda m: point_sets(m, max_size=12)), st.randoms())
def test_pareto_mask_matches_brute_force_and_ignores_order(values, rnd):
    mask = pareto.pareto_mask(values)
    np.testing.assert_array_equal(mask, brute_force_mask(values))
    permutation = np.array(rnd.sample(range(len(values)), len(values)), dtype=int)
    np.testing.assert_array_equal(pareto.pareto_mask(values[permutation]), mask[permutation])


# --------------------------------------------------------------------------- hypervolume


def test_hypervolume_2d_by_hand():
    assert pareto.hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    assert pareto.hypervolume([[0, 0]], [2, 3]) == pytest.approx(6.0)
    # Dominated, duplicated and beyond-reference points add nothing.
    assert pareto.hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [2, 2], [5, 0], [0, 4], [np.nan, 0]],
                          [4, 4]) == pytest.approx(6.0)
    assert pareto.hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0


def test_hypervolume_3d_by_hand():
    assert pareto.hypervolume([[0, 0, 0]], [1, 2, 3]) == pytest.approx(6.0)
    # Boxes of 4 and 2 overlapping in a unit cube.
    assert pareto.hypervolume([[0, 0, 1], [1, 1, 0]], [2, 2, 2]) == pytest.approx(5.0)
    # The cube [0, 2]^3 less the unit cube that no point dominates.
    assert pareto.hypervolume([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2]) == pytest.approx(7.0)
    # A point touching the reference in one objective dominates zero volume.
    assert pareto.hypervolume([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [1, 1, 1]) == 0.0


def test_hypervolume_one_objective():
    assert pareto.hypervolume([[3.0], [1.0], [5.0]], [4.0]) == pytest.approx(3.0)


def test_hypervolume_3d_against_monte_carlo():
    rng = np.random.default_rng(0)
    points = rng.uniform(0.0, 1.0, size=(12, 3))
    reference = np.array([1.1, 1.2, 1.0])
    exact = pareto.hypervolume(points, reference)
    lower = points.min(axis=0)
    samples = rng.uniform(lower, reference, size=(200_000, 3))
    dominated = np.zeros(len(samples), dtype=bool)
    for p in points:
        dominated |= np.all(samples >= p, axis=1)
    box = np.prod(reference - lower)
    estimate = box * dominated.mean()
    standard_error = box * np.sqrt(dominated.mean() * (1 - dominated.mean()) / len(samples))
    assert abs(exact - estimate) < 4 * standard_error
    assert exact == pytest.approx(grid_count(points, reference), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([2, 3]).flatmap(lambda m: point_sets(m, max_size=7)), st.randoms())
def test_hypervolume_matches_inclusion_exclusion_and_grid_count(points, rnd):
    m = points.shape[1]
    reference = np.full(m, 8.0)
    value = pareto.hypervolume(points, reference)
    assert value == pytest.approx(inclusion_exclusion(points, reference), rel=1e-9, abs=1e-9)
    assert value == pytest.approx(grid_count(points, reference), rel=1e-9, abs=1e-9)
    permutation = rnd.sample(range(len(points)), len(points))
    assert pareto.hypervolume(points[permutation], reference) == pytest.approx(value, rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([2, 3]).flatmap(lambda m: point_sets(m, min_size=1, max_size=10)),
       st.floats(0.0, 3.0), st.data())
def test_dominated_points_add_nothing_and_any_point_never_subtracts(points, shift, data):
    reference = np.full(points.shape[1], 12.0)
    value = pareto.hypervolume(points, reference)
    anchor = points[data.draw(st.integers(0, len(points) - 1))]
    dominated = anchor + shift * np.arange(1, points.shape[1] + 1) / points.shape[1]
    assert pareto.hypervolume(np.vstack([points, dominated]), reference) == pytest.approx(value, rel=1e-12)
    extra = np.array(data.draw(st.tuples(*[small_values] * points.shape[1])))
    assert pareto.hypervolume(np.vstack([points, extra]), reference) >= value - 1e-9


@pytest.mark.parametrize("front, reference, message", [
    (np.zeros((3, 4)), np.ones(4), "1 to 3 objectives"),
    (np.zeros((3, 2)), np.ones(3), r"shape \(2,\)"),
    (np.zeros((3, 2)), [1.0, np.nan], "finite"),
    (np.zeros((3, 2)), [[1.0, 1.0]], r"shape \(2,\)"),
    (np.zeros(3), np.ones(3), "2-D array"),
])
def test_hypervolume_user_errors_are_space_errors(front, reference, message):
    with pytest.raises(SpaceError, match=message):
        pareto.hypervolume(front, reference)
    assert issubclass(SpaceError, ValueError)


def test_hypervolume_contributions_by_hand():
    front = [[1, 3], [2, 2], [3, 1], [2, 2], [3, 3], [0, 9]]
    np.testing.assert_allclose(pareto.hypervolume_contributions(front, [4, 4]), [1, 0, 1, 0, 0, 0])
    np.testing.assert_allclose(pareto.hypervolume_contributions([[1, 3], [2, 2], [3, 1]], [4, 4]), [1, 1, 1])
    # Three objectives: each corner point owns the slab only it dominates.
    np.testing.assert_allclose(pareto.hypervolume_contributions([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2]),
                               [1, 1, 1])


@settings(max_examples=40, deadline=None)
@given(point_sets(2, min_size=1, max_size=10))
def test_hypervolume_contributions_on_a_2d_front_are_the_staircase_rectangles(points):
    reference = np.array([8.0, 8.0])
    _, front = pareto.pareto_front(points)
    front = np.unique(front, axis=0)  # distinct, sorted by x (and so y decreasing)
    front = front[np.all(front < reference, axis=1)]
    right = np.append(front[1:, 0], reference[0])
    above = np.insert(front[:-1, 1], 0, reference[1])
    expected = (right - front[:, 0]) * (above - front[:, 1])
    np.testing.assert_allclose(pareto.hypervolume_contributions(front, reference), expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([1, 2, 3]).flatmap(lambda m: point_sets(m, max_size=8)))
def test_hypervolume_contributions_equal_leave_one_out(points):
    reference = np.full(points.shape[1], 8.0)
    contributions = pareto.hypervolume_contributions(points, reference)
    total = pareto.hypervolume(points, reference)
    expected = [total - pareto.hypervolume(np.delete(points, i, axis=0), reference) for i in range(len(points))]
    np.testing.assert_allclose(contributions, expected, rtol=1e-9, atol=1e-9)
    assert np.all(contributions >= 0) and contributions.sum() <= total + 1e-9


# --------------------------------------------------------------------------- ParEGO


def test_chebyshev_weights_lie_on_the_simplex_and_are_reproducible():
    weights = np.asarray(pareto.random_chebyshev_weights(0, 3, 500))
    assert weights.shape == (500, 3) and weights.dtype == np.float64
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(weights, pareto.random_chebyshev_weights(0, 3, 500))
    np.testing.assert_array_equal(weights, pareto.random_chebyshev_weights(jax.random.key(0), 3, 500))
    assert not np.allclose(weights, pareto.random_chebyshev_weights(1, 3, 500))


def test_chebyshev_weights_are_uniform_on_the_simplex():
    # Uniform on the 2-simplex: the first weight is Uniform(0, 1); on the 3-simplex it is Beta(1, 2).
    two = np.asarray(pareto.random_chebyshev_weights(3, 2, 4000))[:, 0]
    assert stats.kstest(two, "uniform").pvalue > 1e-3
    three = np.asarray(pareto.random_chebyshev_weights(4, 3, 4000))[:, 0]
    assert stats.kstest(three, stats.beta(1, 2).cdf).pvalue > 1e-3


def test_chebyshev_weights_reject_bad_sizes():
    with pytest.raises(SpaceError, match="m >= 1"):
        pareto.random_chebyshev_weights(0, 0, 3)


def test_chebyshev_scalarize_by_hand():
    values = np.array([[0.0, 10.0], [2.0, 5.0], [4.0, 0.0]])
    ideal, nadir = np.array([0.0, 0.0]), np.array([4.0, 10.0])
    weights = np.array([0.25, 0.75])
    # Normalised: (0, 1), (0.5, 0.5), (1, 0); weighted: (0, .75), (.125, .375), (.25, 0).
    expected = [0.75 + 0.05 * 0.75, 0.375 + 0.05 * 0.5, 0.25 + 0.05 * 0.25]
    np.testing.assert_allclose(pareto.chebyshev_scalarize(values, weights, ideal, nadir), expected, rtol=1e-12)
    # Defaults take ideal and nadir from the values; rho = 0 is the plain Chebyshev norm.
    np.testing.assert_allclose(pareto.chebyshev_scalarize(values, weights, rho=0.0), [0.75, 0.375, 0.25])
    # One weight vector per row, and a constant objective left unscaled.
    per_row = pareto.chebyshev_scalarize(values, np.eye(2)[[0, 1, 0]], ideal, nadir, rho=0.0)
    np.testing.assert_allclose(per_row, [0.0, 0.5, 1.0])
    flat = pareto.chebyshev_scalarize([[1.0, 3.0], [2.0, 3.0]], [0.5, 0.5])
    assert np.all(np.isfinite(flat))
    jitted = jax.jit(pareto.chebyshev_scalarize)(values, weights, ideal, nadir)
    np.testing.assert_allclose(jitted, expected, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(point_sets(3, min_size=10, max_size=10), st.integers(0, 2 ** 31 - 1))
def test_chebyshev_minimiser_is_pareto_optimal(values, seed):
    weights = np.asarray(pareto.random_chebyshev_weights(seed, 3, 4))
    weights = np.maximum(weights, 1e-6)  # strictly positive weights, as the theorem needs
    mask = pareto.pareto_mask(values)
    scores = np.asarray(pareto.chebyshev_scalarize(values[None], weights[:, None], values.min(0), values.max(0) + 1.0))
    assert scores.shape == (4, len(values))
    assert np.all(mask[np.argmin(scores, axis=1)])


# --------------------------------------------------------------------------- EHVI


FRONT = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
REFERENCE = np.array([4.0, 4.0])


def test_ehvi_with_zero_std_is_the_exact_improvement():
    assert float(pareto.ehvi_2d([1.5, 1.5], [0.0, 0.0], FRONT, REFERENCE)) == pytest.approx(1.25)
    assert float(pareto.ehvi_2d([0.0, 0.0], [0.0, 0.0], FRONT, REFERENCE)) == pytest.approx(16.0 - 6.0)
    assert float(pareto.ehvi_2d([2.5, 2.5], [0.0, 0.0], FRONT, REFERENCE)) == 0.0  # dominated
    assert float(pareto.ehvi_2d([5.0, 0.0], [0.0, 0.0], FRONT, REFERENCE)) == 0.0  # beyond the reference
    assert float(pareto.ehvi_2d([2.0, 2.0], [0.0, 0.0], FRONT, REFERENCE)) == 0.0  # a duplicate


def test_ehvi_single_front_point_against_quadrature():
    # HVI(y) = (r1 - y1)+ (r2 - y2)+ - (r1 - max(y1, p1))+ (r2 - max(y2, p2))+, with independent factors.
    point, reference = np.array([1.0, 2.0]), np.array([3.0, 3.5])
    mean, std = np.array([1.4, 1.1]), np.array([0.7, 1.3])
    beyond = [integral_of(lambda y, j=j: max(reference[j] - y, 0.0), mean[j], std[j]) for j in range(2)]
    clipped = [integral_of(lambda y, j=j: max(reference[j] - max(y, point[j]), 0.0), mean[j], std[j])
               for j in range(2)]
    expected = beyond[0] * beyond[1] - clipped[0] * clipped[1]
    assert float(pareto.ehvi_2d(mean, std, point[None], reference)) == pytest.approx(expected, rel=1e-7)


def test_ehvi_empty_front_is_the_expected_dominated_box():
    mean, std, reference = np.array([0.2, -0.5]), np.array([0.4, 0.9]), np.array([1.0, 0.5])
    expected = np.prod([integral_of(lambda y, j=j: max(reference[j] - y, 0.0), mean[j], std[j]) for j in range(2)])
    assert float(pareto.ehvi_2d(mean, std, np.zeros((0, 2)), reference)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("mean, std", [([2.1, 2.3], [0.6, 0.4]), ([0.5, 3.5], [1.0, 1.5]), ([3.2, 0.2], [0.2, 2.0])])
def test_ehvi_against_monte_carlo(mean, std):
    rng = np.random.default_rng(1)
    samples = rng.normal(mean, std, size=(8000, 2))
    draws = np.array([improvement(y, FRONT, REFERENCE) for y in samples])
    estimate, standard_error = draws.mean(), draws.std(ddof=1) / np.sqrt(len(draws))
    value = float(pareto.ehvi_2d(np.array(mean), np.array(std), FRONT, REFERENCE))
    assert abs(value - estimate) < 4 * standard_error
    assert standard_error < 0.05 * estimate  # the check has teeth


CAPACITY = 8


def _padded(front):
    padded = np.full((CAPACITY, 2), np.nan)
    padded[: len(front)] = front
    return padded


_jitted_ehvi = jax.jit(pareto.ehvi_2d)


@settings(max_examples=60, deadline=None)
@given(point_sets(2, max_size=CAPACITY), st.tuples(small_values, small_values))
def test_ehvi_zero_std_equals_hypervolume_improvement_on_padded_fronts(front, y):
    reference = np.array([8.0, 8.0])
    value = float(_jitted_ehvi(np.array(y), np.zeros(2), _padded(front), reference))
    assert value == pytest.approx(improvement(np.array(y), front, reference), rel=1e-9, abs=1e-9)


def test_ehvi_ignores_padding_dominated_points_and_order():
    mean, std = np.array([1.7, 1.9]), np.array([0.5, 0.8])
    base = float(pareto.ehvi_2d(mean, std, FRONT, REFERENCE))
    messy = np.array([[3.0, 1.0], [2.5, 2.5], [np.nan, np.nan], [1.0, 3.0], [2.0, 2.0], [9.0, 0.0], [2.0, 2.0]])
    assert float(pareto.ehvi_2d(mean, std, messy, REFERENCE)) == pytest.approx(base, rel=1e-12)


def test_ehvi_batches_vmaps_and_differentiates():
    rng = np.random.default_rng(2)
    means = rng.uniform(0.0, 4.0, size=(16, 2))
    stds = rng.uniform(0.0, 1.0, size=(16, 2))
    stds[0] = 0.0
    loop = np.array([float(pareto.ehvi_2d(m, s, FRONT, REFERENCE)) for m, s in zip(means, stds)])
    batched = np.asarray(pareto.ehvi_2d(means, stds, FRONT, REFERENCE))
    vmapped = np.asarray(jax.jit(jax.vmap(pareto.ehvi_2d, in_axes=(0, 0, None, None)))(means, stds, FRONT, REFERENCE))
    np.testing.assert_allclose(batched, loop, rtol=1e-12)
    np.testing.assert_allclose(vmapped, loop, rtol=1e-12)
    assert np.all(loop >= 0)
    grads = jax.vmap(jax.grad(pareto.ehvi_2d), in_axes=(0, 0, None, None))(means, stds, FRONT, REFERENCE)
    assert np.all(np.isfinite(np.asarray(grads)))
    # Improving the mean can only raise the expected improvement.
    assert np.all(np.asarray(grads) <= 1e-12)
    # Finite differences agree with the gradient at a smooth point.
    mean, std, h = jnp.array([1.6, 2.4]), jnp.array([0.5, 0.3]), 1e-6
    grad = np.asarray(jax.grad(pareto.ehvi_2d)(mean, std, FRONT, REFERENCE))
    for j in range(2):
        step = jnp.zeros(2).at[j].set(h)
        numeric = (pareto.ehvi_2d(mean + step, std, FRONT, REFERENCE)
                   - pareto.ehvi_2d(mean - step, std, FRONT, REFERENCE)) / (2 * h)
        assert grad[j] == pytest.approx(float(numeric), rel=1e-6)


def test_ehvi_compiles_once_as_a_padded_front_grows():
    traces = []

    @jax.jit
    def acquisition(mean, std, front):
        traces.append(1)
        return pareto.ehvi_2d(mean, std, front, REFERENCE)

    values = [float(acquisition(np.array([1.5, 1.5]), np.array([0.3, 0.3]), _padded(FRONT[:k]))) for k in (1, 2, 3)]
    assert len(traces) == 1
    assert values[0] > values[1] > values[2] > 0  # a growing front leaves less to improve


def test_ehvi_rejects_wrong_shapes():
    with pytest.raises(SpaceError, match="m > 2"):
        pareto.ehvi_2d([0.0, 0.0], [1.0, 1.0], np.zeros((3, 3)), [1.0, 1.0])
    with pytest.raises(SpaceError, match=r"\(\.\.\., 2\)"):
        pareto.ehvi_2d([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], FRONT, REFERENCE)
