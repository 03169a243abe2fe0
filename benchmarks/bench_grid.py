"""Grid of runs on the data kit (issue 22): `benchmarks/grid_kit.toml` (6 directions among en, fr, fi ×
procrustes, procrustes + 5 refinements, RCSLS, unsupervised: 24 cells) run three times with `align grid`,
in one process, on 2 local workers and on a local Ray with 2 CPUs; the three wall times, and a check that
the three results tables (every figure but the timings) are identical. Then the resume check: a grid
killed with SIGKILL mid-way (the whole process group, workers included) and rerun must run exactly the
cells missing from results.jsonl. Writes the section "Grid of runs (issue 22)" of benchmarks/RESULTS.md
and the HTML report (out/bench_grid/report.html); with chromium installed, its screenshot
benchmarks/grid_kit_report.png.

    python benchmarks/bench_grid.py [--only executors|resume|report] [--resume-methods procrustes]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_description, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "benchmarks" / "grid_kit.toml"
OUT = ROOT / "out" / "bench_grid"
SCREENSHOT = ROOT / "benchmarks" / "grid_kit_report.png"
TITLE = "Grid of runs (issue 22)"
# One BLAS thread per cell for all three: self-learning's figures change with the thread count in the last
# digits, so only equal counts can give identical tables (the in-process default uses every core).
EXECUTORS = {
    "1 worker (in process, `--threads 1`)": ["--threads", "1"],
    "2 local worker processes (`--workers 2`, 1 thread each)": ["--workers", "2", "--threads", "1"],
    "Ray, local, 2 CPUs (`--ray local --workers 2`, 1 thread per task)": ["--ray", "local", "--workers", "2",
                                                                          "--threads", "1"],
}


def align_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "align", *args]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_grid_cli(spec: Path, out: Path, extra: list[str]) -> tuple[dict, float]:
    """`align grid SPEC --output OUT EXTRA --json -q`; its JSON summary and wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(align_cmd("grid", str(spec), "--output", str(out), *extra, "--json", "-q"),
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(f"align grid failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def warm_caches(spec_path: Path) -> None:
    """Parse every vector file once (binary caches), so that no timed run pays the text parse."""
    from align.store import load_all
    from align.grid import load_spec

    load_all([str(p) for p in load_spec(spec_path).vectors.values()])


def table_without_times(results: Path) -> str:
    from align.report import render_report

    return render_report(results, "md", times=False)


class Section:
    """The RESULTS.md section, rewritten after every step so that a partial benchmark keeps its figures."""

    def __init__(self, header: str, write: bool):
        self.parts: dict[str, list[str]] = {"header": [header, ""]}
        self.write = write

    def set(self, name: str, lines: list[str]) -> None:
        self.parts[name] = lines
        text = "\n".join(line for part in self.parts.values() for line in part)
        if self.write:
            write_section(TITLE, text)
        else:
            print(text)


def executors(section: Section, on_first) -> None:
    """Run the kit grid with each executor; `on_first(results)` after the first (the in-process run)."""
    walls, tables, summaries = {}, {}, {}
    names = list(EXECUTORS)
    for name, extra in EXECUTORS.items():
        out = OUT / ("exec-" + str(len(walls)))
        shutil.rmtree(out, ignore_errors=True)
        before = load()
        summary, wall = run_grid_cli(SPEC, out, extra)
        walls[name], summaries[name] = (wall, before, load()), summary
        tables[name] = table_without_times(out / "results.jsonl")
        print(f"{name}: {wall:.1f} s, {summary['ok']} ok, {summary['failed']} failed (load {before} → {load()})",
              flush=True)
        lines = [
            "### Three executors", "",
            "Command: `align grid benchmarks/grid_kit.toml --output DIR --threads 1 [--workers 2 | --ray local "
            "--workers 2] --json -q` (each from an empty DIR, vector caches warm). One BLAS thread per cell in all "
            "three: unsupervised self-learning's figures depend on the BLAS thread count (on fr→fi, CSLS P@1 35.48 "
            "with 2 threads, 34.91 with 1: rounding of a multi-threaded BLAS, amplified over hundreds of "
            "iterations), so the tables can only be identical at equal thread counts; each record holds its "
            "`threads`.", "",
            "| executor | wall time (s) | cells ok | cells failed | load average before → after |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for n in walls:
            w, b, a = walls[n]
            lines.append(f"| {n} | {w:.1f} | {summaries[n]['ok']} | {summaries[n]['failed']} | {b} → {a} |")
        if len(walls) == len(names):
            same = all(tables[n] == tables[names[0]] for n in names[1:])
            lines += ["", "Results tables (every figure of every cell but the timings) identical across the three: "
                      f"**{'yes' if same else 'NO'}**."]
            if not same:
                import difflib

                for n in names[1:]:
                    diff = difflib.unified_diff(tables[names[0]].splitlines(), tables[n].splitlines(), lineterm="", n=0)
                    lines += ["", f"Differences, {names[0]} against {n}:", "", "```", *list(diff)[:40], "```"]
        else:
            lines += ["", f"(still running: {len(walls)} of {len(names)} executors done)"]
        section.set("executors", lines)
        if len(walls) == 1:
            on_first(out / "results.jsonl")


def resume(section: Section, methods: list[str]) -> None:
    """Kill a grid with SIGKILL once a few cells are recorded, rerun it, check only the missing cells ran."""
    import tomllib

    raw = tomllib.loads(SPEC.read_text())
    from align.grid import load_spec

    spec = load_spec(SPEC)
    lines = ['pairs = "all"', "seeds = [0]", "", "[vectors]"]
    lines += [f'{lang} = "{path}"' for lang, path in spec.vectors.items()]
    lines += ["", "[dictionaries]"]
    for (s, t), d in spec.dictionaries.items():
        files = "".join(f'{k} = "{v}", ' for k, v in (("train", d.train), ("test", d.test)) if v is not None)
        lines.append(f'{s}-{t} = {{ {files}reverse = {str(d.reverse).lower()} }}')
    lines += ["", "[methods]"]
    for label, entry in raw["methods"].items():
        if entry["method"] in methods:
            opts = ", ".join(f"{k} = {json.dumps(v)}" for k, v in entry.items())
            lines.append(f'"{label}" = {{ {opts} }}')
    if len(lines) == lines.index("[methods]") + 1:
        raise SystemExit(f"{SPEC}: no method among {', '.join(methods)} for the resume check")
    out = OUT / "resume"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sub = out / "spec.toml"
    sub.write_text("\n".join(lines) + "\n")
    results = out / "grid" / "results.jsonl"
    from align.grid import expand_cells

    all_ids = [c.id for c in expand_cells(load_spec(sub))]
    kill_after = len(all_ids) // 3
    proc = subprocess.Popen(align_cmd("grid", str(sub), "--output", str(out / "grid"), "--workers", "2", "-q"),
                            cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    while proc.poll() is None:
        if results.exists() and results.read_bytes().count(b"\n") >= kill_after:
            os.killpg(proc.pid, signal.SIGKILL)  # the grid and its workers, with no chance to clean up
            break
        time.sleep(0.05)
    proc.wait()
    killed_after = time.perf_counter() - t0
    from align.grid import latest_records

    before = list(latest_records(results))
    summary, wall = run_grid_cli(sub, out / "grid", ["--workers", "2"])
    ran = summary["ran_cells"]
    missing = [i for i in all_ids if i not in before]
    ok = sorted(ran) == sorted(missing) and summary["skipped"] == len(before)
    final = latest_records(results)
    ok = ok and len(final) == len(all_ids) and all(r["status"] == "ok" for r in final.values())
    print(f"resume: {len(before)} cells recorded before the kill, rerun ran {len(ran)} (missing {len(missing)}): "
          f"{'ok' if ok else 'WRONG'}", flush=True)
    section.set("resume", [
        "", "### Resume after SIGKILL", "",
        f"A {len(all_ids)}-cell grid (the kit spec with methods {', '.join(methods)}) run with `--workers 2`; "
        f"its process group killed with SIGKILL once {kill_after} records were in results.jsonl "
        f"({killed_after:.1f} s in; {len(before)} cells recorded{', and a cut last line' if summary['dropped_partial_line'] else ''}). "
        f"The rerun (`align grid … --workers 2`, {wall:.1f} s) skipped {summary['skipped']} cells and ran "
        f"{len(ran)}: exactly the {len(missing)} missing ones: **{'yes' if ok else 'NO'}**; "
        f"the results file then holds all {len(final)} cells, each ok.", ""])


def report(section: Section, results: Path) -> None:
    from align.report import render_report, write_report

    html = OUT / "report.html"
    write_report(results, html, title="align grid: en, fr, fi × 4 methods on the kit")
    lines = ["", "### Results (the in-process run)", "",
             f"`align report {results.relative_to(ROOT)} -o {html.relative_to(ROOT)}` writes the HTML page; "
             f"`--format md` gives this table.", "", render_report(results, "md").rstrip()]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={SCREENSHOT}", "--window-size=1400,3000", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        lines += ["", f"The page as headless chromium renders it (`chromium --headless --screenshot "
                  f"--window-size=1400,3000`): `{SCREENSHOT.relative_to(ROOT)}`."]
        print(f"wrote {SCREENSHOT}", flush=True)
    section.set("report", lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["executors", "resume", "report"], default=None)
    ap.add_argument("--resume-methods", default="procrustes",
                    help="Comma-separated aligner names of the kit spec kept for the resume check.")
    ap.add_argument("--spec", type=Path, default=None,
                    help="Another grid spec, to try this script quickly: its figures are printed, RESULTS.md and "
                         "the committed screenshot are left alone.")
    args = ap.parse_args()
    global SPEC, OUT, SCREENSHOT
    if args.spec is not None:
        SPEC, OUT = args.spec.resolve(), ROOT / "out" / "bench_grid_try"
        SCREENSHOT = OUT / "report.png"
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    section = Section(f"Machine: {machine_description()}. Run started {started} UTC (the machine is shared: "
                      "timings include other jobs' load).", write=args.only is None and args.spec is None)
    warm_caches(SPEC)
    if args.only in (None, "resume"):
        resume(section, args.resume_methods.split(","))
    if args.only in (None, "executors"):
        executors(section, on_first=lambda results: report(section, results))
    if args.only == "report":
        report(section, OUT / "exec-0" / "results.jsonl")


if __name__ == "__main__":
    main()
