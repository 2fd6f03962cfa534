"""`links import` and `links export`: CSV in and out, all-or-nothing unless --skip-bad."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import BY_NAME, SettingsError, load_settings
from bot.store import Store
from tests.cliproc import InProcess, run_process
from tests.fakes.slack import FakeSlack
from tests.test_store import umask

BOT_TOKEN = "xoxb-S3KRIT-links-5d2e"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_user("UALICE001", email="alice@example.com")
        fake.add_user("UBOB00001", email="Bob@Example.com")
        fake.add_user("UGONE0001", email="gone@example.com", deleted=True)
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "dialer.db")


@pytest.fixture
def env(slack: FakeSlack, db: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url, "DIALER_DB": db}


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def write(tmp_path: Path, text: str, name: str = "links.csv") -> str:
    """Write a CSV file and answer its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def links(db: str) -> dict[str, str]:
    """Every link in the database as user -> extension."""
    store = Store(db)
    try:
        return {link.user_id: link.extension for link in store.links.all()}
    finally:
        store.close()


def seed(db: str, **extensions: str) -> None:
    """Link users before the import, as an admin would with /dial-link."""
    store = Store(db)
    try:
        for user_id, extension in extensions.items():
            store.links.set(user_id, extension, "UADMIN001")
    finally:
        store.close()


def test_import_reports_each_row_and_export_round_trips(tmp_path, env, db, cli) -> None:
    seed(db, UCAROL001="311", UDAVE0001="312")
    source = write(
        tmp_path,
        "user_id,extension\nU0123ABCD,1000\nalice@example.com,309\nUCAROL001,311\nUDAVE0001,45\n",
    )
    ran = cli(["links", "import", source], env)
    assert ran.code == 0, ran.text
    assert ran.out.splitlines() == [
        "linked U0123ABCD → 1000",
        "linked UALICE001 (alice@example.com) → 309",
        "skipped UCAROL001 (already 311)",
        "changed UDAVE0001 312 → 45",
        "2 linked, 1 changed, 1 unchanged, 0 skipped/bad",
    ]
    store = Store(db)
    assert store.links.get("U0123ABCD").linked_by == "import"
    assert store.links.get("UCAROL001").linked_by == "UADMIN001"
    store.close()

    exported = str(tmp_path / "export.csv")
    ran = cli(["links", "export", exported], env)
    assert ran.code == 0 and "exported 4 link(s)" in ran.err
    assert Path(exported).read_text(encoding="utf-8") == (
        "user_id,extension\nUDAVE0001,45\nUALICE001,309\nUCAROL001,311\nU0123ABCD,1000\n"
    )

    fresh = dict(env, DIALER_DB=str(tmp_path / "fresh.db"))
    ran = cli(["links", "import", exported], fresh)
    assert ran.code == 0 and ran.out.splitlines()[-1].startswith("4 linked, 0 changed")
    assert links(fresh["DIALER_DB"]) == links(db)
    ran = cli(["links", "import", exported], env)
    assert ran.out.splitlines()[-1] == "0 linked, 0 changed, 4 unchanged, 0 skipped/bad"


def test_export_to_stdout_sorts_by_extension_as_a_number(env, db, cli) -> None:
    seed(db, UBIG00001="1000", UMID00001="309", USMALL001="45", UMID00002="309")
    for args in (["links", "export"], ["links", "export", "-"]):
        ran = cli(args, env)
        assert ran.code == 0
        assert ran.out == (
            "user_id,extension\nUSMALL001,45\nUMID00001,309\nUMID00002,309\nUBIG00001,1000\n"
        )


def test_any_bad_row_changes_nothing_and_lists_every_bad_row(tmp_path, env, db, cli) -> None:
    seed(db, UCAROL001="311")
    source = write(
        tmp_path,
        "user,ext\n"
        "U0123ABCD,309\n"  # 2: good
        "UCAROL001,12a\n"  # 3: bad extension
        "bob,310\n"  # 4: neither an ID nor an email
        "U0999ZZZZ,310,extra\n"  # 5: wrong column count
        "UDUP00001,320\n"  # 6: duplicate
        "nobody@example.com,330\n"  # 7: unknown email
        "UDUP00001,321\n"  # 8: duplicate
        "UEMPTY001,\n"  # 9: no extension
        "U0124ABCD,123456789\n",  # 10: too long
    )
    ran = cli(["links", "import", source], env)
    assert ran.code == 1
    assert ran.out.splitlines() == [
        'bad row 3: "12a" is not an extension (2 to 8 digits)',
        'bad row 4: "bob" is not a Slack user ID (like U0123ABCD) or an email address',
        "bad row 5: expected 2 columns, found 3",
        "bad row 6: UDUP00001 is listed more than once (rows 6, 8)",
        "could not resolve nobody@example.com on row 7 (no Slack user has that address)",
        "bad row 8: UDUP00001 is listed more than once (rows 6, 8)",
        "bad row 9: no extension",
        'bad row 10: "123456789" is not an extension (2 to 8 digits)',
        "nothing changed: 8 of 9 row(s) are bad; fix them, or use --skip-bad to import the other 1",
    ]
    assert links(db) == {"UCAROL001": "311"}


