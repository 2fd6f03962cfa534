"""Run the benchmark: interleaved rounds of bursts of concurrent /dial, every app, both modes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench import report
from bench.apps import (
    AppUnderTest,
    BaselineApp,
    BoltFloorApp,
    FloorApp,
    OurApp,
    ReplicatedApp,
    RssSampler,
    read_rss_kb,
)
from bench.load import (
    HttpLoad,
    Request,
    calls_per_extension,
    collect_finals,
    make_requests,
    socket_burst,
)
from bot.store import Store
from tests.botproc import ROOT, free_port
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import post_signed, slash_command_body, slash_command_payload
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

PBX_KEY = "bench-pbx-key-0123456789"
BOT_TOKEN = "xoxb-bench-bot-token-0000"
APP_TOKEN = "xapp-bench-app-token-0000"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
ADMIN = "UBENCHADM"
WARMUP_USER = "UWARMUP01"
IDLE_SETTLE_SECONDS = 1.0
START_TIMEOUT = 20.0
REQUEST_TIMEOUT = 10.0
COMMAND = "python -m bench"
DEFAULT_SIZES = "200,500"
DEFAULT_ROUNDS = 5
DEFAULT_APPS = "ours,baseline,floor,bolt-floor"
DEFAULT_PHASE_TIMEOUT = 30.0
DEFAULT_BASELINE_ONCE_ABOVE = 200
APPS = ("ours", "before", "floor", "bolt-floor", "baseline")
#: Apps with no Socket Mode to run: they serve Slack's HTTP requests only.
HTTP_ONLY = frozenset({"floor", "bolt-floor"})


def users(n: int) -> list[tuple[str, str]]:
    """N Slack users, each linked to their own extension."""
    return [(f"UBENCH{i:04d}", str(2000 + i)) for i in range(n)]


def dial_texts(n: int) -> list[str]:
    """N distinct, valid US numbers, written the way people type them."""
    return [f"580-867-{5000 + i:04d}" for i in range(n)]


def write_links(db_path: str, linked: list[tuple[str, str]]) -> None:
    """Link every user straight into the SQLite file before the bot starts."""
    store = Store(db_path)
    try:
        for user, extension in linked:
            store.links.set(user, extension, ADMIN)
    finally:
        store.close()


def write_links_pg(url: str, linked: list[tuple[str, str]]) -> None:
    """Link every user straight into a PostgreSQL database (migrating it) before replicas start."""
    import asyncio

    from bot.store.pg.store import PgStore

    async def write() -> None:
        store = PgStore(url)
        await store.open()
        try:
            for user, extension in linked:
                await store.links.set(user, extension, ADMIN)
        finally:
            await store.close()

    asyncio.run(write())


def write_links_in(checkout: Path, db_path: str, linked: list[tuple[str, str]]) -> None:
    """Link every user with another checkout's own store code, so its schema is the one it knows.

    Every checkout since the benchmark was added has `bench.run.write_links(db_path, linked)`.
    """
    script = "import json, sys\nfrom bench.run import write_links\n"
    script += "write_links(sys.argv[1], json.load(sys.stdin))\n"
    done = subprocess.run(
        [sys.executable, "-c", script, db_path],
        input=json.dumps(linked),
        cwd=checkout,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"linking users in {checkout} failed: {done.stderr.strip()[-500:]}")


def env_for(mode: str, pbx: FakePbx, slack: FakeSlack, db_path: str, port: int) -> dict[str, str]:
    """The contract's settings, pointed at the fakes, with budgets that never interfere."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "WEBFONES_API_KEY": PBX_KEY,
        "WEBFONES_BASE_URL": pbx.url,
        "DIALER_DB": db_path,
        "DIALER_ADMINS": ADMIN,
        "DIALER_USER_RATE": "1000/60",
        "DIALER_PBX_RATE": "100000/900",
        "PORT": str(port),
    }
    if mode == "socket":
        env["SLACK_APP_TOKEN"] = APP_TOKEN
    else:
        env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    return env


def warm_up(mode: str, url: str, slack: FakeSlack, fake_socket: FakeSocketMode | None) -> None:
    """One `/dial help` (answered without the PBX), as a running app would have seen before."""
    response_url = slack.response_url("warmup")
    if fake_socket is not None:
        payload = slash_command_payload(
            "/dial", "help", user_id=WARMUP_USER, response_url=response_url
        )
        fake_socket.wait_ack(fake_socket.send_envelope("slash_commands", payload), timeout=10)
        return
    body = slash_command_body("/dial", "help", user_id=WARMUP_USER, response_url=response_url)
    status, text, _ = post_signed(url, body, SIGNING_SECRET, timeout=10)
    if status != 200:
        raise RuntimeError(f"warm-up /dial help answered {status}: {text[:200]}")


