"""Scale (issue 21): 200k-word vocabularies on a CPU, and a 2M-word target space within memory.

    python benchmarks/bench_scale.py [--data DIR] [--only pair,kit,synthetic] [--repeat 3]
                                     [--baseline-repo ../main] [--no-full-check]

The pair (built once, outside the repository; see RESULTS.md "Scale" for the commands):
DIR/en150.vec (English CBOW, 107,441 words) and DIR/fi200k.vec (Finnish floret, 200,000 words); DIR is
--data, else $ALIGN_SCALE_DATA, else /work/scale-data. Without it the pair benchmarks are skipped with a
message. Dictionaries: the kit's en-fi.0-5000.txt / en-fi.5000-6500.txt (../shared/bench).

Measures, each `align` command in a fresh process (wall time around the process; peak resident memory
from the child's own /proc/self/status VmHWM, written at exit):
- pair:  loading each file from text (streaming into an empty cache) and from the cache;
         `align procrustes en fi --refine 5` from the binary cache (median of --repeat) and its CSLS P@1;
         `align bli-eval --retrieval csls` on the mapped pair (exact, and --approx);
         the full computation (every r_S over every source) on the same mapped pair: the same top-10 and
         P@1 as the bounded search, and --approx's recall of the exact top 10 (skipped by --no-full-check);
- kit:   the kit's supervised fr→fi run from the cache (median of 5), with --baseline-repo timed alike;
- synthetic: a 2,000,000 × 300 target .vec written to DIR/synthetic (streamed), its first load (streaming
         into the cache: peak memory against the file and the matrix), and CSLS evaluation of 1,500 queries
         against it from a 200,000-word source space (--synthetic-src to change).
Writes the section "Scale: 200k-word vocabularies and a 2M-word target space (issue 21)" of RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_info, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the in-process check imports this checkout's align, whatever is installed
KIT = REPO.parent / "shared" / "bench"
DICTS = KIT / "dictionaries"
TITLE = "Scale: 200k-word vocabularies and a 2M-word target space (issue 21)"

# Runs `align ARGS` in this process and writes the peak resident memory (VmHWM of this process image, not
# counting the parent as ru_maxrss after fork would) to the file named first.
PEAK_WRAPPER = r"""
import atexit, re, sys
out = sys.argv[1]
def peak():
    text = open("/proc/self/status").read()
    open(out, "w").write(re.search(r"VmHWM:\s+(\d+)", text).group(1))
atexit.register(peak)
sys.argv = ["align", *sys.argv[2:]]
from align.cli import main
main()
"""

LOAD_PROBE = r"""
import json, re, sys, time
t = time.perf_counter()
from align import Embeddings
e = Embeddings.load(sys.argv[1])
n = len(e)
sec = time.perf_counter() - t
text = open("/proc/self/status").read()
kib = lambda key: int(re.search(key + r":\s+(\d+)", text).group(1))
# VmHWM counts the pages of the memory-mapped cache that the load touched (it checks every value is finite):
# file-backed, shared with the page cache; RssAnon at exit is the process's own memory.
print(json.dumps({"seconds": sec, "words": n, "from_cache": e.report.from_cache, "parser": e.report.parser,
                  "peak_kib": kib("VmHWM"), "anon_kib": kib("RssAnon"), "file_kib": kib("RssFile")}))
