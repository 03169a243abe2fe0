"""The CLI and the Python API share every default: each option that names a library parameter defaults to
the library's own value (read from one definition), for every aligner option the CLI exposes."""
from __future__ import annotations

import click
import pytest

from align.aligners import AdversarialAligner, ProcrustesAligner, RCSLSAligner, UnsupervisedAligner
from align.bridge.comparison import compare
from align.cli import cli
from align.jobs.demo import run_demo
from align.multi import MultiAligner
from align.search.evaluate import evaluate_bli

# command → the library callables whose parameters its options expose
SOURCES = {
    "procrustes": (ProcrustesAligner, RCSLSAligner),
    "unsupervised": (UnsupervisedAligner,),
    "adversarial": (AdversarialAligner,),
    "bli-eval": (evaluate_bli,),
    "demo": (run_demo,),
    "bridge": (compare,),
    "multi": (MultiAligner,),
}


def library_defaults(func) -> dict:
    import inspect

    target = func.__init__ if inspect.isclass(func) else func
    return {n: p.default for n, p in inspect.signature(target).parameters.items()
            if n != "self" and p.default is not inspect.Parameter.empty}  # required arguments have none


def cli_value(default):
    return " ".join(default) if isinstance(default, tuple) else default


@pytest.mark.parametrize("command", sorted(SOURCES))
def test_every_option_naming_a_library_parameter_has_its_default(command):
    cmd = cli.get_command(None, command)
    ctx = click.Context(cmd)
    checked = 0
    for func in SOURCES[command]:
        lib = library_defaults(func)
        for param in cmd.params:
            if isinstance(param, click.Option) and param.name in lib:
                assert param.get_default(ctx) == cli_value(lib[param.name]), (command, param.name)
                checked += 1
    assert checked >= 3, f"{command}: only {checked} options checked"


def test_every_aligner_parameter_the_cli_exposes_is_checked():
    """The aligner options of the alignment commands, by name: none is missing from the comparison above."""
    exposed = {
        "procrustes": {"refine", "refine_mode", "refine_vocab", "whiten", "reweight", "refine_filter", "normalize",
                       "seed", "epochs", "lr", "orthogonal"},
        "unsupervised": {"normalize", "seed", "restarts", "vocab", "dictionary", "start_vocab", "init_vocab",
                         "refine_vocab", "citation_refine", "citation_vocab"},
        "adversarial": {"normalize", "seed", "restarts", "epochs", "epoch_size", "refine", "dis_most_frequent"},
        "multi": {"mode", "hub", "normalize", "refine", "refine_vocab", "induced_weight", "balance",
                  "balance_induced", "refine_filter", "whiten", "reweight"},
    }
    for command, names in exposed.items():
        options = {p.name for p in cli.get_command(None, command).params}
        assert names <= options, (command, names - options)
        lib = set().union(*(library_defaults(f) for f in SOURCES[command]))
        assert names <= lib, (command, names - lib)


@pytest.mark.parametrize("command,cls", [("unsupervised", UnsupervisedAligner), ("adversarial", AdversarialAligner)])
def test_all_restarts_flag_is_the_negation_of_the_library_default(command, cls):
    flag = next(p for p in cli.get_command(None, command).params if p.name == "all_restarts")
    assert flag.get_default(click.Context(cli.get_command(None, command))) is (not library_defaults(cls)["stop_when_converged"])


def test_every_command_module_is_registered_and_loads_on_demand():
    """The lazy command group lists every command of every command module, and loads each from its module."""
    import importlib

    from align.cli import COMMAND_MODULES

    seen = {}
    for module in set(COMMAND_MODULES.values()):
        for command in importlib.import_module(f"align.cli.{module}").COMMANDS:
            seen[command.name] = module
    assert seen == COMMAND_MODULES
    assert cli.list_commands(click.Context(cli)) == sorted(COMMAND_MODULES)
    assert all(cli.get_command(None, name).name == name for name in COMMAND_MODULES)
    assert cli.get_command(None, "no-such-command") is None
