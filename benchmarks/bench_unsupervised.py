"""Seedless alignment on the data kit (issue 4): fr→fi with no dictionary, `align unsupervised` (with and
without the citation-form refit, `--citation-refine 5`) and `align adversarial`, each over several seeds, evaluated on fr-fi.test.txt (which the runs never see
except for this final evaluation). Writes the section "Unsupervised alignment (issue 4)" of
benchmarks/RESULTS.md after every run, so a partial benchmark still leaves its numbers.

Also runs `align unsupervised en fr` (MUSE's en-fr splits; `--en-seeds`, default 1) as the easy-pair
check: there one restart in three or four converges, which is why `--restarts` defaults to 8 and stops at
the first that converges.

    python benchmarks/bench_unsupervised.py [--seeds 5] [--adv-seeds 5] [--en-seeds 1] [--adv-args "--epochs 3"]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_description, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT.parent / "shared" / "bench"
V, D = KIT / "vectors", KIT / "dictionaries"
TITLE = "Unsupervised alignment (issue 4)"


def run(args: list[str], env: dict) -> tuple[dict, float, int]:
    """Run `align ARGS --json -q`; return the parsed JSON, the process wall time and the exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "align.cli", *args, "--json", "-q"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(f"align {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout), wall, proc.returncode


def spread(values: list[float]) -> str:
    """'mean ± sd (min–max)' of a list of P@1 figures."""
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f} ({min(values):.2f}–{max(values):.2f})"


