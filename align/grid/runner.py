"""`run_grid`: expand a spec into cells, skip the finished ones, run the rest, append each record."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .cells import Cell, expand_cells
from .spec import GridSpec, load_spec
from .store import ResultsStore

RESULTS_NAME = "results.jsonl"
DEFAULT_WORKERS = 0  # cells run in this process unless asked otherwise
MAPPINGS_NAME = "mappings"


@dataclass
class GridSummary:
    """What a grid run did: its cells, those skipped as finished, and the ids run now by status."""

    results: str
    cells: int
    skipped: int
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_converged: list[str] = field(default_factory=list)  # ok, but a seedless run its own criterion judged failed
    dropped_partial_line: bool = False
    executor: str = "in-process"

    def to_dict(self) -> dict:
        return {"results": self.results, "cells": self.cells, "skipped": self.skipped, "ran": len(self.ran),
                "ok": len(self.ran) - len(self.failed), "failed": len(self.failed), "ran_cells": self.ran,
                "failed_cells": self.failed, "not_converged": len(self.not_converged),
                "not_converged_cells": self.not_converged,
                "dropped_partial_line": self.dropped_partial_line, "executor": self.executor}


def default_output(spec_path: str | Path) -> Path:
    """The results folder of a spec when none is given: `<spec stem>.grid` beside the spec."""
    p = Path(spec_path)
    return p.with_name(p.stem + ".grid")


def run_grid(spec: str | Path | GridSpec, output: str | Path | None = None, *, workers: int = DEFAULT_WORKERS,
             ray: str | None = None, threads: int | None = None, retry_failed: bool = False,
             show_progress: bool = False, on_record=None) -> GridSummary:
    """Run every unfinished cell of `spec` and append its record to `output`/results.jsonl.

    `workers` 0: in this process; N >= 1: on N local worker processes. `ray`: "local" (a Ray started on
    this machine, `workers` CPUs or all), "auto" (the running cluster) or a cluster address. `threads`:
    BLAS/OpenMP threads per cell (default: all cores in process, cores / workers on workers, 1 on Ray);
    unsupervised self-learning's figures change with it in the last digits, so equal `threads` give
    equal results whatever the executor. A rerun
    skips cells finished with the same parameters, so an interrupted grid resumes where it stopped;
    `retry_failed` runs failed cells again. `on_record(record)` is called as each cell finishes.
    With workers or Ray, a script calling this must guard its top level with `if __name__ == "__main__":`
    (worker processes are spawned, and they import the script)."""
    spec = spec if isinstance(spec, GridSpec) else load_spec(spec)
    out = Path(output) if output is not None else default_output(spec.path)
    if out.exists() and not out.is_dir():
        raise InputError("the grid output must be a folder", str(out))
    store = ResultsStore(out / RESULTS_NAME)
    cells = expand_cells(spec, str(out / MAPPINGS_NAME))
    todo = [c for c in cells if not store.is_finished(c.id, c.key, retry_failed)]
    summary = GridSummary(results=str(store.path), cells=len(cells), skipped=len(cells) - len(todo),
                          dropped_partial_line=store.dropped_partial)
    if threads is not None and threads < 1:
        raise InputError(f"threads must be at least 1, got {threads}")
    records, summary.executor = _executor(todo, workers, ray, threads)
    bar = None
    if show_progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(cells), initial=summary.skipped, desc="cells", unit="cell", dynamic_ncols=True)
    try:
        for record in records:
            store.append(record)
            summary.ran.append(record["id"])
            if record["status"] != "ok":
                summary.failed.append(record["id"])
            elif (record.get("metrics") or {}).get("failed"):
                summary.not_converged.append(record["id"])
            if on_record is not None:
                on_record(record)
            if bar is not None:
                bar.set_postfix_str(f"{record['id']} {record['status']}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return summary


def _executor(todo: list[Cell], workers: int, ray: str | None, threads: int | None):
    from . import executors

    if workers < 0:
        raise InputError(f"workers must be 0 (in this process) or more, got {workers}")
    if not todo:  # nothing to run: start no workers and no Ray
        return iter(()), "none (every cell finished)"
    if ray is not None:
        return executors.run_on_ray(todo, ray, num_cpus=workers or None, threads=threads or 1), f"ray ({ray})"
    if workers == 0:
        return executors.run_in_process(todo, threads), "in-process"
    return executors.run_in_processes(todo, workers, threads), f"{workers} worker processes"
