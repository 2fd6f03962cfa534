"""The floor: a bare aiohttp server that checks Slack's signature and answers 200 at once.

The benchmark compares our app's acks against it: it does what any Slack app in HTTP mode must
do for a request (accept the connection, read the body, check the signature, answer) and
nothing else, served the way our app serves (aiohttp, same listen backlog, no access log). Its
ack latency under a burst is what the machine and the load itself cost. There is no floor for
Socket Mode. It reads SLACK_SIGNING_SECRET and PORT.

    python -m bench.floor_app
"""

from __future__ import annotations

import os

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

PATH = "/slack/events"


def create_app(signing_secret: str) -> web.Application:
    """One route: a signed POST gets an empty 200, anything else a 401."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(PATH, events)
    return app


def serve(app: web.Application) -> None:
    """Serve on 0.0.0.0:PORT with the listen backlog our app uses (1024), no access log."""
    web.run_app(
        app,
        host="0.0.0.0",
        port=int(os.environ.get("PORT", "3000")),
        backlog=1024,
        access_log=None,
        print=None,
        reuse_address=True,
    )


def main() -> None:
    """The floor, served as our app is."""
    serve(create_app(os.environ["SLACK_SIGNING_SECRET"]))


if __name__ == "__main__":
    main()
