"""The report's data: one flat row per cell (its latest record), in the spec's order."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

KS = (1, 5, 10)
RETRIEVALS = ("nn", "csls")


@dataclass
class Row:
    """One cell of a grid as the report shows it; precision figures are None when not evaluated."""

    id: str
    index: int
    src: str
    tgt: str
    method: str
    seed: int
    status: str
    error: str | None
    precision: dict  # (retrieval, k) -> P@k in percent, or None
    coverage: float | None  # share of test pairs with both words in the vocabularies
    queries: int | None
    seconds: float | None
    not_converged: bool = False  # an unsupervised run whose own criterion says it failed

    @property
    def pair(self) -> str:
        return f"{self.src}-{self.tgt}"

    def p(self, retrieval: str, k: int) -> float | None:
        return self.precision.get((retrieval, k))


def rows_from_records(records: dict[str, dict]) -> list[Row]:
    """Rows of the latest record of each cell, sorted by the cells' spec order (then id)."""
    rows = []
    for rec in records.values():
        params = rec.get("params") or {}
        metrics = rec.get("metrics") or {}
        evals = metrics.get("eval") or {}
        precision = {}
        for r in RETRIEVALS:
            for k in KS:
                v = (evals.get(r) or {}).get(f"precision_at_{k}")
                precision[(r, k)] = None if v is None else float(v)
        first = evals.get("csls") or evals.get("nn") or {}
        rows.append(Row(id=str(rec["id"]), index=int(rec.get("index") or 0), src=str(params.get("src", "?")),
                        tgt=str(params.get("tgt", "?")), method=str(params.get("method_label", params.get("method", "?"))),
                        seed=int(params.get("seed", 0)), status=str(rec.get("status", "?")), error=rec.get("error"),
                        precision=precision, coverage=first.get("coverage"), queries=first.get("n_queries"),
                        seconds=rec.get("seconds"), not_converged=bool(metrics.get("failed", False))))
    rows.sort(key=lambda r: (r.index, r.id))
    return rows


def load_rows(path: str | Path) -> list[Row]:
    """Rows of a results.jsonl file; an `InputError` naming the file when it holds no record."""
    from ..grid.store import latest_records

    records = latest_records(path)
    if not records:
        raise InputError("no cell records in this results file", str(path))
    return rows_from_records(records)


def ordered(values) -> list:
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(values))


def languages(rows: list[Row]) -> list[str]:
    return ordered([x for r in rows for x in (r.src, r.tgt)])


def mean_by(rows: list[Row], key, value) -> dict:
    """Mean of `value(row)` per `key(row)` over rows where the value is not None (seeds averaged)."""
    sums: dict = {}
    for r in rows:
        v = value(r)
        if v is not None:
            total, n = sums.get(key(r), (0.0, 0))
            sums[key(r)] = (total + v, n + 1)
    return {k: total / n for k, (total, n) in sums.items()}