def test_skip_bad_imports_the_good_rows(tmp_path, env, db, cli) -> None:
    source = write(
        tmp_path,
        "user_id,extension\nU0123ABCD,309\nUCAROL001,12a\nUDUP00001,320\nUDUP00001,320\n"
        "U0124ABCD,310\n",
    )
    ran = cli(["links", "import", source, "--skip-bad"], env)
    assert ran.code == 0, ran.text
    assert "linked U0123ABCD → 309" in ran.out
    assert 'bad row 3: "12a" is not an extension (2 to 8 digits)' in ran.out
    assert ran.out.splitlines()[-1] == "2 linked, 0 changed, 0 unchanged, 3 skipped/bad"
    assert links(db) == {"U0123ABCD": "309", "U0124ABCD": "310"}


def test_dry_run_reports_but_writes_nothing(tmp_path, env, db, cli) -> None:
    seed(db, UCAROL001="311", UDAVE0001="312")
    source = write(
        tmp_path, "user_id,extension\nU0123ABCD,309\nUCAROL001,311\nUDAVE0001,313\nbad,1\n"
    )
    ran = cli(["links", "import", source, "--dry-run"], env)
    assert ran.code == 1 and "nothing changed" in ran.out
    ran = cli(["links", "import", source, "--dry-run", "--skip-bad"], env)
    assert ran.code == 0, ran.text
    assert ran.out.splitlines() == [
        "would link U0123ABCD → 309",
        "skipped UCAROL001 (already 311)",
        "would change UDAVE0001 312 → 313",
        'bad row 5: "bad" is not a Slack user ID (like U0123ABCD) or an email address; '
        '"1" is not an extension (2 to 8 digits)',
        "1 linked, 1 changed, 1 unchanged, 1 skipped/bad (dry run: nothing was written)",
    ]
    assert links(db) == {"UCAROL001": "311", "UDAVE0001": "312"}


def test_dry_run_does_not_create_the_database(tmp_path, env, cli) -> None:
    env["DIALER_DB"] = str(tmp_path / "new.db")
    ran = cli(
        ["links", "import", write(tmp_path, "user_id,extension\nU0123ABCD,309\n"), "--dry-run"], env
    )
    assert ran.code == 0
    assert "does not exist yet" in ran.out and "would link U0123ABCD → 309" in ran.out
    assert not (tmp_path / "new.db").exists()


def test_emails_are_resolved_with_users_lookup_by_email(tmp_path, env, db, slack, cli) -> None:
    source = write(
        tmp_path,
        "Email,Extension\nalice@example.com,309\nbob@example.com,310\nzed@example.com,311\n"
        "gone@example.com,312\n",
    )
    ran = cli(["links", "import", source, "--skip-bad"], env)
    assert ran.code == 0, ran.text
    assert ran.out.splitlines() == [
        f"note: creating DIALER_DB {db}",
        "linked UALICE001 (alice@example.com) → 309",
        "linked UBOB00001 (bob@example.com) → 310",
        "could not resolve zed@example.com on row 4 (no Slack user has that address)",
        "could not resolve gone@example.com on row 5 (that Slack account is deactivated)",
        "2 linked, 0 changed, 0 unchanged, 2 skipped/bad",
    ]
    lookups = slack.calls_to("users.lookupByEmail")
    assert [call.params["email"] for call in lookups] == [
        "alice@example.com",
        "bob@example.com",
        "zed@example.com",
        "gone@example.com",
    ]
    assert {call.token for call in lookups} == {BOT_TOKEN}
    assert links(db) == {"UALICE001": "309", "UBOB00001": "310"}


