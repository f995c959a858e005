"""CMA-ES (bo.cmaes): against pycma and the tutorial's equations, margin, bounds, the Optimizer."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bo
from bo import Categorical, Integer, Real, Space, SpaceError
from bo import cmaes

N = 10
ELLIPSOID_SCALES = 10.0 ** (6 * np.arange(N) / (N - 1))


def sphere(x):
    return jnp.sum(x ** 2)


def ellipsoid(x):
    return jnp.sum(ELLIPSOID_SCALES * x ** 2)


def rosenbrock(x):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def np_sphere(x):
    return float(np.sum(x ** 2))


def np_ellipsoid(x):
    return float(np.sum(ELLIPSOID_SCALES * x ** 2))


def np_rosenbrock(x):
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


# (jax objective, numpy objective, x0, sigma0)
PROBLEMS = {
    "sphere": (sphere, np_sphere, np.ones(N), 1.0),
    "ellipsoid": (ellipsoid, np_ellipsoid, np.ones(N), 1.0),
    "rosenbrock": (rosenbrock, np_rosenbrock, np.zeros(N), 0.5),
}


def _run_generations(fun, params, state, generations, seed=0):
    """A Python loop of jitted steps; returns the states after each generation."""
    key = jax.random.key(seed)
    states = []
    for _ in range(generations):
        state = cmaes.step(key, state, params, fun)
        states.append(state)
    return states


# ----------------------------------------------------------------------------------------------
# Parameters and one update against independent references


def test_default_parameters_match_pycma_and_the_tutorial():
    cma = pytest.importorskip("cma")
    p = cmaes.make_params(N)
    assert p.popsize == 4 + math.floor(3 * math.log(N)) == 10
    sp = cma.CMAEvolutionStrategy(np.zeros(N), 1.0, {"verbose": -9}).sp
    np.testing.assert_allclose(p.weights, np.asarray(sp.weights), rtol=1e-12)
    np.testing.assert_allclose([p.c_c, p.c_1, p.c_mu], [sp.cc, sp.c1, sp.cmu], rtol=1e-12)
    # The tutorial's closed forms for n = 10, lambda = 10 (mu = 5).
    raw = np.log(5.5) - np.log(np.arange(1, 6))
    mu_eff = raw.sum() ** 2 / (raw ** 2).sum()
    assert float(p.mu_eff) == pytest.approx(mu_eff, rel=1e-12)
    assert float(p.c_sigma) == pytest.approx((mu_eff + 2) / (N + mu_eff + 5), rel=1e-12)
    assert float(p.d_sigma) == pytest.approx(1 + float(p.c_sigma), rel=1e-12)  # mu_eff < n + 2
    assert float(jnp.sum(jnp.maximum(p.weights, 0))) == pytest.approx(1.0)
    assert float(p.alpha) == pytest.approx(1 / (N * 10))


def test_one_update_matches_the_tutorials_equations():
    """From N(m, sigma^2 I): eqs. of Hansen (2016) written out in numpy, active weights included."""
    n = N
    params = cmaes.make_params(n)
    m, sigma = np.linspace(-1.0, 2.0, n), 0.7
    state = cmaes.init(m, sigma, params)
    x, _ = cmaes.ask(jax.random.key(3), state, params)
    x = np.asarray(x)
    f = np.array([np.sum(xi ** 2) for xi in x])
    new = cmaes.tell(state, jnp.asarray(x), jnp.asarray(f), params)

    w = np.asarray(params.weights)
    cs, ds, cc, c1, cmu, mu_eff, chi = (float(getattr(params, k)) for k in
                                        ("c_sigma", "d_sigma", "c_c", "c_1", "c_mu", "mu_eff", "chi_n"))
    y = (x[np.argsort(f)] - m) / sigma
    yw = np.clip(w, 0, None) @ y
    ps = np.sqrt(cs * (2 - cs) * mu_eff) * yw                 # C = I, p_sigma = 0
    hs = np.linalg.norm(ps) / np.sqrt(1 - (1 - cs) ** 2) < (1.4 + 2 / (n + 1)) * chi
    pc = hs * np.sqrt(cc * (2 - cc) * mu_eff) * yw
    wc = np.where(w >= 0, w, w * n / np.sum(y ** 2, axis=1))
    C = ((1 + c1 * (1 - hs) * cc * (2 - cc) - c1 - cmu * w.sum()) * np.eye(n)
         + c1 * np.outer(pc, pc) + cmu * sum(wi * np.outer(yi, yi) for wi, yi in zip(wc, y)))
    np.testing.assert_allclose(new.mean, m + sigma * yw, rtol=1e-12)
    np.testing.assert_allclose(new.path_sigma, ps, rtol=1e-12)
    np.testing.assert_allclose(new.path_c, pc, rtol=1e-12)
    np.testing.assert_allclose(new.cov, C, rtol=1e-10, atol=1e-14)
    assert float(new.sigma) == pytest.approx(sigma * np.exp(cs / ds * (np.linalg.norm(ps) / chi - 1)))
    basis, scales = np.asarray(new.basis), np.asarray(new.scales)
    np.testing.assert_allclose(basis * scales ** 2 @ basis.T, C, atol=1e-12)


def test_non_finite_values_rank_last():
    params = cmaes.make_params(N)
    state = cmaes.init(np.zeros(N), 1.0, params)
    x, _ = cmaes.ask(jax.random.key(0), state, params)
    f = jnp.sum(x ** 2, axis=1)
    worst = int(jnp.argmax(f))
    as_nan = cmaes.tell(state, x, f.at[worst].set(jnp.nan), params)
    as_inf = cmaes.tell(state, x, f.at[worst].set(jnp.inf), params)
    as_big = cmaes.tell(state, x, f.at[worst].set(1e300), params)
    np.testing.assert_allclose(as_nan.mean, as_big.mean)
    np.testing.assert_allclose(as_nan.cov, as_inf.cov)


# ----------------------------------------------------------------------------------------------
# Against pycma: evaluations to reach 1e-8 in 10 dimensions, 10 seeds


def _pycma_evaluations(cma, np_fun, x0, sigma0, seed, target=1e-8, budget=30_000):
    es = cma.CMAEvolutionStrategy(x0, sigma0, {"seed": seed + 1, "ftarget": target,
                                               "maxfevals": budget, "verbose": -9})
    while not es.stop():
        X = es.ask()
        es.tell(X, [np_fun(np.asarray(xi)) for xi in X])
    return es.countevals if es.best.f <= target else math.inf


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_median_evaluations_within_15_percent_of_pycma(name):
    cma = pytest.importorskip("cma")
    fun, np_fun, x0, sigma0 = PROBLEMS[name]
    ours = [cmaes.minimize_jax(fun, x0, sigma0, seed=s, ftarget=1e-8, max_evals=30_000)
            for s in range(10)]
    theirs = [_pycma_evaluations(cma, np_fun, x0, sigma0, s) for s in range(10)]
    assert all(r.fun <= 1e-8 or name == "rosenbrock" for r in ours)
    ours_median = np.median([r.evaluations if r.fun <= 1e-8 else math.inf for r in ours])
    their_median = np.median(theirs)
    assert abs(ours_median / their_median - 1) <= 0.15, (ours_median, their_median)


# ----------------------------------------------------------------------------------------------
# Step-size adaptation


def test_step_size_grows_on_a_linear_function():
    params = cmaes.make_params(N)
    states = _run_generations(lambda x: x[0], params, cmaes.init(np.zeros(N), 1.0, params), 40)
    sigmas = np.array([float(s.sigma) for s in states])
    assert sigmas[-1] > 100.0
    assert np.all(np.diff(sigmas[10:]) > 0)                  # grows steadily once paths build up
    assert float(states[-1].mean[0]) < -100.0


def test_step_size_shrinks_near_an_optimum():
    params = cmaes.make_params(N)
    state = cmaes.run(jax.random.key(0), cmaes.init(np.full(N, 0.1), 1.0, params), params, sphere,
                      1500, -np.inf)
    assert int(state.evaluations) == 1500
    assert float(state.sigma) < 1e-4
    assert float(state.best_f) < 1e-8


# ----------------------------------------------------------------------------------------------
# Integers: the margin


def test_integer_sphere_coordinates_keep_moving():
    """All-integer sphere with one optimum at the end of its range: it is found, sigma collapses,
    and yet every coordinate keeps leaving its integer with probability >= alpha."""
    n, target = 6, np.array([3.0, -2.0, 0.0, 5.0, 1.0, 10.0])
    lattice = cmaes.Lattice.integers(np.ones(n, bool), np.full(n, -10.0), np.full(n, 10.0))
    params = cmaes.make_params(n, lattice=lattice)
    alpha = float(params.alpha)

    @jax.jit
    def generation(key, state):
        x, _ = cmaes.ask(key, state, params)
        points = cmaes.evaluation_points(x, params)
        moved = jnp.sum(points != cmaes.evaluation_points(state.mean, params), axis=0)
        state = cmaes.tell(state, x, jnp.sum((points - target) ** 2, axis=1), params)
        return state, points, moved, cmaes.marginal_probabilities(state, params)

    state, key, moves = cmaes.init(np.zeros(n), 2.0, params), jax.random.key(1), np.zeros(n, int)
    for g in range(300):
        state, points, moved, (below, above) = generation(jax.random.fold_in(key, g), state)
        points, below, above = np.asarray(points), np.asarray(below), np.asarray(above)
        assert np.all(points == np.round(points)) and np.all(np.abs(points) <= 10)
        moves += np.asarray(moved) * (g >= 200)
        assert np.all(np.isnan(below) | (below >= 0.99 * alpha))
        assert np.all(np.isnan(above) | (above >= 0.99 * alpha))
        assert np.isfinite(below).sum() + np.isfinite(above).sum() >= n  # thresholds exist
        # (0.99: the mean sits z * sd from a threshold; with a tiny sd that loses digits)
    assert float(state.best_f) == 0.0
    np.testing.assert_array_equal(state.best_x, target)
    assert float(state.sigma) < 1e-2 * 2.0                     # plain CMA-ES would have frozen
    assert np.all(moves >= 1), moves                          # ... but every coordinate moved


def test_margin_unfreezes_binary_coordinates_that_plain_cma_es_freezes():
    """5 continuous (sphere) + 5 binary coordinates started on the wrong bit:
    the continuous part shrinks sigma; without margin the bits stay wrong, with it they flip."""
    n = 10
    binary = np.arange(n) >= 5
    lower, upper = np.where(binary, 0.0, -np.inf), np.where(binary, 1.0, np.inf)
    x0 = np.where(binary, 2.0, 1.0)  # the wrong bit, deep inside its interval

    def fun(x):
        return jnp.sum(jnp.where(binary, x, x ** 2))

    def best(alpha, seed):
        return cmaes.minimize_jax(fun, x0, 0.1, seed=seed, integer=binary, lower=lower,
                                  upper=upper, alpha=alpha, ftarget=1e-10, max_evals=4000).fun

    with_margin = [best(None, s) for s in range(3)]
    without = [best(0.0, s) for s in range(3)]
    assert all(f <= 1e-10 for f in with_margin), with_margin
    assert all(f >= 1.0 for f in without), without


# ----------------------------------------------------------------------------------------------
# Bounds


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(-10, 10), st.floats(0.01, 10))
def test_reflection_lands_in_bounds_and_is_identity_inside(x, lo, width):
    hi = lo + width
    lower, upper = jnp.array([lo, lo, -jnp.inf, -jnp.inf]), jnp.array([hi, jnp.inf, hi, jnp.inf])
    y = np.asarray(cmaes.reflect(jnp.full(4, x), lower, upper))
    tol = 1e-9 * (1 + abs(x))
    assert lo - tol <= y[0] <= hi + tol and y[1] >= lo - tol and y[2] <= hi + tol and y[3] == x
    if lo <= x <= hi:
        assert y[0] == pytest.approx(x, abs=tol) and y[1] == pytest.approx(x, abs=tol)


def test_bounds_respected_and_a_corner_optimum_found():
    space = Space([Real("a", 0.0, 1.0), Real("b", -2.0, 3.0), Real("c", 1e-3, 1.0, log=True)])

    def fun(p):  # the unconstrained optimum (2, 5, 3) lies outside: the best is the corner
        return (p["a"] - 2) ** 2 + (p["b"] - 5) ** 2 + (p["c"] - 3) ** 2

    result = bo.minimize(fun, space, budget=600, method="cmaes", seed=0)
    for p in result.xs:
        space.validate(p)
    assert result.fun == pytest.approx(1 + 4 + 4, abs=5e-3)


def test_minimize_jax_bounds_and_integers():
    lower, upper = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 5.0, 9.0])
    integer = np.array([False, True, True])
    result = cmaes.minimize_jax(lambda x: jnp.sum((x - jnp.array([3.0, 2.0, -4.0])) ** 2),
                                np.array([0.0, 1.0, 5.0]), 1.0, integer=integer, lower=lower,
                                upper=upper, max_evals=2000)
    np.testing.assert_allclose(result.x, [1.0, 2.0, 2.0], atol=1e-6)


# ----------------------------------------------------------------------------------------------
# IPOP restarts, compilation


def test_ipop_restarts_double_the_population():
    result = cmaes.minimize_jax(sphere, np.ones(N), 1.0, restarts=1, max_evals=20_000,
                                lower=np.full(N, -5.0), upper=np.full(N, 5.0))
    assert result.restarts == 1
    assert result.state.values.shape[0] == 2 * cmaes.default_popsize(N)
    assert result.fun < 1e-12 and result.evaluations < 20_000
    assert set(result.stop) & set(cmaes.STOP_REASONS)


def test_second_run_does_not_recompile():
    cmaes.minimize_jax(sphere, np.ones(N), 1.0, seed=0, max_evals=500)
    size = cmaes.run._cache_size()
    cmaes.minimize_jax(sphere, np.full(N, 2.0), 0.5, seed=1, max_evals=800)
    assert cmaes.run._cache_size() == size


# ----------------------------------------------------------------------------------------------
# bo.Optimizer / bo.minimize with method="cmaes"


MIXED = Space([Integer("width", 1, 64, log=True), Integer("depth", 1, 4),
               Categorical("act", ["relu", "tanh", "gelu"]), Real("lr", 1e-3, 1e-1, log=True)])


def mixed_objective(p):
    return ((math.log(p["width"]) - math.log(20)) ** 2 + (p["depth"] - 3) ** 2
            + (p["act"] != "gelu") + (math.log10(p["lr"]) + 2) ** 2)


def test_minimize_cmaes_on_a_mixed_space():
    result = bo.minimize(mixed_objective, MIXED, budget=150, method="cmaes", seed=0)
    for p in result.xs:
        MIXED.validate(p)
        assert isinstance(p["width"], int) and isinstance(p["depth"], int)
    assert result.x["act"] == "gelu" and result.x["depth"] == 3
    assert result.x["width"] in (19, 20, 21)
    assert result.fun < 0.01
    assert {p["act"] for p in result.xs} == {"relu", "tanh", "gelu"}


def test_optimizer_buffers_a_generation():
    opt = bo.Optimizer(MIXED, method="cmaes", seed=3)
    lam = opt.state.params.popsize
    first = opt.ask(lam - 2)
    more = opt.ask(5)                                 # runs past the generation: extra members
    assert len(opt.state.samples) == 2 * lam and len(opt.pending) == lam + 3
    opt.tell(more[::-1], [mixed_objective(p) for p in more[::-1]])
    assert int(opt.state.es.generation) == 0 and opt.state.told.sum() == 5
    # A point never asked is recorded by the Optimizer but does not count for CMA-ES.
    stranger = {"width": 7, "depth": 1, "act": "relu", "lr": 0.05}
    opt.tell([stranger], [0.0])
    assert opt.state.told.sum() == 5 and opt.best()[0] == stranger
    before = opt.state
    opt.tell(first[1:], [mixed_objective(p) for p in first[1:]])  # lambda + 2 told
    assert int(opt.state.es.generation) == 1 and len(opt.state.samples) == 0
    # The update used the first lambda told members in sampling order: 1 .. lambda.
    members = np.arange(1, lam + 1)
    values = [mixed_objective(p) for p in first[1:] + more[:3]]
    expected = cmaes.tell(before.es, jnp.asarray(before.samples[members]), jnp.asarray(values),
                          before.params)
    np.testing.assert_allclose(opt.state.es.mean, expected.mean)
    opt.tell([first[0]], [mixed_objective(first[0])])  # a stale member of the old generation
    assert int(opt.state.es.generation) == 1 and opt.state.told.sum() == 0
    assert len(opt.ys) == lam + 4
    # One at a time, with failures.
    for i in range(lam):
        [p] = opt.ask()
        opt.tell([p], [math.nan if i == 0 else mixed_objective(p)])
    assert int(opt.state.es.generation) == 2


def test_integer_and_categorical_coordinates_keep_moving_through_the_optimizer():
    space = Space([Integer("n", 0, 3), Categorical("c", ["a", "b", "c", "d"]), Real("x", -1.0, 1.0)])
    opt = bo.Optimizer(space, method="cmaes", seed=0, restarts=0)
    for _ in range(60):
        points = opt.ask(opt.state.params.popsize)
        opt.tell(points, [(p["n"] - 2) ** 2 + (p["c"] != "b") + p["x"] ** 2 for p in points])
    es = opt.state.es
    assert float(es.sigma * jnp.sqrt(es.cov[5, 5])) < 1e-3     # the real coordinate converged
    last = opt.xs[-200:]
    assert {p["n"] for p in last} > {2} and {p["c"] for p in last} > {"b"}
    assert opt.best()[0]["n"] == 2 and opt.best()[0]["c"] == "b"


def test_runs_are_reproducible_from_the_seed():
    a = bo.minimize(mixed_objective, MIXED, budget=40, method="cmaes", seed=5, batch_size=3)
    b = bo.minimize(mixed_objective, MIXED, budget=40, method="cmaes", seed=5, batch_size=3)
    c = bo.minimize(mixed_objective, MIXED, budget=40, method="cmaes", seed=6, batch_size=3)
    assert a.xs == b.xs and a.xs != c.xs


def test_optimizer_restarts_with_twice_the_population():
    space = Space([Real("a", -1.0, 1.0), Real("b", -1.0, 1.0), Real("c", -1.0, 1.0)])
    opt = bo.Optimizer(space, method="cmaes", seed=0, tol_x=1e-4, restarts=1)
    lam = opt.state.params.popsize
    for _ in range(150):
        points = opt.ask(opt.state.params.popsize)
        opt.tell(points, [p["a"] ** 2 + p["b"] ** 2 + p["c"] ** 2 for p in points])
        if opt.state.restarts:
            break
    assert opt.state.restarts == 1 and opt.state.params.popsize == 2 * lam
    assert int(opt.state.es.generation) == 0 and float(opt.state.es.sigma) == 0.25
    assert opt.best()[1] < 1e-6


@pytest.mark.parametrize("options, word", [
    ({"popsize": 1}, "popsize"), ({"sigma0": -1.0}, "sigma0"), ({"restarts": -2}, "restarts"),
    ({"alpha": 0.5}, "alpha"), ({"sigmaa": 0.3}, "sigmaa")])
def test_bad_options_raise_space_error(options, word):
    with pytest.raises(SpaceError, match=word):
        bo.Optimizer(MIXED, method="cmaes", **options)


def test_categorical_contrasts_keep_probability_alpha():
    """A 3-choice block whose mean strongly favours choice 0: after an update the margin has
    lifted the others until each beats the leader with probability alpha, and sampling agrees."""
    from scipy.stats import norm

    space = Space([Categorical("c", ["a", "b", "c"]), Real("x", 0.0, 1.0)])
    params = cmaes.make_params(space.dim, lattice=cmaes.Lattice.from_space(space))
    state = cmaes.init(np.array([3.0, -5.0, -9.0, 0.5]), 0.05, params)
    x, _ = cmaes.ask(jax.random.key(0), state, params)
    state = cmaes.tell(state, x, (x[:, 3] - 0.2) ** 2, params)  # the category plays no role
    scale = float(state.sigma) * np.asarray(state.margin)
    cov = scale[:, None] * np.asarray(state.cov) * scale[None, :]
    mean, alpha = np.asarray(state.mean), float(params.alpha)
    assert mean[0] > 2.9
    for j in (1, 2):
        sd = math.sqrt(cov[j, j] + cov[0, 0] - 2 * cov[j, 0])
        assert norm.sf(0, loc=mean[j] - mean[0], scale=sd) == pytest.approx(alpha, rel=1e-6)
    samples = np.random.default_rng(0).multivariate_normal(mean, cov, 100_000)
    onehot = np.asarray(cmaes.evaluation_points(jnp.asarray(samples), params))[:, :3]
    np.testing.assert_array_equal(onehot.sum(axis=1), 1.0)
    share = onehot.mean(axis=0)
    assert share[1] > 0.5 * alpha and share[2] > 0.5 * alpha


def test_functional_core_errors():
    params = cmaes.make_params(3)
    with pytest.raises(SpaceError, match="sigma"):
        cmaes.init(np.zeros(3), 0.0, params)
    with pytest.raises(SpaceError, match="coordinates"):
        cmaes.init(np.zeros(4), 1.0, params)
    with pytest.raises(SpaceError, match="lower"):
        cmaes.make_params(2, lower=[0.0, 1.0], upper=[1.0, 1.0])


def test_decomposition_is_lazy_as_pycma():
    """n = 100: 1 / (10 n (c1 + cmu)) is between 1 and 2, so C is decomposed every second
    generation (pycma's lazy_update_gap); at n = 10 it is below 1: every generation."""
    assert float(cmaes.make_params(10).eigen_gap) < 1
    params = cmaes.make_params(100)
    assert 1 < float(params.eigen_gap) < 2
    state = cmaes.init(np.ones(100), 1.0, params)
    for g in (1, 2):
        x, _ = cmaes.ask(jax.random.key(g), state, params)
        state = cmaes.tell(state, x, jnp.sum(x ** 2, axis=1), params)
        basis, scales = np.asarray(state.basis), np.asarray(state.scales)
        if g == 1:  # still the identity of the start, while C has moved
            assert int(state.eigen_generation) == 0
            np.testing.assert_array_equal(basis, np.eye(100))
            assert not np.allclose(state.cov, np.eye(100))
        else:
            assert int(state.eigen_generation) == 2
            np.testing.assert_allclose(basis * scales ** 2 @ basis.T, state.cov, atol=1e-12)


def test_sigma_path_whitens_with_the_symmetric_inverse_square_root():
    n = 6
    params = cmaes.make_params(n)
    rng = np.random.default_rng(3)
    A = rng.standard_normal((n, n))
    C = A @ A.T + n * np.eye(n)
    values, vectors = np.linalg.eigh(C)
    state = dataclasses.replace(cmaes.init(np.zeros(n), 0.7, params), cov=jnp.asarray(C),
                                basis=jnp.asarray(vectors), scales=jnp.asarray(np.sqrt(values)))
    x, _ = cmaes.ask(jax.random.key(1), state, params)
    f = jnp.sum(x ** 2, axis=1)
    new = cmaes.tell(state, x, f, params)
    y = (np.asarray(x)[np.argsort(f)]) / 0.7
    yw = np.clip(np.asarray(params.weights), 0, None) @ y
    inv_sqrt = vectors @ np.diag(values ** -0.5) @ vectors.T
    cs, mu_eff = float(params.c_sigma), float(params.mu_eff)
    np.testing.assert_allclose(new.path_sigma, np.sqrt(cs * (2 - cs) * mu_eff) * inv_sqrt @ yw,
                               rtol=1e-10, atol=1e-12)
