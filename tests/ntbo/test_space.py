"""Decoding points into topologies, and the known constraints."""

import nets
import numpy as np
import pytest

from ntbo.config import ConstraintConfig, SearchConfig, SpaceConfig
from ntbo.runner import make_optimizer
from ntbo.space import build_space, check_constraints, layer_widths, lr_of, topology_of, width_columns


def test_depth_encoding_drops_widths_beyond_the_depth():
    space = SpaceConfig(depth=(1, 3), width=(4, 64))
    bo_space = build_space(space)
    assert bo_space.names == ("depth", "width_1", "width_2", "width_3")
    assert all(p.log for p in bo_space.params[1:])
    point = {"depth": 2, "width_1": 32, "width_2": 8, "width_3": 64}
    assert topology_of(point, space) == nets.Topology((32, 8))


def test_widths_encoding_uses_zero_for_absent_layers():
    space = SpaceConfig(depth=(1, 3), width=(4, 64), encoding="widths")
    bo_space = build_space(space)
    assert bo_space.names == ("width_1", "width_2", "width_3")
    assert [(p.low, p.high) for p in bo_space.params] == [(4, 64), (0, 64), (0, 64)]
    # below the minimum width means "no layer"; a middle gap closes up
    assert topology_of({"width_1": 16, "width_2": 3, "width_3": 8}, space).hidden == (16, 8)


def test_activation_and_lr_dimensions():
    space = SpaceConfig(depth=1, width=(4, 8), activation=("relu", "tanh"), lr=(1e-4, 1e-2))
    bo_space = build_space(space)
    assert bo_space.names == ("width_1", "activation", "lr")
    point = {"width_1": 5, "activation": "tanh", "lr": 3e-3}
    assert topology_of(point, space) == nets.Topology((5,), "tanh")
    assert lr_of(point, space, default=1.0) == 3e-3
    assert lr_of(point, SpaceConfig(), default=0.5) == 0.5


def test_neuron_constraint():
    limit = ConstraintConfig(max_neurons=40)
    ok = check_constraints(nets.Topology((30, 10)), 14, limit)
    assert ok.feasible and ok.resources["neurons"] == 40
    assert ok.resources["params"] == nets.Topology((30, 10)).n_params(14)
    over = check_constraints(nets.Topology((30, 11)), 14, limit)
    assert not over.feasible and "41 neurons > max_neurons 40" in over.reason


def test_dsp_constraint_uses_fpga_estimate():
    fpga = pytest.importorskip("fpga")
    topology = nets.Topology((16, 8))
    dsp = fpga.estimate(topology, 14).dsp
    assert check_constraints(topology, 14, ConstraintConfig(max_dsp=dsp)).feasible
    assert not check_constraints(topology, 14, ConstraintConfig(max_dsp=dsp - 1)).feasible


@pytest.mark.parametrize("encoding", ["depth", "widths"])
def test_width_columns_hold_the_widths_of_each_decoded_point(encoding):
    space = SpaceConfig(depth=(1, 4), width=(3, 40), encoding=encoding)
    bo_space = build_space(space)
    u = np.random.default_rng(1).uniform(size=(300, bo_space.dim))
    widths = width_columns(bo_space.decode_columns(u), space)
    for row, point in zip(widths, bo_space.decode(u)):
        assert tuple(int(w) for w in row if w) == layer_widths(point, space) == topology_of(point, space).hidden
    assert (widths == 0).any() and (widths > 0).all(axis=0).any()


@pytest.mark.parametrize("limit", [{"max_neurons": 60}, {"max_dsp": 400}, {"max_neurons": 60, "max_dsp": 400}])
def test_the_searchs_resource_constraint_matches_check_constraints(limit):
    if "max_dsp" in limit:
        pytest.importorskip("fpga")
    config = SearchConfig.from_dict({"data": {"simulate": 100}, "results": "unused", "constraint": limit,
                                     "space": {"depth": [1, 3], "width": [4, 64], "activation": ["relu", "tanh"]}})
    space = build_space(config.space)
    (constraint,) = make_optimizer(space, config, n_inputs=8).constraints.functions
    u = np.random.default_rng(2).uniform(size=(400, space.dim))
    excess = constraint.columns(space.decode_columns(u))
    for value, point in zip(excess, space.decode(u)):
        check = check_constraints(topology_of(point, config.space), 8, config.constraint)
        expected = max(check.resources["neurons"] - limit.get("max_neurons", np.inf),
                       check.resources.get("dsp", -np.inf) - limit.get("max_dsp", np.inf))
        assert value == expected
        assert (value <= 0) == check.feasible
    assert (excess > 0).any() and (excess <= 0).any()
