"""Baseline /dial the way Bolt's getting-started guide reads: sync App, ack, blocking PBX call.

This is what the benchmark compares our app against; it is not used by the bot. It reads
the same settings as the bot (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN,
SLACK_API_URL, WEBFONES_API_KEY, WEBFONES_BASE_URL, PORT) plus BASELINE_LINKS, a
comma-separated user->extension map like "U0123ABCD=309,U0456EFGH=310".

    python -m bench.baseline_app  # Socket Mode if SLACK_APP_TOKEN is set, else app.start(PORT)
"""

from __future__ import annotations

import os
import re

import httpx
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient


def parse_links(raw: str) -> dict[str, str]:
    """Read "USER=EXT,USER=EXT" into a dict."""
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {user.strip(): extension.strip() for user, extension in pairs}


def to_digits(text: str) -> str | None:
    """US-style number to E.164 digits without '+', or None when it is not one."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 10:
        digits = "1" + digits
    return digits if len(digits) == 11 and digits.startswith("1") else None


def create_app() -> App:
    """The guide's shape: one App, one listener that acks and then does the work inline."""
    links = parse_links(os.environ.get("BASELINE_LINKS", ""))
    pbx_url = os.environ.get("WEBFONES_BASE_URL", "https://api.webfones.com:2343").rstrip("/")
    pbx_key = os.environ["WEBFONES_API_KEY"]
    client = WebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = App(client=client, signing_secret=os.environ.get("SLACK_SIGNING_SECRET"))

    @app.command("/dial")
    def dial(ack: Ack, respond: Respond, command: dict) -> None:
        extension = links.get(command["user_id"])
        number = to_digits(command.get("text") or "")
        if extension is None or number is None:
            ack("Sorry, I can't dial that (no extension linked, or not a US number).")
            return
        ack(f"Calling +{number} from extension {extension}…")
        try:
            reply = httpx.post(
                f"{pbx_url}/dialer/call",
                headers={"x-api-key": pbx_key},
                json={"extension": extension, "phonenumber": number},
                timeout=15,
            )
            ok = reply.status_code == 200
        except httpx.HTTPError:
            ok = False
        respond("Your phone is ringing." if ok else "Sorry, the call could not be placed.")

    return app


def main() -> None:
    """Socket Mode with the default handler when SLACK_APP_TOKEN is set, else app.start()."""
    app = create_app()
    if os.environ.get("SLACK_APP_TOKEN"):
        SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"]).start()
    else:
        app.start(port=int(os.environ.get("PORT", "3000")))


if __name__ == "__main__":
    main()
