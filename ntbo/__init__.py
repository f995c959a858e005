"""ntbo: the front door — topology search runner, storage, executors, CLI and the Innate API.

`python -m ntbo` runs the optimiser demo (`ntbo.demo`): `bo.minimize` against random
search on Branin and Hartmann6. The topology search is `ntbo.search(config) -> SearchResult`::

    import ntbo
    config = ntbo.SearchConfig(data={"simulate": 2000}, space={"depth": (1, 3), "width": (4, 64)},
                               search={"method": "gp", "budget": 30}, results="runs/first")
    result = ntbo.search(config)        # resumes when runs/first already holds this study
    print(result.best_topology, result.best_value, result.best_std)

or ``python -m ntbo.cli search --config search.toml`` (the ``ntbo`` console script). Public
names: `search`, `report`, `SearchConfig` and its sections (`DataConfig`, `SpaceConfig`,
`ObjectiveConfig`, `StrategyConfig`, `ConstraintConfig`, `ExecutorConfig`), `SearchResult`,
`Study` and `Trial` (`ntbo.storage`, SQLite), `evaluate` (the picklable worker function),
`train_topology` (one network, what ``ntbo train`` runs) and `ConfigError`; and the original
Innate API: `init`, `train_net`, `async_train`, `plot_loss` (`ntbo.innate`).
"""

from ntbo.config import (ConstraintConfig, DataConfig, ExecutorConfig, ObjectiveConfig, SearchConfig,
                         SpaceConfig, StrategyConfig)
from ntbo.errors import ConfigError
from ntbo.innate import async_train, init, plot_loss, train_net
from ntbo.results import SearchResult, report
from ntbo.runner import evaluate, search, train_topology
from ntbo.storage import Study, Trial

__all__ = ["search", "report", "evaluate", "train_topology", "SearchConfig", "DataConfig", "SpaceConfig",
           "ObjectiveConfig", "StrategyConfig", "ConstraintConfig", "ExecutorConfig",
           "SearchResult", "Study", "Trial", "ConfigError", "init", "train_net", "async_train",
           "plot_loss"]
