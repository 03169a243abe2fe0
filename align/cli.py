"""The `align` command line: parse, call the Python API, print a table or JSON.

Errors from the core (`AlignError`) become one line on stderr and exit code 2
(3 for an unsupervised run that failed); no traceback.
"""
from __future__ import annotations

import json
import sys
from typing import Callable

import click

from . import __version__
from .errors import AlignError

RETRIEVALS = ("nn", "csls", "isf")


def echo_json(obj: dict) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))


def warn(ctx_quiet: bool, message: str) -> None:
    if not ctx_quiet:
        click.echo(f"warning: {message}", err=True)


def report_load_warnings(quiet: bool, *embs) -> None:
    for e in embs:
        for w in e.report.warnings:
            warn(quiet, w)


def common_output(f: Callable) -> Callable:
    """--json and --quiet, shared by every command."""
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bars or warnings.")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the results.")(f)
    return f


def load_embeddings(path: str, max_vocab: int | None, cache: bool = True):
    from .store.vectors import Embeddings

    return Embeddings.load(path, max_vocab=max_vocab, cache=cache)


def load_pair(src_path: str, tgt_path: str, max_vocab: int | None, cache: bool = True):
    """Source and target vectors; first loads of two text files are parsed in parallel (see `load_all`)."""
    from .store.vectors import load_all

    return tuple(load_all([src_path, tgt_path], max_vocab, cache=cache))


def format_bli_table(rows: list[tuple[str, dict]]) -> str:
    """A small text table: one row per (label, BLI result dict)."""
    width = max([12] + [len(label) for label, _ in rows])
    head = f"{'':<{width}} {'P@1':>7} {'P@5':>7} {'P@10':>7} {'queries':>8} {'coverage':>9}"
    lines = [head]
    for label, r in rows:
        lines.append(f"{label:<{width}} {r['precision_at_1']:7.2f} {r['precision_at_5']:7.2f} {r['precision_at_10']:7.2f} "
                     f"{r['n_queries']:8d} {100 * r['coverage']:8.1f}%")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="align")
def cli() -> None:
    """align: cross-lingual word-embedding alignment and bilingual lexicon induction."""


@cli.command("bli-eval")
@click.option("--src-emb", required=True, type=click.Path(dir_okay=False), help="Source vectors (.vec/.txt[.gz]/.bin).")
@click.option("--tgt-emb", required=True, type=click.Path(dir_okay=False), help="Target vectors.")
@click.option("--dico", required=True, type=click.Path(dir_okay=False), help="Test dictionary, MUSE format.")
@click.option("--retrieval", type=click.Choice(RETRIEVALS + ("all",)), default="csls", show_default=True)
@click.option("--mapping", type=click.Path(file_okay=False), default=None,
              help="A mapping directory to apply to the source vectors first.")
