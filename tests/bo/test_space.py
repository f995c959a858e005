"""Spaces: encoding, rounding and validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bo
from bo import Categorical, Integer, Real, Space, SpaceError

SPACE = Space([
    Real("lr", 1e-4, 1e-1, log=True),
    Integer("width", 1, 2000, log=True),
    Integer("depth", 1, 15),
    Categorical("activation", ["relu", "tanh", "sigmoid"]),
    Real("dropout", 0.0, 0.5),
])


def test_dimension_counts_categoricals_once_per_choice():
    assert SPACE.dim == 7
    assert not SPACE.is_discrete
    assert Space([Integer("a", 1, 3), Categorical("b", [1, 2])]).size() == 6


def test_encode_decode_round_trip():
    point = {"lr": 1e-3, "width": 750, "depth": 3, "activation": "tanh", "dropout": 0.25}
    u = SPACE.encode([point])
    assert u.shape == (1, 7) and ((0 <= u) & (u <= 1)).all()
    back = SPACE.decode(u)[0]
    assert back["width"] == 750 and back["depth"] == 3 and back["activation"] == "tanh"
    assert back["lr"] == pytest.approx(1e-3) and back["dropout"] == pytest.approx(0.25)
    # log scale: the geometric middle sits at 0.5
    assert SPACE.encode([{**point, "lr": 10 ** -2.5}])[0, 0] == pytest.approx(0.5)


def test_decode_columns_are_the_decoded_points_column_by_column():
    u = np.random.default_rng(3).uniform(size=(50, SPACE.dim))
    columns, points = SPACE.decode_columns(u), SPACE.decode(u)
    assert list(columns) == list(SPACE.names)
    for name in SPACE.names:
        assert len(columns[name]) == 50
        assert columns[name].tolist() == [p[name] for p in points]
    assert columns["width"].dtype == np.int64 and columns["lr"].dtype == np.float64
    assert {type(p["activation"]) for p in points} == {str}
    # a tuple-valued choice stays one element of its column
    pairs = Space([Categorical("shape", [(1, 2), (3, 4)])])
    assert pairs.decode_columns(np.array([[0.9, 0.1], [0.1, 0.9]]))["shape"].tolist() == [(1, 2), (3, 4)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7))
def test_round_gives_valid_points_and_is_idempotent(coords):
    u = np.asarray(coords)
    r = np.asarray(SPACE.round(jnp.asarray(u)))
    point = SPACE.decode(r)[0]
    SPACE.validate(point)
    assert isinstance(point["width"], int) and isinstance(point["depth"], int)
    np.testing.assert_allclose(SPACE.encode([point])[0], r, atol=1e-12)
    np.testing.assert_allclose(np.asarray(SPACE.round(jnp.asarray(r))), r, atol=1e-12)


def test_straight_through_rounding_passes_gradients():
    u = jnp.full(7, 0.37)
    g = jax.grad(lambda x: jnp.sum(SPACE.round_straight_through(x) * jnp.arange(7.0)))(u)
    np.testing.assert_allclose(g, np.arange(7.0))


@pytest.mark.parametrize("make,message", [
    (lambda: Real("x", 1.0, 0.0), "'x'.*above"),
    (lambda: Real("x", 0.0, 1.0, log=True), "'x'.*log=True needs low > 0"),
    (lambda: Integer("n", 1.5, 3), "'n'.*not an integer"),
    (lambda: Categorical("c", []), "'c'.*at least one"),
    (lambda: Categorical("c", "abc"), "'c'.*must be a list"),
    (lambda: Real("x", 0.0, float("inf")), "'x'.*finite"),
    (lambda: Space([Real("x", 0, 1), Integer("x", 0, 3)]), "repeat: x"),
    (lambda: Space([]), "at least one"),
])
def test_invalid_spaces_raise_space_error_naming_the_parameter(make, message):
    with pytest.raises(SpaceError, match=message):
        make()


@pytest.mark.parametrize("point,message", [
    ({"lr": 1e-3, "width": 3.5, "depth": 2, "activation": "relu", "dropout": 0.1}, "width=3.5 is not an integer"),
    ({"lr": 1.0, "width": 3, "depth": 2, "activation": "relu", "dropout": 0.1}, "lr=1.0 is outside"),
    ({"lr": 1e-3, "width": 3, "depth": 2, "activation": "elu", "dropout": 0.1}, "activation='elu' is not one of"),
    ({"lr": 1e-3, "width": 3, "depth": 2, "activation": "relu"}, "missing dropout"),
    ({"lr": 1e-3, "width": 3, "depth": 2, "activation": "relu", "dropout": 0.1, "x": 1}, "unknown x"),
    ({"lr": "fast", "width": 3, "depth": 2, "activation": "relu", "dropout": 0.1}, "lr='fast' is not a number"),
])
def test_invalid_points_raise_space_error_naming_the_parameter(point, message):
    with pytest.raises(SpaceError, match=message):
        SPACE.validate(point)


def test_json_round_trip_and_value_equality():
    again = Space.from_json(SPACE.to_json())
    assert again == SPACE and hash(again) == hash(SPACE)
    with pytest.raises(SpaceError, match="type 'float'"):
        Space.from_json([{"type": "float", "name": "x"}])


def test_categorical_does_not_confuse_bool_and_int():
    space = Space([Categorical("c", [1, True])])
    assert space.validate({"c": True})["c"] is True
    assert space.validate({"c": 1})["c"] == 1 and space.validate({"c": 1})["c"] is not True
    assert bo.Space is Space


DEPTH_SPACE = Space([Integer("depth", 1, 3)] + [Integer(f"w{i}", 1, 64, log=True) for i in (1, 2, 3)],
                    conditions={"w2": ("depth", 2), "w3": ("depth", 3)})


def test_inactive_parameters_sit_at_their_lower_bound():
    u = np.array([[0.1, 0.5, 0.7, 0.9], [0.6, 0.5, 0.7, 0.9], [0.9, 0.5, 0.7, 0.9]])
    depth1, depth2, depth3 = DEPTH_SPACE.decode(DEPTH_SPACE.round(jnp.asarray(u)))
    assert (depth1["w2"], depth1["w3"]) == (1, 1) and depth2["w3"] == 1
    assert depth3["w2"] > 1 and depth3["w3"] > 1
    a = DEPTH_SPACE.encode([{"depth": 1, "w1": 5, "w2": 30, "w3": 60}])
    b = DEPTH_SPACE.encode([{"depth": 1, "w1": 5, "w2": 2, "w3": 7}])
    np.testing.assert_array_equal(a, b)  # the same network, the same point
    assert Space.from_json(DEPTH_SPACE.to_json()) == DEPTH_SPACE != SPACE


def test_gp_never_varies_inactive_widths_and_never_repeats_a_network():
    def loss(p):
        widths = [p["w1"], p["w2"], p["w3"]][:p["depth"]]
        return abs(math.log(sum(widths)) - math.log(40)) + 0.1 * p["depth"]

    result = bo.minimize(loss, DEPTH_SPACE, budget=16, seed=0, n_initial=6)
    networks = [tuple([p["w1"], p["w2"], p["w3"]][:p["depth"]]) for p in result.xs]
    assert len(set(networks)) == len(networks)
    for p in result.xs:
        assert all(p[f"w{i}"] == 1 for i in (2, 3) if i > p["depth"])
    grid = bo.Optimizer(DEPTH_SPACE, method="grid", levels={"depth": 3, "w1": 2, "w2": 2, "w3": 2})
    assert len(grid.ask(2 + 4 + 8)) == 14  # 2 one-layer + 4 two-layer + 8 three-layer networks


@pytest.mark.parametrize("conditions,message", [
    ({"nope": ("depth", 2)}, "unknown parameter 'nope'"),
    ({"w2": ("w1x", 2)}, "controller 'w1x' is not an Integer"),
    ({"w2": ("w2", 2)}, "must itself be unconditional"),
    ({"w2": ("w3", 2), "w3": ("depth", 3)}, "must itself be unconditional"),
    ({"w2": "depth"}, r"give \(controller, minimum\)"),
])
def test_bad_conditions_are_named(conditions, message):
    params = [Integer("depth", 1, 3)] + [Integer(f"w{i}", 1, 64) for i in (1, 2, 3)]
    with pytest.raises(SpaceError, match=message):
        Space(params, conditions=conditions)
