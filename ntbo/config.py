"""`SearchConfig`: everything a topology search needs, as frozen dataclasses, validated on creation.

Build one from keyword arguments (sections may be given as plain dicts) or from a TOML file::

    config = ntbo.SearchConfig(data={"simulate": 2000}, space={"depth": (1, 3)},
                               search={"budget": 30}, results="runs/first")
    config = ntbo.SearchConfig.from_toml("search.toml")

The TOML file has the same shape: top-level ``results``, then the tables ``[data]``,
``[space]``, ``[objective]``, ``[search]`` (with ``[search.options]``), ``[constraint]`` and
``[executor]``. Every field is checked when the config is made; a bad one raises `ConfigError`
with a one-line message naming the field (``space.width``) and the fix.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ntbo.errors import ConfigError

#: The deepest network the space may describe.
MAX_LAYERS = 15
METRICS = ("background_efficiency", "val_loss", "1-auc")
EXECUTORS = ("auto", "local", "process", "dask")
ENCODINGS = ("depth", "widths")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "linear")


# ----------------------------------------------------------------------------------------------
# small validators: each returns the cleaned value or raises ConfigError naming `field`


def _int(field: str, value, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ConfigError(f"{field} = {value!r}: give a whole number")
    value = int(value)
    if low is not None and value < low:
        raise ConfigError(f"{field} = {value}: must be >= {low}")
    if high is not None and value > high:
        raise ConfigError(f"{field} = {value}: must be <= {high}")
    return value


def _optional_int(field: str, value, low: int = 1) -> int | None:
    return None if value is None else _int(field, value, low)


def _float(field: str, value, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{field} = {value!r}: give a finite number")
    if positive and value <= 0:
        raise ConfigError(f"{field} = {value!r}: must be > 0")
    return float(value)


def _bool(field: str, value) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{field} = {value!r}: give true or false")
    return value


def _choice(field: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(f"{field} = {value!r}: use one of {', '.join(map(repr, choices))}")
    return value


def _str(field: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{field} = {value!r}: give a non-empty string")
    return value


def _pair(field: str, value, cast) -> tuple:
    """A (low, high) range; a single number means (x, x)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{field} = {value!r}: give a range [low, high]")
    low, high = (cast(f"{field}[{i}]", v) for i, v in enumerate(value))
    if low > high:
        raise ConfigError(f"{field} = {list(value)!r}: low is above high; write [{high}, {low}]")
    return low, high


def _unknown(section: str, cls, given: Mapping) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    extra = sorted(set(given) - set(names))
    if extra:
        where = f"{section}.{extra[0]}" if section else extra[0]
        raise ConfigError(f"{where}: unknown field; fields of [{section or 'top level'}] are "
                          f"{', '.join(names)}")


def _section(cls, value, section: str):
    """A section given as an instance, a dict or None (defaults)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{section} = {value!r}: give a table (dict) of fields")
    _unknown(section, cls, value)
    return cls(**value)


def _set(obj, **values) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)


# ----------------------------------------------------------------------------------------------
# sections


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the events come from: ntuple files, or a simulation run once and cached.

    Attributes:
        paths: ROOT ntuples (files or globs) read with `hgcal.load`; or empty to simulate.
        simulate: events per class (electrons and pions) to simulate when ``paths`` is empty.
        seed: seed of the simulation (and of the train/validation/test split).
        geometry: `hgcal` geometry preset or file (``"v9-trigger"``, ``"seed8"``).
        features: feature group or names passed to `hgcal.load` (``"layers"``, ``"shapes"``, ...).
        standardize: scale features to zero mean, unit variance (training-set statistics). The
            saved best model has the scaling folded into its first layer, so it takes raw inputs.
    """

    paths: tuple[str, ...] = ()
    simulate: int = 0
    seed: int = 0
    geometry: str = "v9-trigger"
    features: str | tuple[str, ...] = "layers"
    standardize: bool = True

    def __post_init__(self):
        paths = (self.paths,) if isinstance(self.paths, (str, Path)) else self.paths
        if not isinstance(paths, (list, tuple)):
            raise ConfigError(f"data.paths = {self.paths!r}: give a list of ntuple files")
        paths = tuple(str(_str(f"data.paths[{i}]", str(p))) for i, p in enumerate(paths))
        simulate = _int("data.simulate", self.simulate, 0)
        if bool(paths) == bool(simulate):
            raise ConfigError("data: give either data.paths (ntuple files) or data.simulate "
                              "(events per class to simulate), " + ("not both" if paths else "one of them"))
        features = self.features
        if isinstance(features, (list, tuple)):
            if not features:
                raise ConfigError("data.features = []: name at least one feature, or use 'layers'")
            features = tuple(_str(f"data.features[{i}]", f) for i, f in enumerate(features))
        else:
            features = _str("data.features", features)
        _set(self, paths=paths, simulate=simulate, seed=_int("data.seed", self.seed, 0),
             geometry=_str("data.geometry", str(self.geometry)), features=features,
             standardize=_bool("data.standardize", self.standardize))


