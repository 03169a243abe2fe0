"""`align procrustes`: supervised alignment (Procrustes + refinement, the multi-step mapping, or RCSLS) through
the alignment job (align.jobs.run). Every aligner option's default is the aligner's own."""
from __future__ import annotations

import click

from ..aligners import ProcrustesAligner, RCSLSAligner
from ..errors import InputError
from ..rerank import Reranker
from ..rerank.models import MODELS as RERANK_MODELS
from ..rerank.reranker import APPLY_MAPS, IDENTICAL_CHOICES
from ..search.induction import MODES
from .common import (api_option, approx_option, common_output, echo_json, echo_run_tail, given_options, load_pair,
                     max_vocab_option, report_load_warnings, require_option, resolve_dictionary, resolve_vectors,
                     warn)

P, R = ProcrustesAligner, RCSLSAligner
ALIKE_WARNING = 0.9  # the share of spelled-alike seed pairs (e.g. --dico-train identical) that a reranker warns of


@click.command("procrustes")
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
@api_option(P, "refine", type=click.IntRange(min=0), help="Rounds of self-learning refinement (procrustes).")
@api_option(P, "refine_mode", type=click.Choice(MODES))
@api_option(P, "refine_vocab", type=click.IntRange(min=10), help="Induce refinement pairs among the N most frequent words.")
@click.option("--whiten", is_flag=True, default=P.defaults()["whiten"],
              help="Procrustes inside the multi-step framework: whiten both sides on the seed rows first "
                   "(and de-whiten after; Artetxe et al. 2018).")
@api_option(P, "reweight", type=click.FloatRange(min=0),
            help="Re-weight both mapped sides by the singular values to this power (VecMap: 0.5).")
@api_option(P, "refine_filter", type=click.FloatRange(min=0, max=100), metavar="PCT",
            help="Refine only on induced pairs whose target looks like a seed target: a classifier of the "
                 "seed targets' vectors keeps targets scoring at least this percentile of the seeds' scores "
                 "(e.g. 25).")
@api_option(R, "epochs", type=click.IntRange(min=1), help="RCSLS epochs.")
@api_option(R, "lr", type=click.FloatRange(min=0, min_open=True), help="RCSLS step size.")
@click.option("--orthogonal", is_flag=True, default=R.defaults()["orthogonal"], help="RCSLS: keep the map orthogonal.")
@api_option(P, "normalize", help="Normalisation steps: unit, center, unitdim, iternorm (space or comma separated; "
                                 "'none').")
@max_vocab_option
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Write the mapping and outputs here.")
@api_option(P, "seed", type=click.IntRange(min=0))
@click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache.")
@click.option("--rerank", is_flag=True,
              help="Also learn a reranker of the CSLS candidates on the seeds (cross-fitted; align.rerank), "
                   "report eval.rerank and save it with the mapping (needs align[rerank]).")
@api_option(Reranker, "k", "--rerank-k", type=click.IntRange(min=10),
            help="Reranking: each candidate map's CSLS top-k joins a query's candidates.")
@api_option(Reranker, "maps", "--rerank-maps", help="Reranking: candidate maps (procrustes, multistep, refined, rcsls).")
@api_option(Reranker, "model", "--rerank-model", type=click.Choice(RERANK_MODELS), help="Reranking: the ranking model.")
@api_option(Reranker, "identical", "--rerank-identical", type=click.Choice(list(IDENTICAL_CHOICES)),
            callback=lambda ctx, param, v: IDENTICAL_CHOICES[v],
            help="Reranking: add the target word spelled like the query to its candidates (cognates, names); "
                 "auto keeps it when it raises the cross-fitted training P@1.")
@api_option(Reranker, "folds", "--rerank-folds", type=click.IntRange(min=2),
            help="Reranking: cross-fitting folds by source word (each fold's candidate maps are fitted on the "
                 "others; with folds views, new queries are scored in each).")
@api_option(Reranker, "apply_maps", "--rerank-apply-maps", type=click.Choice(APPLY_MAPS),
            help="Reranking: score new queries in each cross-fitting fold's maps and average the ranks (folds), "
                 "or in maps refitted on all seeds (all).")
@api_option(Reranker, "encoder", "--rerank-encoder", metavar="MODEL",
            help="Reranking: also use a multilingual encoder's word vectors (align bridge's --model: a Hugging "
                 "Face name or a local directory) as one more feature set; saved with the reranker and used "
                 "again by translate / bli-eval.")
@api_option(Reranker, "encoder_layers", "--rerank-encoder-layers",
            help="Reranking: the encoder's hidden-state layers to average, e.g. 0-4 [default: the lower half].")
