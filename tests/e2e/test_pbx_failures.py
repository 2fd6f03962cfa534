"""Every way the PBX can fail reaches the user as its own readable sentence."""

from __future__ import annotations

import pytest

from tests.botproc import free_port
from tests.e2e.conftest import PBX_KEY, World

HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

CASES = {
    "invalid extension": (400, {"message": "invalid extension"}, "doesn't recognise extension 309"),
    "no devices": (
        400,
        {"message": "no devices", "details": "No devices available"},
        "None of the phones on extension 309 is online",
    ),
    "no devices at 500": (500, {"error": "No devices found"}, "None of the phones"),
    "key missing": (401, {"error": "API key is required"}, "wants an API key"),
    "key refused": (403, {"error": "Invalid API key"}, "refused its API key"),
    "wrong base url": (404, {"error": "Not found"}, "address is wrong"),
    "rate limited": (429, {"error": "Too many requests"}, "too many calls"),
    "server error": (500, {"error": "Internal server error"}, "had a problem"),
    "html error page": (502, HTML_PAGE, "had a problem"),
    "not json": (200, "OK!", "had a problem"),
    "200 but not success": (200, {"status": "500", "message": "Failed"}, "had a problem"),
}


@pytest.mark.parametrize("case", CASES)
def test_failure_has_its_own_sentence(world: World, case: str) -> None:
    status, body, expected = CASES[case]
    world.pbx.fail_next(status, body)
    _, ack, response_url = world.dial("580-867-5309")
    assert "Calling" in ack["text"]
    final = world.final_reply(response_url)
    assert expected in final
    assert "<html" not in final and "Traceback" not in final and PBX_KEY not in final
    assert len(world.pbx.calls) <= 1


def test_rate_limit_with_retry_after_names_the_wait_and_pauses_dialing(world: World) -> None:
    world.pbx.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "120"})
    _, _, response_url = world.dial("580-867-5309")
    assert "120 seconds" in world.final_reply(response_url)
    requests_before = world.pbx.requests
    _, ack, _ = world.dial("604-555-0143", user="UBOB00001")
    assert "asked us to slow down" in ack["text"]
    assert world.pbx.requests == requests_before


def test_timeout_says_the_phone_may_still_ring_and_does_not_retry(tmp_path, pbx, slack) -> None:
    setup = World(tmp_path, pbx, slack)
    setup.start(WEBFONES_TIMEOUT="1")
    try:
        setup.link_everyone()
        pbx.hang_next(3.0)
        _, _, response_url = setup.dial("580-867-5309")
        final = setup.final_reply(response_url, timeout=10)
        assert "may still ring" in final
        assert len(pbx.calls) <= 1 and pbx.requests == 1
    finally:
        setup.stop()


def test_unreachable_pbx_says_nothing_was_dialed(tmp_path, pbx, slack) -> None:
    setup = World(tmp_path, pbx, slack)
    setup.start(WEBFONES_BASE_URL=f"http://127.0.0.1:{free_port()}")
    try:
        setup.link_everyone()
        _, _, response_url = setup.dial("580-867-5309")
        final = setup.final_reply(response_url, timeout=15)
        assert "couldn't reach the phone system" in final
    finally:
        setup.stop()
