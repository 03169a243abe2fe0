"""`align train`, `align download …`, `align dictionary import-freedict`: where vectors and dictionaries come
from (align.sources)."""
from __future__ import annotations

import click

from .common import common_output, echo_json, given_options, require_option, warn

MODELS = ("skipgram", "cbow")


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _duration(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)} min {s:.1f} s" if m else f"{s:.1f} s"


# ---- align train ------------------------------------------------------------------

@click.command("train")
@click.argument("lang")
@click.argument("corpus", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Choice(MODELS), default="skipgram", show_default=True)
@click.option("--dim", type=click.IntRange(min=1), default=300, show_default=True, help="Vector dimension.")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True,
              help="Ignore words rarer than this.")
@click.option("--minn", type=click.IntRange(min=0), default=3, show_default=True, help="Shortest character n-gram.")
@click.option("--maxn", type=click.IntRange(min=0), default=6, show_default=True,
              help="Longest character n-gram (0: no subwords).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Training threads [default: all cores].")
@click.option("--bucket", type=click.IntRange(min=1), default=2_000_000, show_default=True,
              help="Hash buckets for subwords (the .bin holds BUCKET x DIM floats).")
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False),
              help="Output prefix: writes PREFIX.bin and PREFIX.vec.")
@common_output
def train_cmd(lang, corpus, model, dim, epochs, min_count, minn, maxn, threads, bucket, output, as_json, quiet) -> None:
    """Train fastText vectors for LANG on CORPUS (UTF-8 text, one sentence or paragraph a line, .gz ok)."""
    from ..sources.datadir import check_code
    from ..sources.fasttext_train import fit_fasttext

    check_code(lang)  # as every other command: the code is recorded, and may name files later

    r = fit_fasttext(corpus, output, model=model, dim=dim, epochs=epochs, min_count=min_count, minn=minn,
                     maxn=maxn, threads=threads, show_progress=not quiet,
                     bucket=bucket)
    for w in r.warnings:
        warn(quiet, w)
    if as_json:
        echo_json({"lang": lang, "corpus": corpus, **r.to_dict()})
        return
    click.echo(f"{lang}: {r.model} dim {r.dim}, {r.epochs} epochs on {r.tokens:,} words ({r.lines:,} lines), "
               f"{r.threads} threads")
    click.echo(f"vocabulary {r.vocab_size:,} words (min count {min_count}); trained in {_duration(r.train_seconds)}, "
               f"{r.words_per_sec:,.0f} words/s")
    click.echo(f"wrote {r.bin_path} and {r.vec_path}")


# ---- align download ---------------------------------------------------------------

@click.group("download")
def download_group() -> None:
    """Fetch published fastText vectors and MUSE dictionaries into the data directory ($ALIGN_DATA)."""


@download_group.command("vectors")
@click.argument("lang")
@click.option("--kind", type=click.Choice(("wiki", "cc", "aligned")), default="wiki", show_default=True,
              help="wiki: Wikipedia (wiki.LANG.vec); cc: Common Crawl + Wikipedia (cc.LANG.300.vec); "
                   "aligned: fastText's aligned Wikipedia vectors (wiki.LANG.align.vec).")
@click.option("--keep-compressed", is_flag=True, help="Keep cc.LANG.300.vec.gz as it is instead of decompressing it.")
@click.option("--sha256", default=None, help="Expected SHA-256 of the published file.")
@click.option("--force", is_flag=True, help="Download again even if the file is there.")
@common_output
def download_vectors_cmd(lang, kind, keep_compressed, sha256, force, as_json, quiet) -> None:
    """Download the fastText vectors of LANG."""
    from ..sources.download import download_vectors

    r = download_vectors(lang, kind, decompress=not keep_compressed, sha256=sha256, force=force,
                         show_progress=not quiet)
    _report_download(r, as_json, quiet)


@download_group.command("dictionary")
@click.argument("src")
@click.argument("tgt")
@click.option("--split", type=click.Choice(("full", "train", "test", "all")), default="all", show_default=True,
              help="full: SRC-TGT.txt; train: .0-5000.txt; test: .5000-6500.txt; all: the three.")
