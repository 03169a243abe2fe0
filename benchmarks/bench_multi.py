"""One shared space for en, fr, fi (issue 22): pivot and joint BLI on the data kit.

Two stages, each rerunnable:

- `tune`: chooses the joint mode's settings on data carved from the TRAINING dictionaries only.
  Zero-shot dev: fit on the four MUSE training splits (no fr-fi dictionary) and score fr→fi on
  `fr-fi.train.txt` (a training dictionary, never used for fitting here). Held-out dev: a fifth
  of the source words of `en-fr.0-5000` and of `fr-fi.train.txt` is held out (with every pair of
  the reverse dictionary that holds a held-out word), the model is fitted on all the rest, and
  en→fr and fr→fi are scored on the held-out pairs. The default is the configuration with the
  best mean over the three dev scores.
- `rounds`: a second stage on the same dev data: the number of refinement rounds for the
  library's defaults (the first stage's winner).
- `steps`: a third stage on the same dev data: whether language pairs with no dictionary are balanced
  too (`balance_induced`) and the multi-step framework around GPA (`whiten`), from the library's defaults.
- `induction`: a fourth stage on the same dev data: how many words induction looks at (`refine_vocab`) and
  the weight of induced pairs, from the library's defaults (the third stage's winner).
- `reweight`: a fifth stage on the same dev data: the multi-step framework with lighter re-weighting (the
  third stage's re-weighting by 0.5 cost fr→fi most).
- `filter`: a sixth stage on the same dev data: refinement on the induced pairs whose words look like
  dictionary words only (`refine_filter`, the bilingual seed-likeness filter applied to both languages).
- `fr-fi`: fr↔fi as the issue's pivot baseline was measured (only the fr-fi test pairs withheld,
  so the MUSE training splits stay whole): joint (defaults), hub, the zero-shot dev winner.
- `final`: the library's defaults, every direction among en, fr, fi on the test dictionaries
  (`*.5000-6500`, `fr-fi.test.txt`, reversed for fi→fr), in two settings: without any fr-fi
  dictionary (hub = pivot through English, and joint) and with all dictionaries (joint), beside
  bilingual Procrustes + 5 refinements fitted on the same pairs.

No test pair reaches a fit: every training pair that a test dictionary lists, in either direction,
is withheld (the MUSE fr-en training split holds 595 of the en→fr test pairs reversed, en-fr 912
of the fr→en ones); one shared space per setting then serves all six directions.

    python benchmarks/bench_multi.py [--only tune|rounds|steps|induction|reweight|filter|hub|final|fr-fi]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from results import machine_description, write_section  # noqa: E402

from align import Dictionary, Embeddings, evaluate_bli  # noqa: E402
from align.aligners import ProcrustesAligner  # noqa: E402
from align.multi import MultiAligner  # noqa: E402

KIT = ROOT.parent / "shared" / "bench"
V, D = KIT / "vectors", KIT / "dictionaries"
LANGS = ("en", "fr", "fi")
MUSE_PAIRS = (("en", "fr"), ("fr", "en"), ("en", "fi"), ("fi", "en"))
DIRECTIONS = (("fr", "fi"), ("fi", "fr"), ("en", "fr"), ("fr", "en"), ("en", "fi"), ("fi", "en"))
# Candidates: normalisation (the bilingual default, or iterative normalisation, Zhang et al. 2019), the weight
# of induced pairs against seed pairs, and whether each language pair weighs the same (balance).
TUNE_GRID = [dict(normalize=norm, induced_weight=w, balance=bal)
             for norm, w in ((("unit", "center", "unit"), 1.0), (("iternorm",), 1.0), (("iternorm",), 0.5))
             for bal in (False, True)]
# The grid's winner on the zero-shot dev score alone (fr→fi scored on fr-fi.train.txt, no fr-fi dictionary
# fitted): the setting tuned for a language pair with no dictionary, reported beside the default.
ZERO_SHOT = dict(normalize=("iternorm",), induced_weight=0.5, balance=False)
ROUNDS = (5, 10)  # second tuning stage: refinement rounds of the first stage's winner
DEV_FRACTION = 0.2
# Third stage: the library's defaults at the time ({}), then balance only the language pairs that have a
# dictionary, and the multi-step framework (whitening, GPA, re-weighting, de-whitening) with either balance.
STEP_GRID = [{}, {"balance_induced": False}, {"whiten": True}, {"whiten": True, "balance_induced": False}]
# Fourth stage, from the third stage's winner: induced pairs among more or fewer words (a fifth of the fr-fi
# dev sources rank beyond 8,000 in fr.vec), and induced pairs at a lower weight.
INDUCTION_GRID = [{}, {"refine_vocab": 15000}, {"refine_vocab": 5000}, {"induced_weight": 0.25}]
# Fifth stage: whitening and de-whitening with lighter re-weighting (0: none) against the defaults.
REWEIGHT_GRID = [{}, {"whiten": True, "reweight": 0.0}, {"whiten": True, "reweight": 0.25}]
# Sixth stage: the seed-likeness filter on induced pairs (the bilingual default percentile 25, and a looser 10).
FILTER_GRID = [{}, {"refine_filter": 25}, {"refine_filter": 10}]
# Seventh stage: hub mode (every language onto English) with Procrustes + refinement maps and with RCSLS maps,
# against the joint defaults.
HUB_GRID = [{}, {"mode": "hub", "hub": "en"}, {"mode": "hub", "hub": "en", "hub_method": "rcsls"}]
# The dev stages that change the defaults' parameters: --only name -> (RESULTS section title, grid).
DEV_STAGES = {"steps": ("balance and the multi-step framework", STEP_GRID),
              "induction": ("induced pairs", INDUCTION_GRID),
              "reweight": ("multi-step re-weighting", REWEIGHT_GRID),
              "filter": ("filtered induced pairs", FILTER_GRID),
              "hub": ("hub mode with RCSLS maps", HUB_GRID)}


def load_kit() -> tuple[dict, dict, dict]:
    """Vectors, training dictionaries and test dictionaries (keyed by (src, tgt))."""
    spaces = {lang: Embeddings.load(V / f"{lang}.vec.gz") for lang in LANGS}
    train = {(s, t): Dictionary.load(D / f"{s}-{t}.0-5000.txt") for s, t in MUSE_PAIRS}
    train[("fr", "fi")] = Dictionary.load(D / "fr-fi.train.txt")
    test = {(s, t): Dictionary.load(D / f"{s}-{t}.5000-6500.txt") for s, t in MUSE_PAIRS}
    test[("fr", "fi")] = Dictionary.load(D / "fr-fi.test.txt")
    test[("fi", "fr")] = test[("fr", "fi")].reversed()
    return spaces, train, test


def withhold(dicos: dict, lang: str, other: str, words: set[str]) -> tuple[dict, int]:
    """The dictionaries without the pairs of `lang`-`other` dictionaries (either direction) whose
    `lang` word is in `words`; and how many pairs were dropped."""
    out, dropped = {}, 0
    for (s, t), d in dicos.items():
        if {s, t} == {lang, other}:
            side = 0 if s == lang else 1
            kept = [p for p in d.pairs if p[side] not in words]
            dropped += len(d) - len(kept)
            d = Dictionary(kept, name=d.name, path=d.path)
        out[(s, t)] = d
    return out, dropped


def csls_p1(mapping, spaces: dict, src: str, tgt: str, dico: Dictionary, retrieval: str = "csls") -> dict:
    r = evaluate_bli(mapping.transform_embeddings(spaces[src]), mapping.normalize_target(spaces[tgt]), dico, retrieval)
    return r.to_dict()


def split_sources(dico: Dictionary, fraction: float, seed: int) -> tuple[Dictionary, Dictionary, set[str]]:
    """(kept, held out, held-out source words): a `fraction` of the distinct sources, drawn with `seed`."""
    sources = sorted({s for s, _ in dico.pairs})
    rng = np.random.default_rng(seed)
    held = set(rng.choice(sources, int(round(fraction * len(sources))), replace=False).tolist())
    return (Dictionary([p for p in dico.pairs if p[0] not in held], name=dico.name),
            Dictionary([p for p in dico.pairs if p[0] in held], name=dico.name + " (dev)"), held)


def tune(spaces: dict, train: dict, grid: list[dict] = TUNE_GRID) -> tuple[list[tuple], dict]:
    """Score every configuration of `grid` on the dev data; return (rows, winner)."""
    muse = {k: v for k, v in train.items() if k != ("fr", "fi")}
    dev = dict(train)
    en_fr_kept, en_fr_dev, held_en = split_sources(train[("en", "fr")], DEV_FRACTION, seed=0)
    fr_fi_kept, fr_fi_dev, _ = split_sources(train[("fr", "fi")], DEV_FRACTION, seed=0)
    dev[("en", "fr")], dev[("fr", "fi")] = en_fr_kept, fr_fi_kept
    dev, _ = withhold(dev, "en", "fr", held_en)  # the held-out en words leave fr-en too
    rows = []
    for config in grid:
        t0 = time.perf_counter()
        zero = MultiAligner(**{"mode": "joint", **config}).fit(spaces, muse)
        z = csls_p1(zero.pair("fr", "fi"), spaces, "fr", "fi", train[("fr", "fi")])["precision_at_1"]
        full = MultiAligner(**{"mode": "joint", **config}).fit(spaces, dev)
        a = csls_p1(full.pair("en", "fr"), spaces, "en", "fr", en_fr_dev)["precision_at_1"]
        b = csls_p1(full.pair("fr", "fi"), spaces, "fr", "fi", fr_fi_dev)["precision_at_1"]
        rows.append((config, z, a, b, float(np.mean([z, a, b])), time.perf_counter() - t0))
        print(rows[-1], flush=True)
    winner = max(rows, key=lambda r: r[4])[0]
    return rows, winner


def without_test_pairs(dicos: dict, test: dict) -> tuple[dict, int]:
    """The training dictionaries without every pair that a test dictionary lists, in either direction;
    and how many pairs were dropped."""
    banned: set[tuple[str, str, str, str]] = set()
    for (s, t), d in test.items():
        for a, b in d.pairs:
            banned.update({(s, a, t, b), (t, b, s, a)})
    out, dropped = {}, 0
    for (s, t), d in dicos.items():
        kept = [(a, b) for a, b in d.pairs if (s, a, t, b) not in banned]
        dropped += len(d) - len(kept)
        out[(s, t)] = Dictionary(kept, name=d.name, path=d.path)
    return out, dropped


def final(spaces: dict, train: dict, test: dict) -> list[tuple]:
    """Every direction, every setting; rows (setting, method, direction, result dict, withheld, fit seconds).

    One shared space per setting and method serves every direction; bilingual Procrustes + refinement
    is fitted per direction on the same (withheld) pairs of that language pair."""
    settings = {"no fr-fi dictionary": {k: v for k, v in train.items() if k != ("fr", "fi")}, "all dictionaries": train}
    rows = []
    for setting, dicos in settings.items():
        fit_on, dropped = without_test_pairs(dicos, test)
        methods = [({}, "hub (pivot through en), RCSLS maps: the default"), ({"mode": "joint"}, "joint")]
        if setting.startswith("no"):  # the pivot baseline (with all dictionaries hub mode leaves fr-fi out)
            methods.append(({"mode": "hub", "hub_method": "procrustes"}, "hub (pivot through en), Procrustes maps"))
        for params, label in methods:
            t0 = time.perf_counter()
            mm = MultiAligner(**{"hub": "en", **params}).fit(spaces, fit_on)
            secs = time.perf_counter() - t0
            for src, tgt in DIRECTIONS:
                res = {r: csls_p1(mm.pair(src, tgt), spaces, src, tgt, test[(src, tgt)], r) for r in ("nn", "csls")}
                rows.append((setting, label, f"{src}→{tgt}", res, dropped, secs))
                print(rows[-1][:3], res["csls"]["precision_at_1"], flush=True)
        for src, tgt in DIRECTIONS:
            seeds = None
            for (s, t), d in fit_on.items():
                if {s, t} == {src, tgt}:
                    part = d if s == src else d.reversed()
                    seeds = part if seeds is None else seeds + part
            if seeds is None:
                continue
            t0 = time.perf_counter()
            m = ProcrustesAligner(refine=5).fit(spaces[src], spaces[tgt], seeds)
            secs = time.perf_counter() - t0
            res = {r: csls_p1(m, spaces, src, tgt, test[(src, tgt)], r) for r in ("nn", "csls")}
            rows.append((setting, "bilingual Procrustes + refinement ×5", f"{src}→{tgt}", res, dropped, secs))
            print(rows[-1][:3], res["csls"]["precision_at_1"], flush=True)
    return rows


def fr_fi(spaces: dict, train: dict, test: dict) -> list[tuple]:
    """fr→fi and fi→fr with only the fr-fi test pairs withheld (none of them is in a training dictionary), as the
    pivot baseline of issue 22 was measured: every setting and mode, and the ZERO_SHOT settings."""
    fr_fi_test = {k: v for k, v in test.items() if set(k) == {"fr", "fi"}}
    runs = [("no fr-fi dictionary", "hub (pivot through en), RCSLS maps: the default", {}),
            ("no fr-fi dictionary", "joint", {"mode": "joint"}),
            ("no fr-fi dictionary", "hub (pivot through en), Procrustes maps", {"mode": "hub", "hub_method": "procrustes"}),
            ("no fr-fi dictionary", f"joint, {ZERO_SHOT}", {"mode": "joint", **ZERO_SHOT}),
            ("all dictionaries", "hub (pivot through en), RCSLS maps: the default", {}),
            ("all dictionaries", "joint", {"mode": "joint"})]
    rows = []
    for setting, label, params in runs:
        dicos = train if setting == "all dictionaries" else {k: v for k, v in train.items() if k != ("fr", "fi")}
        fit_on, dropped = without_test_pairs(dicos, fr_fi_test)
        t0 = time.perf_counter()
        mm = MultiAligner(**{"hub": "en", **params}).fit(spaces, fit_on)
        secs = time.perf_counter() - t0
        for src, tgt in (("fr", "fi"), ("fi", "fr")):
            res = {r: csls_p1(mm.pair(src, tgt), spaces, src, tgt, test[(src, tgt)], r) for r in ("nn", "csls")}
            rows.append((setting, label, f"{src}→{tgt}", res, dropped, secs))
            print(rows[-1][:3], res["csls"]["precision_at_1"], flush=True)
    return rows


def render_fr_fi(rows: list[tuple]) -> str:
    table = render_final(rows).split("\n")
    head = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d %H:%M')} UTC.", "",
            "Command: `python benchmarks/bench_multi.py --only fr-fi`: fr↔fi as the issue's pivot baseline was "
            "measured, with the MUSE training splits whole (no fr-fi test pair is in them; \"pivot and joint BLI\" "
            "withholds every direction's test pairs, which also removes the English anchors of French and Finnish "
            "test words); the library's defaults, hub mode, and the settings that win the zero-shot dev score "
            f"alone ({ZERO_SHOT}; section \"choosing the joint settings\").", ""]
    start = next(i for i, line in enumerate(table) if line.startswith("| setting"))
    end = next(i for i, line in enumerate(table) if line.startswith("Targets"))
    return "\n".join(head + table[start:end - 1])


def render_tune(rows: list[tuple], winner: dict) -> str:
    lines = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d %H:%M')} UTC.", "",
             "Command: `python benchmarks/bench_multi.py --only tune`. Dev data carved from the training dictionaries "
             "only: zero-shot fr→fi = fit on the four MUSE training splits, score on `fr-fi.train.txt`; held-out = "
             f"{int(DEV_FRACTION * 100)}% of the source words of `en-fr.0-5000` and of `fr-fi.train.txt` held out "
             "(and their pairs in `fr-en.0-5000`), fit on the rest. CSLS P@1, joint mode, 5 refinement rounds.", "",
             "| normalisation | induced-pair weight | balance | zero-shot fr→fi (dev) | held-out en→fr | "
             "held-out fr→fi | mean | time for both fits (s) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for config, z, a, b, m, secs in rows:
        lines.append(f"| {' '.join(config['normalize'])} | {config['induced_weight']} | {config['balance']} | "
                     f"{z:.2f} | {a:.2f} | {b:.2f} | {m:.2f} | {secs:.0f} |")
    lines += ["", f"Winner (the library's default): {winner}."]
    return "\n".join(lines)


def render_rounds(rows: list[tuple], winner: dict) -> str:
    lines = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d %H:%M')} UTC.", "",
             "Command: `python benchmarks/bench_multi.py --only rounds`: the same dev data as the settings grid, "
             f"the library's defaults ({MultiAligner().get_params()}) with each number of refinement rounds.", "",
             "| refinement rounds | zero-shot fr→fi (dev) | held-out en→fr | held-out fr→fi | mean | "
             "time for both fits (s) |", "| --- | --- | --- | --- | --- | --- |"]
    for config, z, a, b, m, secs in rows:
        lines.append(f"| {config['refine']} | {z:.2f} | {a:.2f} | {b:.2f} | {m:.2f} | {secs:.0f} |")
    lines += ["", f"Winner (the library's default): {winner}."]
    return "\n".join(lines)


def render_steps(rows: list[tuple], winner: dict, stage: str = "steps") -> str:
    lines = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d %H:%M')} UTC.", "",
             (f"Command: `python benchmarks/bench_multi.py --only {stage}`: the same dev data as the settings grid; "
              "each row changes the listed parameters of the library's defaults ({} = the defaults themselves, "
              f"{MultiAligner().get_params()} when this ran). `balance_induced=False`: only the language pairs "
              "that have a dictionary are balanced; `whiten=True`: the multi-step framework around GPA."), "",
             "| settings | zero-shot fr→fi (dev) | held-out en→fr | held-out fr→fi | mean | time for both fits (s) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for config, z, a, b, m, secs in rows:
        lines.append(f"| {config} | {z:.2f} | {a:.2f} | {b:.2f} | {m:.2f} | {secs:.0f} |")
    lines += ["", f"Winner (best mean): {winner}."]
    return "\n".join(lines)


def render_final(rows: list[tuple]) -> str:
    lines = [f"Machine: {machine_description()}. Date: {time.strftime('%Y-%m-%d %H:%M')} UTC.", "",
             "Command: `python benchmarks/bench_multi.py --only final` (the library's defaults: "
             f"`MultiAligner(mode=..., hub='en')`, {MultiAligner().get_params()}). Test dictionaries: MUSE "
             "`*.5000-6500`, `fr-fi.test.txt` (reversed for fi→fr). Training: MUSE `*.0-5000` (en-fr, fr-en, en-fi, "
             "fi-en) and, for \"all dictionaries\", `fr-fi.train.txt`, less every pair that a test dictionary lists in "
             "either direction (column \"withheld\": pairs dropped from the setting's training dictionaries); one "
             "shared space per setting and mode serves all six directions, and the bilingual rows are fitted on "
             "the same remaining pairs of their language pair (both directions' dictionaries merged).", "",
             "| setting | method | direction | P@1 NN | P@1 CSLS | P@5 CSLS | P@10 CSLS | queries | withheld | "
             "fit (s) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for setting, label, direction, res, dropped, secs in rows:
        c = res["csls"]
        lines.append(f"| {setting} | {label} | {direction} | {res['nn']['precision_at_1']:.2f} | "
                     f"{c['precision_at_1']:.2f} | {c['precision_at_5']:.2f} | {c['precision_at_10']:.2f} | "
                     f"{c['n_queries']} | {dropped} | {secs:.1f} |")
    lines += ["", "Targets (issue 22), CSLS P@1: fr→fi with no fr-fi dictionary ≥ 46.5 (pivot through en with Procrustes + "
              "5 refinements: 44.40); with all dictionaries, the joint space's fr→fi ≥ 47.82 and en→fr ≥ 71.36 "
              "(bilingual Procrustes + 5 refinements on `fr-fi.train.txt` and on `en-fr.0-5000` alone, section "
              "\"Supervised alignment\"). Fit times (one per space or bilingual fit) are indicative only "
              "(shared machine; load average above)."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["tune", "rounds", "steps", "induction", "reweight", "filter", "hub", "final",
                                       "fr-fi"],
                    default=None,
                    help="tune: the settings grid; rounds: refinement rounds for the library's defaults; steps: "
                         "balance of induced-only pairs and the multi-step framework; induction: induced pairs' "
                         "vocabulary and weight; reweight: the multi-step framework's re-weighting; filter: the "
                         "seed-likeness filter; hub: hub mode with Procrustes or RCSLS maps; final: test; "
                         "fr-fi: fr↔fi with only its own test pairs withheld")
    args = ap.parse_args()
    if not KIT.is_dir():
        raise SystemExit(f"data kit not found at {KIT}")
    spaces, train, test = load_kit()
    if args.only in (None, "tune"):
        rows, winner = tune(spaces, train)
        write_section("Many languages: choosing the joint settings (issue 22)", render_tune(rows, winner))
    if args.only in (None, "rounds"):
        # second stage, on the same dev data: more refinement rounds for the defaults the first stage chose
        rows, winner = tune(spaces, train, [dict(refine=r) for r in ROUNDS])
        write_section("Many languages: choosing the refinement rounds (issue 22)", render_rounds(rows, winner))
    for stage, (title, grid) in DEV_STAGES.items():
        if args.only in (None, stage):
            rows, winner = tune(spaces, train, grid)
            write_section(f"Many languages: {title} (issue 22)", render_steps(rows, winner, stage))
    if args.only in (None, "final"):
        write_section("Many languages: pivot and joint BLI (issue 22)", render_final(final(spaces, train, test)))
    if args.only in (None, "fr-fi"):
        write_section("Many languages: fr↔fi with its own test pairs withheld (issue 22)",
                      render_fr_fi(fr_fi(spaces, train, test)))


if __name__ == "__main__":
    main()