def test_an_email_and_an_id_for_the_same_user_are_duplicates(tmp_path, env, db, cli) -> None:
    source = write(tmp_path, "user,extension\nUALICE001,309\nalice@example.com,310\n")
    ran = cli(["links", "import", source], env)
    assert ran.code == 1
    assert ran.out.splitlines()[:2] == [
        "bad row 2: UALICE001 is listed more than once (rows 2, 3)",
        "bad row 3: UALICE001 (alice@example.com) is listed more than once (rows 2, 3)",
    ]
    assert links(db) == {}


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("user,ext\nU0123ABCD,309\n", None),
        (" Slack User ID , EXT \r\nU0123ABCD,309\r\n", None),
        ("\ufeffextension,slack_user\n309,U0123ABCD\n", None),
        ("name,extension,email\nAl,309,alice@example.com\n", None),
        ("who;phone\nU0123ABCD;309\n", 'note: reading users from column "who"'),
        ("U0123ABCD,309\n", "note: row 1 is not a header"),
        ("user_id,extension\n\n<@U0123ABCD|al>,309,,\n\n", None),
    ],
)
def test_forgiving_about_headers(tmp_path, env, db, cli, text: str, note: str | None) -> None:
    ran = cli(["links", "import", write(tmp_path, text)], env)
    assert ran.code == 0, ran.text
    assert ran.out.splitlines()[-1] == "1 linked, 0 changed, 0 unchanged, 0 skipped/bad"
    if note:
        assert ran.out.startswith(note)
    assert list(links(db).values()) == ["309"]


def test_email_rows_need_the_bot_token_and_change_nothing_without_it(tmp_path, db, cli) -> None:
    source = write(tmp_path, "user,extension\nU0123ABCD,309\nalice@example.com,310\n")
    ran = cli(["links", "import", source], {"DIALER_DB": db})
    assert ran.code == 2
    assert ran.err.startswith("webfones-dialer: SLACK_BOT_TOKEN is not set")
    assert not Path(db).exists()


def test_a_missing_scope_stops_the_import(tmp_path, env, db, slack, cli) -> None:
    slack.set_method_response("users.lookupByEmail", {"ok": False, "error": "missing_scope"})
    source = write(tmp_path, "user,extension\nU0123ABCD,309\nalice@example.com,310\n")
    ran = cli(["links", "import", source], env)
    assert ran.code == 2 and "users:read.email" in ran.err and "nothing changed" in ran.err
    assert BOT_TOKEN not in ran.text
    assert not Path(db).exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("user_id\nU0123ABCD\n", "row 1 has 1 column(s)"),
    ],
)
def test_unusable_files_are_refused(tmp_path, env, cli, text: str, message: str) -> None:
    ran = cli(["links", "import", write(tmp_path, text)], env)
    assert ran.code == 2 and message in ran.err


def test_a_missing_file_and_a_missing_database_are_named(tmp_path, env, cli) -> None:
    ran = cli(["links", "import", str(tmp_path / "nope.csv")], env)
    assert ran.code == 2 and "cannot read" in ran.err and "nope.csv" in ran.err
    env["DIALER_DB"] = str(tmp_path / "absent.db")
    ran = cli(["links", "export"], env)
    assert ran.code == 2 and "absent.db does not exist" in ran.err
    assert not (tmp_path / "absent.db").exists()


def test_usage_errors_exit_2_with_usage(env, cli) -> None:
    ran = cli(["links"], env)
    assert ran.code == 2 and "usage: python -m bot links" in ran.err
    ran = cli(["links", "import"], env)
    assert ran.code == 2 and "FILE.csv" in ran.err
    ran = cli(["links", "import", "--help"], env)
    assert ran.code == 0 and "--skip-bad" in ran.out and "--dry-run" in ran.out


def test_as_a_process_import_from_stdin_then_export(tmp_path, env, db, slack) -> None:
    ran = run_process(
        ["links", "import", "-"], env, stdin="user_id,extension\nalice@example.com,309\n"
    )
    assert ran.code == 0, ran.text
    assert ran.out.splitlines() == [
        "note: creating DIALER_DB " + db,
        "linked UALICE001 (alice@example.com) → 309",
        "1 linked, 0 changed, 0 unchanged, 0 skipped/bad",
    ]
    ran = run_process(["links", "export"], env)
    assert (ran.code, ran.out) == (0, "user_id,extension\nUALICE001,309\n")
    assert BOT_TOKEN not in ran.text


def test_bad_rows_exit_1(tmp_path, env, db, cli) -> None:
    source = write(tmp_path, "user_id,extension\nU0123ABCD,30x\n")
    ran = cli(["links", "import", source], env)
    assert ran.code == 1
    assert 'bad row 2: "30x" is not an extension (2 to 8 digits)' in ran.out
    assert not Path(db).exists()


