"""The loopback Slack fakes behave like Slack for the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.signing import (
    block_actions_payload,
    interactive_body,
    message_action_payload,
    post_signed,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running FakeSlack with the default tokens."""
    with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as fake:
        yield fake


@pytest.fixture
def web(fake_slack: FakeSlack) -> WebClient:
    """A real slack_sdk WebClient pointed at the fake."""
    return WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=5)


# --------------------------------------------------------------------------- Web API


def test_auth_test_answers_and_records_token(fake_slack: FakeSlack, web: WebClient) -> None:
    """auth.test answers like Slack and the call is recorded with its token."""
    resp = web.auth_test()
    assert resp["ok"] is True
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0123ABCD", "UBOT", "BBOT")
    assert resp["is_enterprise_install"] is False
    [call] = fake_slack.calls_to("auth.test")
    assert call.token == BOT_TOKEN
    assert "token" not in call.params


def test_wrong_or_missing_token_is_invalid_auth(fake_slack: FakeSlack) -> None:
    """A wrong or missing bot token gets invalid_auth."""
    for token in ("xoxb-wrong", None):
        client = WebClient(token=token, base_url=fake_slack.api_url, timeout=5)
        with pytest.raises(SlackApiError) as info:
            client.auth_test()
        assert info.value.response["error"] == "invalid_auth"
    assert [c.token for c in fake_slack.calls_to("auth.test")] == ["xoxb-wrong", None]


def test_token_may_come_as_a_form_param(fake_slack: FakeSlack, web: WebClient) -> None:
    """A `token` form param (no Authorization header) authenticates too."""
    resp = WebClient(base_url=fake_slack.api_url).api_call("auth.test", params={"token": BOT_TOKEN})
    assert resp["ok"] is True
    assert fake_slack.calls_to("auth.test")[-1].token == BOT_TOKEN


def test_users_info_and_lookup_by_email(fake_slack: FakeSlack, web: WebClient) -> None:
    """users.info / users.lookupByEmail return Slack-shaped users or the real errors."""
    fake_slack.add_user("UADMIN", name="boss", email="Boss@acme.com", is_admin=True)
    fake_slack.add_user("UOWNER", name="own", is_owner=True, is_primary_owner=True)
    user = web.users_info(user="UADMIN")["user"]
    assert user["id"] == "UADMIN" and user["team_id"] == "T0123ABCD"
    assert (user["is_admin"], user["is_owner"], user["is_primary_owner"]) == (True, False, False)
    assert user["profile"]["email"] == "Boss@acme.com"
    assert {"name", "real_name", "deleted", "is_bot", "profile"} <= user.keys()
    assert web.users_info(user="UOWNER")["user"]["is_primary_owner"] is True
    with pytest.raises(SlackApiError) as info:
        web.users_info(user="UNOBODY")
    assert info.value.response["error"] == "user_not_found"

    assert web.users_lookupByEmail(email="boss@acme.com")["user"]["id"] == "UADMIN"
    with pytest.raises(SlackApiError) as info:
        web.users_lookupByEmail(email="nobody@acme.com")
    assert info.value.response["error"] == "users_not_found"
    assert [c.params["user"] for c in fake_slack.calls_to("users.info")] == [
        "UADMIN",
        "UOWNER",
        "UNOBODY",
    ]


