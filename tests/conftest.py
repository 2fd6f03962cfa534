"""Fixtures the test layers share: the loopback fake PBX and fake Slack, and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.pbx import FakePbx
from tests.fakes.slack import FakeSlack
from tests.logging_state import logging_kept
from tests.postgres import PostgresServer, running_server
from tests.workspace import BOT_TOKEN, PBX_KEY, add_standard_users


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For a test that configures logging: put it back afterwards."""
    with logging_kept():
        yield


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL for the whole session (see tests/postgres.py)."""
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    name = postgres_server.database()
    yield postgres_server.url(name)
    postgres_server.drop(name)
