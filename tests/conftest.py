"""Fixtures both test layers use: the loopback fake PBX and fake Slack with the standard users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.workspace import BOT_TOKEN, PBX_KEY, add_standard_users


@pytest.fixture
def pbx() -> Iterator[FakePbx]:
    """A loopback WebFones API that accepts PBX_KEY."""
    with FakePbx(api_key=PBX_KEY) as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A loopback Slack Web API with an admin, an owner and four ordinary users."""
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        add_standard_users(fake)
        yield fake
