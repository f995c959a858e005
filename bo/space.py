"""Search spaces: named parameters, their unit-cube encoding, and rounding of discrete ones.

A `Space` maps a point (a dict of parameter values) to a vector in the unit cube and back. Reals and
integers take one coordinate each (linear or logarithmic); a categorical with k choices takes k
coordinates, one-hot. `Space.round` snaps a unit-cube vector to the nearest valid point; the GP
applies it inside its kernel (Garrido-Merchán & Hernández-Lobato 2020, "Dealing with categorical
and integer-valued variables in Bayesian optimization with Gaussian processes"), so it never
models a half neuron that cannot be tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np


class SpaceError(ValueError):
    """An invalid space definition or a point that does not belong to its space."""


@dataclass(frozen=True)
class Real:
    """A continuous parameter in [low, high], optionally on a log scale."""

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        _check_bounds(self, self.low, self.high)


@dataclass(frozen=True)
class Integer:
    """An integer parameter in [low, high] (both included), optionally on a log scale."""

    name: str
    low: int
    high: int
    log: bool = False

    def __post_init__(self):
        for field in ("low", "high"):
            value = getattr(self, field)
            if isinstance(value, bool) or int(value) != value:
                raise SpaceError(f"Integer {self.name!r}: {field}={value!r} is not an integer")
            object.__setattr__(self, field, int(value))
        _check_bounds(self, self.low, self.high)


@dataclass(frozen=True)
class Categorical:
    """A parameter taking one of a finite list of unordered choices (strings, numbers, ...)."""

    name: str
    choices: tuple

    def __post_init__(self):
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise SpaceError(f"Categorical {self.name!r}: choices must be a list, got {self.choices!r}")
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 1:
            raise SpaceError(f"Categorical {self.name!r}: give at least one choice")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise SpaceError(f"Categorical {self.name!r}: choices {self.choices!r} repeat a value")


Parameter = Real | Integer | Categorical


def _choice_index(p: Categorical, value) -> int:
    """Index of value among p's choices; True and 1 are different choices."""
    for i, c in enumerate(p.choices):
        if isinstance(c, bool) == isinstance(value, bool) and (c == value or repr(c) == repr(value)):
            return i
    raise SpaceError(f"{p.name}={value!r} is not one of {list(p.choices)!r}")


def _check_bounds(param, low, high):
    if not isinstance(param.name, str) or not param.name:
        raise SpaceError(f"parameter name {param.name!r} must be a non-empty string")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"{type(param).__name__} {param.name!r}: bounds [{low}, {high}] must be finite")
    if not low <= high:
        raise SpaceError(f"{type(param).__name__} {param.name!r}: low={low} is above high={high}")
    if param.log and low <= 0:
        raise SpaceError(
            f"{type(param).__name__} {param.name!r}: log=True needs low > 0, got low={low}")