@approx_option
@common_output
def procrustes_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_train, dico_eval, method, refine, refine_mode,
                   refine_vocab, whiten, reweight, refine_filter, epochs, lr, orthogonal, normalize, max_vocab,
                   output, seed, no_cache, rerank, rerank_k, rerank_maps, rerank_model, rerank_identical,
                   rerank_folds, rerank_apply_maps, rerank_encoder, rerank_encoder_layers, approx, as_json, quiet):
    """Supervised alignment of SRC_LANG vectors onto TGT_LANG vectors (Procrustes + refinement, or RCSLS)."""
    import time

    from ..errors import AlignError
    from ..jobs.run import run_alignment
    from ..space.normalize import parse_steps
    from ..store.dictionary import Dictionary, build_seeds

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
    reranker = None
    if rerank:
        reranker = Reranker(k=rerank_k, maps=rerank_maps, model=rerank_model, seed=seed, identical=rerank_identical,
                            folds=rerank_folds, apply_maps=rerank_apply_maps, encoder=rerank_encoder,
                            encoder_layers=rerank_encoder_layers, show_progress=not quiet)
        reranker.validate()  # checks the options before anything is loaded
        if rerank_encoder is None:
            require_option(given_options(["rerank_encoder_layers"]), "--rerank-encoder")
    else:
        require_option(given_options(n for n in click.get_current_context().params if n.startswith("rerank_")),
                       "--rerank")
    src, tgt = load_pair(src_path, tgt_path, max_vocab, not no_cache)
    report_load_warnings(quiet, src, tgt)
    seeds = build_seeds(train_spec, src, tgt)
    if reranker is not None:  # before the alignment is fitted
        check_fold_count(seeds, src, tgt, rerank_folds)
    test = Dictionary.load(eval_path) if eval_path else None
    if method == "procrustes":
        params = dict(normalize=steps, refine=refine, refine_mode=refine_mode, refine_vocab=refine_vocab,
                      whiten=whiten, reweight=reweight, refine_filter=refine_filter, seed=seed)
    else:
        params = dict(normalize=steps, epochs=epochs, lr=lr, orthogonal=orthogonal, seed=seed)
    _, metrics = run_alignment(src, tgt, seeds, method=method, dico_eval=test, output=output, src_lang=src_lang,
                               tgt_lang=tgt_lang, started=started, reranker=reranker, approx=approx,
                               show_progress=not quiet,
                               **params)
    if reranker is not None and reranker.identical is True and not reranker.identical_:
        warn(quiet, "--rerank-identical yes added nothing: no seed query has a target spelled like it that "
                    "the maps did not already propose, so the model never saw one added")
    sp = metrics["seed_pairs"]
    if sp["kept"] < sp["pairs"] / 2:
        warn(quiet, f"{sp['pairs'] - sp['kept']} of the {sp['pairs']} seed pairs are not in the vocabularies: the "
                    f"mapping is fitted on {sp['kept']}")
    if reranker is not None:
        t = reranker.train_
        best = max(t["csls_precision_at_1"].values())
        if t.get("rerank_precision_at_1") is not None and t["rerank_precision_at_1"] < best:
            warn(quiet, f"the reranker does worse than its best candidate map on the cross-fitted seeds "
                        f"({t['rerank_precision_at_1']} against {best} P@1): too few seeds to learn from?")
        alike, total = sum(a == b for a, b in reranker.seed_words_), len(reranker.seed_words_)
        if alike >= ALIKE_WARNING * total:
            warn(quiet, f"{alike} of the reranker's {total} seed pairs are spelled alike: it learns that spelling "
                        "decides, and its cross-fitted figure says little about words spelled otherwise")
    if as_json:
        echo_json(metrics)
        return
    click.echo(f"{src_lang}→{tgt_lang} {method}: {len(src)} × {len(tgt)} words, {sp['kept']} seed pairs "
               f"({sp['pairs'] - sp['kept']} not in the vocabularies)")
    for h in metrics["history"]:
        mark = " *" if h["iteration"] == metrics["best_iteration"] else ""
        if "loss" in h:  # RCSLS epochs
            click.echo(f"  epoch {h['iteration']}: loss {h['loss']:.4f}, step {h['lr']:g}{mark}")
            continue
        kept = (f", {h['kept_by_filter']} of {h['induced_pairs']} induced pairs pass the filter"
                if "kept_by_filter" in h else "")
        click.echo(f"  iteration {h['iteration']}: criterion {h['criterion']:.4f}, {h['train_pairs']} training pairs"
                   f"{kept}{mark}")
    if metrics.get("converged_at") is not None:
        click.echo(f"  converged: iteration {metrics['converged_at']} induced the pairs it was fitted on; "
                   "later rounds would repeat it")
    if "rerank" in metrics:
        t = metrics["rerank"]["train"]
        click.echo(f"  reranker: cross-fitted training P@1 {t.get('rerank_precision_at_1')} "
                   f"(maps' CSLS {', '.join(f'{m} {v}' for m, v in t['csls_precision_at_1'].items())}"
                   f"{'; spelled-alike candidates added' if metrics['rerank']['identical'] else ''}), "
                   f"fitted in {metrics['rerank']['timing']['fit_seconds']:.1f} s")
    echo_run_tail(metrics, output)


COMMANDS = (procrustes_cmd,)


def check_fold_count(seeds, src, tgt, folds: int) -> None:
    """A one-line error, naming the dictionary, when the seeds have fewer distinct in-vocabulary source words
    than cross-fitting folds (--rerank-folds)."""
    n = seeds.coverage(src, tgt).sources
    if n < folds:
        raise InputError(f"{n} distinct source words have a seed pair in the vocabularies, fewer than "
                         f"--rerank-folds {folds}", seeds.path or seeds.name or None)
