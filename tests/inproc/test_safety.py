"""Dialing safety in-process: destination policy, duplicate guard, budgets and the audit log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World

REFUSED = {
    "1-900-976-1234": "premium-rate",
    "+1 876 555 1234": "Jamaica",
    "+44 20 7946 0958": "the United Kingdom",
    "911": "emergency",
}


@pytest.mark.parametrize("number", REFUSED)
def test_slash_refusals_name_the_reason_and_send_nothing(world: World, number: str) -> None:
    _, ack, _ = world.dial(number)
    assert REFUSED[number] in ack["text"]
    world.idle()
    assert world.pbx.requests == 0
    row = world.audit_rows()[-1]
    assert row["user_id"] == "UALICE001" and row["outcome"].startswith("refused_")
    assert row["surface"] == "slash" and row["sent"] == 0


def test_region_refusal_names_both_countries(world: World) -> None:
    _, ack, _ = world.dial("+44 20 7946 0958")
    assert "+44 20 7946 0958 is in the United Kingdom" in ack["text"]
    assert "the United States and Canada" in ack["text"]


def test_emergency_refusal_says_to_use_a_phone(world: World) -> None:
    _, ack, _ = world.dial("911")
    assert "Dial 911 from a phone directly" in ack["text"]


def test_toll_free_is_dialed(world: World) -> None:
    _, ack, response_url = world.dial("1-800-555-0199")
    assert "Calling +1 800-555-0199" in ack["text"]
    assert "ringing" in world.final_reply(response_url)
    assert [c.phonenumber for c in world.pbx.calls] == ["18005550199"]


@pytest.mark.parametrize("number", REFUSED)
def test_shortcut_and_button_apply_the_same_policy(world: World, number: str) -> None:
    _, response_url = world.shortcut(f"reach me on {number}")
    text = world.final_reply(response_url)
    assert REFUSED[number] in text or "couldn't find a phone number" in text
    _, click_url = world.click("dial_choice_0", number)
    assert REFUSED[number] in world.final_reply(click_url)
    world.idle()
    assert world.pbx.requests == 0
    surfaces = {row["surface"] for row in world.audit_rows()}
    assert "choice" in surfaces


def test_shortcut_refuses_a_caribbean_number_in_a_message(world: World) -> None:
    _, response_url = world.shortcut("Kingston office: <tel:+18765551234|+1 876 555 1234>")
    assert "Jamaica" in world.final_reply(response_url)
    world.idle()
    assert world.pbx.requests == 0


def test_double_submission_at_once_places_one_call(world: World) -> None:
    world.pbx.latency = 0.5
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: world.dial("580-867-5309"), range(2)))
    texts = sorted(ack["text"] for _, ack, _ in results)
    assert any("Already calling +1 580-867-5309" in t for t in texts), texts
    world.idle()
    assert len(world.pbx.calls) == 1


def test_second_dial_within_ten_seconds_is_already_calling(world: World) -> None:
    _, _, response_url = world.dial("580-867-5309")
    world.final_reply(response_url)
    _, ack, _ = world.dial("580-867-5309")
    assert ack["text"].startswith("Already calling +1 580-867-5309")
    world.idle()
    assert len(world.pbx.calls) == 1
    _, ack, response_url = world.dial("580-867-5309", user="UBOB00001")
    assert "Calling" in ack["text"], "another user is not a duplicate"


def test_a_failed_call_can_be_retried_at_once(world: World) -> None:
    world.pbx.offline_extensions = {"309"}
    _, _, response_url = world.dial("580-867-5309")
    assert "None of the phones" in world.final_reply(response_url)
    world.pbx.offline_extensions = set()
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    assert "ringing" in world.final_reply(response_url)


def test_user_budget_tells_how_long_to_wait(make_world: MakeWorld) -> None:
    world = make_world(DIALER_USER_RATE="2/60")
    for number in ("580-867-5309", "604-555-0143"):
        _, _, url = world.dial(number)
        world.final_reply(url)
    _, ack, _ = world.dial("212-555-0123")
    assert "Please wait" in ack["text"] and "seconds" in ack["text"]
    world.idle()
    assert len(world.pbx.calls) == 2
    _, ack, _ = world.dial("212-555-0123", user="UBOB00001")
    assert "Calling" in ack["text"]


def test_pbx_budget_is_shared_by_everyone(make_world: MakeWorld) -> None:
    world = make_world(DIALER_PBX_RATE="20/900")
    users = [f"UBUDGET{n:02d}" for n in range(30)]
    world.seed_links({user: str(500 + n) for n, user in enumerate(users)})
    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda u: world.dial("580-867-5309", user=u), users))
    calling = [ack for _, ack, _ in results if "Calling" in ack["text"]]
    waiting = [ack for _, ack, _ in results if "try again in" in ack["text"]]
    assert len(calling) == 20 and len(waiting) == 10
    world.idle()
    assert world.pbx.requests == 20
    _, ack, _ = world.dial("604-555-0143", user=users[0])
    assert "used up its calls" in ack["text"]


def test_every_attempt_is_audited_and_only_admins_read_the_log(world: World) -> None:
    _, _, url = world.dial("580-867-5309")
    world.final_reply(url)
    world.dial("+44 20 7946 0958")
    world.dial("580-867-5309")
    rows = world.audit_rows()
    assert [r["outcome"] for r in rows] == ["placed", "refused_region", "held_duplicate"]
    placed = rows[0]
    assert placed["extension"] == "309" and placed["destination"] == "+15808675309"
    assert placed["pbx_status"] == 200 and placed["latency_ms"] >= 0
    assert placed["at_utc"].endswith("Z") and placed["surface"] == "slash"
    _, ack, _ = world.link("log")
    assert "+1 580-867-5309" in ack["text"] and "refused (country not allowed)" in ack["text"]
    _, ack, _ = world.link("log <@UALICE001>")
    assert "by <@UALICE001>" in ack["text"] and "placed" in ack["text"]
    _, ack, _ = world.link("log", user="UALICE001")
    assert "Only" in ack["text"] and "+15808675309" not in ack["text"]