@click.option("--force", is_flag=True, help="Download again even if the file is there.")
@common_output
def download_dictionary_cmd(src, tgt, split, force, as_json, quiet) -> None:
    """Download the MUSE ground-truth dictionary from SRC to TGT (two language codes: align download dictionary
    en fr)."""
    from ..sources.download import download_dictionary

    if src == tgt:
        raise click.UsageError(f"SRC and TGT are both {src!r}: a dictionary needs two languages")

    splits = ("full", "train", "test") if split == "all" else (split,)
    results = [download_dictionary(src, tgt, s, force=force, show_progress=not quiet) for s in splits]
    if as_json:
        echo_json(results[0].to_dict() if len(results) == 1 else {"files": [r.to_dict() for r in results]})
        return
    for r in results:
        _report_download(r, False, quiet)


def _report_download(r, as_json: bool, quiet: bool) -> None:
    if as_json:
        echo_json(r.to_dict())
    elif r.already_present:
        click.echo(f"{r.path}: already there ({_human_bytes(r.bytes)}); --force downloads it again")
    else:
        resumed = f", resumed at {_human_bytes(r.resumed_from)}" if r.resumed_from else ""
        click.echo(f"{r.path}: {_human_bytes(r.bytes)}{resumed} in {_duration(r.seconds)}")


# ---- align dictionary ---------------------------------------------------------------

@click.group("dictionary")
def dictionary_group() -> None:
    """Make bilingual dictionaries (MUSE format)."""


@dictionary_group.command("import-freedict")
@click.argument("source")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="Output prefix: PREFIX.train.txt and PREFIX.test.txt (PREFIX.txt without --src-emb).")
@click.option("--src-emb", default=None, help="Source vectors whose frequency order decides the split "
                                              "(.vec/.txt[.gz]/.bin or spacy:NAME).")
@click.option("--tgt-emb", default=None, help="Target vectors: keep only pairs whose translation they hold.")
@click.option("--max-vocab", type=click.IntRange(min=1), default=None,
              help="Use the N most frequent words of the vectors.")
@click.option("--lowercase", is_flag=True, help="Lowercase both words (and merge the pairs that become equal).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.25,
              show_default=True, help="Share of the source words that go to the test file.")
@click.option("--test-size", type=click.IntRange(min=1), default=None, help="Number of test source words "
                                                                              "(instead of --test-fraction).")
@common_output
def import_freedict_cmd(source, output, src_emb, tgt_emb, max_vocab, lowercase, test_fraction, test_size,
                        as_json, quiet) -> None:
    """Turn an installed FreeDict dictd dictionary (SOURCE: NAME like fra-fin, or PATH.index) into MUSE files.

    Single-word entries only; definitions, notes and examples are dropped. With --src-emb,
    source words are ranked by their frequency in those vectors and every k-th goes to the
    test file, so that train and test cover the same frequency range and share no source word.
    """
    from ..sources.freedict import import_freedict

    if not src_emb:  # without vectors there is no split: these options would be ignored silently
        require_option(given_options(("test_fraction", "test_size", "max_vocab")), "--src-emb")
    r = import_freedict(source, output, src_emb=src_emb, tgt_emb=tgt_emb, lowercase=lowercase,
                        test_size=test_size if test_size is not None else test_fraction, max_vocab=max_vocab)
    if as_json:
        echo_json(r.to_dict())
        return
    click.echo(f"{r.pairs:,} single-word pairs read; {r.kept:,} kept "
               f"({r.dropped_src:,} with the source word not in the vectors, {r.dropped_tgt:,} with the target not)"
               if src_emb else f"{r.pairs:,} single-word pairs")
    if src_emb:
        click.echo(f"train: {r.train_pairs:,} pairs, {r.train_sources:,} source words; "
                   f"test: {r.test_pairs:,} pairs, {r.test_sources:,} source words")
    click.echo("wrote " + " and ".join(r.files))


# ---- registration -------------------------------------------------------------------

COMMANDS = (train_cmd, download_group, dictionary_group)
