"""Seedless alignment commands: `align unsupervised` (robust self-learning) and `align adversarial`
(MUSE-style). align/cli.py imports this module at its end and calls `register(cli)`.

A run whose unsupervised criterion says it did not converge prints its results (with
`failed: true`) like any other run, writes its outputs, and then exits with code 3.
"""
from __future__ import annotations

import click

_groups: list[click.Group] = []


def register(group: click.Group) -> None:
    """Add `unsupervised` and `adversarial` to `group` (at once, or when this module has defined them)."""
    _groups.append(group)
    for command in globals().get("COMMANDS", ()):
        group.add_command(command)


# `register` comes first: align.cli may call it while this module is still importing align.cli
from .cli import (common_output, echo_json, format_bli_table, load_pair,  # noqa: E402
                  report_load_warnings, resolve_vectors)
from .errors import AlignmentFailed  # noqa: E402


def _shared_options(f):
    """Options common to both seedless commands."""
    options = [
        click.argument("src_lang"),
        click.argument("tgt_lang"),
        click.option("--src-emb", type=str, default=None, help="Source vectors (default: the data directory's file for SRC)."),
        click.option("--tgt-emb", type=str, default=None, help="Target vectors (default: the data directory's file for TGT)."),
        click.option("--dico-eval", type=str, default=None,
                     help="Optional test dictionary; without it the run is judged by the unsupervised criterion only."),
        click.option("--normalize", default="unit center unit", show_default=True,
                     help="Normalisation steps: unit, center, unitdim, iternorm (space or comma separated; 'none')."),
        click.option("--max-vocab", type=click.IntRange(min=1), default=200000, show_default=True),
        click.option("--output", type=click.Path(file_okay=False), default=None, help="Write the mapping and outputs here."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache."),
        click.option("--all-restarts", is_flag=True,
                     help="Run every restart, instead of stopping at the first that converges."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return common_output(f)


def _run(method: str, src_lang: str, tgt_lang: str, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache,
         as_json: bool, quiet: bool, params: dict) -> None:
    """Load, fit, evaluate, write, print; raise AlignmentFailed (exit 3) after printing a failed run."""
    import time

    from .store.dictionary import Dictionary
    from .pipeline_unsupervised import run_unsupervised

    started = time.perf_counter()
    src, tgt = load_pair(resolve_vectors(src_lang, src_emb), resolve_vectors(tgt_lang, tgt_emb), max_vocab,
                         not no_cache)
    report_load_warnings(quiet, src, tgt)
    test = Dictionary.load(dico_eval) if dico_eval else None
    _, metrics = run_unsupervised(src, tgt, method=method, dico_eval=test, output=output, src_lang=src_lang,
                                  tgt_lang=tgt_lang, started=started, show_progress=not quiet, **params)
    if as_json:
        echo_json(metrics)
    else:
        click.echo(f"{src_lang}→{tgt_lang} {method}: {len(src)} × {len(tgt)} words, no seeds")
        for i, (c, ok) in enumerate(zip(metrics["restarts"], metrics["restarts_converged"])):
            mark = " *" if i == metrics["best_restart"] else ""
            click.echo(f"  restart {i}: criterion {c:.4f}, {'converged' if ok else 'did not converge'}{mark}")
        click.echo(f"criterion {metrics['criterion']:.4f}; distinctiveness {metrics['distinctiveness']:.4f} "
                   f"(random rotations: {metrics['null_distinctiveness']:.4f})")
        if "eval" in metrics:
            click.echo(format_bli_table(list(metrics["eval"].items())))
        if output:
            click.echo(f"wrote {output}")
        click.echo(f"{metrics['seconds']:.1f} s on {metrics['device']}")
    if metrics["failed"]:
        raise AlignmentFailed(
            f"{method} alignment did not converge: its translations are no more distinct than under a random "
            f"rotation (distinctiveness {metrics['distinctiveness']:.4f} against {metrics['null_distinctiveness']:.4f}; "
            f"criterion {metrics['criterion']:.4f})")


@click.command("unsupervised")
@_shared_options
@click.option("--restarts", type=click.IntRange(min=1), default=8, show_default=True,
              help="At most N runs with different random seeds, stopping at the first that converges "
                   "(--all-restarts: run all); the best by the unsupervised criterion is kept.")
@click.option("--vocab", type=click.IntRange(min=10), default=4000, show_default=True,
              help="Final vocabulary cut-off of self-learning (raised from --start-vocab as it converges).")
@click.option("--dictionary", type=click.Choice(["mutual", "union"]), default="mutual", show_default=True,
              help="Self-learning dictionary: pairs both directions agree on, or the union of both.")
@click.option("--start-vocab", type=click.IntRange(min=10), default=4000, show_default=True)
@click.option("--init-vocab", type=click.IntRange(min=10), default=4000, show_default=True,
              help="Words per side in the sorted-similarity initialisation.")
@click.option("--refine-vocab", type=click.IntRange(min=10), default=15000, show_default=True,
              help="The induced dictionary and the criterion use the N most frequent words.")
@click.option("--citation-refine", type=click.IntRange(min=0), default=0, show_default=True,
              help="Rounds refitting the kept map on citation forms (each word replaced by the shortest of its "
                   "near neighbours with the same first 3 letters), so that words go to the forms dictionaries "
                   "of lemmas list, not to inflected ones (fr→fi: 5 rounds, CSLS P@1 35 → 47); 0: off.")
@click.option("--citation-vocab", type=click.IntRange(min=10), default=20000, show_default=True,
              help="Citation refits use the N most frequent words of each side.")
def unsupervised_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, normalize, max_vocab, output, seed,
                     no_cache, all_restarts, as_json, quiet, restarts, vocab, dictionary, start_vocab, init_vocab,
                     refine_vocab, citation_refine, citation_vocab):
    """Align SRC_LANG onto TGT_LANG with no dictionary: robust self-learning (Artetxe et al. 2018)."""
    from .space.normalize import parse_steps

    params = dict(normalize=parse_steps(normalize), restarts=restarts, stop_when_converged=not all_restarts,
                  seed=seed, vocab=vocab,
                  start_vocab=start_vocab, init_vocab=init_vocab, refine_vocab=refine_vocab, dictionary=dictionary,
                  citation_refine=citation_refine, citation_vocab=citation_vocab)
    _run("unsupervised", src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache, as_json, quiet,
         params)


@click.command("adversarial")
@_shared_options
@click.option("--restarts", type=click.IntRange(min=1), default=1, show_default=True,
              help="At most N runs with different random seeds, stopping at the first that converges "
                   "(--all-restarts: run all); the best by the unsupervised criterion is kept.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Adversarial epochs (default: 5 on a GPU, 3 on a CPU).")
@click.option("--epoch-size", type=click.IntRange(min=100), default=None,
              help="Discriminator samples per epoch (default: 1,000,000 on a GPU, 50,000 on a CPU).")
@click.option("--refine", type=click.IntRange(min=0), default=5, show_default=True,
              help="Rounds of Procrustes refinement after the adversarial phase.")
@click.option("--dis-most-frequent", type=click.IntRange(min=10), default=75000, show_default=True,
              help="The discriminator sees only the N most frequent words.")
def adversarial_cmd(src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, normalize, max_vocab, output, seed,
                    no_cache, all_restarts, as_json, quiet, restarts, epochs, epoch_size, refine, dis_most_frequent):
    """Align SRC_LANG onto TGT_LANG with no dictionary: adversarial training (Conneau et al. 2018) + refinement."""
    from .space.normalize import parse_steps

    params = dict(normalize=parse_steps(normalize), restarts=restarts, stop_when_converged=not all_restarts,
                  seed=seed, epochs=epochs,
                  epoch_size=epoch_size, refine=refine, dis_most_frequent=dis_most_frequent)
    _run("adversarial", src_lang, tgt_lang, src_emb, tgt_emb, dico_eval, output, max_vocab, no_cache, as_json, quiet,
         params)


# ---- registration -------------------------------------------------------------------

COMMANDS = (unsupervised_cmd, adversarial_cmd)

for _group in _groups:  # groups that asked before the commands existed
    for _command in COMMANDS:
        _group.add_command(_command)
