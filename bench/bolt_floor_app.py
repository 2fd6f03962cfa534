"""The Bolt floor: Bolt's AsyncApp on its aiohttp adapter, with a /dial that acks at once.

Between the floor (a bare signature check) and our app: what Bolt itself spends on a request
before any listener's work — its request parsing, its middleware (a second signature check,
authorization), listener matching and the ack. Our app's ack p99 over this one is what our own
work before the ack costs. Authorization is a fixed answer (no auth.test), so no Web API call
is made. HTTP only. It reads SLACK_SIGNING_SECRET and PORT.

    python -m bench.bolt_floor_app
"""

from __future__ import annotations

import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bench.floor_app import PATH, serve


async def authorize(**_: object) -> AuthorizeResult:
    """The one workspace, as a single-workspace app knows it after start-up."""
    return AuthorizeResult(
        enterprise_id=None, team_id="T0FLOOR", bot_token="xoxb-floor", bot_user_id="UFLOOR"
    )


def create_app(signing_secret: str) -> web.Application:
    """POST /slack/events into Bolt; /dial acks with an empty 200 at once."""
    bolt = AsyncApp(signing_secret=signing_secret, authorize=authorize)

    @bolt.command("/dial")
    async def dial(ack: AsyncAck) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(PATH, events)
    return app


def main() -> None:
    """The Bolt floor, served as the floor is."""
    serve(create_app(os.environ["SLACK_SIGNING_SECRET"]))


if __name__ == "__main__":
    main()
