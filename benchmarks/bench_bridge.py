"""The XLM-R bridge's four-row table on the kit (issue 6): the encoder shipped in
`../shared/bench/models/me5-small-kit` against and fused with fastText + Procrustes.

    python benchmarks/bench_bridge.py [--runs en-fr,fr-fi,en-fr-context] [--threads 2]

Waits while /tmp/align-quiet exists (someone is timing). Each run's result is kept in
--state so that runs made by separate invocations all end up in the RESULTS.md section.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine_description, write_section  # noqa: E402

KIT = Path(__file__).resolve().parents[2] / "shared" / "bench"
TITLE = "XLM-R bridge (issue 6)"
RUNS = {
    "en-fr": dict(src="en", tgt="fr", train="en-fr.0-5000.txt", test="en-fr.5000-6500.txt", mode="isolated"),
    "fr-fi": dict(src="fr", tgt="fi", train="fr-fi.train.txt", test="fr-fi.test.txt", mode="isolated"),
    "en-fr-context": dict(src="en", tgt="fr", train="en-fr.0-5000.txt", test="en-fr.5000-6500.txt", mode="context"),
}
LABELS = {"encoder": "1. encoder vectors as they are", "encoder+procrustes": "2. encoder + Procrustes (+5 refinements)",
          "static+procrustes": "3. fastText + Procrustes (+5 refinements)", "fusion": "4. fusion of 2 and 3 (CSLS mix)"}


def wait_quiet() -> None:
    """Sleep while someone else is timing a benchmark."""
    while os.path.exists("/tmp/align-quiet"):
        time.sleep(20)


def run(name: str, max_sentences: int, window: int, encode_vocab: int) -> dict:
    """One comparison on the kit (encoding times are those of the first, uncached encoding)."""
    from align.bridge.comparison import compare

    spec = RUNS[name]
    wait_quiet()
    corpus = str(KIT / "corpus" / "en-10M.txt.gz") if spec["mode"] == "context" else None
    res = compare(str(KIT / "vectors" / f"{spec['src']}.vec.gz"), str(KIT / "vectors" / f"{spec['tgt']}.vec.gz"),
                  str(KIT / "dictionaries" / spec["train"]), str(KIT / "dictionaries" / spec["test"]),
                  model=str(KIT / "models" / "me5-small-kit"), mode=spec["mode"], corpus_src=corpus,
                  max_sentences=max_sentences, window=window, encode_vocab=encode_vocab, show_progress=True)
    res.update(src=spec["src"], tgt=spec["tgt"], run=name, train=spec["train"], test=spec["test"],
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    return res


def _enc_seconds(res: dict) -> str:
    parts = []
    for side in ("src", "tgt"):
        m = res["encoding"][side]
        sec = m.get("encode_seconds", m.get("seconds", 0.0))
        how = f"{m['words']} words, {m['mode']}"
        if m["mode"] == "context":
            how += f", {m.get('occurrences', 0)} occurrences, {m.get('words_isolated_fallback', 0)} words not in the corpus"
        parts.append(f"{res[side]} {how}: {sec:.0f} s")
    return "; ".join(parts)


def section(results: dict[str, dict]) -> str:
    """The markdown body for RESULTS.md."""
    kit = "../shared/bench"
    lines = [f"Machine: {machine_description()}; torch threads 2, no GPU.", "",
             "Encoder: `../shared/bench/models/me5-small-kit` (multilingual-e5-small: XLM-R vocabulary, 12 layers, "
             "384 wide), word vector = mean of the word's subword states over hidden-state layers 0–6 (the default, "
             "the lower half), special tokens excluded; every space normalised unit/center/unit. "
             "Encoded vocabulary per side: the 20,000 most frequent static words plus the training-dictionary words "
             "(both sides) and the test source words — not the test target words, so the encoder's search space owes "
             "nothing to the test dictionary. Row 3 searches the whole static target vocabulary, as `align procrustes` "
             "does; rows 1, 2 and 4 search the encoded target words. All rows use the same test queries (the test source "
             "words both systems hold, with a gold translation both hold). Fusion: (1−λ)·CSLS₃ + λ·CSLS₂ over all "
             "encoded target words, λ ∈ {0, 0.1, …, 1} chosen by P@1 on a held-out tenth of the training dictionary "
             "(split by source word; both maps refitted on the other nine tenths for the choice), then applied with "
             "rows 2 and 3's maps; the test dictionary is never used for any choice.", ""]
    for name in ("en-fr", "fr-fi", "en-fr-context"):
        res = results.get(name)
        if res is None:
            continue
        f = res["rows"]["fusion"]
        title = f"{res['src']}→{res['tgt']}, {'isolated words' if res['mode'] == 'isolated' else 'context mode (English side: up to %d occurrences from en-10M.txt.gz, %d words either side; French side isolated)' % (res['encoding']['src'].get('max_sentences', 0), res['encoding']['src'].get('window', 0))}"
        lines += [f"### {title}", "",
                  f"`{res['train']}` ({res['train_pairs']} training pairs) / `{res['test']}`: **{res['queries']} test "
                  f"queries** covered by both systems (of {res['test_sources']}). Encoding: {_enc_seconds(res)} "
                  f"(a second run reads the cache). λ = {f['csls']['lambda']} for CSLS, {f['nn']['lambda']} for NN "
                  f"(held-out P@1 by λ, CSLS: {', '.join(f'{k}: {v}' for k, v in res['lambda_grid']['csls'].items())}).",
                  "", "| system | NN P@1 | NN P@5 | NN P@10 | CSLS P@1 | CSLS P@5 | CSLS P@10 | time |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for key, label in LABELS.items():
            r = res["rows"][key]
            n, c = r["nn"], r["csls"]
            lines.append(f"| {label} | {n['precision_at_1']:.2f} | {n['precision_at_5']:.2f} | {n['precision_at_10']:.2f} | "
                         f"**{c['precision_at_1']:.2f}** | {c['precision_at_5']:.2f} | {c['precision_at_10']:.2f} | "
                         f"{r['seconds']:.1f} s |")
        rows = res["rows"]
        best = max(rows, key=lambda k: rows[k]["csls"]["precision_at_1"])
        lines += ["", f"Row times exclude the encoding (above) and the static vectors' loading ({res['load_seconds']:.1f} s); "
                  f"the fusion row's time includes its two held-out refits. Whole run: {res['seconds']:.0f} s. "
                  f"fastText CSLS restricted to the fusion's candidate set (λ = 0): P@1 "
                  f"{res['static_csls_on_fusion_candidates']:.2f}. Best CSLS P@1: **{LABELS[best]}**.", ""]
    win = []
    for name, res in results.items():
        r = {k: v["csls"]["precision_at_1"] for k, v in res["rows"].items()}
        win.append(f"{name}: fusion {r['fusion']:.2f} vs fastText {r['static+procrustes']:.2f} "
                   f"({r['fusion'] - r['static+procrustes']:+.2f}, i.e. "
                   f"{round((r['fusion'] - r['static+procrustes']) * res['queries'] / 100):+d} queries); "
                   f"encoder alone {r['encoder']:.2f}, encoder + Procrustes {r['encoder+procrustes']:.2f}")
    best_all = all(max(r["rows"], key=lambda k: r["rows"][k]["csls"]["precision_at_1"]) == "fusion"
                   for r in results.values())
    enc_trail = all(max(r["rows"][k]["csls"]["precision_at_1"] for k in ("encoder", "encoder+procrustes"))
                    < r["rows"]["static+procrustes"]["csls"]["precision_at_1"] for r in results.values())
    lines += ["**Which rows win (CSLS P@1):** "
              + ("the encoder's vectors alone, mapped or not, trail fastText + Procrustes on every run; "
                 if enc_trail else "")
              + ("the fusion is the best row on every run — " if best_all else "per run — ")
              + "; ".join(win) + ".", ""]
    if "en-fr" in results:
        ref = results["en-fr"]["rows"]["fusion"]["csls"]["precision_at_1"]
        lines.append(f"Kit reference for the fusion row on en→fr: 79.50 CSLS P@1 (λ = 0.3) against 71.27 static; ours: "
                     f"{ref:.2f} against {results['en-fr']['rows']['static+procrustes']['csls']['precision_at_1']:.2f}.")
    lines += ["", "With `xlm-roberta-base` on a machine that has it (downloaded once, or in the HF cache with "
              "`HF_HUB_OFFLINE=1`):", "", "```",
              f"align bridge en fr --src-emb {kit}/vectors/en.vec.gz --tgt-emb {kit}/vectors/fr.vec.gz \\",
              f"    --dico-train {kit}/dictionaries/en-fr.0-5000.txt --dico-eval {kit}/dictionaries/en-fr.5000-6500.txt \\",
              "    --model xlm-roberta-base",
              f"align bridge fr fi --src-emb {kit}/vectors/fr.vec.gz --tgt-emb {kit}/vectors/fi.vec.gz \\",
              f"    --dico-train {kit}/dictionaries/fr-fi.train.txt --dico-eval {kit}/dictionaries/fr-fi.test.txt \\",
              "    --model xlm-roberta-base",
              "```", "", "(this table was made by `python benchmarks/bench_bridge.py`; `align bridge … --model "
              f"{kit}/models/me5-small-kit` gives the same rows.)"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", default="en-fr,fr-fi,en-fr-context")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-sentences", type=int, default=3)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--encode-vocab", type=int, default=20000)
    ap.add_argument("--state", default="/tmp/align-bench-bridge.json")
    ap.add_argument("--no-write", action="store_true", help="Do not touch RESULTS.md.")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    state = Path(args.state)
    results: dict[str, dict] = json.loads(state.read_text()) if state.exists() else {}
    for name in [r for r in args.runs.split(",") if r]:
        res = run(name, args.max_sentences, args.window, args.encode_vocab)
        results[name] = res
        state.write_text(json.dumps(results, indent=1))
        print(json.dumps({k: res[k] for k in ("run", "queries", "rows", "seconds")}, indent=1), flush=True)
    if not args.no_write:
        write_section(TITLE, section(results))
    print(section(results))


if __name__ == "__main__":
    main()
