"""The README's test command works on its own right after its install command, and CI runs exactly it."""
from __future__ import annotations

import re

from conftest import REPO_ROOT


def _readme_test_command() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Run the tests[^\n]*\n\n```bash\n(.*?)\n```", readme, re.S)
    assert block, "the README has no 'Run the tests' command block"
    return block.group(1).strip()


def test_readme_test_command_installs_what_it_needs():
    command = _readme_test_command()
    assert 'pip install -e ".[test]"' in command and command.endswith("python -m pytest -q")


def test_ci_runs_exactly_the_readme_test_command():
    lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert lines[-1] == _readme_test_command()


def test_the_test_extra_holds_pytest():
    setup = (REPO_ROOT / "setup.cfg").read_text()
    test_extra = re.search(r"^test =\n((?:[ \t]+.+\n)+)", setup, re.M)
    assert test_extra and "pytest" in test_extra.group(1)