"""


def env_for(repo: Path, cache: Path | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(repo))
    if cache is not None:
        env["ALIGN_CACHE"] = str(cache)
    return env


def child_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_align(args: list[str], env: dict) -> tuple[dict, float, float]:
    """`align ARGS --json -q` in a fresh process: (its JSON with "cpu_seconds" added, wall seconds, peak
    resident MiB). CPU time is what a busy shared machine distorts least."""
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        t0, c0 = time.perf_counter(), child_cpu()
        proc = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, peak.name, *args, "--json", "-q"], env=env,
                              capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, child_cpu() - c0
        if proc.returncode != 0:
            raise SystemExit(f"align {' '.join(args)} failed: {proc.stderr.strip()}")
        kib = int(Path(peak.name).read_text() or 0)
    return {**json.loads(proc.stdout), "cpu_seconds": cpu}, wall, kib / 1024.0


def load_probe(path: Path, env: dict) -> dict:
    c0 = child_cpu()
    proc = subprocess.run([sys.executable, "-c", LOAD_PROBE, str(path)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"loading {path} failed: {proc.stderr.strip()}")
    return {**json.loads(proc.stdout), "cpu_seconds": child_cpu() - c0}


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- the 200k pair -------------------------------------------------------------

def bench_pair(data: Path, repeat: int, full_check: bool, scratch: Path) -> dict:
    src, tgt = data / "en150.vec", data / "fi200k.vec"
    out: dict = {"files": {}}
    # Loading: read-only links so that the caches go to a fresh $ALIGN_CACHE (the pair's own caches stay).
    ro = scratch / "ro"
    ro.mkdir()
    for p in (src, tgt):
        (ro / p.name).symlink_to(p.resolve())
    ro.chmod(0o555)
    lenv = env_for(REPO, scratch / "load-cache")
    for p in (src, tgt):
        first = load_probe(ro / p.name, lenv)
        cached = min((load_probe(ro / p.name, lenv) for _ in range(3)), key=lambda r: r["seconds"])
        out["files"][p.name] = {"bytes": p.stat().st_size, "text": first, "cache": cached}
        print(p.name, first, cached, flush=True)
    ro.chmod(0o755)

    env = env_for(REPO)  # the pair's caches beside the files
    common = ["en", "fi", "--src-emb", str(src), "--tgt-emb", str(tgt), "--dico-train", str(DICTS / "en-fi.0-5000.txt"),
              "--dico-eval", str(DICTS / "en-fi.5000-6500.txt"), "--refine", "5"]
    mapping = scratch / "map"
    res, wall, peak = run_align(["procrustes", *common, "--output", str(mapping)], env)  # warm-up, writes the mapping
    out["with_output"] = {"wall": wall, "peak_mib": peak, "seconds": res["seconds"]}
    runs = []
    for _ in range(repeat):
        res, wall, peak = run_align(["procrustes", *common], env)
        runs.append({"wall": wall, "cpu": res["cpu_seconds"], "peak_mib": peak, "seconds": res["seconds"],
                     "fit": res.get("fit_seconds"),
                     "nn": res["eval"]["nn"], "csls": res["eval"]["csls"], "load": load_avg()})
        print("procrustes", wall, peak, res["eval"]["csls"]["precision_at_1"], flush=True)
    out["procrustes"] = runs
    evals = {}
    for label, extra in (("exact", []), ("approx", ["--approx"])):
        rs = []
        for _ in range(repeat):
            res, wall, peak = run_align(["bli-eval", "--src-emb", str(src), "--tgt-emb", str(tgt), "--mapping",
                                         str(mapping), "--dico", str(DICTS / "en-fi.5000-6500.txt"), "--retrieval",
                                         "csls", *extra], env)
            rs.append({"wall": wall, "peak_mib": peak, "result": res, "load": load_avg()})
            print("bli-eval", label, wall, peak, res["precision_at_1"], flush=True)
        evals[label] = rs
    out["bli_eval"] = evals
    if full_check:
        out["full_check"] = full_computation_check(src, tgt, mapping)
    return out


def full_computation_check(src_path: Path, tgt_path: Path, mapping_dir: Path) -> dict:
    """The bounded search, --approx and the full computation (r_S of every target over every source) on the
    mapped pair: the same top 10? recall of --approx, P@1 of each."""
    import numpy as np

    from align import Dictionary, Embeddings
    from align.search.bounded import csls_bounded
    from align.search.csls import csls_topk, hubness
    from align.search.evaluate import bli_queries, precision_at
    from align.space.mapping import Mapping
    from align.space.normalize import unit_rows

    m = Mapping.load(mapping_dir)
    s_emb, t_emb = m.transform_embeddings(Embeddings.load(src_path)), m.normalize_target(Embeddings.load(tgt_path))
    rows, gold, _ = bli_queries(s_emb, t_emb, Dictionary.load(DICTS / "en-fi.5000-6500.txt"))
    S, T = unit_rows(s_emb.vectors), unit_rows(t_emb.vectors)
    q = np.ascontiguousarray(S[rows])
    t0 = time.perf_counter()
    b_scores, b_ids = csls_bounded(S, T, rows, 10)
    t_bounded = time.perf_counter() - t0
    t0 = time.perf_counter()
    a_scores, a_ids = csls_bounded(S, T, rows, 10, approx=True)
    t_approx = time.perf_counter() - t0
    t0 = time.perf_counter()
    r_src = hubness(T, S, 10)  # the full hubness pass
    f_scores, f_ids, _, _ = csls_topk(q, T, 10, hubness(q, T, 10), r_src)
    t_full = time.perf_counter() - t0
    def prec(ids):
        return {str(k): v for k, v in precision_at(ids, gold).items()}

    same = float((b_ids == f_ids).mean())
    differ = b_ids != f_ids
    recall = float(np.mean([len(set(a) & set(f)) / 10 for a, f in zip(a_ids.tolist(), f_ids.tolist())]))
    top1 = float(np.mean(a_ids[:, 0] == f_ids[:, 0]))
    out = {"queries": int(len(rows)), "bounded_seconds": t_bounded, "approx_seconds": t_approx,
           "full_seconds": t_full, "same_ids": same, "max_score_diff": float(np.abs(b_scores - f_scores).max()),
           "differing_ranks_max_gap": float(np.abs(b_scores - f_scores)[differ].max()) if differ.any() else 0.0,
           "p_full": prec(f_ids), "p_bounded": prec(b_ids), "p_approx": prec(a_ids), "approx_recall_at_10": recall, "approx_same_top1": top1,
           "load": load_avg()}
    print("full check", out, flush=True)
    return out


# ---- the kit's fr→fi run --------------------------------------------------------

def bench_kit(repos: dict[str, Path], repeat: int, scratch: Path) -> dict:
    V = KIT / "vectors"
    args = ["procrustes", "fr", "fi", "--src-emb", str(V / "fr.vec.gz"), "--tgt-emb", str(V / "fi.vec.gz"),
            "--dico-train", str(DICTS / "fr-fi.train.txt"), "--dico-eval", str(DICTS / "fr-fi.test.txt"),
            "--refine", "5", "--output", str(scratch / "kit-out")]
    out = {}
    for name, repo in repos.items():
        env = env_for(repo, scratch / f"kit-cache-{name}")
        run_align(args, env)  # warm-up: parses the text into the cache
        walls, cpus, p1 = [], [], None
        for _ in range(repeat):
            res, wall, _ = run_align(args, env)
            walls.append(wall)
            cpus.append(res["cpu_seconds"])
            p1 = res["eval"]["csls"]["precision_at_1"]
        out[name] = {"walls": walls, "median": statistics.median(walls), "cpu_median": statistics.median(cpus),
                     "csls_p1": p1, "load": load_avg()}
        print("kit", name, out[name], flush=True)
    return out


# ---- the 2M synthetic target space ----------------------------------------------

SYNTH = r"""
import numpy as np
BLOCK, D, CONCEPTS = 65536, 300, 5000
# Noise with a decaying spectrum, as in real word vectors (a few directions carry most of the variance).
SHAPE = (np.arange(1, D + 1, dtype=np.float32) ** -0.6)
SHAPE *= np.sqrt(D) / np.linalg.norm(SHAPE)

