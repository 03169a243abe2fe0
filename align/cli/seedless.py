"""`align unsupervised` (robust self-learning) and `align adversarial` (MUSE-style): alignment with no
dictionary, through the alignment job (align.jobs.run). Every aligner option's default is the aligner's own.

A run whose failure detection says it did not converge prints its results (with `failed: true`) like any
other run, writes its outputs, and then exits with code 3.
"""
from __future__ import annotations

import click

from ..aligners import AdversarialAligner, UnsupervisedAligner
from .common import (api_option, common_output, echo_json, echo_run_tail, load_pair, max_vocab_option,
                     report_load_warnings, resolve_vectors)

U, A = UnsupervisedAligner, AdversarialAligner


def _shared_options(cls):
    """Options common to both seedless commands, with `cls`'s defaults."""
    def decorate(f):
        options = [
            click.argument("src_lang"),
            click.argument("tgt_lang"),
            click.option("--src-emb", type=str, default=None,
                         help="Source vectors (default: the data directory's file for SRC)."),
            click.option("--tgt-emb", type=str, default=None,
                         help="Target vectors (default: the data directory's file for TGT)."),
            click.option("--dico-eval", type=str, default=None,
                         help="Optional test dictionary; without it the run is judged by its failure detection only."),
            api_option(cls, "normalize", help="Normalisation steps: unit, center, unitdim, iternorm (space or comma "
                                              "separated; 'none')."),
            max_vocab_option,
            click.option("--output", type=click.Path(file_okay=False), default=None,
                         help="Write the mapping and outputs here."),
            api_option(cls, "seed", type=click.IntRange(min=0)),
            click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache."),
            api_option(cls, "restarts", type=click.IntRange(min=1),
                       help="At most N runs with different random seeds, stopping at the first that converges "
                            "(--all-restarts: run all); the best by the unsupervised criterion is kept."),
            click.option("--all-restarts", is_flag=True, default=not cls.defaults()["stop_when_converged"],
                         help="Run every restart, instead of stopping at the first that converges."),
        ]
        for opt in reversed(options):
            f = opt(f)
        return common_output(f)
    return decorate


def _run(method: str, src_lang: str, tgt_lang: str, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache,
         as_json: bool, quiet: bool, params: dict) -> None:
    """Load, fit, evaluate, write, print; raise AlignmentFailed (exit 3) after printing a failed run."""
    import time

    from ..errors import AlignmentFailed
    from ..jobs.run import run_alignment
    from ..store.dictionary import Dictionary

    started = time.perf_counter()
    src, tgt = load_pair(resolve_vectors(src_lang, src_emb), resolve_vectors(tgt_lang, tgt_emb), max_vocab,
                         not no_cache)
    report_load_warnings(quiet, src, tgt)
    test = Dictionary.load(dico_eval) if dico_eval else None
    _, metrics = run_alignment(src, tgt, None, method=method, dico_eval=test, output=output, src_lang=src_lang,
                               tgt_lang=tgt_lang, started=started, show_progress=not quiet, **params)
    if as_json:
        echo_json(metrics)
    else:
        click.echo(f"{src_lang}→{tgt_lang} {method}: {len(src)} × {len(tgt)} words, no seeds")
        for i, (c, ok) in enumerate(zip(metrics["restarts"], metrics["restarts_converged"])):
            mark = " *" if i == metrics["best_restart"] else ""
            click.echo(f"  restart {i}: criterion {c:.4f}, {'converged' if ok else 'did not converge'}{mark}")
        click.echo(f"criterion {metrics['criterion']:.4f}; distinctiveness {metrics['distinctiveness']:.4f} "
                   f"(random rotations: {metrics['null_distinctiveness']:.4f})" + _heldout_text(metrics))
        echo_run_tail(metrics, output)
    if metrics["failed"]:
        raise AlignmentFailed(
            f"{method} alignment did not converge: its translations are no more distinct than under a random "
            f"rotation (distinctiveness {metrics['distinctiveness']:.4f} against {metrics['null_distinctiveness']:.4f}"
            f"{_heldout_text(metrics)}; criterion {metrics['criterion']:.4f})")


