"""The `align` command line: parse, call the Python API, print a table or JSON.

Errors from the core (`AlignError`) become one line on stderr and exit code 2
(3 for an unsupervised run that failed); no traceback.
"""
from __future__ import annotations

import functools
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
    from .embeddings import Embeddings

    return Embeddings.load(path, max_vocab=max_vocab, cache=cache)


def format_bli_table(rows: list[tuple[str, dict]]) -> str:
    """A small text table: one row per (label, BLI result dict)."""
    head = f"{'':<12} {'P@1':>7} {'P@5':>7} {'P@10':>7} {'queries':>8} {'coverage':>9}"
    lines = [head]
    for label, r in rows:
        lines.append(f"{label:<12} {r['precision_at_1']:7.2f} {r['precision_at_5']:7.2f} {r['precision_at_10']:7.2f} "
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
    from .dictionary import Dictionary
    from .evaluate import evaluate_bli

    src = load_embeddings(src_emb, max_vocab, not no_cache)
    tgt = load_embeddings(tgt_emb, max_vocab, not no_cache)
    report_load_warnings(quiet, src, tgt)
    if mapping is not None:
        from .mapping import Mapping

        src = Mapping.load(mapping).transform_embeddings(src)
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
