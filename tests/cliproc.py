"""Run the operator commands as a real process, and in-process with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from bot import config
from bot.cli import main
from tests.botproc import ROOT

#: Every setting the bot reads; in-process runs clear them so the developer's shell cannot leak in.
SETTINGS = tuple(setting.name for setting in config.SETTINGS)


def _bare_env() -> dict[str, str]:
    """An environment with no settings at all and no .env file."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONIOENCODING": "utf-8",
        "DIALER_ENV_FILE": "/nonexistent/.env",
    }


@dataclass(frozen=True)
class Ran:
    """What a command did: its exit status and what it wrote."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Standard output and standard error together, for secret checks."""
        return self.out + self.err


def run_process(
    args: list[str], env: Mapping[str, str], *, stdin: str | None = None, timeout: float = 60
) -> Ran:
    """`python -m bot ARGS…` as a child process with exactly these settings (no .env)."""
    full_env = {**_bare_env(), **env}
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


class InProcess:
    """Call bot.cli.main(argv) as `python -m bot` will, with os.environ set for the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    def __call__(self, args: list[str], env: Mapping[str, str]) -> Ran:
        """Run one command and answer what it did."""
        for name in SETTINGS:
            self._monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            self._monkeypatch.setenv(name, value)
        self._capsys.readouterr()
        code = main(args)
        captured = self._capsys.readouterr()
        return Ran(code, captured.out, captured.err)
