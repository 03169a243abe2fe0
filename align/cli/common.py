"""What every command shares: --json/--quiet, printing, loading, resolving language codes to files, and
options whose defaults are read from the library (so the CLI and the Python API cannot disagree)."""
from __future__ import annotations

import inspect
import json
from typing import Callable

import click

RETRIEVALS = ("nn", "csls", "isf")


def api_default(func: Callable, name: str):
    """The default of parameter `name` of a library function or class: the one definition the CLI reads."""
    target = func.__init__ if inspect.isclass(func) else func
    return inspect.signature(target).parameters[name].default


def api_option(func: Callable, name: str, *decls: str, **kwargs) -> Callable:
    """A click option for parameter `name` of `func`, defaulting to the library's default (shown in --help)."""
    default = api_default(func, name)
    if isinstance(default, tuple):  # normalisation steps: given on the command line as words
        default = " ".join(default)
    kwargs.setdefault("show_default", default is not None and default is not False)
    return click.option(*(decls or (f"--{name.replace('_', '-')}",)), default=default, **kwargs)


def approx_option(f: Callable) -> Callable:
    """--approx: CSLS evaluation from probe searches of k-means cells (align.search.bounded)."""
    return click.option("--approx", is_flag=True, default=api_default(_evaluate_bli(), "approx"),
                        help="Approximate CSLS: neighbour searches probe k-means cells (faster on large "
                             "vocabularies; recall of the exact top 10 below 1).")(f)


def _evaluate_bli():
    from ..search.evaluate import evaluate_bli

    return evaluate_bli


def given_options(names) -> list[str]:
    """The options among the parameter `names` of the running command that the command line set, as --flags."""
    ctx = click.get_current_context()
    return [f"--{n.replace('_', '-')}" for n in names
            if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]


def require_option(given: list[str], needed: str) -> None:
    """A one-line usage error when the options `given` (`given_options`) are set without the option `needed`."""
    if given:
        raise click.UsageError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} {needed}")


def echo_json(obj: dict) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, ensure_ascii=False, sort_keys=False))


def warn(quiet: bool, message: str) -> None:
    if not quiet:
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
    from ..store.vectors import Embeddings

    return Embeddings.load(path, max_vocab=max_vocab, cache=cache)


def load_pair(src_path: str, tgt_path: str, max_vocab: int | None, cache: bool = True):
    """Source and target vectors; first loads of two text files are parsed in parallel (see `load_all`)."""
    from ..store.vectors import load_all

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


def echo_run_tail(metrics: dict, output) -> None:
    """The end of an alignment command's text output: the BLI table, where the outputs went, the time."""
    if "eval" in metrics:
        click.echo(format_bli_table(list(metrics["eval"].items())))
    if output:
        click.echo(f"wrote {output}")
    click.echo(f"{metrics['seconds']:.1f} s on {metrics['device']}")


def resolve_vectors(lang: str, path: str | None) -> str:
    """The vectors path given, or the standard file for `lang` in the data directory."""
    if path:
        return path
    from ..sources.datadir import find_vectors

    return str(find_vectors(lang))


def resolve_dictionary(src: str, tgt: str, spec: str | None, split: str) -> str | None:
    """The dictionary spec given, or the MUSE split for the pair in the data directory."""
    if spec:
        return spec
    from ..sources.datadir import find_dictionary

    return str(find_dictionary(src, tgt, split))


def max_vocab_option(f: Callable) -> Callable:
    """--max-vocab with the jobs' default (align.jobs.run.MAX_VOCAB)."""
    from ..jobs.run import MAX_VOCAB

    return click.option("--max-vocab", type=click.IntRange(min=1), default=MAX_VOCAB, show_default=True,
                        help="Keep the N most frequent words of each side.")(f)


def tgt_mapping_option(f: Callable) -> Callable:
    """--tgt-mapping: the target language's mapping into the same shared space as --mapping (align multi)."""
    return click.option("--tgt-mapping", type=click.Path(file_okay=False), default=None,
                        help="The target language's mapping into the shared space of the source's (two language "
                             "folders of an `align multi` output: translate OUT/fr WORD --tgt-mapping OUT/fi, "
                             "bli-eval --mapping OUT/fr --tgt-mapping OUT/fi).")(f)


def load_mapping(path: str, tgt_path: str | None = None):
    """The mapping at `path`, or with `tgt_path` the pair of two per-language mappings (Mapping.pair). A
    language's mapping into the shared space of `align multi` needs the target language's (one-line error)."""
    from pathlib import Path

    from ..errors import InputError
    from ..space.mapping import Mapping

    m = Mapping.load(path)
    if tgt_path is None and str(m.info.get("tgt_lang", "")).startswith("shared:"):
        raise InputError("maps one language into the shared space of `align multi`: name the target language's "
                         f"mapping too (--tgt-mapping {Path(path).parent / 'LANG'})", path)
    return m if tgt_path is None else Mapping.pair(m, Mapping.load(tgt_path))
