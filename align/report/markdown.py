"""The cells as a Markdown table (for RESULTS files and terminals)."""
from __future__ import annotations

from .rows import KS, RETRIEVALS, Row


HEADER = "| cell | pair | method | seed |"  # how every table this module writes begins


def _num(v, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def status_text(r: Row) -> str:
    if r.status != "ok":
        return f"failed: {r.error}" if r.error else "failed"
    return "ok, not converged" if r.not_converged else "ok"


def markdown_table(rows: list[Row], times: bool = True) -> str:
    """One line per cell: P@1/5/10 for NN and CSLS, coverage, time (unless `times` is False: then the
    table depends on the results only, and equal grids give equal tables whatever ran them)."""
    head = ["cell", "pair", "method", "seed"] + [f"{r.upper()} P@{k}" for r in RETRIEVALS for k in KS] + \
           ["coverage", "queries"] + (["time (s)"] if times else []) + ["status"]
    lines = [HEADER + " " + " | ".join(head[4:]) + " |", "|" + "|".join(["---"] * 4 + ["---:"] * (len(head) - 5) + ["---"]) + "|"]
    for r in rows:
        cells = [r.id, f"{r.src}→{r.tgt}", r.method, str(r.seed)]
        cells += [_num(r.p(ret, k)) for ret in RETRIEVALS for k in KS]
        cells += [_num(None if r.coverage is None else 100 * r.coverage, "{:.1f}%"), _num(r.queries, "{}")]
        if times:
            cells.append(_num(r.seconds, "{:.1f}"))
        cells.append(status_text(r).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