@click.option("--max-vocab", type=click.IntRange(min=1), default=None, help="Keep the N most frequent words of each side.")
@click.option("--exclude-identical", is_flag=True, help="Drop test pairs of identical strings (fastText's --nomatch).")
@click.option("--csls-k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--isf-beta", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Inverse temperature of inverted softmax.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache.")
@common_output
def bli_eval(src_emb, tgt_emb, dico, retrieval, mapping, max_vocab, exclude_identical, csls_k, isf_beta,
             no_cache, as_json, quiet) -> None:
    """Bilingual lexicon induction: P@1/5/10 of SRC-EMB against TGT-EMB on a test dictionary."""
    from .store.dictionary import Dictionary
    from .search.evaluate import evaluate_bli

    src, tgt = load_pair(src_emb, tgt_emb, max_vocab, not no_cache)
    report_load_warnings(quiet, src, tgt)
    if mapping is not None:
        from .space.mapping import Mapping

        m = Mapping.load(mapping)
        src, tgt = m.transform_embeddings(src), m.normalize_target(tgt)
    d = Dictionary.load(dico)
    methods = RETRIEVALS if retrieval == "all" else (retrieval,)
    results = {m: evaluate_bli(src, tgt, d, m, exclude_identical=exclude_identical, csls_k=csls_k,
                               isf_beta=isf_beta, show_progress=not quiet).to_dict() for m in methods}
    if as_json:
        echo_json(results[methods[0]] if len(methods) == 1 else {"results": results})
        return
    cov = next(iter(results.values()))["coverage_detail"]
    click.echo(f"{len(src)} source words, {len(tgt)} target words; dictionary {cov['pairs']} pairs, "
               f"{cov['kept']} kept ({cov['dropped_src']} unknown source, {cov['dropped_tgt']} unknown target)")
    click.echo(format_bli_table([(m, r) for m, r in results.items()]))


def resolve_vectors(lang: str, path: str | None) -> str:
    """The vectors path given, or the standard file for `lang` in the data directory."""
    if path:
        return path
    from .sources.datadir import find_vectors

    return str(find_vectors(lang))


def resolve_dictionary(src: str, tgt: str, spec: str | None, split: str) -> str | None:
    """The dictionary spec given, or the MUSE split for the pair in the data directory."""
    if spec:
        return spec
    from .sources.datadir import find_dictionary

    return str(find_dictionary(src, tgt, split))


@cli.command("procrustes")
@click.argument("src_lang")
@click.argument("tgt_lang")
@click.option("--src-emb", type=str, default=None, help="Source vectors (default: the data directory's file for SRC).")
@click.option("--tgt-emb", type=str, default=None, help="Target vectors (default: the data directory's file for TGT).")
@click.option("--dico-train", type=str, default=None,
              help="Seeds: a dictionary path, 'identical', 'numerals', or a '+' join (e.g. train.txt+numerals). "
                   "Default: the MUSE train split in the data directory.")
@click.option("--dico-eval", type=str, default=None,
              help="Test dictionary (default: the MUSE test split in the data directory, if there).")
@click.option("--method", type=click.Choice(["procrustes", "rcsls"]), default="procrustes", show_default=True)
@click.option("--refine", type=click.IntRange(min=0), default=5, show_default=True,
              help="Rounds of self-learning refinement (procrustes).")
@click.option("--refine-mode", type=click.Choice(["mutual", "s2t", "t2s", "union", "intersection"]),
              default="mutual", show_default=True)
@click.option("--refine-vocab", type=click.IntRange(min=10), default=8000, show_default=True,
              help="Induce refinement pairs among the N most frequent words.")
@click.option("--whiten", is_flag=True,
              help="Procrustes inside the multi-step framework: whiten both sides on the seed rows first "
                   "(and de-whiten after; Artetxe et al. 2018).")
@click.option("--reweight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Re-weight both mapped sides by the singular values to this power (VecMap: 0.5).")
@click.option("--refine-filter", type=click.FloatRange(min=0, max=100), default=None, metavar="PCT",
              help="Refine only on induced pairs whose target looks like a seed target: a classifier of the "
                   "seed targets' vectors keeps targets scoring at least this percentile of the seeds' scores "
                   "(e.g. 25).")
@click.option("--epochs", type=click.IntRange(min=1), default=50, show_default=True, help="RCSLS epochs.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True, help="RCSLS step size.")
@click.option("--orthogonal", is_flag=True, help="RCSLS: keep the map orthogonal.")
@click.option("--normalize", default="unit center unit", show_default=True,
              help="Normalisation steps: unit, center, unitdim, iternorm (space or comma separated; 'none').")
@click.option("--max-vocab", type=click.IntRange(min=1), default=200000, show_default=True)
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Write the mapping and outputs here.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache.")
@common_output
def procrustes_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_train, dico_eval, method, refine, refine_mode,
                   refine_vocab, whiten, reweight, refine_filter, epochs, lr, orthogonal, normalize, max_vocab,
                   output, seed, no_cache, as_json, quiet):
    """Supervised alignment of SRC_LANG vectors onto TGT_LANG vectors (Procrustes + refinement, or RCSLS)."""
    import time

    from .store.dictionary import Dictionary, build_seeds
    from .space.normalize import parse_steps
    from .pipeline import run_supervised

    started = time.perf_counter()
    steps = parse_steps(normalize)
    src_path = resolve_vectors(src_lang, src_emb)
    tgt_path = resolve_vectors(tgt_lang, tgt_emb)
    train_spec = resolve_dictionary(src_lang, tgt_lang, dico_train, "train")
    eval_path = dico_eval
    if eval_path is None and not (src_emb and tgt_emb):
        try:
            eval_path = resolve_dictionary(src_lang, tgt_lang, None, "test")
        except AlignError:
            eval_path = None
    src, tgt = load_pair(src_path, tgt_path, max_vocab, not no_cache)
    report_load_warnings(quiet, src, tgt)
    seeds = build_seeds(train_spec, src, tgt)
    test = Dictionary.load(eval_path) if eval_path else None
    if method == "procrustes":
        params = dict(normalize=steps, refine=refine, refine_mode=refine_mode, refine_vocab=refine_vocab,
                      whiten=whiten, reweight=reweight, refine_filter=refine_filter, seed=seed)
    else:
        params = dict(normalize=steps, epochs=epochs, lr=lr, orthogonal=orthogonal, seed=seed)
    _, metrics = run_supervised(src, tgt, seeds, method=method, dico_eval=test, output=output,
                                src_lang=src_lang, tgt_lang=tgt_lang, started=started,
                                show_progress=not quiet, **params)
    if as_json:
        echo_json(metrics)
        return
    sp = metrics["seed_pairs"]
    click.echo(f"{src_lang}→{tgt_lang} {method}: {len(src)} × {len(tgt)} words, {sp['kept']} seed pairs "
               f"({sp['pairs'] - sp['kept']} not in the vocabularies)")
    for h in metrics.get("history", [])[:0] if method == "rcsls" else metrics.get("history", []):
        mark = " *" if h["iteration"] == metrics.get("best_iteration") else ""
        kept = (f", {h['kept_by_filter']} of {h['induced_pairs']} induced pairs pass the filter"
                if "kept_by_filter" in h else "")
        click.echo(f"  iteration {h['iteration']}: criterion {h['criterion']:.4f}, {h['train_pairs']} training pairs"
                   f"{kept}{mark}")
    if metrics.get("converged_at") is not None:
        click.echo(f"  converged: iteration {metrics['converged_at']} induced the pairs it was fitted on; "
                   "later rounds would repeat it")
    if "eval" in metrics:
        click.echo(format_bli_table(list(metrics["eval"].items())))
    if output:
        click.echo(f"wrote {output}")
    click.echo(f"{metrics['seconds']:.1f} s on {metrics['device']}")


@cli.command("apply")
@click.argument("mapping_dir", type=click.Path(file_okay=False))
@click.argument("in_path", type=str)
@click.argument("out_path", type=click.Path(dir_okay=False))
@click.option("--words", "words_file", type=click.Path(dir_okay=False), default=None,
              help="With a fastText .bin: map these words (one per line), OOV ones through subwords.")
@click.option("--max-vocab", type=click.IntRange(min=1), default=None)
@click.option("--side", type=click.Choice(["src", "tgt"]), default="src", show_default=True,
              help="Which side of the mapping IN belongs to: source vectors are mapped, target vectors "
                   "normalised (and mapped too when the method moves both sides).")
@common_output
def apply_cmd(mapping_dir, in_path, out_path, words_file, max_vocab, side, as_json, quiet):
    """Map the vectors of IN (.vec/.txt[.gz] or fastText .bin) with a saved mapping into OUT (.vec)."""
    from .store.vectors import Embeddings
    from .space.mapping import Mapping

    m = Mapping.load(mapping_dir)
    if words_file:
        if not in_path.endswith(".bin"):
            raise AlignError(f"{words_file}: --words needs a fastText .bin model to compute OOV vectors")
        from ._io import open_binary

        with open_binary(words_file) as f:
            words = [w for w in (line.decode("utf-8", "replace").strip() for line in f) if w]
        from .store.fasttext_bin import bin_word_vectors

        emb = bin_word_vectors(in_path, words)
    else:
        emb = Embeddings.load(in_path, max_vocab=max_vocab)
    mapped = m.transform_embeddings(emb) if side == "src" else m.normalize_target(emb)
    mapped.save(out_path)
    result = {"mapping": mapping_dir, "input": in_path, "output": out_path, "side": side, "words": len(mapped),
              "dim": mapped.dim}
    if as_json:
        echo_json(result)
    else:
        click.echo(f"mapped {len(mapped)} vectors into {out_path}")


@cli.command("translate")
@click.argument("mapping_dir", type=click.Path(file_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("--src-emb", type=str, default=None, help="Source vectors (default: those the mapping was fitted on).")
@click.option("--tgt-emb", type=str, default=None, help="Target vectors (default: those the mapping was fitted on).")
@click.option("--retrieval", type=click.Choice(RETRIEVALS), default="csls", show_default=True)
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--max-vocab", type=click.IntRange(min=1), default=200000, show_default=True)
@common_output
def translate_cmd(mapping_dir, words, src_emb, tgt_emb, retrieval, k, max_vocab, as_json, quiet):
    """Print the k best translations of WORDS with their scores."""
    import numpy as np

    from .space.mapping import Mapping
    from .search.retrieval import retrieve

    m = Mapping.load(mapping_dir)
    src_path = src_emb or m.info.get("src_path")
    tgt_path = tgt_emb or m.info.get("tgt_path")
    if not src_path or not tgt_path:
        raise AlignError("the mapping does not record its vectors: pass --src-emb and --tgt-emb")
    src = load_embeddings(src_path, max_vocab)
    tgt = load_embeddings(tgt_path, max_vocab)
    missing = [w for w in words if w not in src and src.subword_model is None]
    if missing:
        raise AlignError(f"not in the source vocabulary: {', '.join(missing)}")
    extra = [w for w in words if w not in src]
    if extra:  # OOV words of a .bin model: append their subword vectors to the search space
        src = type(src)(src.words + extra, np.vstack([src.vectors, src.lookup(extra, oov=True)]),
                        subword_model=src.subword_model)
    S, T = m.transform(src.vectors), m.normalize_target(tgt).vectors
    rows = np.array([src.index[w] for w in words])
    scores, ids = retrieve(S, T, rows, k=k, method=retrieval)
    result = {w: [{"word": tgt.words[int(j)], "score": round(float(sc), 6)} for sc, j in zip(srow, irow)]
              for w, srow, irow in zip(words, scores, ids)}
    if as_json:
        echo_json({"retrieval": retrieval, "translations": result})
        return
    for w, cands in result.items():
        click.echo(f"{w}: " + ", ".join(f"{c['word']} ({c['score']:.3f})" for c in cands))


@cli.command("demo")
@click.option("--dictionaries", type=click.Path(file_okay=False), default=None,
              help="Folder with fr-fi.train.txt and fr-fi.test.txt (default: the repository's dictionaries/).")
@click.option("--max-vocab", type=click.IntRange(min=1000), default=20000, show_default=True)
@click.option("--refine", type=click.IntRange(min=1), default=5, show_default=True)
@common_output
def demo_cmd(dictionaries, max_vocab, refine, as_json, quiet):
    """Align French and Finnish spaCy vectors with the shipped dictionary and print the BLI table."""
    from .demo import run_demo

    res = run_demo(dictionaries, max_vocab=max_vocab, refine=refine, show_progress=not quiet)
    if as_json:
        echo_json(res)
        return
    click.echo(f"French {res['src']} ({res['src_words']} words) → Finnish {res['tgt']} ({res['tgt_words']} words), "
               f"{res['train_pairs']} training pairs")
    table = []
    for label, row in res["results"].items():
        for retrieval, r in row["eval"].items():
            table.append((f"{label} {retrieval}", r))
    click.echo(format_bli_table(table))
    for w, cands in res["translations"].items():
        click.echo(f"  {w} → {', '.join(cands)}")
    click.echo(f"{res['seconds']:.1f} s")


from . import cli_sources as _cli_sources  # noqa: E402

_cli_sources.register(cli)  # align train, align download, align dictionary
from . import cli_unsupervised as _cli_unsupervised  # noqa: E402

_cli_unsupervised.register(cli)  # align unsupervised, align adversarial
from . import cli_bridge as _cli_bridge  # noqa: E402

_cli_bridge.register(cli)  # align bridge


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group and map errors to exit codes without tracebacks."""
    try:
        rv = cli.main(args=argv, prog_name="align", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AlignError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except MemoryError:
        click.echo("error: out of memory; try a smaller --max-vocab", err=True)
        sys.exit(2)
    except OSError as exc:
        name = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(f"error: {name}{exc.strerror or exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
