"""The one place that builds the app: every component from Settings, in dependency order.

`build(settings)` opens the store, makes the PBX client, the metrics, the Slack clients, the
services and the Bolt app, and answers them as `Components`. The process (bot.runtime), the
operator commands (bot.cli), the in-process test harness and the benchmark all build through
here; only the PBX transport and the clock may be swapped (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx
from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.metrics import Metrics
from bot.pbx import WebFonesClient
from bot.services.acks import AckGate
from bot.services.dialing import DialService
from bot.services.directory_links import DirectoryLinks
from bot.services.linking import Directory, LinkService
from bot.services.receipts import ReceiptService
from bot.slack.admins import LOOKUP_SECONDS, AdminDirectory
from bot.slack.app import DialerApp, create_app
from bot.slack.deps import Deps
from bot.slack.directory import SlackDirectory
from bot.slack.home import HomePublisher
from bot.slack.http_server import create_web_app
from bot.slack.identity import SlackIdentity
from bot.slack.profiles import PAGE_INTERVAL, PROFILE_INTERVAL, ConflictAlerts, Pace, SlackProfiles
from bot.slack.response_urls import ResponseUrls
from bot.store import Store
from bot.store.pg import postgres_store
from bot.store.runner import StoreRunner

if TYPE_CHECKING:
    from bot.store.pg.store import PgStore

#: The operator commands' Web API calls may take this long (nothing waits on an ack there).
CLI_SLACK_TIMEOUT_SECONDS = 15.0


@dataclass
class Components:
    """Everything `build` made, for the runtime (or a test) to serve, drive and close."""

    settings: Settings
    store: Store | PgStore
    db: StoreRunner
    pbx: WebFonesClient
    metrics: Metrics
    identity: SlackIdentity
    dialing: DialService
    linking: LinkService
    app: DialerApp
    #: The one HTTP session for response_url replies (the app's respond() posts on it).
    response_urls: ResponseUrls
    #: Links from the company directory (DIALER_EXTENSION_FIELD); None when it is unset.
    directory: DirectoryLinks | None = None
    profiles: SlackProfiles | None = None

    def web_app(self) -> web.Application:
        """HTTP mode's aiohttp application: POST /slack/events, GET /healthz and /metrics."""
        secret = self.settings.slack_signing_secret or ""
        return create_web_app(self.app, self.db, self.metrics, secret)

    async def aclose(self) -> None:
        """Close the PBX client and the store (calls in flight should be drained first)."""
        await self.pbx.aclose()
        await self.response_urls.aclose()
        self.db.close()
        closing = self.store.close()
        if inspect.isawaitable(closing):  # PostgreSQL's pool closes in the loop
            await closing


class StoreSettings(Protocol):
    """The two settings that say where the store is (Settings has them; so do the operator
    commands' own, which need no Slack token to read the links)."""

    @property
    def db_path(self) -> str: ...

    @property
    def database_url(self) -> str | None: ...


def open_store(
    settings: StoreSettings,
    *,
    clock: Callable[[], float] = time.time,
    blocking: bool = False,
    group_commit: bool = False,
) -> Store | PgStore:
    """The store: PostgreSQL at DIALER_DATABASE_URL when set, else SQLite at DIALER_DB.

    The one place that picks the backend. SQLite is opened and migrated here; PostgreSQL's
    pool is opened (and migrated) by `await store.open()` in the event loop (bot.runtime.process
    .start does), or here with `blocking=True`, for plain synchronous code (the operator
    commands): its methods are then plain calls, as SQLite's are. Raises StoreError when the
    store can't be opened, DriverMissing when the URL is set without psycopg. With
    `group_commit`, SQLite's commits are made durable by the StoreRunner that reports them.
    """
    if settings.database_url:
        store = postgres_store(settings.database_url, clock=clock)
        if blocking:
            from bot.store.pg.blocking import BlockingStore  # psycopg is there: store made

            return BlockingStore(store)  # type: ignore[return-value]  # the same methods
        return store
    return Store(settings.db_path, clock=clock, group_commit=group_commit)


