"""The standard test workspace both layers share: secrets, the admin, users and their links."""

from __future__ import annotations

from contextlib import closing

from bot.store import Store
from tests.fakes.slack import FakeSlack

SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-bot-token-0000"
PBX_KEY = "pbx-key-SECRET-e2e-7f3a9c"
ADMIN = "UADMIN001"
LINKED = {"UALICE001": "309", "UBOB00001": "310", "UCAROL001": "311"}


def add_standard_users(slack: FakeSlack) -> None:
    """An admin, a workspace owner, the three LINKED users and one who is not linked."""
    slack.add_user(ADMIN, name="admin")
    slack.add_user("UOWNER001", name="owner", is_owner=True)
    for user in LINKED:
        slack.add_user(user, name=user.lower())
    slack.add_user("UNOLINK01", name="nolink")


def seed_links(db_path: str, links: dict[str, str] | None = None) -> None:
    """Write links straight into the bot's database, as an admin's /dial-link would have."""
    with closing(Store(db_path)) as store:
        for user, extension in (LINKED if links is None else links).items():
            store.links.set(user, extension, ADMIN)
