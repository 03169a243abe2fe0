"""The grid report: one self-contained HTML page (every cell in the table, figures embedded as PNG)
and the Markdown table, from records written by hand (no grid run needed)."""
from __future__ import annotations

import base64
import json
import re

import pytest

from align import InputError
from align.report import render_report, write_report

pytest.importorskip("matplotlib")


def _record(src, tgt, method, p1, seconds, index, status="ok", error=None):
    ev = {r: {"precision_at_1": p1 - (5 if r == "nn" else 0), "precision_at_5": p1 + 10, "precision_at_10": p1 + 15,
              "n_queries": 100, "coverage": 0.75} for r in ("nn", "csls")}
    return {"id": f"{src}-{tgt}.{method}.s0", "key": "k", "index": index, "status": status, "error": error,
            "params": {"src": src, "tgt": tgt, "method_label": method, "method": method.split("+")[0], "seed": 0},
            "metrics": None if status != "ok" else {"eval": ev}, "seconds": seconds,
            "versions": {"align": "0.1.0", "numpy": "2"}, "machine": {"cpu": "Test CPU", "cores": 2, "device": "cpu"}}


@pytest.fixture
def results(tmp_path):
    recs, i = [], 0
    for src, tgt in (("en", "fr"), ("fr", "en"), ("en", "fi")):
        for method, base in (("procrustes", 60.0), ("rcsls", 62.5)):
            recs.append(_record(src, tgt, method, base + i, 1.5 + i, i))
            i += 1
    recs.append(_record("fi", "en", "rcsls", 0, 0.2, i, status="failed", error="InputError: fi-en.txt:3: bad line"))
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(recs)) + '{"id": "cut')  # any order; a cut line
    return path


def test_html_report_holds_every_cell_and_embedded_png_figures(results, tmp_path):
    out = tmp_path / "report.html"
    summary = write_report(results, out)
    assert summary["cells"] == 7 and summary["failed"] == 1
    page = out.read_text()
    rows = re.findall(r"<tr(?: class=\"failed\")?><td>([^<]+)</td>", page)
    assert rows == ["en-fr.procrustes.s0", "en-fr.rcsls.s0", "fr-en.procrustes.s0", "fr-en.rcsls.s0",
                    "en-fi.procrustes.s0", "en-fi.rcsls.s0", "fi-en.rcsls.s0"]  # spec order
    assert "<td class=\"n best\">63.50</td>" in page  # fr-en's best CSLS P@1 (rcsls), in bold
    assert "failed: InputError: fi-en.txt:3: bad line" in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert [alt for alt, _ in images] == ["heatmaps of CSLS P@1 per method", "CSLS P@1 per pair and method",
                                          "run time per cell"]
    for _, data in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained


def test_markdown_table_has_one_line_per_cell_and_optional_times(results):
    md = render_report(results, "md")
    lines = md.strip().splitlines()
    assert lines[0].startswith("| cell | pair | method | seed | NN P@1 | NN P@5 | NN P@10 | CSLS P@1")
    assert len(lines) == 2 + 7
    assert lines[2] == ("| en-fr.procrustes.s0 | en→fr | procrustes | 0 | 55.00 | 70.00 | 75.00 | 60.00 | 70.00 "
                        "| 75.00 | 75.0% | 100 | 1.5 | ok |")
    assert lines[-1].endswith("| – | – | 0.2 | failed: InputError: fi-en.txt:3: bad line |")
    no_times = render_report(results, "md", times=False)
    assert "time (s)" not in no_times and "| 1.5 |" not in no_times


def test_report_of_an_empty_or_missing_file_is_a_clear_error(tmp_path):
    empty = tmp_path / "results.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no cell records"):
        render_report(empty)
    with pytest.raises(InputError, match="no such results file"):
        render_report(tmp_path / "none.jsonl")
    with pytest.raises(InputError, match="unknown report format"):
        render_report(empty, "pdf")


def test_a_report_replaces_only_an_earlier_report(results, tmp_path):
    """`-o` naming the results file, or any file that is not a report, is refused before anything is written;
    an earlier report (HTML or Markdown) is replaced."""
    before = results.read_bytes()
    for fmt in ("html", "md"):
        with pytest.raises(InputError, match="is the results file this report reads"):
            write_report(results, results, fmt)
    assert results.read_bytes() == before
    vectors = tmp_path / "fr.vec"
    vectors.write_text("2 2\na 1 0\nb 0 1\n")
    with pytest.raises(InputError, match="fr.vec: exists and is not a report of align"):
        write_report(results, vectors, "md")
    assert vectors.read_text() == "2 2\na 1 0\nb 0 1\n"
    for fmt in ("html", "md"):
        out = tmp_path / f"report.{fmt}"
        write_report(results, out, fmt)
        assert write_report(results, out, fmt)["cells"] == 7  # its own earlier report: replaced


def test_a_page_written_before_the_generator_tag_is_still_replaced_and_a_missing_results_file_named(results,
                                                                                                  tmp_path):
    """Reports written by earlier versions (no generator tag) are replaced too; with a mistyped results file
    the error names that file, not the output."""
    from align.report.html import STYLE

    old = tmp_path / "report.html"
    old.write_text(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>t</title>\n'
                   f'<style>{STYLE}</style>\n</head>\n<body>\n<h1>t</h1>\n<p class="meta">7 cells: 6 ok, 1 failed; '
                   f'9.0 s of cell time in all.</p>\n')
    assert write_report(results, old)["cells"] == 7 and 'content="align report"' in old.read_text()
    with pytest.raises(InputError, match="none.jsonl: no such results file"):
        write_report(tmp_path / "none.jsonl", old)
