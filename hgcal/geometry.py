"""HGCal longitudinal geometry as the Level-1 trigger sees it.

A :class:`Geometry` lists the sensor layers of the endcap calorimeter in order of depth: the
physical layer number, the depth of each sensor from the front face of CE-E in radiation lengths
(X0) and nuclear interaction lengths (lambda), its z position, whether the trigger reads it, its
trigger energy weight (MeV per MIP) and the sub-detector (1 = CE-E, 2 = CE-H).

Presets:

* ``"v9-trigger"`` -- the TDR-era V9 geometry: 28 CE-E layers (the trigger reads the odd ones,
  1, 3, ..., 27) and 24 CE-H layers (12 behind 35 mm and 12 behind 68 mm of steel), all read.
  Depths derived from the layer stack of The Phase-2 Upgrade of the CMS Endcap Calorimeter,
  CERN-LHCC-2017-023 (CMS-TDR-019), with the material constants of the Particle Data Group
  (R.L. Workman et al., PTEP 2022, 083C01); trigger energy weights from the CMSSW V9 trigger
  layer calibration (L1Trigger/L1THGCal/python/hgcalLayersCalibrationCoefficients_cfi.py,
  ``TrgLayer_weights``). CE-H weights beyond layer 29 are scaled from layer 29 by absorber
  depth, and CE-H z positions assume a 2.5 cm cassette behind each steel plate (approximate).
* ``"seed8"`` -- the eight sensor depths 5.1, 8.5, 11.9, 14.7, 17.2, 18.7, 21.1 and 27.07 X0 of
  the original electron/pion topology study.

Custom geometries come from a small JSON or TOML file (see :meth:`Geometry.from_file`).
Every bad preset, file or field raises :class:`hgcal.GeometryError`.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hgcal.errors import GeometryError

__all__ = ["Geometry", "PRESETS"]

#: Front face of CE-E along |z| in cm (CMS-TDR-019).
CE_E_FRONT_Z_CM = 319.0
#: Geometric depth of CE-E in cm (CMS-TDR-019).
CE_E_LENGTH_CM = 34.0
#: Depth of V9 CE-E (28 layers) in X0 and lambda, derived from the stack (see module docstring).
CE_E_DEPTH_X0 = 25.354
CE_E_DEPTH_LAMBDA = 1.517
#: Interaction lengths per radiation length in the CE-E medium.
LAMBDA_PER_X0 = CE_E_DEPTH_LAMBDA / CE_E_DEPTH_X0
#: Trigger weight of a read CE-E layer that also carries its unread neighbour (MeV per MIP).
CE_E_MEV_PER_MIP = 20.85

_OPTIONAL_ARRAYS = ("layer", "depth_lambda", "z_cm", "readout", "mev_per_mip", "subdet")
_SCALARS = ("name", "cell_size_cm", "moliere_radius_cm", "critical_energy_mev")


@dataclass(frozen=True)
class Geometry:
    """Ordered sensor layers of the endcap calorimeter (immutable).

    All per-layer fields are tuples of the same length ``L`` ordered by increasing depth.

    Attributes:
        name: Label written to outputs.
        layer: Physical layer numbers, shape ``(L,)`` (CE-E 1-28, CE-H 29+ for V9).
        depth_x0: Depth of each sensor from the CE-E front face in X0, shape ``(L,)``.
        depth_lambda: The same depth in nuclear interaction lengths, shape ``(L,)``.
        z_cm: |z| of each sensor in cm, shape ``(L,)``.
        readout: Whether the Level-1 trigger reads the layer, shape ``(L,)``.
        mev_per_mip: Trigger energy weight, MeV of shower energy per MIP, shape ``(L,)``.
        subdet: 1 for CE-E, 2 for CE-H, shape ``(L,)``.
        cell_size_cm: Side of the (square, in this model) trigger cell.
        moliere_radius_cm: Moliere radius of the CE-E medium.
        critical_energy_mev: Critical energy of the CE-E medium (sets y = E / Ec).
    """

    name: str
    layer: tuple[int, ...]
    depth_x0: tuple[float, ...]
    depth_lambda: tuple[float, ...]
    z_cm: tuple[float, ...]
    readout: tuple[bool, ...]
    mev_per_mip: tuple[float, ...]
    subdet: tuple[int, ...]
    cell_size_cm: float = 2.2
    moliere_radius_cm: float = 2.3
    critical_energy_mev: float = 5.36

    def __post_init__(self) -> None:
        n = len(self.depth_x0)
        if n == 0:
            raise GeometryError(f"geometry {self.name!r}: field 'depth_x0' is empty; give at least one layer depth")
        for key in ("layer", "depth_lambda", "z_cm", "readout", "mev_per_mip", "subdet"):
            if len(getattr(self, key)) != n:
                raise GeometryError(
                    f"geometry {self.name!r}: field {key!r} has {len(getattr(self, key))} entries but "
                    f"'depth_x0' has {n}; give one value per layer")
        for key in ("depth_x0", "depth_lambda", "z_cm"):
            values = np.asarray(getattr(self, key), dtype=float)
            if not np.all(np.isfinite(values)) or np.any(values <= 0) or np.any(np.diff(values) <= 0):
                raise GeometryError(
                    f"geometry {self.name!r}: field {key!r} must be positive and strictly increasing")
        if len(set(self.layer)) != n:
            raise GeometryError(f"geometry {self.name!r}: field 'layer' repeats a layer number; make them unique")
        if not any(self.readout):
            raise GeometryError(f"geometry {self.name!r}: field 'readout' reads no layer; set at least one to true")
        if any(not (w > 0 and math.isfinite(w)) for w in self.mev_per_mip):
            raise GeometryError(f"geometry {self.name!r}: field 'mev_per_mip' must be positive")
        if any(s not in (1, 2) for s in self.subdet):
            raise GeometryError(f"geometry {self.name!r}: field 'subdet' takes 1 (CE-E) or 2 (CE-H) only")
        for key in ("cell_size_cm", "moliere_radius_cm", "critical_energy_mev"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and value > 0):
                raise GeometryError(f"geometry {self.name!r}: field {key!r} must be a positive number")

    # ----------------------------------------------------------------------------------------
    # constructors
    @classmethod
    def preset(cls, name: str) -> "Geometry":
        """Returns a named preset: ``"v9-trigger"`` or ``"seed8"``."""
        try:
            return _PRESET_BUILDERS[name]()
        except KeyError:
            raise GeometryError(
                f"unknown geometry preset {name!r}; use one of {sorted(_PRESET_BUILDERS)} "
                "or the path of a .json/.toml geometry file") from None

    @classmethod
    def from_dict(cls, spec: dict[str, Any], source: str = "<dict>") -> "Geometry":
        """Builds a geometry from plain values.

        Required: ``depth_x0`` (list of increasing depths in X0). Optional: ``name``, ``layer``
        (default 1..L), ``depth_lambda`` (default ``depth_x0 * 0.0598``, the CE-E ratio),
        ``z_cm`` (default the CE-E front plus the CE-E cm-per-X0), ``readout`` (default all
        true), ``mev_per_mip`` (default 20.85), ``subdet`` (default 1), ``cell_size_cm``,
        ``moliere_radius_cm``, ``critical_energy_mev``.

        Args:
            spec: Mapping of field name to value.
            source: File name used in error messages.
        """
        unknown = set(spec) - set(_OPTIONAL_ARRAYS) - set(_SCALARS) - {"depth_x0"}
        if unknown:
            raise GeometryError(
                f"{source}: unknown geometry field {sorted(unknown)[0]!r}; allowed fields are "
                f"{sorted(set(_OPTIONAL_ARRAYS) | set(_SCALARS) | {'depth_x0'})}")
        if "depth_x0" not in spec:
            raise GeometryError(f"{source}: geometry field 'depth_x0' is missing; list the sensor depths in X0")
        try:
            depth_x0 = tuple(float(v) for v in spec["depth_x0"])
            n = len(depth_x0)
            x0 = np.asarray(depth_x0)
            values = dict(
                name=str(spec.get("name", Path(source).stem)),
                layer=tuple(int(v) for v in spec.get("layer", range(1, n + 1))),
                depth_x0=depth_x0,
                depth_lambda=tuple(float(v) for v in spec.get("depth_lambda", x0 * LAMBDA_PER_X0)),
                z_cm=tuple(float(v) for v in spec.get("z_cm", _ce_e_z(x0))),
                readout=tuple(_as_bool(v) for v in spec.get("readout", [True] * n)),
                mev_per_mip=tuple(float(v) for v in spec.get("mev_per_mip", [CE_E_MEV_PER_MIP] * n)),
                subdet=tuple(int(v) for v in spec.get("subdet", [1] * n)),
            )
            for key in ("cell_size_cm", "moliere_radius_cm", "critical_energy_mev"):
                if key in spec:
                    values[key] = float(spec[key])
        except (TypeError, ValueError) as exc:
            raise GeometryError(f"{source}: a geometry field has a value of the wrong type ({exc}); "
                                "use numbers, lists of numbers and true/false") from None
        geometry = cls(**values)
        return geometry

    @classmethod
    def from_file(cls, path: str | Path) -> "Geometry":
        """Reads a custom geometry from a ``.json`` or ``.toml`` file (fields: see :meth:`from_dict`).

        Example TOML::

            name = "three-layers"
            depth_x0 = [5.0, 10.0, 20.0]
            readout = [true, true, true]
        """
        path = Path(path)
        if path.suffix.lower() not in (".json", ".toml"):
            raise GeometryError(f"{path}: geometry files must end in .json or .toml")
        try:
            text = path.read_text()
        except OSError as exc:
            raise GeometryError(f"{path}: cannot read geometry file ({exc.strerror}); check the path") from None
        try:
            spec = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise GeometryError(f"{path}: not valid {path.suffix[1:].upper()} ({exc}); fix the syntax") from None
        if not isinstance(spec, dict):
            raise GeometryError(f"{path}: the geometry must be a table/object of fields")
        return cls.from_dict(spec, source=str(path))

    @classmethod
    def resolve(cls, geometry: "Geometry | str | Path") -> "Geometry":
        """Accepts a Geometry, a preset name or a geometry file path."""
        if isinstance(geometry, Geometry):
            return geometry
        if isinstance(geometry, str) and geometry in _PRESET_BUILDERS:
            return cls.preset(geometry)
        if isinstance(geometry, (str, Path)) and Path(geometry).suffix.lower() in (".json", ".toml"):
            return cls.from_file(geometry)
        return cls.preset(str(geometry))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; ``Geometry.from_dict(g.to_dict()) == g``."""
        values = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    # ----------------------------------------------------------------------------------------
    # read-out view (what the trigger sees), as numpy arrays
    @cached_property
    def read(self) -> np.ndarray:
        """Indices of the read layers into the per-layer fields, shape ``(R,)``."""
        return np.flatnonzero(np.asarray(self.readout))

    @cached_property
    def read_layers(self) -> np.ndarray:
        """Physical layer numbers of the read layers, shape ``(R,)``."""
        return np.asarray(self.layer, dtype=np.int32)[self.read]

    def read_array(self, key: str) -> np.ndarray:
        """A per-layer field restricted to the read layers, as a float64 array of shape ``(R,)``."""
        return np.asarray(getattr(self, key), dtype=np.float64)[self.read]

    @property
    def n_read(self) -> int:
        """Number of read layers ``R``."""
        return int(self.read.size)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    raise ValueError(f"{value!r} is not true/false")


