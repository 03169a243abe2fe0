"""Grids of runs: a TOML spec of vector sets, dictionaries, pairs, methods and seeds, each cell one run
of the single-pair jobs, results appended to results.jsonl as each cell finishes (a rerun resumes)."""
from __future__ import annotations

from .cells import Cell, expand_cells
from .job import run_cell
from .runner import GridSummary, default_output, run_grid
from .spec import DictionarySpec, GridSpec, MethodSpec, load_spec
from .store import ResultsStore, latest_records, read_records

__all__ = ["Cell", "DictionarySpec", "GridSpec", "GridSummary", "MethodSpec", "ResultsStore", "default_output",
           "expand_cells", "latest_records", "load_spec", "read_records", "run_cell", "run_grid"]