class Space:
    """An ordered set of named parameters and their unit-cube encoding.

    Args:
        params: `Real`, `Integer` and `Categorical` parameters with distinct names.
        conditions: {name: (controller, minimum)}: the parameter is active only when the integer
            parameter `controller` is at least `minimum` (the width of layer 3 matters only when
            depth >= 3). An inactive parameter is encoded at its lower bound (first choice), by
            `encode` and inside `round`, so the surrogate never sees it vary and two points that
            differ only in inactive parameters are the same point.

    Attributes:
        dim: number of unit-cube coordinates (categoricals count once per choice).
    """

    def __init__(self, params: Sequence[Parameter], conditions: dict | None = None):
        params = tuple(params)
        if not params:
            raise SpaceError("a Space needs at least one parameter")
        names = [getattr(p, "name", None) for p in params]
        for p in params:
            if not isinstance(p, (Real, Integer, Categorical)):
                raise SpaceError(f"{p!r} is not a bo.Real, bo.Integer or bo.Categorical")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpaceError(f"parameter names repeat: {', '.join(dupes)}")
        self.params = params
        self.names = tuple(names)
        widths = [len(p.choices) if isinstance(p, Categorical) else 1 for p in params]
        self.slices = tuple(slice(a, a + w) for a, w in zip(np.cumsum([0] + widths[:-1]), widths))
        self.dim = int(sum(widths))
        # Per-coordinate description used by the jittable `round`.
        kind = np.zeros(self.dim, np.int32)  # 0 real, 1 integer, 2 categorical
        lo = np.zeros(self.dim)
        hi = np.ones(self.dim)
        logs = np.zeros(self.dim, bool)
        group = np.arange(self.dim)
        for i, (p, s) in enumerate(zip(params, self.slices)):
            if isinstance(p, Categorical):
                kind[s] = 2
                group[s] = s.start
            else:
                kind[s] = int(isinstance(p, Integer))
                logs[s] = p.log
                lo[s], hi[s] = (math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high)
        self._kind, self._lo, self._hi, self._log, self._group = kind, lo, hi, logs, group
        self.conditions = self._check_conditions(dict(conditions or {}))
        controller = np.full(self.dim, -1)
        minimum = np.zeros(self.dim)
        inactive = np.zeros(self.dim)
        for name, (ctrl, least) in self.conditions:
            s = self.slices[self.names.index(name)]
            controller[s], minimum[s] = self.slices[self.names.index(ctrl)].start, least
            inactive[s.start] = 1.0 if isinstance(self.params[self.names.index(name)], Categorical) else 0.0
        self._controller, self._minimum, self._inactive = controller, minimum, inactive

    def _check_conditions(self, conditions: dict) -> tuple:
        for name, spec in conditions.items():
            if name not in self.names:
                raise SpaceError(f"conditions name an unknown parameter {name!r}")
            if not (isinstance(spec, (tuple, list)) and len(spec) == 2):
                raise SpaceError(f"conditions[{name!r}] = {spec!r}: give (controller, minimum)")
            ctrl, least = spec
            if ctrl not in self.names or not isinstance(self.params[self.names.index(ctrl)], Integer):
                raise SpaceError(f"conditions[{name!r}]: controller {ctrl!r} is not an Integer of the space")
            if ctrl == name or ctrl in conditions:
                raise SpaceError(f"conditions[{name!r}]: controller {ctrl!r} must itself be unconditional")
        return tuple(sorted((n, (c, float(m))) for n, (c, m) in conditions.items()))

    def __repr__(self):
        return f"Space({list(self.params)!r})"

    def __eq__(self, other):
        return isinstance(other, Space) and (self.params, self.conditions) == (other.params, other.conditions)

    def __hash__(self):
        return hash(repr((self.params, self.conditions)))

    def __len__(self):
        return len(self.params)

    @property
    def is_discrete(self) -> bool:
        """True when every parameter is an integer or a categorical (the space is finite)."""
        return all(not isinstance(p, Real) for p in self.params)

    def validate(self, point: dict) -> dict:
        """Check a point and return it with values cast to their parameter's type."""
        if not isinstance(point, dict):
            raise SpaceError(f"a point must be a dict of parameter values, got {type(point).__name__}")
        missing = [n for n in self.names if n not in point]
        extra = [n for n in point if n not in self.names]
        if missing or extra:
            raise SpaceError(
                f"point {point!r}: " + "; ".join(
                    ([f"missing {', '.join(missing)}"] if missing else [])
                    + ([f"unknown {', '.join(map(str, extra))}"] if extra else [])))
        out = {}
        for p in self.params:
            v = point[p.name]
            if isinstance(p, Categorical):
                out[p.name] = p.choices[_choice_index(p, v)]
                continue
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise SpaceError(f"{p.name}={v!r} is not a number") from None
            if not (p.low <= x <= p.high):
                raise SpaceError(f"{p.name}={v!r} is outside [{p.low}, {p.high}]")
            if isinstance(p, Integer):
                if x != round(x):
                    raise SpaceError(f"{p.name}={v!r} is not an integer")
                out[p.name] = int(round(x))
            else:
                out[p.name] = x
        return out

    def encode(self, points: Sequence[dict]) -> np.ndarray:
        """Points -> unit-cube array, shape (n, dim)."""
        u = np.zeros((len(points), self.dim))
        for row, point in zip(u, points):
            point = self.validate(point)
            for p, s in zip(self.params, self.slices):
                v = point[p.name]
                if isinstance(p, Categorical):
                    row[s.start + _choice_index(p, v)] = 1.0
                else:
                    lo, hi = self._lo[s.start], self._hi[s.start]
                    x = math.log(v) if p.log else v
                    row[s] = 0.5 if hi == lo else (x - lo) / (hi - lo)
        return np.asarray(self.round(u)) if self.conditions else u

    def decode(self, u) -> list[dict]:
        """Unit-cube array, shape (n, dim) -> points (discrete coordinates are rounded)."""
        columns = self.decode_columns(u)
        rows = zip(*(c.tolist() for c in columns.values()))
        return [dict(zip(self.names, values)) for values in rows]

    def decode_columns(self, u) -> dict[str, np.ndarray]:
        """Unit-cube array, shape (n, dim) -> ``{name: (n,) array}``, the points of `decode` as
        columns: int64 for integers, float64 for reals, an object array of choices for
        categoricals. Vectorised constraints (`bo.constraints.vectorized`) take these."""
        u = np.clip(np.asarray(u, dtype=float).reshape(-1, self.dim), 0.0, 1.0)
        if self.conditions:
            u = np.asarray(self.round(u))
        columns = {}
        for p, s in zip(self.params, self.slices):
            if isinstance(p, Categorical):
                choices = np.empty(len(p.choices), dtype=object)
                for i, c in enumerate(p.choices):  # one by one: a tuple choice stays one element
                    choices[i] = c
                columns[p.name] = choices[np.argmax(u[:, s], axis=1)]
                continue
            lo, hi = self._lo[s.start], self._hi[s.start]
            x = lo + u[:, s.start] * (hi - lo)
            x = np.exp(x) if p.log else x
            if isinstance(p, Integer):
                columns[p.name] = np.clip(np.round(x), p.low, p.high).astype(np.int64)
            else:
                columns[p.name] = np.clip(x, p.low, p.high)
        return columns

    def round(self, u):
        """Snap unit-cube vectors, shape (..., dim), to the nearest encodable point (jittable;
        numpy arrays are rounded with numpy).

        Integers round in their own (possibly logarithmic) scale; a categorical block becomes the
        one-hot vector of its largest coordinate; reals pass through; inactive parameters (see
        `conditions`) go to their lower bound.
        """
        xp = np if isinstance(u, (np.ndarray, float, list)) else jnp  # numpy in, numpy out: no dispatches
        u = xp.clip(xp.asarray(u, dtype=float) if xp is np else u, 0.0, 1.0)
        kind, lo, hi, log = self._kind, self._lo, self._hi, self._log
        if not (kind != 0).any():
            return u
        span = np.where(hi > lo, hi - lo, 1.0)
        x = lo + u * (hi - lo)
        value = xp.where(log, xp.exp(x), x)
        rounded = xp.round(value)
        lo_v = np.where(log, np.exp(lo), lo)
        hi_v = np.where(log, np.exp(hi), hi)
        rounded = xp.clip(rounded, np.round(lo_v), np.round(hi_v))
        back = (xp.where(log, xp.log(xp.maximum(rounded, 1e-300)), rounded) - lo) / span
        back = xp.where(hi > lo, back, 0.5)
        out = xp.where(kind == 1, back, u)
        if (kind == 2).any():
            for start in sorted(set(self._group[kind == 2].tolist())):
                idx = np.flatnonzero(self._group == start)
                onehot = (np.arange(len(idx)) == xp.argmax(u[..., idx], axis=-1)[..., None]).astype(u.dtype)
                if xp is np:
                    out[..., idx] = onehot
                else:
                    out = out.at[..., idx].set(onehot)
        if self.conditions:
            has = self._controller >= 0
            controller_value = rounded[..., np.where(has, self._controller, 0)]
            out = xp.where(has & (controller_value < self._minimum), self._inactive, out)
        return out

    def round_straight_through(self, u):
        """`round` in the forward pass, identity gradient, so gradient ascent moves discrete dims."""
        import jax

        return u + jax.lax.stop_gradient(self.round(u) - u)

    def size(self) -> float:
        """Number of distinct points (inf when any parameter is real)."""
        if not self.is_discrete:
            return math.inf
        n = 1
        for p in self.params:
            n *= len(p.choices) if isinstance(p, Categorical) else p.high - p.low + 1
        return float(n)

    def to_json(self) -> list[dict[str, Any]]:
        """A JSON-serialisable description, readable by `Space.from_json`."""
        out = []
        conditions = dict(self.conditions)
        for p in self.params:
            if isinstance(p, Categorical):
                item = {"type": "categorical", "name": p.name, "choices": list(p.choices)}
            else:
                item = {"type": type(p).__name__.lower(), "name": p.name, "low": p.low, "high": p.high,
                        "log": p.log}
            if p.name in conditions:
                item["active_if"] = list(conditions[p.name])
            out.append(item)
        return out

    @classmethod
    def from_json(cls, items: Sequence[dict]) -> "Space":
        kinds = {"real": Real, "integer": Integer, "categorical": Categorical}
        params, conditions = [], {}
        for item in items:
            item = dict(item)
            kind = item.pop("type", None)
            if "active_if" in item:
                conditions[item.get("name")] = tuple(item.pop("active_if"))
            if kind not in kinds:
                raise SpaceError(f"parameter {item.get('name')!r}: type {kind!r} is not one of {sorted(kinds)}")
            try:
                params.append(kinds[kind](**item))
            except TypeError as e:
                raise SpaceError(f"parameter {item.get('name')!r}: {e}") from None
        return cls(params, conditions)