def _ce_e_z(depth_x0: np.ndarray) -> np.ndarray:
    """|z| in cm of sensors at the given depths, using the CE-E cm-per-X0."""
    return CE_E_FRONT_Z_CM + np.asarray(depth_x0) * (CE_E_LENGTH_CM / CE_E_DEPTH_X0)


def _v9_trigger() -> Geometry:
    """V9: CE-E layer 1 (0.44 X0), then alternating even (0.968 X0) and odd (0.874 X0) steps;
    CE-H layer 29 (2.46 X0), 30-40 (35 mm steel, 2.51 X0 each), 41-52 (68 mm steel, 4.38 X0)."""
    dx0 = [0.44] + [0.968 if k % 2 == 0 else 0.874 for k in range(2, 29)] + [2.46] + [2.51] * 11 + [4.38] * 12
    dlam = [0.023] + [0.064 if k % 2 == 0 else 0.046 for k in range(2, 29)] + [0.265] + [0.263] * 11 + [0.457] * 12
    depth_x0 = np.cumsum(dx0)
    # CE-H: approximate layer pitch = steel plate + about 2.5 cm of cassette (sensors, copper, gap).
    ce_h_pitch = [5.9] + [6.0] * 11 + [9.3] * 12
    z_ce_e = _ce_e_z(depth_x0[:28])
    z_ce_h = z_ce_e[-1] + np.cumsum(ce_h_pitch)
    layers = list(range(1, 53))
    weights = [8.37] + [CE_E_MEV_PER_MIP] * 27 + [82.7] + [82.7 * 2.51 / 2.46] * 11 + [82.7 * 4.38 / 2.46] * 12
    return Geometry(
        name="v9-trigger",
        layer=tuple(layers),
        depth_x0=tuple(np.round(depth_x0, 4).tolist()),
        depth_lambda=tuple(np.round(np.cumsum(dlam), 4).tolist()),
        z_cm=tuple(np.round(np.concatenate([z_ce_e, z_ce_h]), 3).tolist()),
        readout=tuple(bool(k % 2 == 1) if k <= 28 else True for k in layers),
        mev_per_mip=tuple(round(w, 3) for w in weights),
        subdet=tuple(1 if k <= 28 else 2 for k in layers),
    )


def _seed8() -> Geometry:
    """The eight sensor depths of the original study; each layer samples the slab before it."""
    depth_x0 = np.array([5.1, 8.5, 11.9, 14.7, 17.2, 18.7, 21.1, 27.07])
    slab = np.diff(depth_x0, prepend=0.0)
    return Geometry(
        name="seed8",
        layer=tuple(range(1, 9)),
        depth_x0=tuple(depth_x0.tolist()),
        depth_lambda=tuple(np.round(depth_x0 * LAMBDA_PER_X0, 4).tolist()),
        z_cm=tuple(np.round(_ce_e_z(depth_x0), 3).tolist()),
        readout=(True,) * 8,
        mev_per_mip=tuple(np.round(CE_E_MEV_PER_MIP * slab / (0.968 + 0.874), 3).tolist()),
        subdet=(1,) * 8,
    )


_PRESET_BUILDERS = {"v9-trigger": _v9_trigger, "seed8": _seed8}
PRESETS = tuple(_PRESET_BUILDERS)