def pbx_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> WebFonesClient:
    """The WebFones Dialer API client, with WEBFONES_TIMEOUT as its deadline."""
    return WebFonesClient(
        settings.webfones_base_url,
        settings.webfones_api_key,
        transport=transport,
        total_timeout=float(settings.webfones_timeout),
        connect_timeout=min(5.0, float(settings.webfones_timeout)),
        max_in_flight=settings.webfones_connections,
    )


def slack_client(token: str, base_url: str, *, retries: bool = True) -> AsyncWebClient:
    """A Web API client; `retries=False` drops slack_sdk's own retry on connection errors."""
    if retries:
        return AsyncWebClient(token=token, base_url=base_url)
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[])


def cli_slack_client(token: str, base_url: str) -> AsyncWebClient:
    """The operator commands' client: waits out Slack's rate limits a few times."""
    client = AsyncWebClient(token=token, base_url=base_url, timeout=int(CLI_SLACK_TIMEOUT_SECONDS))
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return client


def cli_directory(token: str, base_url: str) -> Directory:
    """The operator commands' email lookup (`links import`), with their longer time limit."""
    return SlackDirectory(cli_slack_client(token, base_url), timeout=CLI_SLACK_TIMEOUT_SECONDS)


def cli_profiles(
    token: str,
    base_url: str,
    wanted: str,
    *,
    profile_interval: float = PROFILE_INTERVAL,
    page_interval: float = PAGE_INTERVAL,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> SlackProfiles:
    """The operator commands' directory reader: paced to Slack's tiers, waiting out 429s."""
    client = slack_client(token, base_url)  # no rate-limit handler: SlackProfiles waits itself
    return SlackProfiles(
        client,
        wanted,
        timeout=CLI_SLACK_TIMEOUT_SECONDS,
        patient=True,
        profile_pace=Pace(profile_interval, sleep=sleep or asyncio.sleep),
        page_pace=Pace(page_interval, sleep=sleep or asyncio.sleep),
    )


def linking(store: Store, region: str, directory: Directory | None = None) -> LinkService:
    """The linking service on a store (the operator commands' way to link)."""
    return LinkService(StoreRunner(store), region=region, directory=directory)


def build(
    settings: Settings,
    *,
    pbx_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Components:
    """Build every component from Settings; raises StoreError when DIALER_DB can't be opened."""
    # Every write the app makes goes through its StoreRunner, which flushes commits in groups.
    store = open_store(settings, clock=clock, group_commit=True)
    db = StoreRunner(store)
    pbx = pbx_client(settings, transport=pbx_transport)
    metrics = Metrics()
    metrics.watch_pbx_budget(store.budget(), settings.pbx_rate)
    token, api = settings.slack_bot_token, settings.slack_api_url
    client = slack_client(token, api)
    # Its own client without slack_sdk's retry on connection errors: the retry schedule
    # (and its one log line per try) is SlackIdentity's.
    identity = SlackIdentity(slack_client(token, api, retries=False))
    admins = AdminDirectory(settings.admins, client, identity=identity)
    home = HomePublisher(client, db, admins)
    acks = AckGate()
    profiles = directory_links = None
    if settings.extension_field:
        # Read before an ack (a first /dial): the same short limit as the admin check.
        profiles = SlackProfiles(client, settings.extension_field, timeout=LOOKUP_SECONDS)
        alerts = ConflictAlerts(client, settings.admins)
        directory_links = DirectoryLinks(
            db, profiles, region=settings.default_region, on_conflict=alerts
        )
    dialing = DialService(
        settings,
        db,
        pbx,
        metrics=metrics,
        after_call=home.call_finished,
        acks=acks,
        directory=directory_links,
    )
    directory = SlackDirectory(client, timeout=LOOKUP_SECONDS)
    links = LinkService(db, region=settings.default_region, directory=directory)
    receipts = ReceiptService(settings, db, metrics)
    deps = Deps(
        settings,
        dialing,
        links,
        admins,
        home,
        client,
        receipts,
        directory=directory_links,
        profiles=profiles,
    )
    response_urls = ResponseUrls()
    app = create_app(
        deps, identity=identity, metrics=metrics, db=db, acks=acks, response_urls=response_urls
    )
    return Components(
        settings,
        store,
        db,
        pbx,
        metrics,
        identity,
        dialing,
        links,
        app,
        response_urls,
        directory_links,
        profiles,
    )
