"""`align bridge`: word vectors from a multilingual encoder, compared and fused with the static alignment
(align.bridge)."""
from __future__ import annotations

import click

from ..bridge.comparison import compare
from .common import api_option, common_output, echo_json, resolve_dictionary, resolve_vectors, warn

@click.command("bridge")
@click.argument("src_lang")
@click.argument("tgt_lang")
@click.option("--src-emb", type=str, default=None, help="Source static vectors (default: the data directory's file).")
@click.option("--tgt-emb", type=str, default=None, help="Target static vectors.")
@click.option("--dico-train", type=str, default=None, help="Training dictionary (default: the data directory's).")
@click.option("--dico-eval", type=str, default=None, help="Test dictionary (default: the data directory's).")
@api_option(compare, "model",
            help="Encoder: a Hugging Face name (downloaded or in the HF cache) or a local directory.")
@click.option("--layers", default=None, help="Hidden-state layers to average, e.g. 0-4, 12, 0,2,4 "
              "[default: the lower half, 0..L/2].")
@api_option(compare, "mode", type=click.Choice(["isolated", "context"]))
@click.option("--corpus-src", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Context mode: source-language text, whitespace-tokenised, one sentence or paragraph a line.")
@click.option("--corpus-tgt", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Context mode: target-language text.")
@api_option(compare, "max_sentences", type=click.IntRange(min=1),
            help="Context mode: occurrences averaged per word.")
@api_option(compare, "window", type=click.IntRange(min=1),
            help="Context mode: words of context kept on each side of an occurrence.")
@api_option(compare, "encode_vocab", type=click.IntRange(min=1),
            help="Encode each side's N most frequent static words (plus the dictionary words).")
@api_option(compare, "max_vocab", type=click.IntRange(min=1))
@api_option(compare, "refine", type=click.IntRange(min=0))
@api_option(compare, "normalize")
@api_option(compare, "batch_size", type=click.IntRange(min=1))
@api_option(compare, "seed", type=click.IntRange(min=0), help="Seed of the held-out split.")
@common_output
def bridge_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_train, dico_eval, model, layers, mode, corpus_src,
               corpus_tgt, max_sentences, window, encode_vocab, max_vocab, refine, normalize, batch_size, seed,
               as_json, quiet) -> None:
    """Compare encoder word vectors, encoder + Procrustes, fastText + Procrustes and their fusion on SRC→TGT BLI."""
    from ..bridge.comparison import describe, format_table
    from ..space.normalize import parse_steps

    if mode == "context" and not (corpus_src or corpus_tgt):
        raise click.UsageError("--mode context needs --corpus-src and/or --corpus-tgt")
    res = compare(resolve_vectors(src_lang, src_emb), resolve_vectors(tgt_lang, tgt_emb),
                  resolve_dictionary(src_lang, tgt_lang, dico_train, "train"),
                  resolve_dictionary(src_lang, tgt_lang, dico_eval, "test"),
                  model=model, layers=layers, mode=mode, corpus_src=corpus_src, corpus_tgt=corpus_tgt,
                  max_sentences=max_sentences, window=window, max_vocab=max_vocab, encode_vocab=encode_vocab, refine=refine,
                  normalize=parse_steps(normalize), batch_size=batch_size, seed=seed, show_progress=not quiet)
    res.update(src=src_lang, tgt=tgt_lang)
    for message in res["warnings"]:
        warn(quiet, message)
    if as_json:
        echo_json(res)
        return
    for line in describe(res):
        click.echo(line)
    click.echo(format_table(res))
    click.echo(f"{res['seconds']:.1f} s in all")


COMMANDS = (bridge_cmd,)
