"""`python -m bot` and the `webfones-dialer` script: --version, and help that names the program."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot import cli
from bot.cli import invoked_as
from tests.botproc import ROOT

SCRIPT = Path(sys.executable).parent / "webfones-dialer"


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run one entry point with no settings and no .env, as a fresh shell would."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONIOENCODING": "utf-8",
        "DIALER_ENV_FILE": "/nonexistent/.env",
    }
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60
    )


@pytest.fixture(params=["module", "script"])
def entry(request: pytest.FixtureRequest) -> tuple[list[str], str]:
    """The command that starts the program, and the name its help should give it."""
    if request.param == "module":
        return [sys.executable, "-m", "bot"], "python -m bot"
    assert SCRIPT.is_file(), f"{SCRIPT} is missing: install the package with pip install -e ."
    return [str(SCRIPT)], "webfones-dialer"


def test_version_help_and_usage_errors_name_the_program(entry) -> None:
    """One entry point, three runs: --version, --help (also a subcommand's), a usage error."""
    command, prog = entry
    done = run([*command, "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"webfones-slack-dialer {version('webfones-slack-dialer')}\n"

    done = run([*command, "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {prog} [-h] [--version] [COMMAND ...]\n")
    assert f"`{prog}` starts the bot" in done.stdout
    done = run([*command, "links", "import", "--help"])
    assert done.returncode == 0 and done.stdout.startswith(f"usage: {prog} links import")

    done = run([*command, "chek"])
    assert done.returncode == 2
    assert f"{prog}: error: argument COMMAND: invalid choice: 'chek'" in done.stderr


@pytest.mark.parametrize(
    ("argv0", "prog"),
    [
        ("/srv/dialer/bot/__main__.py", "python -m bot"),
        ("/srv/dialer/.venv/bin/webfones-dialer", "webfones-dialer"),
        ("", "python -m bot"),
    ],
)
def test_invoked_as(argv0: str, prog: str) -> None:
    assert invoked_as(argv0) == prog


def test_help_shows_command_as_optional_and_says_what_none_does(capsys) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m bot [-h] [--version] [COMMAND ...]\n")
    assert "COMMAND     an operator command; with none, start the bot" in out
    # The operator commands' own entry point (python -m bot.cli) has nothing to start.
    assert cli.main([]) == 2
    assert "run `python -m bot` to start the bot" in capsys.readouterr().err
