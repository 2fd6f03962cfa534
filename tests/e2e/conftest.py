"""End-to-end fixtures: the bot as a process, a fake PBX and a fake Slack on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.botproc import BotProcess, free_port
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    block_actions_payload,
    interactive_body,
    message_action_payload,
    post_signed,
    slash_command_body,
)
from tests.fakes.slack import FakeSlack
from tests.workspace import ADMIN, BOT_TOKEN, LINKED, PBX_KEY, SIGNING_SECRET, seed_links

if TYPE_CHECKING:
    from tests.e2e.socket_world import SocketWorld


class World:
    """One end-to-end setup: post signed Slack requests, read what the PBX and Slack saw."""

    def __init__(self, tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> None:
        self.tmp_path = tmp_path
        self.pbx = pbx
        self.slack = slack
        self.port = free_port()
        self.db_path = str(tmp_path / "dialer.db")
        self.bot: BotProcess | None = None
        self.extra_env: dict[str, str] = {}

    @property
    def env(self) -> dict[str, str]:
        """The contract's settings, pointed at the loopback fakes."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "WEBFONES_API_KEY": PBX_KEY,
            "WEBFONES_BASE_URL": self.pbx.url,
            "DIALER_DB": self.db_path,
            "DIALER_ADMINS": ADMIN,
            "PORT": str(self.port),
            **self.extra_env,
        }

    @property
    def url(self) -> str:
        """Where Slack would send requests."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, **env: str) -> BotProcess:
        """Start (or restart) the bot with extra settings."""
        self.extra_env.update(env)
        self.bot = BotProcess(self.env).start()
        return self.bot

    def stop(self) -> None:
        """Stop the bot if it runs."""
        if self.bot is not None:
            self.bot.stop()

    def command(self, command: str, text: str, user: str, **kw: Any) -> tuple[int, dict, str]:
        """Send a signed slash command; answer (status, ack JSON or {}, response_url)."""
        response_url = self.slack.response_url()
        body = slash_command_body(command, text, user_id=user, response_url=response_url)
        status, text_body, _ = post_signed(self.url, body, SIGNING_SECRET, **kw)
        return status, _json(text_body), response_url

    def dial(self, text: str, user: str = "UALICE001") -> tuple[int, dict, str]:
        """A signed /dial."""
        return self.command("/dial", text, user)

    def link(self, text: str, user: str = ADMIN) -> tuple[int, dict, str]:
        """A signed /dial-link."""
        return self.command("/dial-link", text, user)

    def shortcut(self, message_text: str, user: str = "UALICE001") -> tuple[int, str]:
        """A signed message_action for dial_from_message; answer (status, response_url)."""
        response_url = self.slack.response_url()
        payload = message_action_payload(user_id=user, text=message_text, response_url=response_url)
        status, _, _ = post_signed(self.url, interactive_body(payload), SIGNING_SECRET)
        return status, response_url

    def click(self, action_id: str, value: str, user: str = "UALICE001") -> tuple[int, str]:
        """A signed block_actions click on a choice button; answer (status, response_url)."""
        response_url = self.slack.response_url()
        payload = block_actions_payload(
            user_id=user, action_id=action_id, value=value, response_url=response_url
        )
        status, _, _ = post_signed(self.url, interactive_body(payload), SIGNING_SECRET)
        return status, response_url

    def final_reply(self, response_url: str, count: int = 1, timeout: float = 10.0) -> str:
        """The text of the count-th reply posted to response_url."""
        posts = self.slack.wait_for_posts(response_url, count=count, timeout=timeout)
        return posts[count - 1]["text"]

    def link_everyone(self) -> None:
        """Link the standard test users through /dial-link, as an admin would."""
        for user, extension in LINKED.items():
            status, ack, _ = self.link(f"<@{user}> {extension}")
            assert status == 200 and "Linked" in ack["text"], ack


def _json(text: str) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"raw": text}


@pytest.fixture
def world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[World]:
    """A running bot, the standard users linked (written to its database before start-up)."""
    setup = World(tmp_path, pbx, slack)
    seed_links(setup.db_path)
    setup.start()
    try:
        yield setup
    finally:
        setup.stop()
        if setup.bot is not None:
            assert PBX_KEY not in setup.bot.log, "the PBX key leaked into the log"
            assert BOT_TOKEN not in setup.bot.log, "the bot token leaked into the log"


@pytest.fixture
def socket_world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[SocketWorld]:
    """A running bot in Socket Mode (SocketWorld), on a FakeSocketMode, standard users linked."""
    from tests.e2e.socket_world import SocketWorld  # here: it imports this module
    from tests.fakes.socket_mode import FakeSocketMode

    with FakeSocketMode() as socket:
        setup = SocketWorld(tmp_path, pbx, slack, socket)
        seed_links(setup.db_path)
        setup.start()
        try:
            yield setup
        finally:
            setup.stop()
            if setup.bot is not None:
                for secret in (PBX_KEY, BOT_TOKEN, setup.app_token):
                    assert secret not in setup.bot.log, "a secret leaked into the log"