def _heldout_text(metrics: dict) -> str:
    if metrics.get("heldout_distinctiveness") is None:
        return ""
    return (f"; on {metrics['heldout_words']} held-out words {metrics['heldout_distinctiveness']:.4f} against "
            f"{metrics['heldout_null_distinctiveness']:.4f}")


@click.command("unsupervised")
@_shared_options(U)
@api_option(U, "vocab", type=click.IntRange(min=10),
            help="Final vocabulary cut-off of self-learning (raised from --start-vocab as it converges).")
@api_option(U, "dictionary", type=click.Choice(["mutual", "union"]),
            help="Self-learning dictionary: pairs both directions agree on, or the union of both.")
@api_option(U, "start_vocab", type=click.IntRange(min=10),
            help="First vocabulary cut-off of self-learning (capped at --vocab).")
@api_option(U, "init_vocab", type=click.IntRange(min=10), help="Words per side in the sorted-similarity initialisation.")
@api_option(U, "refine_vocab", type=click.IntRange(min=10),
            help="The induced dictionary and the criterion use the N most frequent words.")
@api_option(U, "citation_refine", type=click.IntRange(min=0),
            help="Rounds refitting the kept map on citation forms (each word replaced by the shortest of its "
                 "near neighbours with the same first 3 letters), so that words go to the forms dictionaries "
                 "of lemmas list, not to inflected ones; 0: off.")
@api_option(U, "citation_vocab", type=click.IntRange(min=10), help="Citation refits use the N most frequent words of "
                                                                    "each side.")
def unsupervised_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, normalize, max_vocab, output, seed,
                     no_cache, restarts, all_restarts, as_json, quiet, vocab, dictionary, start_vocab, init_vocab,
                     refine_vocab, citation_refine, citation_vocab):
    """Align SRC_LANG onto TGT_LANG with no dictionary: robust self-learning (Artetxe et al. 2018)."""
    from ..space.normalize import parse_steps

    params = dict(normalize=parse_steps(normalize), restarts=restarts, stop_when_converged=not all_restarts,
                  seed=seed, vocab=vocab, start_vocab=start_vocab, init_vocab=init_vocab, refine_vocab=refine_vocab,
                  dictionary=dictionary, citation_refine=citation_refine, citation_vocab=citation_vocab)
    _run("unsupervised", src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache, as_json, quiet,
         params)


@click.command("adversarial")
@_shared_options(A)
@api_option(A, "epochs", type=click.IntRange(min=1), help="Adversarial epochs (default: 5 on a GPU, 3 on a CPU).")
@api_option(A, "epoch_size", type=click.IntRange(min=100),
            help="Discriminator samples per epoch (default: 1,000,000 on a GPU, 50,000 on a CPU).")
@api_option(A, "refine", type=click.IntRange(min=0), help="Rounds of Procrustes refinement after the adversarial phase.")
@api_option(A, "dis_most_frequent", type=click.IntRange(min=10), help="The discriminator sees only the N most frequent "
                                                                       "words.")
def adversarial_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, normalize, max_vocab, output, seed,
                    no_cache, restarts, all_restarts, as_json, quiet, epochs, epoch_size, refine, dis_most_frequent):
    """Align SRC_LANG onto TGT_LANG with no dictionary: adversarial training (Conneau et al. 2018) + refinement."""
    from ..space.normalize import parse_steps

    params = dict(normalize=parse_steps(normalize), restarts=restarts, stop_when_converged=not all_restarts,
                  seed=seed, epochs=epochs, epoch_size=epoch_size, refine=refine, dis_most_frequent=dis_most_frequent)
    _run("adversarial", src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache, as_json, quiet,
         params)


COMMANDS = (unsupervised_cmd, adversarial_cmd)
