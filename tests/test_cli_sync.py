"""`links sync [--apply]` on 1,000 members: the plan per person, then carried out, then idle.

The members come from the fake Slack's users.list (by cursor) and each value from its
users.profile.get, as Slack documents them; the pace is set to 0 and the waits recorded, so a
1,000-member workspace takes seconds, not ten minutes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import sync
from bot.cli.progress import Progress
from bot.store import Store
from tests.cliproc import InProcess
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-S3KRIT-sync-77aa"
FIELD = "Xf0EXT0001"
MEMBERS = 1000


def uid(n: int) -> str:
    """The n-th member's user ID."""
    return f"U{n:08d}"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """1,000 members: additions, changes, removals, conflicts, the unchanged and the empty."""
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_profile_field(FIELD, "Phone extension", scim=True)
        for n in range(MEMBERS):
            fake.add_user(uid(n), name=f"person{n}", deleted=350 <= n < 370)
        fake.add_user("UBOTTY001", name="helper-bot", is_bot=True)
        values = {}
        # Add; but 1112 is 112 (an emergency number) behind the country code: refused.
        values.update({n: str(1000 + n) for n in range(0, 300)})
        values.update({n: str(3000 + n) for n in range(300, 350)})  # change
        values.update({n: "911" for n in range(380, 385)})  # refused by the rule
        values.update({n: str(5000 + n - 385) for n in range(385, 390)})  # someone else's
        values.update({n: str(6000 + n) for n in range(390, 395)})  # disagrees with a hand link
        values.update({n: str(7000 + n) for n in range(395, 400)})  # already so
        for n, value in values.items():
            fake.set_profile_value(uid(n), FIELD, value)
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The database, with the links as they stand before the sync."""
    path = str(tmp_path / "dialer.db")
    store = Store(path)
    try:
        for n in range(300, 350):
            store.links.set(uid(n), str(2000 + n), "directory", source="directory")
        for n in range(350, 380):  # deactivated (350-369), or their field emptied (370-379)
            store.links.set(uid(n), str(4000 + n), "directory", source="directory")
        for n in range(390, 395):  # by hand; 385-389's values are theirs
            store.links.set(uid(n), str(5000 + n - 390), "UADMIN001")
        for n in range(395, 400):
            store.links.set(uid(n), str(7000 + n), "directory", source="directory")
    finally:
        store.close()
    return path


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No pace, and every wait (a Retry-After) recorded instead of slept."""
    waited: list[float] = []

    async def wait(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(sync, "PROFILE_INTERVAL", 0.0)
    monkeypatch.setattr(sync, "PAGE_INTERVAL", 0.0)
    monkeypatch.setattr(sync, "wait", wait)
    return waited


@pytest.fixture
def run(
    slack: FakeSlack, db: str, waits: list[float], monkeypatch: pytest.MonkeyPatch, capsys
) -> InProcess:
    return InProcess(monkeypatch, capsys)


def env(slack: FakeSlack, db: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "DIALER_DB": db,
        "DIALER_EXTENSION_FIELD": "Phone extension",
    }


def links(db: str) -> dict[str, tuple[str, str]]:
    """user -> (extension, source)."""
    store = Store(db)
    try:
        return {link.user_id: (link.extension, link.source) for link in store.links.all()}
    finally:
        store.close()


def starting(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if line.startswith(prefix)]


def test_sync_prints_the_plan_then_reaches_it(
    run: InProcess, slack: FakeSlack, db: str, waits: list[float]
) -> None:
    before = links(db)
    slack.rate_limit("users.profile.get", 2, retry_after=7)

    planned = run(["links", "sync"], env(slack, db))

    assert planned.code == 0, planned.err
    lines = planned.out.splitlines()
    assert len(starting(lines, "would add ")) == 299
    assert "would add person7 (U00000007) → 1007" in lines
    assert len(starting(lines, "would change ")) == 50
    assert "would change person300 (U00000300) 2300 → 3300" in lines
    assert len(starting(lines, "would remove ")) == 30
    assert "would remove person350 (U00000350) 4350 (deactivated)" in lines
    assert "would remove person370 (U00000370) 4370 (directory field emptied)" in lines
    conflicts = starting(lines, "conflict ")
    assert len(conflicts) == 16
    assert any("U00000112" in line and "'1112'" in line for line in conflicts)
    assert any("U00000380" in line and "'911' can't be linked" in line for line in conflicts)
    assert any("U00000112" in line and "'1112'" in line for line in conflicts)
    assert "conflict person380 (U00000380): the directory's '911' can't be linked" in lines[
        lines.index(conflicts[0])
    ] or any("U00000380" in line and "'911'" in line for line in conflicts)
    assert any(
        "U00000385" in line and "already linked to person390 (U00000390)" in line
        for line in conflicts
    )
    assert any("U00000390" in line and "6390 disagrees with 5000" in line for line in conflicts)
    assert lines[-1] == (
        "980 profiles read: 299 to add, 50 to change, 30 to remove, 16 conflict(s), "
        "5 unchanged (dry run: nothing was written; --apply does it)"
    )
    assert links(db) == before, "a dry run writes nothing"
    assert waits == [7.0, 7.0], "Slack's Retry-After was waited out"
    assert "UBOTTY001" not in planned.out
    # Progress: plain lines when standard error is not a terminal.
    progress = [line for line in planned.err.splitlines() if "profiles read (" in line]
    assert progress[0].startswith("98 of 980 profiles read (10%), about ")
    assert progress[-1] == "980 of 980 profiles read (100%)"
    assert len(progress) == 10

    applied = run(["links", "sync", "--apply"], env(slack, db))

    assert applied.code == 0, applied.err
    lines = applied.out.splitlines()
    assert len(starting(lines, "added ")) == 299
    assert len(starting(lines, "changed ")) == 50
    assert len(starting(lines, "removed ")) == 30
    assert len(starting(lines, "conflict ")) == 16
    after = links(db)
    assert after[uid(7)] == ("1007", "directory")
    assert after[uid(300)] == ("3300", "directory")
    assert uid(350) not in after and uid(370) not in after
    assert uid(380) not in after and uid(385) not in after
    assert after[uid(390)] == ("5000", "hand"), "a link made by hand is never overwritten"
    assert after[uid(395)] == ("7395", "directory")
    assert len(after) == 299 + 50 + 5 + 5

    again = run(["links", "sync", "--apply"], env(slack, db))

    assert again.code == 0
    assert again.out.splitlines()[-1] == (
        "980 profiles read: 0 added, 0 changed, 0 removed, 16 conflict(s), 354 unchanged"
    )
    assert links(db) == after
    store = Store(db)
    try:
        assert len(store.directory.conflicts()) == 16
        actions = [event.action for event in store.directory.events(limit=1000)]
    finally:
        store.close()
    assert sorted(set(actions)) == ["changed", "linked", "removed"]
    assert len(actions) == 379


def test_an_editable_field_is_refused(run: InProcess, slack: FakeSlack, db: str) -> None:
    slack.profile_fields.clear()
    slack.add_profile_field(FIELD, "Phone extension")
    ran = run(["links", "sync", "--apply"], env(slack, db))
    assert ran.code == 2
    assert "DIALER_EXTENSION_FIELD names the profile field 'Phone extension'" in ran.err
    assert not slack.calls_to("users.profile.get")


def test_the_progress_bar_on_a_terminal() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = Progress(4, "profiles read", stream=out, clock=lambda: now[0], tty=True)
    for second in range(1, 5):
        now[0] = float(second)
        bar.step()
    drawn = out.getvalue()
    assert drawn.count("\r") == 4
    assert "1/4 profiles read · 3s left" in drawn
    assert drawn.endswith("4/4 profiles read\033[K\n")
