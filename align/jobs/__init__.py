"""Jobs: whole runs built from the library (fit, evaluate, write an output folder), shared by the CLI,
the demo, grids and the benchmarks."""
from __future__ import annotations

from .outputs import mapped_spaces, write_outputs
from .run import evaluate_mapping, make_aligner, run_alignment

__all__ = ["evaluate_mapping", "make_aligner", "mapped_spaces", "run_alignment", "write_outputs"]
