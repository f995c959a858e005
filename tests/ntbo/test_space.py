"""Decoding points into topologies, and the known constraints."""

import nets
import pytest

from ntbo.config import ConstraintConfig, SpaceConfig
from ntbo.space import build_space, check_constraints, lr_of, topology_of


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
