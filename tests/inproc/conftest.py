"""In-process fixtures: the bot's app in this process, standard users already linked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.inproc.harness import World
from tests.workspace import BOT_TOKEN, PBX_KEY

MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(tmp_path: Path, pbx: FakePbx, slack: FakeSlack) -> Iterator[MakeWorld]:
    """Start a World with extra settings (`mode="socket"` for Socket Mode); stopped afterwards."""
    worlds: list[World] = []

    def make(mode: str = "http", *, linked: bool = True, **env: str) -> World:
        setup = World(tmp_path, pbx, slack, mode)
        worlds.append(setup.start(**env))
        if linked:
            setup.seed_links()
        return setup

    yield make
    for setup in reversed(worlds):
        setup.stop()
        for secret in (PBX_KEY, BOT_TOKEN, slack.app_token):
            assert secret not in setup.log, "a secret leaked into the log"


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    """The bot over HTTP-mode requests, the standard users linked."""
    return make_world()


@pytest.fixture(params=["http", "socket"])
def any_world(request: pytest.FixtureRequest, make_world: MakeWorld) -> World:
    """The same test over HTTP-mode requests and over Socket Mode envelopes."""
    return make_world(request.param)
