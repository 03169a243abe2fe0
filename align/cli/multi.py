"""`align multi`: one shared space for N languages (align.multi) through the multi job (align.jobs.multi).
Every aligner option's default is MultiAligner's own."""
from __future__ import annotations

import click

from ..multi import HUB_METHODS, MODES, MultiAligner
from .common import (api_option, common_output, echo_json, format_bli_table, max_vocab_option, resolve_vectors,
                     warn)

M = MultiAligner


def parse_languages(items: tuple[str, ...]) -> dict[str, str]:
    """('en=en.vec', 'fr', ...) -> {code: vectors path}; a bare code names the data directory's file."""
    from ..errors import InputError
    from ..multi.mapping import check_language_code

    out: dict[str, str] = {}
    for item in items:
        code, _, path = item.partition("=")
        check_language_code(code)
        if code in out:
            raise InputError(f"--lang {code} is given twice")
        out[code] = resolve_vectors(code, path or None)
    return out


def parse_dictionaries(items: tuple[str, ...], option: str) -> dict[tuple[str, str], str]:
    """('en-fr=train.txt', ...) -> {(src, tgt): path}."""
    from ..errors import InputError
    from ..jobs.multi import parse_pair

    out: dict[tuple[str, str], str] = {}
    for item in items:
        spec, sep, path = item.partition("=")
        if not sep or not path:
            raise InputError(f"{option} expects SRC-TGT=PATH, got {item!r}")
        pair = parse_pair(spec)
        if pair in out:
            raise InputError(f"{option} {spec} is given twice")
        out[pair] = path
    return out


@click.command("multi")
@click.option("--lang", "langs", multiple=True, required=True, metavar="CODE[=VECTORS]",
              help="A language and its vectors (repeat for each language; a bare code takes the data directory's "
                   "file).")
@click.option("--dico", "dicos", multiple=True, required=True, metavar="SRC-TGT=PATH",
              help="A training dictionary between two of the languages (repeat; either direction; any pairs).")
@click.option("--eval", "evals", multiple=True, metavar="SRC-TGT=PATH",
              help="A test dictionary: BLI of SRC→TGT through the shared space, NN and CSLS (repeat).")
@api_option(M, "mode", type=click.Choice(MODES),
            help="joint: all maps fitted together (GPA) and refined on pairs induced for every language pair; "
                 "hub: each language onto the hub by a bilingual map (--hub-method).")
@api_option(M, "hub_method", type=click.Choice(HUB_METHODS),
            help="Hub mode: procrustes (orthogonal, with --refine rounds of self-learning) or rcsls (a linear map "
                 "trained for CSLS retrieval).")
@api_option(M, "hub", type=str, help="The language whose space is the shared space [default: the language with "
                                     "dictionaries to the most others].")
@api_option(M, "refine", type=click.IntRange(min=0), help="Rounds of (multilingual) self-learning.")
@api_option(M, "refine_vocab", type=click.IntRange(min=10), help="Induce pairs among the N most frequent words.")
@api_option(M, "induced_weight", type=click.FloatRange(min=0, min_open=True),
            help="Joint mode: weight of an induced pair against a dictionary pair's 1.")
@click.option("--balance/--no-balance", default=M.defaults()["balance"], show_default=True,
              help="Joint mode: every language pair weighs the same, however many pairs it has.")
@click.option("--balance-induced/--no-balance-induced", default=M.defaults()["balance_induced"], show_default=True,
              help="Joint mode, with --balance: balance the language pairs that have no dictionary (only induced "
                   "pairs) too.")
@api_option(M, "refine_filter", type=click.FloatRange(0, 100),
            help="Joint mode: refit only on induced pairs whose two words look like dictionary words of their "
                 "language (a percentile of the seed words' scores, e.g. 25).")
@click.option("--whiten/--no-whiten", default=M.defaults()["whiten"], show_default=True,
              help="Joint mode: the multi-step framework around the joint fit (whiten each language, map, re-weight, "
                   "de-whiten; Artetxe et al. 2018).")
@api_option(M, "reweight", type=click.FloatRange(min=0),
            help="Joint mode with --whiten: re-weight the shared axes by their cross-correlation to this power.")
@api_option(M, "normalize", help="Normalisation steps: unit, center, unitdim, iternorm (space or comma separated; "
                                 "'none').")
@max_vocab_option
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Write the shared space here: multi.json, one mapping folder per language, metrics.json.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the binary vector cache.")
@common_output
def multi_cmd(langs, dicos, evals, mode, hub, hub_method, refine, refine_vocab, induced_weight, balance, balance_induced,
              refine_filter, whiten, reweight, normalize, max_vocab, output, no_cache, as_json, quiet):
    """One shared space for several languages from any set of bilingual dictionaries.

    Each language's mapping is written to OUTPUT/CODE; translate or evaluate between any two with
    `translate OUTPUT/SRC WORD --tgt-mapping OUTPUT/TGT` and `bli-eval --mapping OUTPUT/SRC --tgt-mapping
    OUTPUT/TGT`."""
    from ..jobs.multi import run_multi
    from ..space.normalize import parse_steps

    vectors = parse_languages(langs)
    _, metrics = run_multi(vectors, parse_dictionaries(dicos, "--dico"), evals=parse_dictionaries(evals, "--eval"),
                           output=output, max_vocab=max_vocab, cache=not no_cache, show_progress=not quiet,
                           mode=mode, hub=hub, hub_method=hub_method, refine=refine, refine_vocab=refine_vocab,
                           induced_weight=induced_weight, balance=balance, balance_induced=balance_induced,
                           refine_filter=refine_filter, whiten=whiten, reweight=reweight,
                           normalize=parse_steps(normalize))
    if metrics.get("unused_dictionaries"):
        warn(quiet, f"hub mode does not use the dictionaries between two non-hub languages "
                    f"({', '.join(metrics['unused_dictionaries'])}); --mode joint does")
    if metrics.get("ignored_params"):
        names = ", ".join("--" + name.replace("_", "-") for name in metrics["ignored_params"])
        warn(quiet, f"{names} {'has' if len(metrics['ignored_params']) == 1 else 'have'} no effect in {mode} mode"
                    + (f" with --hub-method {hub_method}" if mode == "hub" else ""))
    if as_json:
        echo_json(metrics)
        return
    click.echo(f"{mode} space of {', '.join(metrics['languages'])} (hub {metrics['hub']}); seed pairs: "
               + ", ".join(f"{k} {v}" for k, v in metrics["seed_pairs"].items()))
    if mode == "joint":
        for h in metrics["history"]:
            mark = " *" if h["iteration"] == metrics["best_iteration"] else ""
            crit = f"criterion {h['criterion']:.4f}, " if "criterion" in h else ""
            click.echo(f"  round {h['iteration']}: {crit}{h['train_pairs']} training pairs{mark}")
    rows = [(f"{pair} {r}", res) for pair, by in metrics["eval"].items() for r, res in by.items()]
    if rows:
        click.echo(format_bli_table(rows))
    if output:
        click.echo(f"wrote {output}")
    click.echo(f"{metrics['seconds']:.1f} s on {metrics['device']}")


COMMANDS = (multi_cmd,)
