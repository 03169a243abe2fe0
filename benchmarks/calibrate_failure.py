"""Calibration of the seedless methods' failure detection (align.aligners.restarts): the table behind
FAIL_EXCESS and HELDOUT_EXCESS.

Every restart run of `UnsupervisedAligner` (the defaults, seed 0) is judged twice: the distinctiveness of its
translations on the source words it was fitted on, and on held-out source words it never saw, each as an
excess over random rotations. The script records both for every run on

- spaces that share nothing: i.i.d. Gaussian clouds of several sizes and dimensions, and two unrelated
  clustered clouds (built here; every run must be judged failed);
- real pairs that align: the kit's fr→fi and en→fr, and two English spaces trained with `align train` on the
  two halves of the kit's corpus (every pair must converge on some restart).

No test dictionary takes part in the verdict; P@1 on the kit's test dictionaries is printed beside the real
pairs only to show that the runs judged converged are real alignments.

    python benchmarks/calibrate_failure.py                     # everything (an hour on 2 busy cores)
    python benchmarks/calibrate_failure.py --cases noise       # the built spaces only
    python benchmarks/calibrate_failure.py --cases en-halves --halves /tmp/en-halves   # trains them if absent
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from align import Dictionary, Embeddings, evaluate_bli  # noqa: E402
from align.aligners import restarts as R  # noqa: E402
from align.aligners.unsupervised import UnsupervisedAligner  # noqa: E402

KIT = ROOT.parent / "shared" / "bench"
NOISE = [(500, 20, 0), (500, 20, 1), (500, 20, 2), (2000, 50, 0), (2000, 50, 1), (1000, 300, 0), (1000, 300, 1),
         (5000, 300, 0)]


def gaussian(n: int, d: int, seed: int) -> tuple[Embeddings, Embeddings]:
    rng = np.random.default_rng(seed)
    return (Embeddings([f"a{i}" for i in range(n)], rng.normal(size=(n, d)).astype(np.float32)),
            Embeddings([f"b{i}" for i in range(n)], rng.normal(size=(n, d)).astype(np.float32)))


def clustered(seed: int, n: int = 800, dim: int = 32) -> np.ndarray:
    """Gaussian clusters of different sizes and spreads with a heavy-tailed scale (tests/test_unsupervised.py)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, dim)) * 2.0
    which = rng.choice(12, size=n, p=rng.dirichlet(np.ones(12) * 0.7))
    spread = rng.uniform(0.3, 1.5, size=12)
    x = centers[which] + rng.normal(size=(n, dim)) * spread[which, None]
    return (x * rng.lognormal(0.0, 0.3, size=(n, 1))).astype(np.float32)


def train_halves(folder: Path) -> tuple[Path, Path]:
    """en-a.vec and en-b.vec: `align train` (CBOW, dim 300, no subwords, 1 thread) on each half of the corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = KIT / "corpus" / "en-10M.txt.gz"
    with gzip.open(corpus, "rt", encoding="utf-8") as f:
        lines = f.readlines()
    half = len(lines) // 2
    out = []
    for name, part in (("en-a", lines[:half]), ("en-b", lines[half:])):
        vec = folder / f"{name}.vec"
        if not vec.exists():
            text = folder / f"{name}.txt.gz"
            with gzip.open(text, "wt", encoding="utf-8", compresslevel=1) as f:
                f.writelines(part)
            subprocess.run([sys.executable, "-m", "align", "train", "en", str(text), "--model", "cbow", "--dim", "300",
                            "--maxn", "0", "--threads", "1", "-o", str(folder / name), "-q"], check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        out.append(vec)
    return out[0], out[1]


def judge_spy(records: list[dict]):
    """Wrap restarts.judge so that every run's verdict is recorded (in-sample and held-out excess)."""
    original = R.judge

    def spy(X, Y, W, null, n, excess, held=None, held_null=0.0, **kw):
        v = original(X, Y, W, null, n, excess, held, held_null, **kw)
        records.append({"in_sample": round(v.distinctiveness - null, 4),
                        "heldout": None if v.heldout is None else round(v.heldout - held_null, 4),
                        "converged": v.converged})
        return v
    return original, spy