def render(rows: dict[str, list[dict]], commands: dict[str, str], started: str, load: str) -> str:
    """The RESULTS.md section for the runs so far."""
    lines = [
        f"Machine: {machine_description()}. Run started {started} UTC; load average at start: {load} "
        "(the machine is shared, so timings include other jobs' load).",
        "",
        "fr→fi with **no seed dictionary**; `fr-fi.test.txt` (527 queries) is used only to score the kept mapping. "
        "Each row is one `--seed`; wall time is the whole `align` process (loading from the binary cache, fitting, "
        "failure check, evaluation). Commands:",
        "",
    ]
    lines += [f"- `{c}`" for c in commands.values()]
    lines += ["", "| method | seed | P@1 NN | P@1 CSLS | P@10 CSLS | criterion | distinctiveness / null | restarts run "
              "(converged) | failed (exit) | wall s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method, rs in rows.items():
        for r in rs:
            lines.append(f"| {method} | {r['seed']} | {r['nn']:.2f} | {r['csls']:.2f} | {r['csls10']:.2f} | "
                         f"{r['criterion']:.4f} | {r['dist']:.4f} / {r['null']:.4f} | {r['runs']} | "
                         f"{r['failed']} ({r['rc']}) | {r['wall']:.1f} |")
    lines += ["", "`failed` is the tool's own verdict, without the test set: a run fails when its distinctiveness (mean "
              "over the 10k most frequent source words of the nearest target's cosine minus the mean cosine of the next "
              "nine) exceeds that of random rotations of the same spaces by less than 0.04 "
              "(`align/aligners/unsupervised.py`, FAIL_EXCESS); a failed run exits with code 3."]
    lines += ["", "Spread over seeds (CSLS P@1, mean ± sd (min–max)):", ""]
    for method, rs in rows.items():
        lines.append(f"- {method}: {spread([r['csls'] for r in rs])} over {len(rs)} seeds; "
                     f"wall {spread([r['wall'] for r in rs]).replace('±', 's ±')}")
    lines += ["", "Reference on the same files: supervised Procrustes CSLS P@1 48.39 on fr→fi and 70.84 on en→fr (README of "
              "the kit); MUSE's adversarial run on fr→fi: P@1 0.0 after 72 min, with no sign of failure from its criterion."]
    lines += ["", NOTES]
    return "\n".join(lines)


NOTES = """\
**Citation forms (`--citation-refine 5`, align/citation.py).** Without seeds, self-learning on fr→fi converges to a
map that sends French nouns to Finnish inflected forms (année → vuoden, genitive) while the FreeDict test dictionary
lists lemmas (vuosi); see "where fr→fi errors go". The refit adds the missing prior without any seed: a dictionary
lists the least marked form of a paradigm, the shortest. Each word's citation form is the shortest of its 20
nearest neighbours in its own space with cosine ≥ 0.4 and the same first 3 letters (ties: the more frequent); the
kept map is refitted 5 times by weighted Procrustes on its mutual CSLS pairs among the 20k most frequent words of
each side, both words replaced by their citation forms, each citation pair weighted by the summed CSLS scores of the
pairs that collapse onto it. The settings (20 neighbours, cosine 0.4, 5 rounds, CSLS weights, both sides collapsed)
were chosen by P@1 on the *training* split `fr-fi.train.txt` (1,583 queries, which the method never sees), not on
the test split: seed-0 maps, train/test P@1: 20 nb / 0.4 / 5 rounds 47.5 / 44.4–47.4 over four base maps; 10 nb
46.7–47.9 on train; unweighted pairs 45.5–45.9 on train; target side only 46.0 on train; without collapsing (the same
refits on plain pairs) 37.5. It is not the default because it depends on what the dictionary lists: on en→fr, whose
MUSE dictionaries also list inflected forms, it costs about 2 points (rows above): plurals go to singulars
(armies → armée; the dictionary has armées) and French infinitives to shorter conjugated forms (introduce →
introduit). Tried on 2026-12-06 to keep en→fr (scratch script, seed-0 base maps; train / test P@1): keeping the
original pair when *both* of its words move (a plural pair stays plural) gives en→fr 75.6 / 70.8 (plain map 74.9 /
70.7) but fr→fi only 41.9–42.6 / 38.7–41.7; adding the original pair beside the collapsed one gives en→fr 74.9 /
70.1 and fr→fi 43.3–45.8 / 41.9–44.0. Neither keeps the fr→fi gain, so the refit collapses both words of every pair
and stays opt-in.

**Speed.** Self-learning's stochastic CSLS picks now take two blocked numpy passes (hubness terms, then both
directions' candidates from one product of [S, 1, −r_S/2]·[T, −r_T/2, 1], whose rows and columns are in CSLS order)
instead of four faiss flat searches. This run's machine is an Intel Xeon (2 cores; an 8k × 8k × 300 float32 product
at about 125 GFLOP/s, against 187 on the AMD EPYC of the earlier runs): there the previous code took 115 s for
`align unsupervised fr fi` seed 0 (36 s on the EPYC), this one 34 s to fit, with the same P@1 for seed 0 (35.48).

`--restarts N` (default 8 for `align unsupervised`, 1 for `align adversarial`) is the most runs: the first run
judged converged ends the search (`--all-restarts` runs them all), and the kept run is the best by the criterion
among those that converged. One run is not enough on the easy pair: on en→fr with seed 0 the restarts' criteria
were 0.415, 0.433, 0.421, 0.580, 0.439, 0.580, 0.579, 0.416 with the earlier code (all 8 run by hand: 3 of 8
converge, the others are flagged); fr→fi converges at the first restart for every seed above.

Self-learning uses mutual CSLS dictionaries (`--dictionary mutual`, the default) with a fixed 4k cut-off and one
final mutual fit over the whole vocabularies; `union` dictionaries with the cut-off raised 4k→10k gave 32.75 ± 1.09
(31.31–34.16) over the same 5 fr→fi seeds on an earlier (Intel) machine. Started from the supervised Procrustes map
instead, this self-learning loop drifts from 48.39 to 33.02 (44.2 with dropout off): the unsupervised objective
prefers the inflected-form solution; the citation refit is what moves it back.

The adversarial method also fails on en→fr (measured by hand on 2026-12-04 on the EPYC machine with `align
adversarial en fr --src-emb en.vec.gz --tgt-emb fr.vec.gz --dico-eval en-fr.5000-6500.txt --json -q`): CSLS P@1 0.0
with the CPU defaults (3 epochs of 50k samples, 106 s), 0.09 with 3 epochs of 250k (434 s), 0.0 with 2 epochs of 150k
on unnormalised vectors (`--normalize none`; the kit's raw vectors have very different norms, median 11.6 for en
against 25.6 for fr; 164 s), 0.0 with the map's learning rate raised to 1.0 or the inputs scaled by 5, and 0.0 with
1M samples (`--epochs 2 --epoch-size 500000`, 625 s; criterion 0.3898 → 0.3907, discriminator loss 0.44 → 0.375);
every run was flagged as failed (exit 3). The discriminator wins in all of them, so within a CPU budget of minutes
the MUSE recipe does not converge on these vocabularies; failure detection reports it, as the issue asks."""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--adv-seeds", type=int, default=5)
    ap.add_argument("--en-seeds", type=int, default=1, help="seeds of the en→fr check")
    ap.add_argument("--adv-args", default="", help="extra arguments for `align adversarial`")
    a = ap.parse_args()
    if not KIT.is_dir():
        raise SystemExit(f"data kit not found at {KIT}")
    tmp = Path(tempfile.mkdtemp(prefix="align-bench-"))
    env = dict(os.environ, ALIGN_CACHE=str(tmp / "cache"))
    base = ["fr", "fi", "--src-emb", str(V / "fr.vec.gz"), "--tgt-emb", str(V / "fi.vec.gz"),
            "--dico-eval", str(D / "fr-fi.test.txt")]
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    run(["bli-eval", "--src-emb", str(V / "fr.vec.gz"), "--tgt-emb", str(V / "fi.vec.gz"),
         "--dico", str(D / "fr-fi.test.txt"), "--retrieval", "nn"], env)  # fill the vector cache first
    base_en = ["en", "fr", "--src-emb", str(V / "en.vec.gz"), "--tgt-emb", str(V / "fr.vec.gz"),
               "--dico-eval", str(D / "en-fr.5000-6500.txt")]
    cite = ["--citation-refine", "5"]
    plan = [("unsupervised --citation-refine 5", ["unsupervised", *cite], a.seeds, base),
            ("unsupervised", ["unsupervised"], a.seeds, base),
            ("unsupervised, en→fr", ["unsupervised"], a.en_seeds, base_en),
            ("unsupervised --citation-refine 5, en→fr", ["unsupervised", *cite], a.en_seeds, base_en),
            ("adversarial", ["adversarial", *shlex.split(a.adv_args)], a.adv_seeds, base)]
    rows: dict[str, list[dict]] = {m: [] for m, _, n, _ in plan if n}
    commands = {m: "align " + " ".join(extra) + (" en fr --src-emb en.vec.gz --tgt-emb fr.vec.gz --dico-eval "
                                                 "en-fr.5000-6500.txt" if b is base_en else
                                                 " fr fi --src-emb fr.vec.gz --tgt-emb fi.vec.gz --dico-eval "
                                                 "fr-fi.test.txt") + " --seed S --json -q"
                for m, extra, n, b in plan if n}
    for method, extra, n, pair in plan:
        for seed in range(n):
            res, wall, rc = run([extra[0], *pair, *extra[1:], "--seed", str(seed)], env)
            e = res["eval"]
            rows[method].append({"seed": seed, "nn": e["nn"]["precision_at_1"], "csls": e["csls"]["precision_at_1"],
                                 "csls10": e["csls"]["precision_at_10"], "criterion": res["criterion"],
                                 "dist": res["distinctiveness"], "null": res["null_distinctiveness"],
                                 "failed": res["failed"], "rc": rc, "wall": wall,
                                 "runs": f"{len(res['restarts'])} ({sum(res['restarts_converged'])})"})
            print(method, rows[method][-1], flush=True)
            write_section(TITLE, render(rows, commands, started, load))


if __name__ == "__main__":
    main()