def test_views_methods(fake_slack: FakeSlack, web: WebClient) -> None:
    """views.* answer with a view carrying an id; the view param is recorded as a dict."""
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    published = web.views_publish(user_id="U1", view=view)
    assert published["view"]["id"].startswith("V")
    assert published["view"]["blocks"] == view["blocks"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Link"}, "blocks": []}
    opened = web.views_open(trigger_id="111.222.abc", view=modal)
    updated = web.views_update(view_id=opened["view"]["id"], view=modal)
    assert updated["view"]["id"] == opened["view"]["id"]
    assert web.views_push(trigger_id="111.222.abc", view=modal)["ok"] is True
    [call] = fake_slack.calls_to("views.publish")
    assert call.params["user_id"] == "U1" and call.params["view"] == view


def test_chat_and_conversations(fake_slack: FakeSlack, web: WebClient) -> None:
    """chat.postMessage / chat.postEphemeral / conversations.open answer like Slack."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    posted = web.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    assert posted["channel"] == "C1" and posted["ts"]
    ephemeral = web.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert ephemeral["message_ts"]
    assert web.conversations_open(users="U1")["channel"]["id"].startswith("D")
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.params["text"] == "hello" and call.params["blocks"] == blocks
    assert fake_slack.calls_to("chat.postEphemeral")[0].params["user"] == "U1"


def test_apps_connections_open_needs_the_app_token(fake_slack: FakeSlack, web: WebClient) -> None:
    """apps.connections.open returns socket_mode_url for the app token only."""
    fake_slack.socket_mode_url = "ws://127.0.0.1:1/link"
    assert web.apps_connections_open(app_token=APP_TOKEN)["url"] == "ws://127.0.0.1:1/link"
    with pytest.raises(SlackApiError) as info:
        web.apps_connections_open(app_token=BOT_TOKEN)
    assert info.value.response["error"] == "invalid_auth"
    assert [c.token for c in fake_slack.calls_to("apps.connections.open")] == [APP_TOKEN, BOT_TOKEN]


def test_unknown_method_and_overrides(fake_slack: FakeSlack, web: WebClient) -> None:
    """Unknown methods say unknown_method; set_method_response injects errors."""
    with pytest.raises(SlackApiError) as info:
        web.api_call("nope.never")
    assert info.value.response["error"] == "unknown_method"
    fake_slack.set_method_response("users.info", {"ok": False, "error": "fatal_error"})
    with pytest.raises(SlackApiError) as info:
        web.users_info(user="U1")
    assert info.value.response["error"] == "fatal_error"
    fake_slack.set_method_response("users.info", None)
    fake_slack.add_user("U1")
    assert web.users_info(user="U1")["ok"] is True
    assert [c.method for c in fake_slack.api_calls] == ["nope.never", *["users.info"] * 2]


# --------------------------------------------------------------------------- response_url


def test_response_url_posts_are_recorded(fake_slack: FakeSlack) -> None:
    """WebhookClient posts to a response_url are recorded and answered 200 ok."""
    url = fake_slack.response_url("dial")
    other = fake_slack.response_url()
    assert url != other and url.startswith(fake_slack.url + "/response/")
    resp = WebhookClient(url).send(text="Calling…", response_type="ephemeral")
    assert (resp.status_code, resp.body) == (200, "ok")
    WebhookClient(url).send(text="Ringing", replace_original=True, response_type="ephemeral")
    bodies = fake_slack.wait_for_posts(url, count=2, timeout=1)
    assert bodies[0] == {"text": "Calling…", "response_type": "ephemeral"}
    assert bodies[1]["replace_original"] is True
    assert fake_slack.posts_to(other) == []
    assert fake_slack.response_posts[0].path == urllib.parse.urlsplit(url).path


def test_response_url_status_is_settable(fake_slack: FakeSlack) -> None:
    """response_status 404 answers no_service (and the post is still recorded)."""
    fake_slack.response_status = 404
    url = fake_slack.response_url()
    resp = WebhookClient(url).send(text="late")
    assert (resp.status_code, resp.body) == (404, "no_service")
    assert fake_slack.response_posts[0].status == 404
    assert fake_slack.posts_to(url) == [{"text": "late"}]


def test_wait_for_posts_reports_what_arrived(fake_slack: FakeSlack) -> None:
    """wait_for_posts fails with a message listing the posts that did arrive."""
    url = fake_slack.response_url()
    WebhookClient(url).send(text="only one")
    with pytest.raises(AssertionError, match="only one"):
        fake_slack.wait_for_posts(url, count=2, timeout=0.2)


async def test_response_url_handles_concurrent_keep_alive_posts(fake_slack: FakeSlack) -> None:
    """200 concurrent aiohttp posts over kept-alive connections all land; stop() then returns."""
    urls = [fake_slack.response_url(f"load{i}") for i in range(200)]
    async with aiohttp.ClientSession() as session:
        responses = await asyncio.gather(
            *(AsyncWebhookClient(u, session=session).send(text=u) for u in urls)
        )
    assert {r.status_code for r in responses} == {200}
    assert all(fake_slack.posts_to(u) == [{"text": u}] for u in urls)
    started = time.monotonic()
    fake_slack.stop()
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- signing


def test_slash_command_body_is_encoded_like_slack() -> None:
    """'+' becomes %2B, spaces '+', and the fields match the dict payload."""
    fields = {"user_id": "U1", "response_url": "https://x/response/1", "trigger_id": "1.2.ab"}
    body = slash_command_body("/dial", "+1 580-867-5309", **fields)
    assert "command=%2Fdial" in body and "text=%2B1+580-867-5309" in body
    decoded = dict(urllib.parse.parse_qsl(body))
    payload = slash_command_payload("/dial", "+1 580-867-5309", **fields)
    assert decoded == payload
    first, second = (
        slash_command_payload("/dial", "", user_id="U1", response_url="") for _ in "ab"
    )
    assert first["trigger_id"] != second["trigger_id"], "each request has its own, as from Slack"
    assert payload["text"] == "+1 580-867-5309" and payload["is_enterprise_install"] == "false"


def test_signed_body_validates_and_forgery_does_not() -> None:
    """SignatureVerifier accepts our signature and rejects a forged body or secret."""
    body = interactive_body(
        block_actions_payload(
            user_id="U1", action_id="dial_choice", value="+15808675309", response_url="u"
        )
    )
    headers = signed_headers(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace("U1", "U2"), headers)
    forged = signed_headers(body, "not-the-secret")
    assert not verifier.is_valid_request(body, forged)
    stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_interactive_payloads_round_trip() -> None:
    """interactive_body carries the JSON payload in a single form field."""
    payload = message_action_payload(
        user_id="U1", text="call me at <tel:+15808675309|+1 580-867-5309>", response_url="u"
    )
    assert payload["type"] == "message_action" and "blocks" not in payload["message"]
    decoded = urllib.parse.parse_qs(interactive_body(payload))
    assert json.loads(decoded["payload"][0]) == payload
    action = block_actions_payload(user_id="U1", action_id="a", value="v", response_url="u")
    assert action["container"]["is_ephemeral"] is True and "message" not in action


def test_post_signed_returns_status_without_raising(fake_slack: FakeSlack) -> None:
    """post_signed returns (status, text, seconds) for 2xx and 4xx alike."""
    status, text, seconds = post_signed(fake_slack.url + "/nowhere", "a=b", SECRET)
    assert (status, text) == (404, "not found") and 0 <= seconds < 5
    url = fake_slack.response_url()
    status, text, _ = post_signed(url, interactive_body({"text": "x"}), SECRET)
    assert (status, text) == (200, "ok")
    assert fake_slack.posts_to(url) == [{"text": "x"}]


# --------------------------------------------------------------------------- Socket Mode


class BoltSocketApp:
    """A tiny AsyncApp behind AsyncSocketModeHandler, on its own event loop in a thread."""

    # ping_interval drives slack_sdk's aiohttp client: its session monitor wakes every
    # ping_interval seconds and only then notices a connection that died without a close
    # frame (FakeSocketMode.drop()). Bolt's default is 10 s; 0.3 keeps the test fast.
    PING_INTERVAL = 0.3

    def __init__(self, api_url: str) -> None:
        """Prepare (not start) the app against the fake Web API at api_url."""
        self.api_url = api_url
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="bolt-socket-mode", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until the handler connected."""
        self._thread.start()
        if not self.ready.wait(timeout) or self.error is not None:
            raise AssertionError(f"Socket Mode app did not start: {self.error!r}")

    def stop(self) -> None:
        """Close the handler, stop the loop and join the thread."""
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:
            self.error = error
            self.ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        # Everything is built inside the loop: SocketModeClient.__init__ creates an
        # aiohttp.ClientSession and schedules a task, which needs the running loop.
        # Passing only `client=` (not also `token=`) avoids Bolt's "token will be unused"
        # warning; the handler's web client is app.client, so apps.connections.open goes
        # to the client's base_url (the fake).
        self._stop = asyncio.Event()
        app = AsyncApp(
            client=AsyncWebClient(token=BOT_TOKEN, base_url=self.api_url, timeout=5),
            signing_secret=SECRET,
        )

        @app.command("/dial")
        async def dial(ack: AsyncAck, command: dict[str, str]) -> None:
            """Ack with the text that came in."""
            await ack(text=f"Calling {command['text']}…")

        handler = AsyncSocketModeHandler(app, APP_TOKEN, ping_interval=self.PING_INTERVAL)
        await handler.connect_async()
        self.ready.set()
        try:
            await self._stop.wait()
        finally:
            await handler.close_async()


@pytest.fixture
def socket_setup(fake_slack: FakeSlack) -> Iterator[tuple[FakeSlack, FakeSocketMode]]:
    """A FakeSocketMode wired to fake_slack, with a connected Bolt app."""
    with FakeSocketMode() as fake_socket:
        fake_slack.socket_mode_url = fake_socket.url
        bolt = BoltSocketApp(fake_slack.api_url)
        bolt.start()
        try:
            fake_socket.wait_connected(timeout=5)
            yield fake_slack, fake_socket
        finally:
            bolt.stop()


def _dial(fake_slack: FakeSlack, fake_socket: FakeSocketMode, text: str) -> dict[str, object]:
    payload = slash_command_payload(
        "/dial", text, user_id="U1", response_url=fake_slack.response_url()
    )
    envelope_id = fake_socket.send_envelope("slash_commands", payload)
    ack = fake_socket.wait_ack(envelope_id, timeout=3)
    latency = fake_socket.ack_latency(envelope_id)
    assert latency is not None and 0 <= latency < 3
    return ack


def test_bolt_socket_mode_ack_and_reconnect_after_drop(
    socket_setup: tuple[FakeSlack, FakeSocketMode],
) -> None:
    """A real AsyncSocketModeHandler acks through the fake and reconnects after a drop."""
    fake_slack, fake_socket = socket_setup
    assert fake_socket.connections == 1
    [open_call] = fake_slack.calls_to("apps.connections.open")
    assert open_call.token == APP_TOKEN

    ack = _dial(fake_slack, fake_socket, "+1 580-867-5309")
    assert ack["payload"] == {"text": "Calling +1 580-867-5309…"}
    assert fake_slack.calls_to("auth.test")[0].token == BOT_TOKEN  # Bolt's lazy authorize

    fake_socket.drop()
    fake_socket.wait_connected(timeout=5, min_connections=2)
    assert fake_socket.connections == 2
    assert len(fake_slack.calls_to("apps.connections.open")) == 2
    assert _dial(fake_slack, fake_socket, "310")["payload"] == {"text": "Calling 310…"}


def test_bolt_socket_mode_reconnects_on_disconnect_and_close_frame(
    socket_setup: tuple[FakeSlack, FakeSocketMode],
) -> None:
    """A disconnect message and a graceful close both make the client reconnect at once."""
    fake_slack, fake_socket = socket_setup
    fake_socket.send_disconnect()
    fake_socket.wait_connected(timeout=2, min_connections=2)
    assert _dial(fake_slack, fake_socket, "1")["payload"] == {"text": "Calling 1…"}
    fake_socket.drop(graceful=True)
    fake_socket.wait_connected(timeout=2, min_connections=3)
    assert _dial(fake_slack, fake_socket, "2")["payload"] == {"text": "Calling 2…"}
    assert len(fake_slack.calls_to("apps.connections.open")) == 3