@contextlib.contextmanager
def fakes(mode: str, latency: float) -> Iterator[tuple[FakePbx, FakeSlack, FakeSocketMode | None]]:
    """A fresh fake PBX, Slack Web API and (in Socket Mode) Socket Mode server."""
    with contextlib.ExitStack() as stack:
        pbx = stack.enter_context(FakePbx(PBX_KEY, latency=latency, rate_limit=1_000_000))
        slack = stack.enter_context(FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN))
        fake_socket = None
        if mode == "socket":
            fake_socket = stack.enter_context(FakeSocketMode())
            slack.socket_mode_url = fake_socket.url
        yield pbx, slack, fake_socket


def run_phase(
    mode: str,
    app_name: str,
    n: int,
    latency: float,
    phase_timeout: float,
    workdir: Path,
    http_load: HttpLoad | None = None,
    before: Path | None = None,
    round_number: int = 1,
    database_url: str = "",
    replicas: int = 3,
) -> report.PhaseResult:
    """Start one app in one mode, fire N concurrent /dial, measure, stop it."""
    result = report.PhaseResult(mode=mode, app=app_name, n=n, latency=latency, round=round_number)
    began = time.monotonic()
    linked = users(n)
    with fakes(mode, latency) as (pbx, slack, fake_socket):
        for user, _ in linked:
            slack.add_user(user)
        port = free_port()
        name = f"{mode}-{app_name}-{n}-{round_number}"
        db_path = str(workdir / f"{name}.db")
        env = env_for(mode, pbx, slack, db_path, port)
        app: AppUnderTest
        if app_name == "ours":
            write_links(db_path, linked)
            app = OurApp(env)
        elif app_name == "before":
            assert before is not None
            write_links_in(before, db_path, linked)
            app = OurApp(env, before)
        elif app_name == "replicas":
            write_links_pg(database_url, linked)
            env["DIALER_DATABASE_URL"] = database_url
            app = ReplicatedApp(env, replicas)
        elif app_name == "floor":
            app = FloorApp(env, workdir / f"{name}.log")
        elif app_name == "bolt-floor":
            app = BoltFloorApp(env, workdir / f"{name}.log")
        else:
            env["BASELINE_LINKS"] = ",".join(f"{user}={ext}" for user, ext in linked)
            app = BaselineApp(env, workdir / f"{name}.log")
        try:
            app.start(fake_socket, port, START_TIMEOUT)
            result.ready_seconds = app.ready_seconds
            time.sleep(IDLE_SETTLE_SECONDS)
            url = f"http://127.0.0.1:{getattr(app, 'port', 0) or port}/slack/events"
            warm_up(mode, url, slack, fake_socket)
            result.idle_rss_kb = read_rss_kb(app.pid)
            slack.reset()
            requests: list[Request] = make_requests(slack, linked, dial_texts(n))
            with RssSampler(app.pid) as sampler:
                burst_started = time.monotonic()
                if fake_socket is not None:
                    burst = socket_burst(fake_socket, requests, REQUEST_TIMEOUT)
                else:
                    assert http_load is not None
                    burst = http_load.burst(url, SIGNING_SECRET, requests, REQUEST_TIMEOUT)
                if result.dials:
                    collect_finals(slack, requests, burst_started + phase_timeout)
                sampler.mark_cpu()
                if result.dials:
                    time.sleep(0.5)  # room for a stray second call to show up
            result.requests = requests
            result.send_spread = burst.send_spread
            result.peak_rss_kb = max(sampler.peak_kb, result.idle_rss_kb or 0)
            result.cpu_seconds = sampler.cpu_marked or 0.0
            result.calls = calls_per_extension(pbx)
            result.api_calls = Counter(call.method for call in list(slack.api_calls))
        except Exception as error:
            result.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            print(app.log_tail(), file=sys.stderr)
        finally:
            app.stop()
    result.phase_seconds = time.monotonic() - began
    return result


def schedule(
    rounds: int,
    sizes: list[int],
    modes: list[str],
    apps: list[str],
    baseline_once_above: int,
) -> list[tuple[int, int, str, str]]:
    """Every phase in the order it runs: (round, N, mode, app).

    Within each (round, N, mode) the apps take turns, their order rotated by one each round, so
    whatever else the machine is doing hits every app alike. The floors run in HTTP mode only;
    the baseline, whose every phase waits out the phase cap, runs above `baseline_once_above`
    in the first round only.
    """
    phases = []
    for round_number in range(1, rounds + 1):
        shift = (round_number - 1) % len(apps) if apps else 0
        turn = apps[shift:] + apps[:shift]
        for n in sizes:
            for mode in modes:
                for app in turn:
                    if app in HTTP_ONLY and mode != "http":
                        continue
                    if app == "baseline" and n > baseline_once_above and round_number > 1:
                        continue
                    phases.append((round_number, n, mode, app))
    return phases


