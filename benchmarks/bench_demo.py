"""The README's main job, `align demo`, timed: its BLI table and wall time go to RESULTS.md (issue 5).

    python benchmarks/bench_demo.py      (needs `pip install -e ".[demo]"`)
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_description, write_section  # noqa: E402


def main() -> None:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "align.cli", "demo", "--json", "-q"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    res = json.loads(proc.stdout)
    lines = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d')}.", "",
             "Command: `align demo` (timed by `python benchmarks/bench_demo.py`): French `fr_core_news_md` vectors "
             f"({res['src_words']} words) → Finnish `spacy_fi_experimental_web_md` floret vectors for the "
             f"{res['tgt_words']} most frequent Finnish words (wordfreq), trained on the shipped "
             f"`dictionaries/fr-fi.train.txt` ({res['train_pairs']} pairs), tested on `dictionaries/fr-fi.test.txt`.",
             "", "| method | retrieval | P@1 | P@5 | P@10 | queries | coverage |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, row in res["results"].items():
        for retrieval, r in row["eval"].items():
            lines.append(f"| {label} | {retrieval} | {r['precision_at_1']:.2f} | {r['precision_at_5']:.2f} | "
                         f"{r['precision_at_10']:.2f} | {r['n_queries']} | {100 * r['coverage']:.1f}% |")
    lines += ["", "Translations (CSLS, top 3): " + "; ".join(f"{w} → {', '.join(c)}" for w, c in res["translations"].items()),
              "", f"Wall time of the whole command (new process, pipelines loaded from site-packages): **{wall:.1f} s** "
              f"(the run reports {res['seconds']:.1f} s after start-up). Target: under a minute.",
              "", "These dictionaries are this project's own FreeDict import (see `dictionaries/README.md`); their "
              "test split differs from the kit's `fr-fi.test.txt`, so these figures are not comparable with the kit's."]
    write_section("The README's main job: `align demo` (issue 5)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
