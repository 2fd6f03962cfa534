"""`links import` applies the one extension rule: stacked prefixes and premium-rate numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.cliproc import InProcess
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-S3KRIT-rule-8c1f"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def links(db: str) -> dict[str, str]:
    """Every link in the database as user -> extension."""
    store = Store(db)
    try:
        return {link.user_id: link.extension for link in store.links.all()}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("region", "extension", "said"),
    [
        (
            "US",
            "91911",
            'bad row 2: "91911" is 911 behind the outside-line prefix 9 and the country code 1, '
            "and 911 is an emergency number in the United States, not an extension",
        ),
        ("US", "01911", 'bad row 2: "01911" is 911 behind the outside-line prefix 0 and the'),
        ("US", "19911", 'bad row 2: "19911" is 911 behind the country code 1 and the outside'),
        ("FR", "3617", 'bad row 2: "3617" is a premium-rate number in France'),
    ],
)
def test_import_refuses_what_the_rule_refuses(
    tmp_path: Path, slack: FakeSlack, cli: InProcess, region: str, extension: str, said: str
) -> None:
    db = str(tmp_path / "dialer.db")
    source = tmp_path / "links.csv"
    source.write_text(f"user_id,extension\nU0123ABCD,{extension}\nU0124ABCD,309\n")
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "DIALER_DB": db,
        "DIALER_DEFAULT_REGION": region,
    }
    ran = cli(["links", "import", str(source)], env)
    assert ran.code == 1, ran.text
    assert ran.out.splitlines()[0].startswith(said), ran.out
    assert links(db) == {}
    ran = cli(["links", "import", str(source), "--skip-bad"], env)
    assert ran.code == 0 and links(db) == {"U0124ABCD": "309"}, ran.text
