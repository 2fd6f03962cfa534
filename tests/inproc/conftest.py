"""In-process fixtures: the bot's app in this process, standard users already linked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.inproc.harness import World
from tests.workspace import BOT_TOKEN, PBX_KEY, SIGNING_SECRET

MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[MakeWorld]:
    """Start a World with extra settings (`mode="socket"` for Socket Mode); stopped afterwards.

    Every World it made is checked when the test ends: no secret reached its log.
    """
    worlds: list[World] = []

    def make(
        mode: str = "http",
        *,
        linked: bool = True,
        ready: bool = True,
        slack: FakeSlack = slack,
        **env: str,
    ) -> World:
        setup = World(tmp_path, pbx, slack, mode)
        worlds.append(setup)
        setup.start(ready=ready, **env)
        if linked:
            setup.seed_links()
        return setup

    yield make
    for setup in reversed(worlds):
        setup.close()
        for secret in (PBX_KEY, BOT_TOKEN, SIGNING_SECRET, slack.app_token):
            assert secret not in setup.log, "a secret leaked into the log"


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    """The bot over signed HTTP requests, the standard users linked."""
    return make_world()


@pytest.fixture
def socket_world(make_world: MakeWorld) -> World:
    """The bot over Socket Mode envelopes, the standard users linked."""
    return make_world("socket")


@pytest.fixture(params=["http", "socket"])
def any_world(request: pytest.FixtureRequest, make_world: MakeWorld) -> World:
    """The same test over signed HTTP requests and over Socket Mode envelopes."""
    return make_world(request.param)
