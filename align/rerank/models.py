"""Ranking models over candidate features, saved in their own text formats (no pickle).

- `lightgbm`: LightGBM's lambdarank (the default), saved with `Booster.model_to_string`;
- `logistic`: scikit-learn's logistic regression on standardised features (the light fallback), saved as
  JSON coefficients and applied with numpy.
Both are deterministic given the seed.
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import AlignError, InputError

MODELS: tuple[str, ...] = ("lightgbm", "logistic")
LIGHTGBM_PARAMS: dict = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 7,
                         "min_data_in_leaf": 50, "feature_fraction": 0.8, "lambda_l2": 1.0,
                         "lambdarank_truncation_level": 20, "num_rounds": 200}
LOGISTIC_PARAMS: dict = {"C": 1.0, "max_iter": 2000}


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise AlignError(f"the reranker needs {package}: pip install 'align[rerank]'") from None


def require(model: str) -> None:
    """A one-line AlignError naming the extra when a library the reranker needs is missing."""
    _need("rapidfuzz", "rapidfuzz")
    _need("sklearn", "scikit-learn")
    if model == "lightgbm":
        _need("lightgbm", "LightGBM")


class LightGBMRanker:
    """LightGBM lambdarank over query groups."""

    name = "lightgbm"

    def __init__(self, params: dict | None = None, seed: int = 0, threads: int = 0):
        self.params = {**LIGHTGBM_PARAMS, **(params or {})}
        self.seed = seed
        self.threads = threads
        self.booster_ = None

    def _train_params(self) -> tuple[dict, int]:
        p = dict(self.params)
        rounds = int(p.pop("num_rounds"))
        p.update(seed=self.seed, deterministic=True, force_row_wise=True, verbosity=-1,
                 num_threads=self.threads)
        return p, rounds

    def fit(self, F: np.ndarray, y: np.ndarray, group_sizes: np.ndarray, names: list[str]) -> "LightGBMRanker":
        lgb = _need("lightgbm", "LightGBM")
        params, rounds = self._train_params()
        data = lgb.Dataset(F, label=y, group=group_sizes, feature_name=[n.replace(".", "__") for n in names],
                           free_raw_data=True)
        self.booster_ = lgb.train(params, data, num_boost_round=rounds)
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster_.predict(F, num_threads=self.threads), dtype=np.float64)

    def importances(self, names: list[str]) -> dict[str, float]:
        """Total gain of each feature's splits, normalised to sum 1."""
        gain = np.asarray(self.booster_.feature_importance(importance_type="gain"), dtype=np.float64)
        gain = gain / gain.sum() if gain.sum() > 0 else gain
        return {n: round(float(g), 6) for n, g in zip(names, gain)}

    def to_text(self) -> str:
        return self.booster_.model_to_string()

    @classmethod
    def from_text(cls, text: str, params: dict, seed: int) -> "LightGBMRanker":
        lgb = _need("lightgbm", "LightGBM")
        m = cls(params, seed)
        m.booster_ = lgb.Booster(model_str=text)
        return m


class LogisticRanker:
    """Logistic regression of 'is a gold translation' on standardised features (missing values: the
    training mean); ranks by the decision value."""

    name = "logistic"

    def __init__(self, params: dict | None = None, seed: int = 0, threads: int = 0):
        self.params = {**LOGISTIC_PARAMS, **(params or {})}
        self.seed = seed
        self.mean_ = self.scale_ = self.coef_ = None
        self.intercept_ = 0.0

    def _standardise(self, F: np.ndarray) -> np.ndarray:
        F = np.where(np.isnan(F), self.mean_[None, :], F)
        return (F - self.mean_) / self.scale_

    def fit(self, F: np.ndarray, y: np.ndarray, group_sizes: np.ndarray, names: list[str]) -> "LogisticRanker":
        lm = _need("sklearn.linear_model", "scikit-learn")
        F = np.asarray(F, dtype=np.float64)
        self.mean_ = np.nan_to_num(np.nanmean(F, axis=0))
        std = np.nan_to_num(np.nanstd(F, axis=0))
        self.scale_ = np.where(std > 0, std, 1.0)
        clf = lm.LogisticRegression(C=self.params["C"], max_iter=self.params["max_iter"], random_state=self.seed)
        from ..device import small_linalg

        with small_linalg():  # many small BLAS calls: threads only wait on each other
            clf.fit(self._standardise(F), y)
        self.coef_, self.intercept_ = clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        return self._standardise(np.asarray(F, dtype=np.float64)) @ self.coef_ + self.intercept_

    def importances(self, names: list[str]) -> dict[str, float]:
        """|coefficient| on the standardised feature, normalised to sum 1."""
        a = np.abs(self.coef_)
        a = a / a.sum() if a.sum() > 0 else a
        return {n: round(float(v), 6) for n, v in zip(names, a)}

    def to_text(self) -> str:
        return json.dumps({"format": "align-logistic", "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                           "coef": self.coef_.tolist(), "intercept": self.intercept_})

    @classmethod
    def from_text(cls, text: str, params: dict, seed: int) -> "LogisticRanker":
        obj = json.loads(text)
        if obj.get("format") != "align-logistic":
            raise InputError("not a saved logistic reranking model")
        m = cls(params, seed)
        m.mean_, m.scale_, m.coef_ = (np.asarray(obj[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        m.intercept_ = float(obj["intercept"])
        return m


def make_model(name: str, params: dict | None = None, seed: int = 0, threads: int = 0):
    """The ranking model `name` (see MODELS)."""
    if name == "lightgbm":
        return LightGBMRanker(params, seed, threads)
    if name == "logistic":
        return LogisticRanker(params, seed, threads)
    raise InputError(f"unknown reranking model {name!r}; choose from {', '.join(MODELS)}")


def load_model(name: str, text: str, params: dict | None, seed: int):
    """A model saved by `to_text`."""
    cls = {"lightgbm": LightGBMRanker, "logistic": LogisticRanker}.get(name)
    if cls is None:
        raise InputError(f"unknown reranking model {name!r}; choose from {', '.join(MODELS)}")
    return cls.from_text(text, params or {}, seed)
