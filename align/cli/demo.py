"""`align demo`: the README's main job, on vectors and dictionaries that need no download (align.jobs.demo)."""
from __future__ import annotations

import click

from ..jobs.demo import run_demo
from .common import api_option, common_output, echo_json, format_bli_table

@click.command("demo")
@click.option("--dictionaries", type=click.Path(file_okay=False), default=None,
              help="Folder with fr-fi.train.txt and fr-fi.test.txt (default: the repository's dictionaries/).")
@api_option(run_demo, "max_vocab", type=click.IntRange(min=1000))
@api_option(run_demo, "refine", type=click.IntRange(min=1))
@common_output
def demo_cmd(dictionaries, max_vocab, refine, as_json, quiet):
    """Align French and Finnish spaCy vectors with the shipped dictionary and print the BLI table."""
    res = run_demo(dictionaries, max_vocab=max_vocab, refine=refine, show_progress=not quiet)
    if as_json:
        echo_json(res)
        return
    click.echo(f"French {res['src']} ({res['src_words']} words) → Finnish {res['tgt']} ({res['tgt_words']} words), "
               f"{res['train_pairs']} training pairs")
    table = []
    for label, row in res["results"].items():
        for retrieval, r in row["eval"].items():
            table.append((f"{label} {retrieval}", r))
    click.echo(format_bli_table(table))
    for w, cands in res["translations"].items():
        click.echo(f"  {w} → {', '.join(cands)}")
    click.echo(f"{res['seconds']:.1f} s")


COMMANDS = (demo_cmd,)
