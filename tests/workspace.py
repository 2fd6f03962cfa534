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


#: Slack calls each of these an admin, but none is this workspace's own: each must be refused.
OUTSIDE_ADMINS = {
    "another team's admin": "UOTHERTM1",
    "another org's admin": "UOTHERORG",
    "a guest admin": "UGUESTADM",
    "a single-channel guest admin": "UULTRAADM",
    "an external stranger": "USTRANGER",
    "a bot": "UBOTADMIN",
}
#: A workspace admin (by Slack's word only, not in DIALER_ADMINS).
WORKSPACE_ADMIN = "UWSADMIN1"


def add_outside_admins(slack: FakeSlack) -> None:
    """Slack admins who must not count here, and one workspace admin who must (none linked)."""
    ids = OUTSIDE_ADMINS
    slack.add_user(ids["another team's admin"], is_admin=True, team_id="T0OTHER99")
    slack.add_user(
        ids["another org's admin"], is_owner=True, team_id="T0OTHER98", enterprise_id="E0OTHER1"
    )
    slack.add_user(ids["a guest admin"], is_admin=True, is_restricted=True)
    slack.add_user(ids["a single-channel guest admin"], is_admin=True, is_ultra_restricted=True)
    slack.add_user(ids["an external stranger"], is_admin=True, is_stranger=True)
    slack.add_user(ids["a bot"], is_admin=True, is_bot=True)
    slack.add_user(WORKSPACE_ADMIN, name="wsadmin", is_admin=True)


def seed_links(db_path: str, links: dict[str, str] | None = None) -> None:
    """Write links straight into the bot's database, as an admin's /dial-link would have."""
    with closing(Store(db_path)) as store:
        for user, extension in (LINKED if links is None else links).items():
            store.links.set(user, extension, ADMIN)