def test_import_refuses_special_numbers_and_prefixed_emergency_numbers(
    tmp_path, env, db, cli
) -> None:
    source = write(
        tmp_path,
        "user_id,extension\nU0000A001,933\nU0000A002,988\nU0000A003,9911\nU0000A004,0911\n"
        "U0000A005,000\nU0000A006,110\nU0000A007,15\n",
    )
    ran = cli(["links", "import", source], env)
    assert ran.code == 1
    assert ran.out.splitlines()[:6] == [
        'bad row 2: "933" is a special-services number in the United States (a free short '
        "number such as a crisis or test line), not an extension",
        'bad row 3: "988" is a special-services number in the United States (a free short '
        "number such as a crisis or test line), not an extension",
        'bad row 4: "9911" is 911 behind the outside-line prefix 9, and 911 is an emergency '
        "number in the United States, not an extension",
        'bad row 5: "0911" is 911 behind the outside-line prefix 0, and 911 is an emergency '
        "number in the United States, not an extension",
        'bad row 6: "000" is an emergency number in other countries (people dial it from '
        "habit), not an extension",
        'bad row 7: "110" is an emergency number in other countries (people dial it from '
        "habit), not an extension",
    ]
    assert "6 of 7 row(s) are bad" in ran.out
    assert links(db) == {}
    ran = cli(["links", "import", source, "--skip-bad"], env)
    assert ran.code == 0, ran.text
    assert links(db) == {"U0000A007": "15"}


def test_import_reads_the_configured_region(tmp_path, env, db, cli) -> None:
    source = write(tmp_path, "user_id,extension\nU0123ABCD,15\nU0124ABCD,309\n")
    env["DIALER_DEFAULT_REGION"] = "FR"
    ran = cli(["links", "import", source], env)
    assert ran.code == 1
    assert ran.out.splitlines()[0] == (
        'bad row 2: "15" is an emergency number in France, not an extension'
    )
    assert links(db) == {}
    env["DIALER_DEFAULT_REGION"] = "US"
    ran = cli(["links", "import", source], env)
    assert ran.code == 0, ran.text
    assert links(db) == {"U0123ABCD": "15", "U0124ABCD": "309"}


def test_import_refuses_000_as_australia_s_emergency_number(tmp_path, env, db, cli) -> None:
    env["DIALER_DEFAULT_REGION"] = "AU"
    ran = cli(["links", "import", write(tmp_path, "user_id,extension\nU0123ABCD,000\n")], env)
    assert ran.code == 1
    assert ran.out.splitlines()[0] == (
        'bad row 2: "000" is an emergency number in Australia, not an extension'
    )
    assert links(db) == {}


def test_a_malformed_default_region_stops_the_import(tmp_path, env, db, cli) -> None:
    env["DIALER_DEFAULT_REGION"] = "France"
    ran = cli(["links", "import", write(tmp_path, "user_id,extension\nU0123ABCD,309\n")], env)
    assert ran.code == 2
    assert "DIALER_DEFAULT_REGION has 'FRANCE', which is not a country code" in ran.err
    assert not Path(db).exists()


def test_import_reads_the_region_from_the_environment(tmp_path, env, db, cli) -> None:
    source = write(tmp_path, "user_id,extension\nU0123ABCD,15\n")
    ran = cli(["links", "import", source], {**env, "DIALER_DEFAULT_REGION": "FR"})
    assert ran.code == 1
    assert 'bad row 2: "15" is an emergency number in France, not an extension' in ran.out
    assert not Path(db).exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_API_URL", "slack.com/api"),
        ("SLACK_BOT_TOKEN", "xoxb-REPLACE-ME"),
        ("SLACK_BOT_TOKEN", "xoxp-a-user-token"),
    ],
)
def test_settings_are_refused_in_the_bots_own_words(tmp_path, env, db, cli, name, value) -> None:
    env[name] = value
    with pytest.raises(SettingsError) as bot_says:
        load_settings({**env, "WEBFONES_API_KEY": "k3y-0k", "SLACK_SIGNING_SECRET": "s3cret"})
    assert str(bot_says.value).startswith(name)
    source = write(tmp_path, "user,extension\nalice@example.com,310\n")
    ran = cli(["links", "import", source], env)
    assert ran.code == 2
    assert ran.err == f"webfones-dialer: {bot_says.value}\n"
    assert not Path(db).exists()


def test_the_database_defaults_to_the_tables_default(tmp_path, monkeypatch, cli) -> None:
    monkeypatch.chdir(tmp_path)
    ran = cli(["links", "import", write(tmp_path, "user_id,extension\nU0123ABCD,309\n")], {})
    assert ran.code == 0, ran.text
    assert BY_NAME["DIALER_DB"].default == "dialer.db"
    assert links(str(tmp_path / "dialer.db")) == {"U0123ABCD": "309"}


def test_export_files_are_private_whatever_the_umask(tmp_path, env, db, cli) -> None:
    """An export maps people to extensions: only its owner may read it, new or overwritten."""
    seed(db, UALICE001="309")
    old = tmp_path / "old.csv"
    old.write_text("stale contents\n", encoding="utf-8")
    old.chmod(0o644)
    with umask(0o022):
        for name in ("new.csv", "old.csv"):
            ran = cli(["links", "export", str(tmp_path / name)], env)
            assert ran.code == 0, ran.err
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert "UALICE001,309" in old.read_text(encoding="utf-8")
    assert "stale" not in old.read_text(encoding="utf-8")