def centers(seed):
    rng = np.random.default_rng([seed, 1 << 30])
    c = rng.standard_normal((CONCEPTS, D), dtype=np.float32) * SHAPE
    return c / np.linalg.norm(c, axis=1, keepdims=True)

def block(b, n_total, seed, c):
    # Rows b*BLOCK…: source x_i = a concept + noise growing with the rank (rare words are noisier); its
    # translation y_i = x_i + noise. Deterministic per block, whoever generates it.
    rng = np.random.default_rng([seed, b])
    n = min(BLOCK, n_total - b * BLOCK)
    z = (CONCEPTS * rng.random(n, dtype=np.float32) ** 2).astype(np.int64)  # some concepts have more words
    rank = (b * BLOCK + np.arange(n, dtype=np.float32)) / n_total
    x = c[z] + (0.04 + 0.04 * rank)[:, None] * rng.standard_normal((n, D), dtype=np.float32) * SHAPE
    y = x + 0.05 * rng.standard_normal((n, D), dtype=np.float32) * SHAPE
    return x, y
"""

WRITE_SYNTH = SYNTH + r"""
import sys
from align.store.text import vec_text
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = centers(seed)
with open(path + ".part", "wb") as f:
    f.write(f"{n} {D}\n".encode())
    for b in range(-(-n // BLOCK)):
        _, y = block(b, n, seed, c)
        words = [f"t{i:07d}" for i in range(b * BLOCK, b * BLOCK + len(y))]
        f.write(vec_text(words, y, 4).split(b"\n", 1)[1])
import os
os.replace(path + ".part", path)
"""

EVAL_SYNTH = SYNTH + r"""
import json, re, sys, time
import numpy as np
from align import Embeddings
from align.search import retrieve
from align.search.evaluate import precision_at
path, n_tgt, n_src, seed, n_q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t0 = time.perf_counter()
tgt = Embeddings.load(path)
t_load = time.perf_counter() - t0
c = centers(seed)
src = np.concatenate([block(b, n_tgt, seed, c)[0] for b in range(-(-n_src // BLOCK))])[:n_src]
queries = np.sort(np.random.default_rng(seed).choice(n_src, n_q, replace=False))
before = int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1))
t0 = time.perf_counter()
scores, ids = retrieve(src, tgt.vectors, queries, k=10, method="csls", approx=len(sys.argv) > 6)
sec = time.perf_counter() - t0
peak = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
p = precision_at(ids, [{int(i)} for i in queries])
print(json.dumps({"load_seconds": t_load, "from_cache": tgt.report.from_cache, "seconds": sec,
                  "rss_before_mib": before / 1024, "peak_mib": peak / 1024, "p": p, "targets": len(tgt),
                  "sources": n_src, "queries": n_q}))
"""


def _split(load: dict) -> str:
    """What of a load's peak RSS is the memory-mapped cache's file pages (when the probe recorded it)."""
    if "anon_kib" not in load:
        return ""
    return (f"; at exit {load['file_kib'] / 1024:.0f} MiB of it file-backed pages of the memory-mapped cache "
            f"(touched by the finiteness check, reclaimable) and {load['anon_kib'] / 1024:.0f} MiB the process's own")


def bench_synthetic(data: Path, n_tgt: int, n_src: int, seed: int = 0) -> dict:
    folder = data / "synthetic"
    folder.mkdir(exist_ok=True)
    path = folder / f"tgt{n_tgt}.vec"
    out: dict = {}
    env = env_for(REPO)
    if not path.exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WRITE_SYNTH, str(path), str(n_tgt), str(seed)], env=env, check=True)
        out["write_seconds"] = time.perf_counter() - t0
    out["bytes"] = path.stat().st_size
    shutil.rmtree(path.with_name(path.name + ".align-cache"), ignore_errors=True)
    out["first_load"] = load_probe(path, env)  # streams the text into the cache
    out["cache_load"] = load_probe(path, env)
    print("synthetic load", out, flush=True)
    for label, extra in (("exact", []), ("approx", ["approx"])):
        c0 = child_cpu()
        proc = subprocess.run([sys.executable, "-c", EVAL_SYNTH, str(path), str(n_tgt), str(n_src), str(seed), "1500",
                               *extra], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"synthetic evaluation failed: {proc.stderr.strip()}")
        out[label] = {**json.loads(proc.stdout), "load": load_avg(), "process_cpu_seconds": child_cpu() - c0}
        print("synthetic", label, out[label], flush=True)
    return out


# ---- report -----------------------------------------------------------------------

def _cpu(sec) -> str:
    return "—" if sec is None else f"{sec:.1f} s"


def render(res: dict, args) -> str:
    info = machine_info()
    lines = [f"Machine: {info['nproc']} cores ({info['cpu']}), {info['ram']} RAM, Python {info['python']}; no GPU. "
             f"Date: {time.strftime('%Y-%m-%d %H:%M')} UTC; load average at the start {res['load_start']}, at the end "
             f"{load_avg()} (1/5/15 min; a shared machine: every wall time here is indicative).",
             "", f"Command: `python benchmarks/bench_scale.py {res.get('command', '')}`.", ""]
    pair = res.get("pair")
    if pair:
        mib = lambda r: f"{r['peak_mib']:.0f} MiB"  # noqa: E731
        lines += ["The pair: `en150.vec` (107,441 English words, CBOW trained by `align train`) → `fi200k.vec` (Finnish "
                  "floret vectors of the 200,000 most frequent wordfreq words); MUSE en-fi dictionaries.", "",
                  "| file | size | load from text (streamed into an empty cache) | peak RSS | load from the cache | peak RSS |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, f in pair["files"].items():
            lines.append(f"| `{name}` | {f['bytes'] / 2**20:.0f} MiB | {f['text']['seconds']:.2f} s ({f['text']['parser']}) "
                         f"| {f['text']['peak_kib'] / 1024:.0f} MiB | {f['cache']['seconds']:.3f} s "
                         f"| {f['cache']['peak_kib'] / 1024:.0f} MiB |")
        runs = pair["procrustes"]
        lines += ["", "`align procrustes en fi --src-emb en150.vec --tgt-emb fi200k.vec --dico-train en-fi.0-5000.txt "
                  "--dico-eval en-fi.5000-6500.txt --refine 5 --json -q`, vectors from the binary cache:", "",
                  "| run | process wall | process CPU | reported `seconds` | fit | NN eval | CSLS eval | peak RSS | CSLS P@1 "
                  "| NN P@1 | load avg |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for i, r in enumerate(runs, 1):
            lines.append(f"| {i} | {r['wall']:.1f} s | {_cpu(r.get('cpu'))} | {r['seconds']:.1f} s | {r['fit']:.1f} s | {r['nn']['seconds']:.1f} s "
                         f"| {r['csls']['seconds']:.1f} s | {mib(r)} | {r['csls']['precision_at_1']:.2f} "
                         f"| {r['nn']['precision_at_1']:.2f} | {r['load']} |")
        lines.append(f"| **median** | **{statistics.median(r['wall'] for r in runs):.1f} s** | | | | | "
                     f"| **{statistics.median(r['peak_mib'] for r in runs):.0f} MiB** | | | |")
        w = pair["with_output"]
        lines += ["", f"The same with `--output DIR` (writes the mapping, the mapped .vec, induced.txt): "
                  f"{w['wall']:.1f} s wall, peak {w['peak_mib']:.0f} MiB.", "",
                  "`align bli-eval --src-emb en150.vec --tgt-emb fi200k.vec --mapping DIR --dico en-fi.5000-6500.txt "
                  "--retrieval csls --json -q` (from the cache):", "",
                  "| retrieval | process wall (each run) | process CPU | peak RSS | P@1 | P@5 | P@10 | load avg |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label, rs in pair["bli_eval"].items():
            r = rs[-1]["result"]
            walls = ", ".join(f"{x['wall']:.1f} s" for x in rs)
            lines.append(f"| CSLS{' --approx' if label == 'approx' else ' (exact)'} | "
                         f"{walls} | {_cpu(r.get('cpu_seconds'))} | {max(x['peak_mib'] for x in rs):.0f} MiB "
                         f"| {r['precision_at_1']:.2f} | {r['precision_at_5']:.2f} | {r['precision_at_10']:.2f} | {rs[-1]['load']} |")
        fc = pair.get("full_check")
        if fc:
            pf, pb, pa = fc["p_full"], fc["p_bounded"], fc["p_approx"]
            lines += ["", f"Against the full computation (r_S of all 200,000 targets over all 107,441 mapped sources, "
                      f"in process, {fc['queries']} queries, load {fc['load']}):", "",
                      "| search | time | P@1 | P@5 | P@10 | top 10 equal to the full computation's |",
                      "| --- | --- | --- | --- | --- | --- |",
                      f"| full hubness pass | {fc['full_seconds']:.1f} s | {pf['1']:.2f} | {pf['5']:.2f} | {pf['10']:.2f} | — |",
                      f"| bounded (default, exact) | {fc['bounded_seconds']:.1f} s | {pb['1']:.2f} | {pb['5']:.2f} | {pb['10']:.2f} "
                      f"| {100 * fc['same_ids']:.2f}% of ranks (largest score difference {fc['max_score_diff']:.1e}) |",
                      f"| `--approx` | {fc['approx_seconds']:.1f} s | {pa['1']:.2f} | {pa['5']:.2f} | {pa['10']:.2f} "
                      f"| recall of the exact top 10: {fc['approx_recall_at_10']:.3f}; same top 1: "
                      f"{100 * fc['approx_same_top1']:.1f}% |"]
    kit = res.get("kit")
    if kit:
        lines += ["", "The kit's supervised fr→fi run (`align procrustes fr fi … --refine 5 --output DIR`, from the cache, "
                  f"{len(next(iter(kit.values()))['walls'])} runs each, same machine, one after the other):", "",
                  "| code | median process wall | median process CPU | runs | CSLS P@1 | load avg |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, k in kit.items():
            lines.append(f"| {name} | {k['median']:.2f} s | {_cpu(k.get('cpu_median'))} "
                         f"| {', '.join(f'{w:.2f}' for w in k['walls'])} "
                         f"| {k['csls_p1']:.2f} | {k['load']} |")
    syn = res.get("synthetic")
    if syn:
        fl, cl = syn["first_load"], syn["cache_load"]
        matrix = fl["words"] * 300 * 4 / 2**20
        lines += ["", f"Synthetic target space: {fl['words']:,} × 300 `.vec` ({syn['bytes'] / 2**30:.2f} GiB of text, "
                  f"4 decimals; matrix {matrix / 1024:.2f} GiB); clustered rows (5,000 concepts, unevenly used; noise with "
                  "a decaying spectrum, growing with the rank), the translation of source row i is target row i.", "",
                  f"- first load, streamed into the cache: {fl['seconds']:.1f} s, peak RSS {fl['peak_kib'] / 1024:.0f} MiB "
                  f"(parser: {fl['parser']}){_split(fl)};",
                  f"- load from the cache: {cl['seconds']:.2f} s, peak RSS {cl['peak_kib'] / 1024:.0f} MiB "
                  f"(memory-mapped){_split(cl)}.", "",
                  "| CSLS of 1,500 queries | sources | time | process CPU | RSS before | peak RSS | P@1 | P@10 | load avg |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label in ("exact", "approx"):
            r = syn.get(label)
            if r:
                lines.append(f"| {label} | {r['sources']:,} | {r['seconds']:.1f} s | {_cpu(r.get('process_cpu_seconds'))} "
                             f"| {r['rss_before_mib']:.0f} MiB | {r['peak_mib']:.0f} MiB | {r['p']['1']:.2f} "
                             f"| {r['p']['10']:.2f} | {r['load']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("ALIGN_SCALE_DATA", "/work/scale-data")))
    ap.add_argument("--only", default="pair,kit,synthetic")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kit-repeat", type=int, default=5)
    ap.add_argument("--baseline-repo", type=Path, default=None, help="also time the kit run with this checkout")
    ap.add_argument("--no-full-check", dest="full_check", action="store_false")
    ap.add_argument("--synthetic-words", type=int, default=2_000_000)
    ap.add_argument("--synthetic-src", type=int, default=200_000)
    ap.add_argument("--json-out", type=Path, default=None, help="also save the raw figures here")
    ap.add_argument("--render-from", type=Path, nargs="+", default=None,
                    help="write the section from saved --json-out files (merged, later files win) without running")
    args = ap.parse_args()
    if args.render_from:
        res = {}
        for f in args.render_from:
            res.update(json.loads(f.read_text()))
        write_section(TITLE, render(res, args))
        return
    only = set(args.only.split(","))
    res: dict = {"load_start": load_avg(), "command": " ".join(sys.argv[1:])}
    scratch = Path(tempfile.mkdtemp(prefix="align-scale-"))
    try:
        have_pair = (args.data / "en150.vec").is_file() and (args.data / "fi200k.vec").is_file()
        if ("pair" in only or "synthetic" in only) and not args.data.is_dir():
            print(f"skipping the pair and synthetic benchmarks: no data folder {args.data} (see --data)")
        if "pair" in only:
            if not have_pair or not DICTS.is_dir():
                print(f"skipping the pair benchmark: {args.data}/en150.vec, fi200k.vec or the kit's dictionaries "
                      f"({DICTS}) missing; build them with the commands in RESULTS.md (Scale)")
            else:
                res["pair"] = bench_pair(args.data, args.repeat, args.full_check, scratch)
        if "kit" in only:
            if not KIT.is_dir():
                print(f"skipping the kit benchmark: no kit at {KIT}")
            else:
                repos = {"this branch": REPO}
                if args.baseline_repo:
                    repos[f"baseline ({args.baseline_repo})"] = args.baseline_repo.resolve()
                res["kit"] = bench_kit(repos, args.kit_repeat, scratch)
        if "synthetic" in only and args.data.is_dir():
            res["synthetic"] = bench_synthetic(args.data, args.synthetic_words, args.synthetic_src)
    finally:
        for d, _, _ in os.walk(scratch):
            os.chmod(d, 0o755)
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(res, indent=1, default=str))
    if any(k in res for k in ("pair", "kit", "synthetic")):
        write_section(TITLE, render(res, args))


if __name__ == "__main__":
    main()
