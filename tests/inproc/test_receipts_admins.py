"""What admins learn from callers' receipts: the extensions that didn't ring, and Tell an admin.

Three "Didn't ring" answers on one extension put it first on the admins' Home; Tell an admin
DMs each admin (DIALER_ADMINS) at most once an hour about one extension, however often it is
pressed and by whomever, remembered in the database. /metrics counts each answer.
"""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.slack import dm_channel
from tests.inproc.conftest import MakeWorld
from tests.inproc.harness import World
from tests.inproc.test_receipts import buttons, dial_receipt, placed_ids, tap
from tests.workspace import ADMIN

SECOND_ADMIN = "UOWNER001"
#: Three callers share extension 309 (a shared desk phone); a fourth has 310.
SHARED = {"UALICE001": "309", "UBOB00001": "309", "UCAROL001": "309", "UNOLINK01": "310"}


def dms_to(world: World, user: str) -> list[dict]:
    """What the bot sent to a user's DM."""
    posts = world.slack.calls_to("chat.postMessage")
    return [c.params for c in posts if c.params.get("channel") == dm_channel(user)]


def didnt_ring(world: World, user: str) -> int:
    """`user` dials and answers Didn't ring; answer the call's row id."""
    dial_receipt(world, user=user)
    call_id = placed_ids(world, user)[-1]
    world.slack.wait_for_posts(tap(world, "receipt_didnt_ring", call_id, user=user))
    return call_id


def test_three_didnt_ring_answers_put_the_extension_first_for_admins(world: World) -> None:
    world.seed_links(SHARED)
    didnt_ring(world, "UNOLINK01")
    for user in ("UALICE001", "UBOB00001", "UCAROL001"):
        didnt_ring(world, user)
    text = json.dumps(world.open_home(ADMIN))
    first = text.index("extension *309* \\u2014 3 times")
    assert first < text.index("extension *310* \\u2014 1 time")
    assert "Extensions that didn't ring" in text and "<!date^" in text
    # Callers don't see the admins' list.
    assert "Extensions that didn't ring" not in json.dumps(world.open_home("UALICE001"))


def test_tell_an_admin_dms_each_admin_once_an_hour(make_world: MakeWorld) -> None:
    world = make_world(DIALER_ADMINS=f"{ADMIN},{SECOND_ADMIN}")
    world.seed_links(SHARED)
    call_id = didnt_ring(world, "UALICE001")
    first = world.slack.wait_for_posts(tap(world, "receipt_tell_admin", call_id))[0]
    assert first["replace_original"] is True
    assert f"I told <@{ADMIN}>, <@{SECOND_ADMIN}>" in json.dumps(first["blocks"])
    for admin in (ADMIN, SECOND_ADMIN):
        (dm,) = dms_to(world, admin)
        assert "<@UALICE001>" in dm["text"] and "extension 309" in dm["text"]
        assert "+1 580-867-5309" in dm["text"] and "<!date^" in dm["text"]
        assert "first time this week" in dm["text"]
    # Pressed again, and by another caller on the same extension: no second DM this hour.
    again = world.slack.wait_for_posts(tap(world, "receipt_tell_admin", call_id))[0]
    assert "already heard about extension 309" in json.dumps(again["blocks"])
    bob_call = didnt_ring(world, "UBOB00001")
    world.slack.wait_for_posts(tap(world, "receipt_tell_admin", bob_call, user="UBOB00001"))
    world.idle()
    assert [len(dms_to(world, admin)) for admin in (ADMIN, SECOND_ADMIN)] == [1, 1]
    # A restart does not forget who was told.
    world.restart()
    world.slack.wait_for_posts(tap(world, "receipt_tell_admin", bob_call, user="UBOB00001"))
    world.idle()
    assert [len(dms_to(world, admin)) for admin in (ADMIN, SECOND_ADMIN)] == [1, 1]
    # An hour later they hear again, with the week's count.
    world.advance(3601)
    world.slack.wait_for_posts(tap(world, "receipt_tell_admin", bob_call, user="UBOB00001"))
    for admin in (ADMIN, SECOND_ADMIN):
        dms = dms_to(world, admin)
        assert len(dms) == 2 and "<@UBOB00001>" in dms[1]["text"]
        assert "2 times this week" in dms[1]["text"]


def test_tell_an_admin_is_refused_for_someone_elses_call(world: World) -> None:
    call_id = didnt_ring(world, "UALICE001")
    said = world.slack.wait_for_posts(tap(world, "receipt_tell_admin", call_id, user="UBOB00001"))
    assert "someone else's call" in said[0]["text"]
    world.idle()
    assert dms_to(world, ADMIN) == []


def test_tell_an_admin_after_the_answer_changed_tells_no_one(world: World) -> None:
    call_id = didnt_ring(world, "UALICE001")
    changed = world.slack.wait_for_posts(tap(world, "receipt_connected", call_id))[0]
    assert "receipt_tell_admin" not in buttons(changed["blocks"])
    said = world.slack.wait_for_posts(tap(world, "receipt_tell_admin", call_id))[0]
    assert "no longer" in said["text"]
    world.idle()
    assert dms_to(world, ADMIN) == []


def test_metrics_count_each_answer_under_its_label(world: World) -> None:
    for number, action in (
        ("580-867-5309", "receipt_connected"),
        ("604-555-0143", "receipt_didnt_ring"),
        ("212-555-0188", "receipt_no_answer"),
    ):
        dial_receipt(world, number=number)
        world.slack.wait_for_posts(tap(world, action, placed_ids(world)[-1]))
    # The same answer again counts nothing more; a change counts under the new answer.
    world.slack.wait_for_posts(tap(world, "receipt_connected", placed_ids(world)[0]))
    world.slack.wait_for_posts(tap(world, "receipt_no_answer", placed_ids(world)[1]))
    status, _, text = world.get("/metrics")
    assert status == 200
    samples = {
        sample.labels["answer"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "webfones_dialer_caller_answers_total"
        and sample.labels["surface"] == "slash"
    }
    assert samples == {"connected": 1.0, "didnt_ring": 1.0, "no_answer": 2.0}
    labels = {
        key
        for family in text_string_to_metric_families(text)
        if family.name == "webfones_dialer_caller_answers"
        for sample in family.samples
        for key in sample.labels.items()
    }
    assert {value for key, value in labels if key == "surface"} == {
        "slash",
        "shortcut",
        "choice",
        "modal",
        "home",
        "workflow",
    }
    for secret in ("UALICE001", "309", "5808675309", "6045550143"):
        assert secret not in text
