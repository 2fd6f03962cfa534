"""response_url replies share one kept-alive session, and post what Bolt's respond() would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.slack.response_urls import ResponseUrls


@pytest.fixture
async def slack() -> AsyncIterator[tuple[TestServer, list[tuple[object, dict]]]]:
    """A loopback response_url endpoint that records each post and the connection it came on."""
    posts: list[tuple[object, dict]] = []

    async def receive(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        posts.append((peer, json.loads(await request.read())))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/commands/{user}", receive)
    server = TestServer(app)
    await server.start_server()
    yield server, posts
    await server.close()


async def test_replies_reuse_one_connection_and_carry_the_message(slack) -> None:
    server, posts = slack
    urls = ResponseUrls()
    try:
        first = await urls.respond(str(server.make_url("/commands/U1")))(
            text="Calling", response_type="ephemeral", replace_original=False
        )
        second = await urls.respond(str(server.make_url("/commands/U2")))(
            text="Placed", blocks=[{"type": "section"}], response_type="ephemeral"
        )
    finally:
        await urls.aclose()
    assert first.status_code == 200 and second.status_code == 200
    assert [body for _, body in posts] == [
        {"text": "Calling", "response_type": "ephemeral", "replace_original": False},
        {"text": "Placed", "blocks": [{"type": "section"}], "response_type": "ephemeral"},
    ]
    assert posts[0][0] == posts[1][0], "each reply opened its own connection"


async def test_a_closed_session_is_opened_again_on_the_next_reply(slack) -> None:
    server, posts = slack
    urls = ResponseUrls()
    await urls.respond(str(server.make_url("/commands/U1")))(text="one")
    await urls.aclose()
    sent = await urls.respond(str(server.make_url("/commands/U1")))(text="two")
    await urls.aclose()
    assert sent.status_code == 200 and [body["text"] for _, body in posts] == ["one", "two"]
