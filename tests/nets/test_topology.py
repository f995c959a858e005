import jax
import numpy as np
import pytest

import nets


def test_zero_width_means_no_layer():
    t = nets.Topology((32, 0, 16), "tanh")
    assert t.layers == (32, 16) and t.depth == 2
    assert t.fans(8) == (8, 32, 16, 1)
    assert t.n_params(8) == 8 * 32 + 32 + 32 * 16 + 16 + 16 + 1
    assert t.macs(8) == 8 * 32 + 32 * 16 + 16


def test_round_trip_through_dict():
    t = nets.Topology([4, 0, 2], "elu")
    assert nets.Topology.from_dict(t.to_dict()) == t
    assert isinstance(t.hidden, tuple)


@pytest.mark.parametrize("kwargs, field", [
    ({"hidden": (4, -1)}, "hidden"),
    ({"hidden": (4.5,)}, "hidden"),
    ({"hidden": "abc"}, "hidden"),
    ({"hidden": (4,), "activation": "swish"}, "activation"),
])
def test_bad_topologies_raise_train_error_naming_the_field(kwargs, field):
    with pytest.raises(nets.TrainError, match=field):
        nets.Topology(**kwargs)


def test_n_params_matches_flax_module():
    t = nets.Topology((7, 0, 3))
    variables = nets.MLP(t).init(jax.random.PRNGKey(0), np.zeros((1, 5), np.float32))
    counted = sum(a.size for a in jax.tree.leaves(variables["params"]))
    assert counted == t.n_params(5)
