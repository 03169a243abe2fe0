"""Training benchmark: `align train` on the kit's 10M-word English Wikipedia slice.

    python benchmarks/bench_train.py                      # cbow, dim 300, 5 epochs, 2 threads (~5 min on 2 cores)
    python benchmarks/bench_train.py --model skipgram     # about 4-5x slower

Runs the command line exactly as a user would, times it, and writes/updates the section
"## Training fastText (issue 5)" of benchmarks/RESULTS.md (other sections are left as they
are). The model is written to a temporary folder that is deleted at the end (the .bin of a
300-dim model with 2M subword buckets is about 2.4 GB); nothing is written into the kit.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_info, replace_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "bench" / "corpus" / "en-10M.txt.gz"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
HEADING = "## Training fastText (issue 5)"


def machine() -> dict:
    """The shared machine description, plus this script's library versions."""
    info = machine_info()
    from importlib.metadata import version

    info["fasttext"] = version("fasttext-wheel")
    return info


def render(info: dict, r: dict, wall: float, command: str, sizes: dict) -> str:
    """The markdown section."""
    fw = r.get("fasttext_words_per_sec_thread")
    lines = [
        HEADING, "",
        f"Run on {_dt.date.today().isoformat()}: {info['nproc']} CPU cores ({info['cpu']}), {info['ram']} RAM, "
        f"Python {info['python']}, fasttext-wheel {info['fasttext']}; load average before the run "
        f"{info['load_before']} (a machine shared with other jobs: timings are indicative).", "",
        "```", command, "```", "",
        "| | |", "| --- | --- |",
        f"| corpus | `{Path(r['corpus']).name}`: {r['tokens']:,} words, {r['lines']:,} lines |",
        f"| model | {r['model']}, dim {r['dim']}, {r['epochs']} epochs, min count 5, subwords 3–6, "
        f"{r['threads']} threads |",
        f"| vocabulary | {r['vocab_size']:,} words |",
        f"| wall time of the command | **{wall:.1f} s** ({wall / 60:.1f} min) |",
        f"| of which fastText training (vocabulary pass + {r['epochs']} epochs) | {r['train_seconds']:.1f} s |",
        f"| of which corpus check/decompression and writing .bin/.vec/cache | "
        f"{r['seconds'] - r['train_seconds']:.1f} s (+ {wall - r['seconds']:.1f} s start-up) |",
        f"| throughput | **{r['words_per_sec']:,.0f} words/s** (corpus words × epochs / training time) |",
        f"| fastText's own figure | {fw:,} words/s/thread at the end |" if fw else "| fastText's own figure | — |",
        f"| output | `.bin` {sizes['bin'] / 2**30:.2f} GiB, `.vec` {sizes['vec'] / 2**20:.0f} MiB |",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--model", choices=("cbow", "skipgram"), default="cbow")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--no-write", action="store_true", help="Print the section, do not touch RESULTS.md.")
    args = ap.parse_args()
    if not args.corpus.exists():
        print(f"skipped: {args.corpus} not found (the benchmark kit lives in ../shared/bench)", file=sys.stderr)
        return 0
    info = machine()
    align = shutil.which("align")
    prog = [align] if align else [sys.executable, "-c", "from align.cli import main; main()"]
    work = Path(tempfile.mkdtemp(prefix="align-bench-train-"))
    try:
        out = work / "en"
        cmd = prog + ["train", "en", str(args.corpus), "--model", args.model, "--dim", str(args.dim),
                      "--epochs", str(args.epochs), "--min-count", "5", "--threads", str(args.threads),
                      "--output", str(out), "--json"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print(f"align train failed with exit code {proc.returncode}", file=sys.stderr)
            return proc.returncode
        r = json.loads(proc.stdout)
        sizes = {"bin": (work / "en.bin").stat().st_size, "vec": (work / "en.vec").stat().st_size}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    try:
        rel = args.corpus.resolve().relative_to(REPO.parent)
        shown = "../" + str(rel)
    except ValueError:
        shown = str(args.corpus)
    command = shlex.join(["align", "train", "en", shown, "--model", args.model, "--dim", str(args.dim),
                          "--epochs", str(args.epochs), "--min-count", "5", "--threads", str(args.threads),
                          "--output", "OUT/en"])
    section = render(info, r, wall, command, sizes)
    print(section)
    if not args.no_write:
        replace_section(section)
        print(f"updated {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
