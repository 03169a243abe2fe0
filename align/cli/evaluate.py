"""`align bli-eval`: bilingual lexicon induction of two vector sets in one space (align.search.evaluate)."""
from __future__ import annotations

import click

from ..search.evaluate import evaluate_bli
from .common import (RETRIEVALS, api_option, approx_option, common_output, echo_json, format_bli_table,
                     given_options, load_mapping, load_pair, report_load_warnings, require_option,
                     tgt_mapping_option)


@click.command("bli-eval")
@click.option("--src-emb", required=True, type=click.Path(dir_okay=False), help="Source vectors (.vec/.txt[.gz]/.bin).")
@click.option("--tgt-emb", required=True, type=click.Path(dir_okay=False), help="Target vectors.")
@click.option("--dico", required=True, type=click.Path(dir_okay=False), help="Test dictionary, MUSE format.")
@api_option(evaluate_bli, "retrieval", type=click.Choice(RETRIEVALS + ("all",)))
@click.option("--mapping", type=click.Path(file_okay=False), default=None,
              help="A mapping directory to apply to the source vectors first.")
@click.option("--no-rerank", is_flag=True, help="Ignore a reranker saved with the mapping (no rerank row).")
@tgt_mapping_option
@click.option("--max-vocab", type=click.IntRange(min=1), default=None, help="Keep the N most frequent words of each side.")
@click.option("--exclude-identical", is_flag=True, help="Drop test pairs of identical strings (fastText's --nomatch).")
@api_option(evaluate_bli, "csls_k", type=click.IntRange(min=1))
@api_option(evaluate_bli, "isf_beta", type=click.FloatRange(min=0, min_open=True),
            help="Inverse temperature of inverted softmax.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache.")
@approx_option
@common_output
def bli_eval(src_emb, tgt_emb, dico, retrieval, mapping, no_rerank, tgt_mapping, max_vocab, exclude_identical, csls_k, isf_beta,
             no_cache, approx, as_json, quiet) -> None:
    """Bilingual lexicon induction: P@1/5/10 of SRC-EMB against TGT-EMB on a test dictionary."""
    from ..store.dictionary import Dictionary

    if mapping is None:
        require_option(given_options(("tgt_mapping", "no_rerank")), "--mapping")
    src, tgt = load_pair(src_emb, tgt_emb, max_vocab, not no_cache)
    report_load_warnings(quiet, src, tgt)
    raw, reranker = (src, tgt), None
    if mapping is not None:
        from .mapping import check_reranker_vectors, load_reranker

        m = load_mapping(mapping, tgt_mapping)
        reranker = None if tgt_mapping is not None or no_rerank else load_reranker(mapping)
        if reranker is not None:
            check_reranker_vectors(quiet, reranker, src, tgt, mapping)
        src, tgt = m.transform_embeddings(src), m.normalize_target(tgt)
    d = Dictionary.load(dico)
    methods = RETRIEVALS if retrieval == "all" else (retrieval,)
    results = {m: evaluate_bli(src, tgt, d, m, exclude_identical=exclude_identical, csls_k=csls_k,
                               isf_beta=isf_beta, approx=approx, show_progress=not quiet).to_dict()
               for m in methods}
    if reranker is not None:  # the mapping's saved reranker, on the same queries
        results["rerank"] = reranker.evaluate(*raw, d.without_identical() if exclude_identical else d)
        methods = (*methods, "rerank")
    if as_json:  # one shape whatever the rows: the first row's keys at the top, every row under "results"
        echo_json({**results[methods[0]], "results": results})
        return
    cov = next(iter(results.values()))["coverage_detail"]
    click.echo(f"{len(src)} source words, {len(tgt)} target words; dictionary {cov['pairs']} pairs, "
               f"{cov['kept']} kept ({cov['dropped_src']} unknown source, {cov['dropped_tgt']} unknown target)")
    click.echo(format_bli_table([(m, r) for m, r in results.items()]))


COMMANDS = (bli_eval,)
