"""The HTML report: one self-contained page (styles inline, figures as base64 PNG data URIs)."""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone

from .figures import heatmaps, methods_per_pair, run_times
from .markdown import status_text
from .rows import KS, RETRIEVALS, Row

GENERATOR = "align report"  # marks a page this module wrote: `align report` overwrites only those
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
th { background: #f0f0f0; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fde8e8; } td.best { font-weight: bold; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.meta { color: #555; font-size: 0.9em; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _num(v, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def _table(rows: list[Row]) -> str:
    best = {}
    for r in rows:
        v = r.p("csls", 1)
        if v is not None and v > best.get(r.pair, -1.0):
            best[r.pair] = v
    head = ["cell", "pair", "method", "seed"] + [f"{ret.upper()} P@{k}" for ret in RETRIEVALS for k in KS] + \
           ["coverage", "queries", "time (s)", "status"]
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        tds = [f"<td>{html.escape(x)}</td>" for x in (r.id, f"{r.src}→{r.tgt}", r.method, str(r.seed))]
        for ret in RETRIEVALS:
            for k in KS:
                v = r.p(ret, k)
                cls = "n best" if (ret, k) == ("csls", 1) and v is not None and v == best.get(r.pair) else "n"
                tds.append(f'<td class="{cls}">{_num(v)}</td>')
        tds.append(f'<td class="n">{_num(None if r.coverage is None else 100 * r.coverage, "{:.1f}%")}</td>')
        tds.append(f'<td class="n">{_num(r.queries, "{}")}</td>')
        tds.append(f'<td class="n">{_num(r.seconds, "{:.1f}")}</td>')
        tds.append(f"<td>{html.escape(status_text(r))}</td>")
        cls = ' class="failed"' if r.status != "ok" else ""
        out.append(f"<tr{cls}>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def html_page(rows: list[Row], records: list[dict], title: str = "align grid report", source: str = "") -> str:
    """The whole page: a summary, the three figures and the table of every cell."""
    ok = [r for r in rows if r.status == "ok"]
    evaluated = [r for r in ok if r.p("csls", 1) is not None]
    failed = len(rows) - len(ok)
    first = next((rec for rec in records if rec.get("versions")), {})
    versions = ", ".join(f"{k} {v}" for k, v in (first.get("versions") or {}).items() if v)
    machine = first.get("machine") or {}
    total = sum(r.seconds or 0.0 for r in rows)
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta name="generator" content="{GENERATOR}">',
        f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(rows)} cells: {len(ok)} ok, {failed} failed; {total:.1f} s of cell time in all. '
        f"Source: {html.escape(source)}. Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.</p>",
        f'<p class="meta">Machine: {html.escape(str(machine.get("cpu", "?")))}, {machine.get("cores", "?")} cores, '
        f'{html.escape(str(machine.get("device", "")))}. Versions: {html.escape(versions)}.</p>',
    ]
    if evaluated:
        parts += ["<h2>CSLS P@1 by source and target language, per method</h2>",
                  _img(heatmaps(evaluated), "heatmaps of CSLS P@1 per method"),
                  "<h2>Methods compared per pair</h2>", _img(methods_per_pair(evaluated), "CSLS P@1 per pair and method")]
    timed = [r for r in ok if r.seconds]
    if timed:
        parts += ["<h2>Run times</h2>", _img(run_times(timed), "run time per cell")]
    parts += ["<h2>Every cell</h2>",
              "<p class=\"meta\">Precision in percent over the test dictionary's distinct source words with a "
              "translation in the vocabularies (coverage: share of test pairs kept); bold: the best CSLS P@1 "
              "of the pair.</p>", _table(rows), "</body>", "</html>"]
    return "\n".join(parts) + "\n"
