"""The in-process harness itself: idle() waits for listeners still running after their ack."""

from __future__ import annotations

from tests.inproc.harness import World


def test_idle_waits_for_the_call_and_the_reply_after_the_ack(any_world: World) -> None:
    """If idle() returned early, every 'nothing happened' check after it would prove nothing."""
    any_world.pbx.latency = 0.3
    _, ack, response_url = any_world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    assert any_world.pbx.calls == [] and any_world.slack.posts_to(response_url) == []
    any_world.idle()
    assert len(any_world.pbx.calls) == 1
    assert "ringing" in any_world.slack.posts_to(response_url)[0]["text"]


def test_a_restart_keeps_the_database_and_the_log_of_both_runs(world: World) -> None:
    _, _, response_url = world.dial("580-867-5309")
    world.final_reply(response_url)
    world.restart()
    assert world.outcomes("UALICE001") == ["placed"]
    _, ack, _ = world.dial("580-867-5309")
    assert ack["text"].startswith("Already calling"), "the duplicate guard lives in the database"
    assert "outcome=placed" in world.log
