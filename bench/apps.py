"""The apps under load, each its own process: ours (`python -m bot`, one or several replicas),
the baseline, the floor."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.botproc import ROOT, BotProcess, free_port
from tests.fakes.proxy import RoundRobinProxy
from tests.fakes.socket_mode import FakeSocketMode


def read_rss_kb(pid: int) -> int | None:
    """VmRSS of a process in kB from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def read_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples a process's VmRSS in a background thread and keeps the peak; counts its CPU."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.samples = 0
        self.cpu_seconds = 0.0
        self.cpu_marked: float | None = None
        self._cpu_start: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._cpu_start = read_cpu_seconds(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        end = read_cpu_seconds(self.pid)
        if end is not None and self._cpu_start is not None:
            self.cpu_seconds = end - self._cpu_start

    def mark_cpu(self) -> float | None:
        """Keep and answer the CPU seconds used since the sampler started (to the last reply)."""
        now = read_cpu_seconds(self.pid)
        if now is not None and self._cpu_start is not None:
            self.cpu_marked = now - self._cpu_start
        return self.cpu_marked

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = read_rss_kb(self.pid)
            if rss is not None:
                self.peak_kb = max(self.peak_kb, rss)
                self.samples += 1
            self._stop.wait(self.interval)


def _port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class AppUnderTest:
    """Common face of every app: start, pid, seconds from exec to ready, stop."""

    name = ""

    @property
    def pid(self) -> int:
        """The app's process id."""
        raise NotImplementedError

    @property
    def ready_seconds(self) -> float | None:
        """Seconds from starting the process to it being able to take requests."""
        raise NotImplementedError

    def start(self, fake_socket: FakeSocketMode | None, port: int, timeout: float) -> None:
        """Start the process and wait until it is ready (or raise with its log)."""
        raise NotImplementedError

    def stop(self) -> None:
        """End the process."""
        raise NotImplementedError

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote."""
        raise NotImplementedError


class OurApp(AppUnderTest):
    """`python -m bot` through tests.botproc; ready is its "ready:" log line.

    `source` is the checkout it runs from (this one, or another for the "before" figures):
    the process starts there with PYTHONPATH pointing at it, so that checkout's `bot` runs
    whatever the virtualenv's own install points at.
    """

    name = "ours"

    def __init__(self, env: dict[str, str], source: Path = ROOT) -> None:
        self.source = source
        self.bot = BotProcess({**env, "PYTHONPATH": str(source)}, cwd=source)

    @property
    def pid(self) -> int:
        """The app's process id."""
        assert self.bot.proc is not None
        return self.bot.proc.pid

    @property
    def ready_seconds(self) -> float | None:
        """Seconds from Popen to the "ready:" line."""
        if self.bot.ready_at is None:
            return None
        return self.bot.ready_at - self.bot.started_at

    def start(self, fake_socket: FakeSocketMode | None, port: int, timeout: float) -> None:
        """Start and wait for "ready:"."""
        self.bot.start(wait_ready=True, timeout=timeout)

    def stop(self) -> None:
        """SIGTERM (the bot drains calls in flight), then SIGKILL if it hangs."""
        self.bot.stop()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the bot's log."""
        return "".join(self.bot.lines[-lines:])


class ScriptApp(AppUnderTest):
    """A one-file app run as `python -m MODULE` from the repository root; ready is its port
    answering or socket connecting."""

    name = ""
    module = "bench.baseline_app"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_at: float | None = None

    @property
    def pid(self) -> int:
        """The app's process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def ready_seconds(self) -> float | None:
        """Seconds from Popen to the port answering / the hello being sent."""
        return None if self.ready_at is None else self.ready_at - self.started_at

    def start(self, fake_socket: FakeSocketMode | None, port: int, timeout: float) -> None:
        """Start the script and poll until it can take requests."""
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.log_path, "wb") as log:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited ({code}):\n{self.log_tail()}")
            ready = fake_socket.connections >= 1 if fake_socket else _port_answers(port)
            if ready:
                self.ready_at = time.monotonic()
                return
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGKILL: the baseline may still be working through a queue it cannot finish."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the script's output file."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class BaselineApp(ScriptApp):
    """bench/baseline_app.py: /dial the way Bolt's getting-started guide reads."""

    name = "baseline"
    module = "bench.baseline_app"


class FloorApp(ScriptApp):
    """bench/floor_app.py: a bare aiohttp server that checks the signature and answers at once."""

    name = "floor"
    module = "bench.floor_app"


class BoltFloorApp(ScriptApp):
    """bench/bolt_floor_app.py: Bolt's AsyncApp with a /dial that acks at once."""

    name = "bolt-floor"
    module = "bench.bolt_floor_app"


class ReplicatedApp(AppUnderTest):
    """`python -m bot` as several replicas on one shared database (DIALER_DATABASE_URL).

    In HTTP mode a round-robin proxy (tests.fakes.proxy) stands in for the load balancer and
    `port` is the proxy's; in Socket Mode every replica holds a connection to the one fake
    Socket Mode server, which spreads envelopes over them. RSS and CPU are the first replica's.
    """

    name = "replicas"

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.count = count
        self.replicas: list[OurApp] = []
        self.proxy: RoundRobinProxy | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        """The first replica's process id."""
        return self.replicas[0].pid

    @property
    def ready_seconds(self) -> float | None:
        """Seconds until the slowest replica was ready."""
        seconds = [replica.ready_seconds for replica in self.replicas]
        return None if None in seconds else max(s for s in seconds if s is not None)

    def start(self, fake_socket: FakeSocketMode | None, port: int, timeout: float) -> None:
        """Start every replica at once (each on its own port), then the proxy or the spread."""
        ports = [free_port() for _ in range(self.count)]
        self.replicas = [OurApp({**self.env, "PORT": str(p)}) for p in ports]
        for replica in self.replicas:
            replica.bot.start(wait_ready=False)
        for replica in self.replicas:
            replica.bot.wait_for("ready:", timeout)
        if fake_socket is not None:
            fake_socket.spread = True
            fake_socket.wait_connected(timeout, min_connections=self.count)
            return
        self.proxy = RoundRobinProxy(ports).start()
        self.port = self.proxy.port

    def stop(self) -> None:
        """Stop every replica, then the proxy."""
        for replica in self.replicas:
            replica.stop()
        if self.proxy is not None:
            self.proxy.stop()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of each replica's log."""
        return "\n".join(replica.log_tail(lines) for replica in self.replicas)
