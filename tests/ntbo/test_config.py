"""Config validation: every bad field raises one ConfigError naming the field."""

import pytest

import ntbo
from ntbo.config import SearchConfig
from ntbo.errors import ConfigError


def test_sections_from_dicts_and_defaults():
    config = ntbo.SearchConfig(data={"simulate": 100}, space={"depth": 2})
    assert config.space.depth == (2, 2)
    assert config.objective.seeds == (0, 1)
    assert config.search.method == "gp" and config.executor.kind == "auto"


def test_round_trip_through_dict_and_toml(tmp_path):
    config = ntbo.SearchConfig(data={"paths": ["a.root"], "features": ["layer_1", "layer_3"]},
                               space={"width": [8, 32], "activation": ["relu", "tanh"], "lr": [1e-4, 1e-2]},
                               search={"method": "sobol", "options": {}, "budget": 7},
                               constraint={"max_neurons": 50}, results=str(tmp_path / "r"))
    assert SearchConfig.from_dict(config.to_dict()) == config
    toml = tmp_path / "search.toml"
    toml.write_text(f"""results = "{tmp_path / 'r'}"
[data]
paths = ["a.root"]
features = ["layer_1", "layer_3"]
[space]
width = [8, 32]
activation = ["relu", "tanh"]
lr = [1e-4, 1e-2]
[search]
method = "sobol"
budget = 7
[constraint]
max_neurons = 50
""")
    assert SearchConfig.from_toml(toml) == config


@pytest.mark.parametrize("section, fields, named", [
    ("space", {"width": [64, 4]}, "space.width"),
    ("space", {"depth": [1, 16]}, "space.depth[1]"),
    ("space", {"widht": [4, 8]}, "space.widht"),
    ("space", {"activation": "swish"}, "space.activation"),
    ("space", {"lr": [0, 1e-2]}, "space.lr[0]"),
    ("objective", {"metric": "accuracy"}, "objective.metric"),
    ("objective", {"seeds": [0, 0]}, "objective.seeds"),
    ("objective", {"epochs": 0}, "objective.epochs"),
    ("objective", {"lr": -1.0}, "objective.lr"),
    ("search", {"method": "annealing"}, "search.method"),
    ("search", {"budget": 0}, "search.budget"),
    ("search", {"q": 1.5}, "search.q"),
    ("constraint", {"max_neurons": 0}, "constraint.max_neurons"),
    ("executor", {"kind": "slurm"}, "executor.kind"),
    ("executor", {"timeout": 0}, "executor.timeout"),
    ("executor", {"kind": "local", "timeout": 60}, "executor.timeout"),
    ("executor", {"retries": -1}, "executor.retries"),
    ("executor", {"spread": "yes"}, "executor.spread"),
    ("data", {"paths": ["a.root"], "simulate": 10}, "data"),
    ("data", {"simulate": -5}, "data.simulate"),
])
def test_bad_field_is_named(section, fields, named):
    values = {"data": {"simulate": 10}}
    values[section] = {**values.get(section, {}), **fields}
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_dict(values)
    message = str(info.value)
    assert message.startswith(named) and "\n" not in message


def test_missing_data_and_unknown_section():
    with pytest.raises(ConfigError, match="^data: missing"):
        SearchConfig.from_dict({})
    with pytest.raises(ConfigError, match="^spaces: unknown field"):
        SearchConfig.from_dict({"data": {"simulate": 10}, "spaces": {}})


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nsimulate = 1")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        SearchConfig.from_toml(bad)
    bad.write_text("[data]\nsimulate = 10\n[objective]\nbatch_size = 'big'\n")
    with pytest.raises(ConfigError, match=r"bad.toml: objective.batch_size = 'big'"):
        SearchConfig.from_toml(bad)


def test_bad_method_option_is_a_config_error():
    from ntbo.runner import make_optimizer
    from ntbo.space import build_space
    config = SearchConfig.from_dict({"data": {"simulate": 10}, "search": {"options": {"acqusition": "ucb"}}})
    with pytest.raises(ConfigError, match="^search.options: .*acqusition"):
        make_optimizer(build_space(config.space), config, n_inputs=8)


def test_the_search_budget_reaches_the_gp():
    from ntbo.runner import make_optimizer
    from ntbo.space import build_space
    config = SearchConfig.from_dict({"data": {"simulate": 10}, "search": {"budget": 100}})
    assert make_optimizer(build_space(config.space), config, n_inputs=8).strategy.budget == 100


def test_dask_without_dask_says_how_to_install():
    try:
        import dask.distributed  # noqa: F401
        pytest.skip("dask is installed")
    except ImportError:
        pass
    from ntbo.executors import open_executor
    config = SearchConfig.from_dict({"data": {"simulate": 10}, "executor": {"kind": "dask"}})
    with pytest.raises(ConfigError, match=r"pip install -e \.\[dask\]"):
        open_executor(config.executor, 1)


def test_a_timeout_makes_auto_choose_a_process_pool():
    from ntbo.executors import resolve_kind
    assert resolve_kind(SearchConfig.from_dict({"data": {"simulate": 10}}).executor, 1) == "local"
    timed = SearchConfig.from_dict({"data": {"simulate": 10}, "executor": {"timeout": 30}})
    assert timed.executor.timeout == 30.0 and resolve_kind(timed.executor, 1) == "process"