@dataclasses.dataclass(frozen=True)
class SpaceConfig:
    """The topologies searched.

    Attributes:
        depth: (min, max) number of hidden layers, 1 <= min <= max <= 15.
        width: (min, max) neurons of a layer.
        log: search widths on a log scale.
        encoding: ``"depth"``: an integer ``depth`` plus ``width_1 .. width_<max>``, the widths
            beyond the depth unused. ``"widths"``: only ``width_1 .. width_<max>``; the first
            ``min`` layers always exist, the others range over [0, max width] (linear scale) and
            a value below the min width means "no layer" (`nets.Topology` drops zero widths).
        activation: one activation, or a list to search over as a categorical.
        lr: optional (low, high) learning-rate range searched on a log scale; None uses
            ``objective.lr``.
    """

    depth: tuple[int, int] = (1, 3)
    width: tuple[int, int] = (4, 64)
    log: bool = True
    encoding: str = "depth"
    activation: str | tuple[str, ...] = "relu"
    lr: tuple[float, float] | None = None

    def __post_init__(self):
        depth = _pair("space.depth", self.depth, lambda f, v: _int(f, v, 1, MAX_LAYERS))
        width = _pair("space.width", self.width, lambda f, v: _int(f, v, 1))
        activation = self.activation
        if isinstance(activation, (list, tuple)):
            if not activation:
                raise ConfigError("space.activation = []: list at least one activation")
            activation = tuple(_choice(f"space.activation[{i}]", a, ACTIVATIONS)
                               for i, a in enumerate(activation))
        else:
            activation = _choice("space.activation", activation, ACTIVATIONS)
        lr = None if self.lr is None else _pair(
            "space.lr", self.lr, lambda f, v: _float(f, v, positive=True))
        _set(self, depth=depth, width=width, log=_bool("space.log", self.log),
             encoding=_choice("space.encoding", self.encoding, ENCODINGS),
             activation=activation, lr=lr)


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
    """What a trial measures and how each topology is trained.

    Attributes:
        metric: minimised per seed, then averaged over seeds: ``"background_efficiency"``
            (fraction of pions kept at 95 % electron efficiency, on the validation split),
            ``"val_loss"`` or ``"1-auc"``.
        signal_efficiency: the electron efficiency of the background-efficiency working point.
        seeds: initialisation seeds per topology: a count n (seeds 0 .. n-1) or a list.
        epochs, batch_size, lr, restarts: passed to `nets.train_many`.
        class_weight: None or ``"balanced"``.
    """

    metric: str = "background_efficiency"
    signal_efficiency: float = 0.95
    seeds: int | tuple[int, ...] = 2
    epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3
    restarts: int = 0
    class_weight: str | None = None

    def __post_init__(self):
        seeds = self.seeds
        if isinstance(seeds, (list, tuple)):
            if not seeds or len(set(seeds)) != len(seeds):
                raise ConfigError(f"objective.seeds = {list(seeds)!r}: give distinct seeds, e.g. [0, 1]")
            seeds = tuple(_int(f"objective.seeds[{i}]", s, 0) for i, s in enumerate(seeds))
        else:
            seeds = tuple(range(_int("objective.seeds", seeds, 1, 64)))
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"objective.class_weight = {self.class_weight!r}: use 'balanced' or leave it out")
        efficiency = _float("objective.signal_efficiency", self.signal_efficiency, positive=True)
        if efficiency > 1:
            raise ConfigError(f"objective.signal_efficiency = {efficiency}: give a fraction in (0, 1], "
                              "e.g. 0.95")
        _set(self, metric=_choice("objective.metric", self.metric, METRICS), seeds=seeds,
             signal_efficiency=efficiency,
             epochs=_int("objective.epochs", self.epochs, 1),
             batch_size=_int("objective.batch_size", self.batch_size, 1),
             lr=_float("objective.lr", self.lr, positive=True),
             restarts=_int("objective.restarts", self.restarts, 0))


