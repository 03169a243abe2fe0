"""Reports of grid results: a self-contained HTML page (table and matplotlib figures) or a Markdown table."""
from __future__ import annotations

from pathlib import Path

from .._io import atomic_write
from ..errors import InputError
from .markdown import markdown_table
from .rows import Row, load_rows, rows_from_records

FORMATS = ("html", "md")


def render_report(results: str | Path, fmt: str = "html", title: str | None = None, times: bool = True) -> str:
    """The report of a results.jsonl file as text: an HTML page or a Markdown table."""
    from ..grid.store import latest_records

    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; choose {' or '.join(FORMATS)}")
    records = latest_records(results)
    if not records:
        raise InputError("no cell records in this results file", str(results))
    rows = rows_from_records(records)
    if fmt == "md":
        return markdown_table(rows, times=times)
    from .html import html_page

    return html_page(rows, list(records.values()), title=title or "align grid report", source=str(results))


def write_report(results: str | Path, output: str | Path, fmt: str = "html", title: str | None = None) -> dict:
    """Write the report of `results` to `output` atomically; return a summary of what was written. An existing
    `output` is replaced only if it is an earlier report (never the results file, nor any other file)."""
    text = render_report(results, fmt, title)  # the results first: a missing one is the error to report
    check_replaceable(results, output)
    with atomic_write(output, "w") as f:
        f.write(text)
    rows = load_rows(results)
    return {"results": str(results), "output": str(output), "format": fmt, "cells": len(rows),
            "ok": sum(r.status == "ok" for r in rows), "failed": sum(r.status != "ok" for r in rows),
            "not_converged": sum(r.status == "ok" and r.not_converged for r in rows),
            "bytes": len(text.encode("utf-8"))}


def check_replaceable(results: str | Path, output: str | Path) -> None:
    """A one-line error, naming `output`, when writing there would destroy something that is not a report."""
    out = Path(output)
    if not out.exists():
        return
    if out.is_dir():
        raise InputError("is a directory", str(out))
    if Path(results).exists() and out.samefile(results):
        raise InputError("is the results file this report reads: choose another --output", str(out))
    with open(out, "rb") as f:
        head = f.read(16384).decode("utf-8", "replace")
    from .html import GENERATOR
    from .markdown import HEADER

    earlier_page = head.startswith("<!DOCTYPE html>") and '<p class="meta">' in head and " cells: " in head
    if f'content="{GENERATOR}"' not in head and not head.startswith(HEADER) and not earlier_page:
        raise InputError("exists and is not a report of align: refusing to overwrite it", str(out))


__all__ = ["check_replaceable", "FORMATS", "Row", "load_rows", "markdown_table", "render_report", "rows_from_records", "write_report"]
