"""Composable normalisation steps that record themselves, so a mapping re-applies them to new vectors.

Steps: `unit` (rows to length 1), `center` (subtract the mean), `unitdim` (each dimension to
unit variance), `iternorm` (alternate unit and center until both hold; Zhang et al. 2019).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

STEPS: tuple[str, ...] = ("unit", "center", "unitdim", "iternorm")
DEFAULT_STEPS: tuple[str, ...] = ("unit", "center", "unit")
ITERNORM_ROUNDS = 5


NORM_ROWS = 1 << 16  # rows normalised at a time: np.linalg.norm makes a squared copy of what it is given
TRANSFORM_ROWS = 2048  # rows taken through all the recorded steps at a time (2.4 MB of 300-d rows)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Copy of `x` (float32, C-contiguous) with rows of unit length; zero rows stay zero. Memory: the copy
    and one block (each row's norm is computed alone, so blocking does not change a value)."""
    return _unit_in_place(np.array(x, dtype=np.float32, order="C", copy=True))


def _unit_in_place(x: np.ndarray) -> np.ndarray:
    """`x` (float32, C-contiguous, owned) with its rows scaled to unit length in place, block by block."""
    for s in range(0, len(x), NORM_ROWS):
        block = x[s:s + NORM_ROWS]
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        block /= norms
    return x


def unit_rows(x: np.ndarray, tol: float = 1e-5) -> np.ndarray:
    """`x` as float32 rows of unit length: `x` itself when they already are (a mapped, normalised space
    usually is: no copy of a large matrix), else `normalize_rows(x)`."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    if np.all((np.abs(sq - 1.0) <= tol) | (sq == 0.0)):
        return x
    return normalize_rows(x)


@dataclass
class Normalizer:
    """An ordered list of steps; `fit_transform` learns their statistics, `transform` re-applies them.

    After fitting, `recorded` holds the concrete operations (iternorm expanded into its
    unit/center rounds), each with the mean or scale it learnt.
    """

    steps: tuple[str, ...] = DEFAULT_STEPS
    recorded: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.steps = tuple(self.steps)
        for s in self.steps:
            if s not in STEPS:
                raise InputError(f"unknown normalisation step {s!r}; choose from {', '.join(STEPS)}")

    @property
    def fitted(self) -> bool:
        return bool(self.recorded) or not self.steps

    @property
    def dim(self) -> int | None:
        """The dimension of the vectors it was fitted on, where a recorded statistic tells it (else None)."""
        for op in self.recorded:
            for key in ("mean", "std"):
                if key in op:
                    return int(op[key].shape[0])
        return None

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """Learn each step's statistics on `x` (rows are words) and return the normalised copy."""
        x = np.array(x, dtype=np.float32, copy=True)
        self.recorded = []
        for step in self.steps:
            if step == "iternorm":
                for _ in range(ITERNORM_ROUNDS):
                    x = self._fit_one("unit", x)
                    x = self._fit_one("center", x)
                x = self._fit_one("unit", x)
            else:
                x = self._fit_one(step, x)
        return x

    def _fit_one(self, step: str, x: np.ndarray) -> np.ndarray:
        if step == "unit":
            self.recorded.append({"op": "unit"})
            return normalize_rows(x)
        if step == "center":
            mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
            self.recorded.append({"op": "center", "mean": mean})
            return x - mean
        # unitdim
        std = x.std(axis=0, dtype=np.float64).astype(np.float32)
        std[std == 0] = 1.0
        self.recorded.append({"op": "unitdim", "std": std})
        return x / std

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Apply the recorded steps (with the statistics learnt at fit time) to new rows."""
        if not self.fitted:
            raise InputError("normaliser is not fitted")
        x = np.array(x, dtype=np.float32, order="C", copy=True)  # the one copy: every step works in place
        for op in self.recorded:
            if op["op"] == "center" and x.shape[1] != op["mean"].shape[0]:
                raise InputError(f"dimension mismatch: vectors have {x.shape[1]}, normaliser {op['mean'].shape[0]}")
        # Every step acts on rows alone or subtracts / divides by one vector, so all of them run on one
        # cache-sized block of rows after the other: one pass over a large matrix instead of one per step,
        # with the same values.
        for s in range(0, len(x), TRANSFORM_ROWS):
            block = x[s:s + TRANSFORM_ROWS]
            for op in self.recorded:
                if op["op"] == "unit":
                    _unit_in_place(block)
                elif op["op"] == "center":
                    block -= op["mean"]
                else:
                    block /= op["std"]
        return x

    def to_json(self) -> dict:
        """A JSON-ready description (statistics as lists of floats)."""
        rec = []
        for op in self.recorded:
            r = {"op": op["op"]}
            for key in ("mean", "std"):
                if key in op:
                    r[key] = [float(v) for v in op[key]]
            rec.append(r)
        return {"steps": list(self.steps), "recorded": rec}

    @classmethod
    def from_json(cls, obj: dict) -> "Normalizer":
        norm = cls(tuple(obj.get("steps", ())))
        norm.recorded = []
        for r in obj.get("recorded", []):
            op = {"op": r["op"]}
            for key in ("mean", "std"):
                if key in r:
                    op[key] = np.asarray(r[key], dtype=np.float32)
            norm.recorded.append(op)
        return norm


def parse_steps(spec: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """'unit center unit' or 'unit,center,unit' or a sequence -> validated tuple ('none' or '' = no step)."""
    if spec is None:
        return DEFAULT_STEPS
    if isinstance(spec, str):
        parts = [p for p in spec.replace(",", " ").split() if p]
    else:
        parts = list(spec)
    if parts == ["none"]:
        return ()
    for s in parts:
        if s not in STEPS:
            raise InputError(f"unknown normalisation step {s!r}; choose from {', '.join(STEPS)} (or 'none')")
    return tuple(parts)