@dataclasses.dataclass(frozen=True)
class StrategyConfig:
    """The optimiser and the budget.

    Attributes:
        method: a `bo.Optimizer` method: ``"gp"``, ``"random"``, ``"sobol"``, ``"grid"``,
            ``"cmaes"`` (where bo has it).
        options: options of that method (e.g. ``{"acquisition": "ucb", "n_initial": 8}``).
        q: topologies proposed and trained together (one `nets.train_many` call).
        budget: topologies to train in all (each trained once per objective seed); raise it
            and resume to search further.
        seed: seed of the optimiser.
    """

    method: str = "gp"
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    q: int = 1
    budget: int = 20
    seed: int = 0

    def __post_init__(self):
        import bo.strategies
        if not isinstance(self.options, Mapping):
            raise ConfigError(f"search.options = {self.options!r}: give a table such as "
                              "{ acquisition = 'ucb' }")
        _set(self, method=_choice("search.method", self.method, tuple(bo.strategies.STRATEGIES)),
             options=dict(self.options), q=_int("search.q", self.q, 1, 1024),
             budget=_int("search.budget", self.budget, 1), seed=_int("search.seed", self.seed, 0))


@dataclasses.dataclass(frozen=True)
class ConstraintConfig:
    """Known constraints, checked before training; infeasible proposals are never trained.

    They are stored as trials in state ``"infeasible"`` (not counted in the budget, counted in
    the summary) and told to the optimiser as failed, so it does not propose them again.

    Attributes:
        max_neurons: most hidden neurons in all (sum of widths); None: no limit.
        max_dsp: most DSPs by `fpga.estimate` (needs the fpga room); None: no limit.
        precision, reuse_factor, device: passed to `fpga.estimate`.
        max_infeasible: infeasible proposals in a row after which the search stops with an
            error (the constraint leaves too little of the space).
    """

    max_neurons: int | None = None
    max_dsp: int | None = None
    precision: str = "fixed<16,6>"
    reuse_factor: int = 1
    device: str = "xcvu13p"
    max_infeasible: int = 200

    def __post_init__(self):
        _set(self, max_neurons=_optional_int("constraint.max_neurons", self.max_neurons),
             max_dsp=_optional_int("constraint.max_dsp", self.max_dsp, 0),
             precision=_str("constraint.precision", self.precision),
             reuse_factor=_int("constraint.reuse_factor", self.reuse_factor, 1),
             device=_str("constraint.device", self.device),
             max_infeasible=_int("constraint.max_infeasible", self.max_infeasible, 1))


@dataclasses.dataclass(frozen=True)
class ExecutorConfig:
    """Where trainings run.

    Attributes:
        kind: ``"local"`` (in this process), ``"process"`` (a spawn-started process pool),
            ``"dask"`` (a Dask cluster), or ``"auto"``: local when ``search.q`` and ``workers``
            are 1 and no timeout is set, else process.
        workers: processes (or Dask workers of a local cluster). Up to this many batches are
            trained at once; each is told to the optimiser as it completes, and the optimiser
            proposes the next batch with the running ones as pending.
        scheduler: with kind ``"dask"``, the address of a running scheduler
            (``"tcp://host:8786"``); None starts a `LocalCluster` bound to 127.0.0.1.
        spread: split each batch over the workers and train one batch at a time (synchronous);
            false (default): one task per batch, up to ``workers`` batches in flight.
        timeout: seconds one training task (a batch of ``search.q`` topologies x seeds, trained
            in one call; one trial when q = 1) may take, counted from its submission and so
            including a fresh worker's start-up; its trials are then stored failed and the
            search goes on. None: no limit. Needs kind process or dask (a training in the
            search's own process cannot be stopped).
        retries: times a task lost with its worker (a crashed process, a Dask worker gone) is
            run again before its trials are stored failed.
    """

    kind: str = "auto"
    workers: int = 1
    scheduler: str | None = None
    spread: bool = False
    timeout: float | None = None
    retries: int = 2

    def __post_init__(self):
        scheduler = None if self.scheduler is None else _str("executor.scheduler", self.scheduler)
        timeout = None if self.timeout is None else _float("executor.timeout", self.timeout, positive=True)
        kind = _choice("executor.kind", self.kind, EXECUTORS)
        if timeout is not None and kind == "local":
            raise ConfigError(f"executor.timeout = {timeout:g} with executor.kind = 'local': a training "
                              "in the search's own process cannot be stopped; use kind 'process' or 'dask'")
        _set(self, kind=kind, workers=_int("executor.workers", self.workers, 1), scheduler=scheduler,
             spread=_bool("executor.spread", self.spread), timeout=timeout,
             retries=_int("executor.retries", self.retries, 0, 100))


