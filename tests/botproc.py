"""Run `python -m bot` as a real process for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: A short retry schedule for a real process (first wait, longest wait in seconds), so a minute
#: of Slack being away fits in a few seconds. In-process tests pass a Backoff instead.
FAST_RETRIES = {"DIALER_SLACK_RETRY": "0.2,1"}


def free_port() -> int:
    """A loopback TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """The bot under test: started with an explicit environment, its log captured."""

    def __init__(self, env: dict[str, str], *, cwd: Path | None = None) -> None:
        self.env = env
        self.cwd = cwd or ROOT
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._reader: threading.Thread | None = None
        self.started_at = 0.0
        self.ready_at: float | None = None

    @property
    def log(self) -> str:
        """Everything the bot has written to stderr/stdout so far."""
        return "".join(self.lines)

    def start(self, *, wait_ready: bool = True, timeout: float = 20.0) -> BotProcess:
        """Launch the process; by default wait until it logs that it is ready."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
            "DIALER_ENV_FILE": "/nonexistent/.env",
            **self.env,
        }
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait_ready:
            self.wait_for("ready:", timeout)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if self.ready_at is None and "ready:" in line:
                self.ready_at = time.monotonic()
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        """Block until `text` appears in the log; fail with the log if the process dies first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc is not None and self.proc.poll() is not None:
                time.sleep(0.1)
                raise AssertionError(f"bot exited ({self.proc.returncode}):\n{self.log}")
            time.sleep(0.02)
        raise AssertionError(f"bot never logged {text!r} in {timeout}s:\n{self.log}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to end and answer its exit status."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def terminate(self) -> int:
        """SIGTERM: the bot should finish calls in flight and exit 0."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, and once the bot has logged that it stopped, end the process (SIGKILL).

        By then every call, reply and write is done; what is left is Python's own clean-up,
        about a second that every test would otherwise wait for. Tests of how the process
        exits use terminate() or wait_exit() instead.
        """
        if self.proc is None or self.proc.poll() is not None:
            return
        signalled_at = len(self.lines)
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if any(line.rstrip().endswith(": stopped") for line in self.lines[signalled_at:]):
                break
            time.sleep(0.02)
        self.kill()
        if self._reader is not None:
            self._reader.join(5)
