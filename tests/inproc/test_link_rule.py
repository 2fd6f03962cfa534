"""One extension rule for every way to link: /dial-link and the link form refuse stacked prefixes
and premium-rate short numbers, and Home is current after a link."""

from __future__ import annotations

import json

import pytest

from tests.fakes.signing import dm_button_payload, home_button_payload, view_submission_payload
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World
from tests.workspace import ADMIN

#: (region, extension, what the refusal names) that no way to link may accept.
REFUSED = [
    ("US", "91911", "911 behind the outside-line prefix 9 and the country code 1"),
    ("US", "01911", "911 behind the outside-line prefix 0 and the country code 1"),
    ("US", "19911", "911 behind the country code 1 and the outside-line prefix 9"),
    ("FR", "3617", "a premium-rate number in France"),
    ("FR", "118712", "a premium-rate number in France"),
]


def submit_link(world: World, admin: str, extension: str, user: str = "UNOLINK01") -> dict:
    """Submit the link modal for `user` with `extension`; answer the ack."""
    values = {"extension": {"extension_input": {"type": "plain_text_input", "value": extension}}}
    payload = view_submission_payload(
        user_id=admin, callback_id="link_user_modal", values=values, private_metadata=user
    )
    return world.interact(payload)[1]


@pytest.mark.parametrize(("region", "extension", "named"), REFUSED)
def test_dial_link_refuses_it(
    make_world: MakeWorld, region: str, extension: str, named: str
) -> None:
    world = make_world(DIALER_DEFAULT_REGION=region)
    _, ack, _ = world.link(f"<@UNOLINK01> {extension}")
    assert ack["text"].startswith(f"{extension} is ") and named in ack["text"], ack
    assert "can't be linked as an extension" in ack["text"]
    assert world.rows("SELECT * FROM links WHERE user_id = 'UNOLINK01'") == []


@pytest.mark.parametrize(("region", "extension", "named"), REFUSED)
def test_the_link_form_refuses_it(
    make_world: MakeWorld, region: str, extension: str, named: str
) -> None:
    world = make_world(DIALER_DEFAULT_REGION=region)
    ack = submit_link(world, ADMIN, extension)
    assert ack["response_action"] == "errors" and named in ack["errors"]["extension"], ack
    assert world.rows("SELECT * FROM links WHERE user_id = 'UNOLINK01'") == []


def test_ordinary_extensions_still_link_in_france(make_world: MakeWorld) -> None:
    world = make_world(DIALER_DEFAULT_REGION="FR")
    _, ack, _ = world.link("<@UNOLINK01> 4100")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 4100."


def test_a_link_made_before_the_rule_is_not_dialed(make_world: MakeWorld) -> None:
    world = make_world(DIALER_DEFAULT_REGION="FR")
    world.seed_links({"UBOB00001": "3617"})
    _, ack, _ = world.dial("<@UBOB00001>", user="UALICE001")
    assert "would reach an emergency, special-services or premium-rate number" in ack["text"]
    world.idle()
    assert world.pbx.requests == 0


# --- Home is current after every way of linking --------------------------------------------------


def ask_from_home(world: World, user: str) -> dict:
    """The user opens Home and presses 'Ask an admin to link me'; answer the Home then shown."""
    world.open_home(user)
    before = len(world.homes(user))
    world.interact(home_button_payload(user_id=user, action_id="request_link"))
    return world.latest_home(user, after=before)


def test_home_drops_the_request_banner_once_linked_through_the_form(world: World) -> None:
    asked = ask_from_home(world, "UNOLINK01")
    assert f"I've asked <@{ADMIN}> to link you" in json.dumps(asked)
    before = len(world.homes("UNOLINK01"))
    assert submit_link(world, ADMIN, "313")["response_action"] == "update"
    home = json.dumps(world.latest_home("UNOLINK01", after=before))
    assert "Your extension is *313*" in home
    assert "I've asked" not in home and "Ask an admin to link me" not in home


def test_home_drops_the_request_banner_once_linked_with_dial_link(world: World) -> None:
    ask_from_home(world, "UNOLINK01")
    before = len(world.homes("UNOLINK01"))
    _, ack, _ = world.link("<@UNOLINK01> 313")
    assert ack["text"] == "Linked <@UNOLINK01> to extension 313."
    home = json.dumps(world.latest_home("UNOLINK01", after=before))
    assert "Your extension is *313*" in home and "I've asked" not in home


def test_an_unlinked_admin_asking_is_told_to_link_themselves(world: World) -> None:
    response_url = world.slack.response_url()
    world.interact(
        dm_button_payload(
            user_id=ADMIN, action_id="request_link", value="x", response_url=response_url
        )
    )
    said = world.final_reply(response_url)
    assert said.startswith("You're a dialer admin, so you can link yourself: run `/dial-link")
    assert f"<@{ADMIN}>" not in said
    world.idle()
    assert world.slack.calls_to("chat.postMessage") == []