_SECTIONS = {"data": DataConfig, "space": SpaceConfig, "objective": ObjectiveConfig,
             "search": StrategyConfig, "constraint": ConstraintConfig, "executor": ExecutorConfig}


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """A whole topology search. Sections may be given as dataclasses or dicts.

    Attributes:
        data: `DataConfig`.
        space: `SpaceConfig`.
        objective: `ObjectiveConfig`.
        search: `StrategyConfig` (method, options, q, budget, seed).
        constraint: `ConstraintConfig`.
        executor: `ExecutorConfig`.
        results: the results folder (SQLite study, trials.csv, best model, summary, plot).
    """

    data: DataConfig = None
    space: SpaceConfig = None
    objective: ObjectiveConfig = None
    search: StrategyConfig = None
    constraint: ConstraintConfig = None
    executor: ExecutorConfig = None
    results: str = "ntbo-results"

    def __post_init__(self):
        if self.data is None:
            raise ConfigError("data: missing; give data.paths (ntuple files) or data.simulate "
                              "(events per class)")
        for name, cls in _SECTIONS.items():
            _set(self, **{name: _section(cls, getattr(self, name), name)})
        _set(self, results=_str("results", str(self.results)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "SearchConfig":
        """Builds a config from nested dicts (the shape of the TOML file and of `to_dict`)."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"a search config must be a table of sections, got {type(values).__name__}")
        _unknown("", cls, values)
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path, **overrides) -> "SearchConfig":
        """Reads a TOML file; ``overrides`` replace top-level entries (e.g. ``results=...``)."""
        path = Path(path)
        try:
            with open(path, "rb") as f:
                values = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML ({err})") from None
        except OSError as err:
            raise ConfigError(f"{path}: cannot read the config ({err.strerror})") from None
        try:
            return cls.from_dict({**values, **overrides})
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON- and TOML-ready nested dicts; `from_dict` inverts it."""
        def plain(value):
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            if isinstance(value, Mapping):
                return {k: plain(v) for k, v in value.items()}
            return value
        out = {name: {f.name: plain(getattr(getattr(self, name), f.name))
                      for f in dataclasses.fields(getattr(self, name))}
               for name in _SECTIONS}
        out["results"] = self.results
        return out

    def replace(self, **sections) -> "SearchConfig":
        """A copy with whole sections or fields of sections replaced, e.g.
        ``config.replace(search={"budget": 40})`` or ``config.replace(results="runs/b")``."""
        values = self.to_dict()
        for name, value in sections.items():
            if name in _SECTIONS and isinstance(value, Mapping):
                values[name] = {**values[name], **value}
            else:
                values[name] = value
        return SearchConfig.from_dict(values)


def as_config(config) -> SearchConfig:
    """Accepts a `SearchConfig`, a dict of sections, or the path of a TOML file."""
    if isinstance(config, SearchConfig):
        return config
    if isinstance(config, (str, Path)):
        return SearchConfig.from_toml(config)
    if isinstance(config, Mapping):
        return SearchConfig.from_dict(config)
    raise ConfigError(f"config = {config!r}: give a SearchConfig, a dict of sections or a TOML path")
