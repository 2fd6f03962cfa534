"""Socket Mode end-to-end set-up: the bot as a process, connected to a loopback FakeSocketMode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.botproc import BotProcess
from tests.e2e.conftest import ADMIN, BOT_TOKEN, LINKED, PBX_KEY
from tests.fakes.pbx import FakePbx
from tests.fakes.signing import (
    block_actions_payload,
    message_action_payload,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

ACK_TIMEOUT = 3.0  # Slack's own limit: a later ack is an error the user sees


class SocketWorld:
    """One Socket Mode setup: send envelopes over the fake WebSocket, read acks and replies."""

    def __init__(
        self, tmp_path: Path, pbx: FakePbx, slack: FakeSlack, socket: FakeSocketMode
    ) -> None:
        self.tmp_path = tmp_path
        self.pbx = pbx
        self.slack = slack
        self.socket = socket
        self.db_path = str(tmp_path / "dialer.db")
        self.bot: BotProcess | None = None
        self.extra_env: dict[str, str] = {}
        slack.socket_mode_url = socket.url

    @property
    def app_token(self) -> str:
        """The app-level token the fake Slack accepts for apps.connections.open."""
        return self.slack.app_token

    @property
    def env(self) -> dict[str, str]:
        """The contract's settings for Socket Mode: an app token and no signing secret."""
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": self.app_token,
            "SLACK_API_URL": self.slack.api_url,
            "WEBFONES_API_KEY": PBX_KEY,
            "WEBFONES_BASE_URL": self.pbx.url,
            "DIALER_DB": self.db_path,
            "DIALER_ADMINS": ADMIN,
            **self.extra_env,
        }

    def start(self, **env: str) -> BotProcess:
        """Start (or restart) the bot and wait until it holds a live Socket Mode connection."""
        self.extra_env.update(env)
        before = self.socket.connections
        self.bot = BotProcess(self.env).start()
        self.socket.wait_connected(timeout=10, min_connections=before + 1)
        return self.bot

    def stop(self) -> None:
        """Stop the bot if it runs."""
        if self.bot is not None:
            self.bot.stop()

    # --- envelopes --------------------------------------------------------------------------

    def send(self, type: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Send one envelope and wait (up to Slack's 3 s) for its ack; answer (id, ack)."""
        envelope_id = self.socket.send_envelope(type, payload)
        ack = self.socket.wait_ack(envelope_id, timeout=ACK_TIMEOUT + 2)
        latency = self.socket.ack_latency(envelope_id)
        assert latency is not None and latency < ACK_TIMEOUT, f"late ack: {latency}s"
        return envelope_id, ack

    def command(self, command: str, text: str, user: str) -> tuple[dict[str, Any], str]:
        """A slash command envelope; answer (ack payload or {}, response_url)."""
        response_url = self.slack.response_url()
        payload = slash_command_payload(command, text, user_id=user, response_url=response_url)
        _, ack = self.send("slash_commands", payload)
        return ack.get("payload") or {}, response_url

    def dial(self, text: str, user: str = "UALICE001") -> tuple[dict[str, Any], str]:
        """A /dial envelope."""
        return self.command("/dial", text, user)

    def link(self, text: str, user: str = ADMIN) -> tuple[dict[str, Any], str]:
        """A /dial-link envelope."""
        return self.command("/dial-link", text, user)

    def shortcut(self, message_text: str, user: str = "UALICE001") -> tuple[dict[str, Any], str]:
        """A dial_from_message message_action envelope; answer (ack, response_url)."""
        response_url = self.slack.response_url()
        payload = message_action_payload(user_id=user, text=message_text, response_url=response_url)
        _, ack = self.send("interactive", payload)
        return ack, response_url

    def click(
        self, action_id: str, value: str, user: str = "UALICE001"
    ) -> tuple[dict[str, Any], str]:
        """A block_actions envelope for a choice button; answer (ack, response_url)."""
        response_url = self.slack.response_url()
        payload = block_actions_payload(
            user_id=user, action_id=action_id, value=value, response_url=response_url
        )
        _, ack = self.send("interactive", payload)
        return ack, response_url

    # --- results ----------------------------------------------------------------------------

    def final_reply(self, response_url: str, count: int = 1, timeout: float = 10.0) -> str:
        """The text of the count-th reply posted to response_url."""
        posts = self.slack.wait_for_posts(response_url, count=count, timeout=timeout)
        return posts[count - 1]["text"]

    def link_everyone(self) -> None:
        """Link the standard test users through /dial-link envelopes, as an admin would."""
        for user, extension in LINKED.items():
            ack, _ = self.link(f"<@{user}> {extension}")
            assert "Linked" in ack.get("text", ""), ack
