"""A signed payload Slack could send that lacks a field a listener reads: acked, one line."""

from __future__ import annotations

from bot.slack.app import missing_field
from tests.fakes.signing import view_submission_payload
from tests.inproc.harness import World


def test_a_view_submission_without_a_user_is_acked_with_one_warning(world: World) -> None:
    values = {"number": {"number_input": {"type": "plain_text_input", "value": "5808675309"}}}
    payload = view_submission_payload(user_id="UALICE001", callback_id="dial_modal", values=values)
    del payload["user"]
    before = len(world.log.splitlines())
    status, ack = world.interact(payload)
    world.idle()
    assert status == 200 and ack == {}
    assert world.pbx.calls == []
    lines = world.log.splitlines()[before:]
    assert [line.split(" ", 2)[2] for line in lines] == [
        "WARNING bot.slack.app: ignored a view_submission request without the 'user' field "
        "a listener needs"
    ], lines
    assert "Traceback" not in world.log


def test_a_key_error_outside_the_listeners_is_a_bug_not_a_missing_field() -> None:
    try:
        {}["user"]  # raised here, in a test module: not a listener reading a payload
    except KeyError as error:
        assert missing_field(error) is None
