"""`align apply` and `align translate`: reuse a saved mapping (align.space.mapping) on new vectors or words."""
from __future__ import annotations

import click

from ..errors import InputError
from .common import (RETRIEVALS, common_output, echo_json, load_embeddings, load_mapping, max_vocab_option,
                     report_load_warnings, tgt_mapping_option, warn)


def warn_if_failed(quiet: bool, mapping, mapping_dir: str) -> None:
    """A mapping whose seedless run was judged not converged is still usable, but never silently."""
    if mapping.info.get("failed"):
        warn(quiet, f"{mapping_dir}: this mapping is marked failed (its {mapping.info.get('method', 'seedless')} "
                    "run did not converge): its translations are likely wrong")


@click.command("apply")
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
    from pathlib import Path

    from ..store.vectors import Embeddings
    from ..space.mapping import Mapping

    if Path(out_path).exists() and Path(in_path).exists() and Path(out_path).samefile(in_path):
        raise InputError("is the input file: write the mapped vectors elsewhere", out_path)
    m = Mapping.load(mapping_dir)
    warn_if_failed(quiet, m, mapping_dir)
    if words_file:
        if not in_path.endswith(".bin"):
            raise InputError(f"{words_file}: --words needs a fastText .bin model to compute OOV vectors")
        from .._io import open_binary

        with open_binary(words_file) as f:
            words = [w for w in (line.decode("utf-8", "replace").strip() for line in f) if w]
        from ..store.fasttext_bin import bin_word_vectors

        emb = bin_word_vectors(in_path, words)
    else:
        emb = Embeddings.load(in_path, max_vocab=max_vocab)
        report_load_warnings(quiet, emb)
    from ..jobs.outputs import check_mapped

    mapped = check_mapped(m.transform_embeddings(emb) if side == "src" else m.normalize_target(emb),
                          "source" if side == "src" else "target")
    mapped.save(out_path)
    result = {"mapping": mapping_dir, "input": in_path, "output": out_path, "side": side, "words": len(mapped),
              "dim": mapped.dim}
    if as_json:
        echo_json(result)
    else:
        click.echo(f"mapped {len(mapped)} vectors into {out_path}")


@click.command("translate")
@click.argument("mapping_dir", type=click.Path(file_okay=False))
@click.argument("words", nargs=-1, required=True)
@click.option("--src-emb", type=str, default=None, help="Source vectors (default: those the mapping was fitted on).")
@click.option("--tgt-emb", type=str, default=None, help="Target vectors (default: those the mapping was fitted on).")
@click.option("--retrieval", type=click.Choice(RETRIEVALS), default=None,
              help="Plain retrieval method [default: csls]; a mapping with a reranker needs --no-rerank for it.")