def run_case(name: str, src: Embeddings, tgt: Embeddings, restarts: int, test: Dictionary | None) -> dict:
    records: list[dict] = []
    original, spy = judge_spy(records)
    R.judge = spy
    import align.aligners.unsupervised as U
    U.judge = spy
    try:
        t0 = time.perf_counter()
        aligner = UnsupervisedAligner(seed=0, restarts=restarts)
        mapping = aligner.fit(src, tgt)
        seconds = time.perf_counter() - t0
    finally:
        R.judge = U.judge = original
    row = {"case": name, "kind": "real" if test is not None else "unrelated", "size": f"{len(src)}×{len(tgt)}×{src.dim}", "runs": records, "failed": aligner.failed_,
           "heldout_words": mapping.info["heldout_words"], "seconds": round(seconds, 1)}
    if test is not None:
        res = evaluate_bli(mapping.transform_embeddings(src), mapping.normalize_target(tgt), test, "csls")
        row["csls_p_at_1"] = round(res.precision_at_1, 2)
    print(json.dumps(row), flush=True)
    return row


def cases(selected: set[str], halves: Path, noise_restarts: int):
    if "noise" in selected:
        for n, d, seed in NOISE:
            yield (f"Gaussian noise, seed {seed}", *gaussian(n, d, seed), noise_restarts, None)
        yield ("clustered, unrelated",
               Embeddings([f"s{i}" for i in range(800)], clustered(3)),
               Embeddings([f"t{i}" for i in range(800)], clustered(4)), noise_restarts, None)
    vectors, dicos = KIT / "vectors", KIT / "dictionaries"
    if "fr-fi" in selected:
        yield ("kit fr→fi", Embeddings.load(vectors / "fr.vec.gz"), Embeddings.load(vectors / "fi.vec.gz"),
               R.RESTARTS, Dictionary.load(dicos / "fr-fi.test.txt"))
    if "en-fr" in selected:
        yield ("kit en→fr", Embeddings.load(vectors / "en.vec.gz"), Embeddings.load(vectors / "fr.vec.gz"),
               R.RESTARTS, Dictionary.load(dicos / "en-fr.5000-6500.txt"))
    if "en-halves" in selected:
        a, b = train_halves(halves)
        ea, eb = Embeddings.load(a), Embeddings.load(b)
        shared = [w for w in ea.words[:20000] if w in eb.index]
        identity = Dictionary([(w, w) for w in shared[5000:6500]], name="identical words ranked 5000-6500")
        yield ("English halves (en-a→en-b)", ea, eb, R.RESTARTS, identity)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="noise,fr-fi,en-fr,en-halves")
    ap.add_argument("--halves", type=Path, default=Path("/tmp/align-en-halves"),
                    help="Folder of the two English spaces (trained there when absent).")
    ap.add_argument("--noise-restarts", type=int, default=2, help="Restarts on the built spaces (all must fail).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the rows here.")
    args = ap.parse_args()
    selected = set(args.cases.split(","))
    rows = [run_case(*c) for c in cases(selected, args.halves, args.noise_restarts)]
    print(f"\n{'case':<28} {'size':>16} {'run':>3} {'in-sample':>9} {'held-out':>9} verdict")
    for r in rows:
        for i, run in enumerate(r["runs"]):
            print(f"{r['case']:<28} {r['size']:>16} {i:>3} {run['in_sample']:>+9.4f} {run['heldout']:>+9.4f} "
                  f"{'converged' if run['converged'] else 'failed'}")
    noise = [run["heldout"] for r in rows if r["kind"] == "unrelated" for run in r["runs"]]
    real = [max(run["heldout"] for run in r["runs"]) for r in rows if r["kind"] == "real"]
    if noise:
        print(f"unrelated spaces: largest held-out excess {max(noise):+.4f} over {len(noise)} runs")
    if real:
        print(f"real pairs: smallest best held-out excess {min(real):+.4f}")
    print(f"thresholds: FAIL_EXCESS {R.FAIL_EXCESS}, HELDOUT_EXCESS {R.HELDOUT_EXCESS}")
    for r in rows:
        extra = f", CSLS P@1 {r['csls_p_at_1']}" if "csls_p_at_1" in r else ""
        print(f"{r['case']}: {'FAILED' if r['failed'] else 'converged'} ({r['seconds']} s{extra})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
