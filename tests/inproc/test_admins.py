"""Admins are this workspace's people: Slack's is_admin of a guest, an outsider or a bot is not."""

from __future__ import annotations

import pytest

from bot.slack.text import admins as admin_text
from tests.botproc import free_port
from tests.fakes.signing import view_submission_payload
from tests.fakes.slack import FakeSlack
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World
from tests.workspace import (
    ADMIN,
    BOT_TOKEN,
    OUTSIDE_ADMINS,
    WORKSPACE_ADMIN,
    add_outside_admins,
    add_standard_users,
)

LINK = "<@UNOLINK01> 412"


@pytest.fixture
def admins_world(make_world: MakeWorld) -> World:
    """The standard world plus Slack admins from elsewhere and one workspace admin."""
    world = make_world()
    add_outside_admins(world.slack)
    return world


def links_of(world: World, user: str) -> list[tuple]:
    """The link rows of one user, as the bot wrote them."""
    return world.rows("SELECT user_id, extension FROM links WHERE user_id = ?", user)


def submit_link(world: World, admin: str, extension: str, user: str = "UNOLINK01") -> dict:
    """Submit the link modal for `user` with `extension`; answer the ack."""
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": extension}}}
    payload = view_submission_payload(
        user_id=admin, callback_id="link_user_modal", values=values, private_metadata=user
    )
    return world.interact(payload)[1]


@pytest.mark.parametrize("who", OUTSIDE_ADMINS)
def test_a_slack_admin_who_is_not_this_workspace_s_cannot_link(
    admins_world: World, who: str
) -> None:
    world = admins_world
    status, ack, _ = world.link(LINK, user=OUTSIDE_ADMINS[who])
    assert status == 200
    assert ack["text"] == (
        "Only an admin of this workspace can link extensions; guests, people from other "
        "organizations and bots can't."
    )
    assert links_of(world, "UNOLINK01") == []
    status, ack, _ = world.link("list", user=OUTSIDE_ADMINS[who])
    assert ack["text"].startswith("Only an admin of this workspace can list links or see")


@pytest.mark.parametrize("who", ["another team's admin", "a guest admin", "a bot"])
def test_the_link_form_refuses_them_too(admins_world: World, who: str) -> None:
    ack = submit_link(admins_world, OUTSIDE_ADMINS[who], "412")
    assert ack["response_action"] == "errors"
    assert ack["errors"]["extension"] == admin_text.not_of_this_workspace()
    assert links_of(admins_world, "UNOLINK01") == []


def test_a_workspace_admin_and_owner_can_link(admins_world: World) -> None:
    world = admins_world
    _, ack, _ = world.link(LINK, user=WORKSPACE_ADMIN)
    assert ack["text"] == "Linked <@UNOLINK01> to extension 412."
    assert links_of(world, "UNOLINK01") == [("UNOLINK01", "412")]
    ack = submit_link(world, "UOWNER001", "413")
    assert ack["response_action"] == "update"
    assert links_of(world, "UNOLINK01") == [("UNOLINK01", "413")]
    # The bot learned its own workspace from auth.test to tell them apart.
    assert world.slack.calls_to("auth.test")


def test_while_the_bot_s_workspace_is_unknown_only_dialer_admins_may_link(
    make_world: MakeWorld,
) -> None:
    """Slack was away at start-up, and now answers everything but auth.test: who we are is
    unknown, so no users.info admin is trusted; DIALER_ADMINS still are."""
    slack = FakeSlack(bot_token=BOT_TOKEN, port=free_port())  # nothing listens yet
    try:
        add_standard_users(slack)
        add_outside_admins(slack)
        world = make_world(slack=slack, ready=False, SLACK_API_URL=slack.api_url)
        slack.set_method_response("auth.test", {"ok": False, "error": "internal_error"})
        slack.start()
        _, ack, _ = world.link(LINK, user=WORKSPACE_ADMIN)
        assert ack["text"] == admin_text.workspace_unknown()
        assert "DIALER_ADMINS" in ack["text"] and links_of(world, "UNOLINK01") == []
        _, ack, _ = world.link(LINK, user=ADMIN)  # DIALER_ADMINS: no need to ask Slack
        assert ack["text"] == "Linked <@UNOLINK01> to extension 412."

        slack.set_method_response("auth.test", None)  # Slack answers again: no restart needed
        _, ack, _ = world.link("<@UNOLINK01> 414", user=WORKSPACE_ADMIN)
        assert ack["text"].startswith("Changed <@UNOLINK01> from extension 412 to 414")
    finally:
        slack.stop()


def test_a_non_admin_is_told_who_may_list_links_and_read_the_log(world: World) -> None:
    for text in ("list", "log"):
        _, ack, _ = world.link(text, user="UALICE001")
        assert ack["text"].startswith("Only admins can list links or see the call log; ask an ")
    _, ack, _ = world.link(LINK, user="UALICE001")
    assert ack["text"].startswith(f"Only an admin (<@{ADMIN}>) can link or unlink extensions.")