@click.option("-k", "k", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--no-rerank", is_flag=True, help="Ignore a reranker saved with the mapping (plain retrieval).")
@tgt_mapping_option
@max_vocab_option
@common_output
def translate_cmd(mapping_dir, words, src_emb, tgt_emb, retrieval, k, no_rerank, tgt_mapping, max_vocab, as_json,
                  quiet):
    """Print the k best translations of WORDS with their scores (reranked when the mapping has a reranker)."""
    import numpy as np

    from ..search.retrieval import retrieve

    m = load_mapping(mapping_dir, tgt_mapping)
    warn_if_failed(quiet, m, mapping_dir)
    reranker = None if no_rerank or tgt_mapping else load_reranker(mapping_dir)
    if reranker is not None and retrieval is not None:  # said before the vectors load
        raise InputError(f"--retrieval {retrieval} asks for plain retrieval, but this mapping has a reranker: "
                         "add --no-rerank", mapping_dir)
    src_path = src_emb or m.info.get("src_path")
    tgt_path = tgt_emb or m.info.get("tgt_path")
    if not src_path or not tgt_path:
        raise InputError("the mapping does not record its vectors: pass --src-emb and --tgt-emb", mapping_dir)
    sizes = (max_vocab, max_vocab)
    fitted_sizes = getattr(reranker, "vocab_", None)
    if fitted_sizes and not (src_emb or tgt_emb) and click.get_current_context().get_parameter_source(
            "max_vocab") is click.core.ParameterSource.DEFAULT:  # the reranker's own vectors: as it saw them
        sizes = fitted_sizes
    src = load_embeddings(src_path, sizes[0])
    tgt = load_embeddings(tgt_path, sizes[1])
    report_load_warnings(quiet, src, tgt)
    missing = [w for w in words if w not in src and src.subword_model is None]
    if missing:
        raise InputError(f"not in the source vocabulary: {', '.join(missing)}")
    if reranker is not None:
        check_reranker_vectors(quiet, reranker, src, tgt, mapping_dir)
        views = len(reranker.view_maps_)
        # with several views the score is minus the mean rank counted from 0; users read ranks from 1
        def entry(word: str, score: float) -> dict:
            return {"word": word, "score": score} if views == 1 else \
                {"word": word, "score": score, "mean_rank": round(1 - score, 6)}

        result = {w: [entry(t, sc) for t, sc in cands]
                  for w, cands in reranker.translate(src, tgt, list(words), k).items()}
        short = {w: len(c) for w, c in result.items() if len(c) < k}
        if short:
            warn(quiet, f"the reranker ranks only its maps' candidates (the union of their top {reranker.k}): "
                        + ", ".join(f"{w} has {n}" for w, n in short.items()) + f" of the {k} asked")
        if as_json:
            echo_json({"retrieval": "rerank", "score": "model score" if views == 1 else
                       f"minus the mean rank over {views} views, counted from 0 (0: first in every view); "
                       "mean_rank counts from 1", "translations": result})
            return
        click.echo(f"(reranked in {views} views; in brackets each candidate's mean rank, 1 = first in every view)"
                   if views > 1 else "(reranked; in brackets each candidate's model score, higher first)")
        for w, cands in result.items():
            click.echo(f"{w}: " + ", ".join(f"{c['word']} ({c['score']:.3f})" if views == 1 else
                                            f"{c['word']} ({c['mean_rank']:.1f})" for c in cands))
        return
    extra = [w for w in words if w not in src]
    if extra:  # OOV words of a .bin model: append their subword vectors to the search space
        src = type(src)(src.words + extra, np.vstack([src.vectors, src.lookup(extra, oov=True)]),
                        subword_model=src.subword_model)
    S, T = m.transform_embeddings(src).vectors, m.normalize_target(tgt).vectors
    rows = np.array([src.index[w] for w in words])
    retrieval = retrieval or "csls"
    scores, ids = retrieve(S, T, rows, k=k, method=retrieval)
    result = {w: [{"word": tgt.words[int(j)], "score": round(float(sc), 6)} for sc, j in zip(srow, irow)]
              for w, srow, irow in zip(words, scores, ids)}
    if as_json:
        echo_json({"retrieval": retrieval, "translations": result})
        return
    for w, cands in result.items():
        click.echo(f"{w}: " + ", ".join(f"{c['word']} ({c['score']:.3f})" for c in cands))


def check_reranker_vectors(quiet: bool, reranker, src, tgt, mapping_dir: str) -> None:
    """Warn when the vectors lack some of the reranker's seed pairs (its seed-based features then differ) or hold
    other vocabulary sizes than it was fitted on; a one-line error when they hold no seed pair (it cannot build
    its views)."""
    found, total = reranker.seed_coverage(src, tgt)
    if found == 0:
        raise InputError(f"none of the reranker's {total} seed pairs is in these vectors (pass the vectors it was "
                         "fitted on, or --no-rerank)", mapping_dir)
    if found < total:
        warn(quiet, f"{total - found} of the reranker's {total} seed pairs are not in these vectors: its "
                    "seed-based features see only the others, so rankings may differ from the fitted vectors'")
    fitted = getattr(reranker, "vocab_", None)
    if fitted and fitted != (len(src), len(tgt)):
        warn(quiet, f"the reranker was fitted on {fitted[0]} × {fitted[1]} words, these vectors hold {len(src)} × "
                    f"{len(tgt)}: its frequency and hubness features read other statistics (--max-vocab "
                    "selects the most frequent words)")


def load_reranker(mapping_dir: str):
    """The reranker saved in a mapping folder's rerank/ (align procrustes --rerank), or None."""
    from pathlib import Path

    from ..jobs.outputs import RERANK_DIR

    d = Path(mapping_dir) / RERANK_DIR
    if not d.exists():
        return None
    if not (d / "rerank.json").exists():  # outputs are swapped in whole: a rerank/ without it is damaged
        raise InputError("a damaged reranker (rerank.json missing): remove the folder to use the mapping "
                         "without it", str(d))
    from ..rerank import Reranker

    return Reranker.load(d)


COMMANDS = (apply_cmd, translate_cmd)
