"""The `align` command line: one module per command group, each a thin layer over the Python API that parses,
calls the library, and prints a table or one JSON object (--json).

Errors from the core (`AlignError`) become one line on stderr and exit code 2 (3 for a seedless run that
did not converge); no traceback. Command modules import only `common` from here, never this module.
"""
from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import AlignError

# Each command's module, imported only when the command runs (or help lists it): a run pays for the library
# parts it uses, not for every command's.
COMMAND_MODULES: dict[str, str] = {
    "bli-eval": "evaluate", "procrustes": "supervised", "unsupervised": "seedless", "adversarial": "seedless",
    "multi": "multi", "apply": "mapping", "translate": "mapping", "demo": "demo", "train": "sources",
    "download": "sources", "dictionary": "sources", "bridge": "bridge", "grid": "grid", "report": "grid",
}


class _Group(click.Group):
    """The command group, loading each command's module on first use. An EOFError from a command (numpy on an
    empty or cut file the core missed) becomes a one-line error here, before click would take it for a
    Ctrl-C (Abort, exit 130)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            module = importlib.import_module(f"{__name__}.{COMMAND_MODULES[name]}")
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EOFError as exc:
            raise AlignError(f"unexpected end of data ({exc or 'EOFError'})") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="align")
def cli() -> None:
    """align: cross-lingual word-embedding alignment and bilingual lexicon induction."""


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click 8.2+; before, click shows the help


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group and map errors to exit codes without tracebacks."""
    try:
        rv = cli.main(args=argv, prog_name="align", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns KeyboardInterrupt *and* EOFError into Abort: only the first is the user's Ctrl-C
        if isinstance(exc.__cause__, KeyboardInterrupt) or exc.__cause__ is None:
            click.echo("interrupted", err=True)
            sys.exit(130)
        click.echo(f"error: unexpected end of data ({exc.__cause__ or 'EOFError'})", err=True)
        sys.exit(2)
    except _NO_ARGS_IS_HELP as exc:  # `align` alone: the help is the answer
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # a usage error: one line, like every other error
        hint = f" (see '{exc.ctx.command_path} -h')" if getattr(exc, "ctx", None) is not None else ""
        message = " ".join(line.strip() for line in exc.format_message().splitlines() if line.strip())
        click.echo(f"error: {message}{hint}", err=True)
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
        from .._io import shown

        name = f"{shown(exc.filename)}: " if getattr(exc, "filename", None) else ""
        click.echo(f"error: {name}{exc.strerror or exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