def _sizes(text: str) -> list[int]:
    """Burst sizes from "200,500" (the argparse type for --n)."""
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"burst sizes must be 1 or more: {text!r}")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Bursts of concurrent /dial against our app, a Bolt-guide baseline and a "
        "signature-checking floor, in interleaved rounds.",
    )
    parser.add_argument(
        "--n",
        type=_sizes,
        default=_sizes(DEFAULT_SIZES),
        help=f"burst sizes, comma-separated (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"interleaved rounds; figures are medians across them (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument("--latency", type=float, default=2.0, help="PBX latency, s (default 2)")
    parser.add_argument(
        "--modes", default="http,socket", help="comma-separated: http, socket (default both)"
    )
    parser.add_argument(
        "--apps",
        default=DEFAULT_APPS,
        help=f"comma-separated: ours, baseline, floor, bolt-floor (default {DEFAULT_APPS})",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="also run `python -m bot` from this checkout (e.g. a git worktree of an older "
        "commit) as app 'before', in the same rounds",
    )
    parser.add_argument(
        "--phase-timeout",
        type=float,
        default=DEFAULT_PHASE_TIMEOUT,
        help=f"cap on one phase's burst and replies, s (default {DEFAULT_PHASE_TIMEOUT:g})",
    )
    parser.add_argument(
        "--baseline-once-above",
        type=int,
        default=DEFAULT_BASELINE_ONCE_ABOVE,
        metavar="N",
        help="run the baseline in the first round only for bursts above N "
        f"(default {DEFAULT_BASELINE_ONCE_ABOVE}): each of its phases waits out the cap",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        metavar="N",
        help="also run our app as N replicas on one throwaway PostgreSQL (app 'replicas'), "
        "beside the one replica, in the same rounds (default 1: off)",
    )
    parser.add_argument(
        "--output",
        default=str(ROOT / "BENCHMARKS.md"),
        help="markdown report to refresh; '-' to skip writing (default BENCHMARKS.md)",
    )
    return parser.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run."""
    parts = [COMMAND]
    sizes = ",".join(str(n) for n in args.n)
    if sizes != DEFAULT_SIZES:
        parts.append(f"--n {sizes}")
    if args.rounds != DEFAULT_ROUNDS:
        parts.append(f"--rounds {args.rounds}")
    if args.latency != 2.0:
        parts.append(f"--latency {args.latency:g}")
    if args.modes != "http,socket":
        parts.append(f"--modes {args.modes}")
    if args.apps != DEFAULT_APPS:
        parts.append(f"--apps {args.apps}")
    if args.before is not None:
        parts.append(f"--before {args.before}")
    if args.phase_timeout != DEFAULT_PHASE_TIMEOUT:
        parts.append(f"--phase-timeout {args.phase_timeout:g}")
    if args.baseline_once_above != DEFAULT_BASELINE_ONCE_ABOVE:
        parts.append(f"--baseline-once-above {args.baseline_once_above}")
    if args.replicas > 1:
        parts.append(f"--replicas {args.replicas}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run every round × size × mode × app phase, print the tables and refresh BENCHMARKS.md."""
    args = parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    if not set(modes) <= {"http", "socket"} or not set(apps) <= set(APPS) - {"before"}:
        print(
            "--modes takes http,socket and --apps takes ours,baseline,floor,bolt-floor",
            file=sys.stderr,
        )
        return 2
    if args.rounds < 1:
        print("--rounds takes 1 or more", file=sys.stderr)
        return 2
    before: Path | None = None
    if args.before is not None:
        before = args.before.resolve()
        if not (before / "bot" / "__main__.py").is_file():
            print(f"--before {args.before}: no bot/__main__.py there", file=sys.stderr)
            return 2
        apps.insert(apps.index("ours") + 1 if "ours" in apps else 0, "before")
    if args.replicas > 1:
        apps.insert(apps.index("ours") + 1 if "ours" in apps else 0, "replicas")
    phases = schedule(args.rounds, args.n, modes, apps, args.baseline_once_above)
    results = []
    load_before = report.load_average()
    started = time.monotonic()
    http_load = HttpLoad() if "http" in modes else None
    try:
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dialer-bench-"))
            server = None
            if "replicas" in apps:
                from tests.postgres import running_server

                server = stack.enter_context(running_server())
            for index, (round_number, n, mode, app) in enumerate(phases, 1):
                print(
                    f"… [{index}/{len(phases)}, {time.monotonic() - started:.0f} s] round "
                    f"{round_number}/{args.rounds}, {mode}, {app}: {n} concurrent /dial, "
                    f"PBX {args.latency:g} s",
                    file=sys.stderr,
                    flush=True,
                )
                database_url = ""
                if app == "replicas" and server is not None:
                    database_url = server.url(server.database())
                result = run_phase(
                    mode,
                    app,
                    n,
                    args.latency,
                    args.phase_timeout,
                    Path(tmp),
                    http_load,
                    before,
                    round_number,
                    database_url,
                    args.replicas,
                )
                results.append(result)
    finally:
        if http_load is not None:
            http_load.close()
    elapsed = time.monotonic() - started
    command = command_line(args)
    summaries = report.summarize(results)
    print()
    print(report.tables(summaries))
    print()
    print(report.targets_text(summaries))
    print()
    print(report.details(summaries))
    print(
        f"\nwhole run: {elapsed:.0f} s; load average before/after: {load_before}/"
        f"{report.load_average()}; reproduce with: {command}"
    )
    if args.output != "-":
        kept = report.kept_notes(args.output)
        text = report.markdown(results, command, elapsed, load_before, kept, before)
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0
