"""`align grid` (run a grid spec's cells, resumable) and `align report` (HTML page or Markdown table of
its results), thin layers over align.grid and align.report."""
from __future__ import annotations

import sys

import click

from ..grid.runner import DEFAULT_WORKERS
from .common import common_output, echo_json, warn

EXIT_CELLS_FAILED = 1
EXIT_NOT_CONVERGED = 3  # as a single seedless run that did not converge


@click.command("grid")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--workers", type=click.IntRange(min=0), default=DEFAULT_WORKERS, show_default=True,
              help="Local worker processes (0: run the cells in this process); with --ray local, its CPUs.")
@click.option("--ray", "ray_address", default=None, metavar="local|auto|ADDRESS",
              help="Run the cells as Ray tasks: 'local' starts Ray on this machine, 'auto' joins the running "
                   "cluster, or a cluster address (needs align[ray]).")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Results folder (results.jsonl, mappings/) [default: SPEC's name + .grid, beside it].")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="BLAS/OpenMP threads per cell [default: all cores in process, cores / workers with --workers, "
                   "1 on Ray]. Unsupervised figures vary with it in the last digits: equal --threads, equal results.")
@click.option("--retry-failed", is_flag=True, help="Run cells recorded as failed again.")
@common_output
def grid_cmd(spec, workers, ray_address, output, threads, retry_failed, as_json, quiet):
    """Run every cell of the grid SPEC (a TOML file) and append each result to results.jsonl.

    A rerun skips the cells already finished with the same parameters, so an interrupted grid resumes.
    A failing cell is recorded and the others go on; the exit code is then 1. A seedless cell that did not
    converge is recorded with its results; the exit code is then 3 (if no cell failed)."""
    from ..grid import run_grid

    if quiet and ray_address:  # Ray logs through Python's logging (to stderr): keep only its errors
        import logging

        logging.getLogger("ray").setLevel(logging.ERROR)
    summary = run_grid(spec, output, workers=workers, ray=ray_address, threads=threads,
                       retry_failed=retry_failed, show_progress=not quiet)
    if summary.dropped_partial_line:
        warn(quiet, f"{summary.results}: dropped a last record cut short (its cell runs again)")
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(f"{summary.cells} cells: {len(summary.ran)} run ({len(summary.failed)} failed, "
                   f"{len(summary.not_converged)} not converged), {summary.skipped} already finished; "
                   f"{summary.executor}")
        for cid in summary.failed:
            click.echo(f"  failed: {cid}")
        for cid in summary.not_converged:
            click.echo(f"  not converged: {cid}")
        click.echo(f"results in {summary.results}")
    if summary.failed:
        sys.exit(EXIT_CELLS_FAILED)
    if summary.not_converged:
        sys.exit(EXIT_NOT_CONVERGED)


@click.command("report")
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report here [default: report.html beside RESULTS; Markdown: stdout].")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True,
              help="One self-contained HTML page (table and figures), or a Markdown table.")
@click.option("--title", default=None, help="The HTML page's title.")
@common_output
def report_cmd(results, output, fmt, title, as_json, quiet):
    """Report of a grid's RESULTS (results.jsonl): every cell's P@1/5/10 (NN, CSLS), coverage and time,
    CSLS P@1 heatmaps per method, methods compared per pair, run times."""
    from pathlib import Path

    from ..report import render_report, write_report

    if output is None and fmt == "md":
        text = render_report(results, "md", title)
        if as_json:
            echo_json({"results": results, "format": "md", "markdown": text})
        else:
            click.echo(text, nl=False)
        return
    output = output or str(Path(results).with_name("report.html"))
    summary = write_report(results, output, fmt, title)
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"wrote {output} ({summary['cells']} cells, {summary['failed']} failed)")


COMMANDS = (grid_cmd, report_cmd)
