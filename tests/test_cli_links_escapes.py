"""`links import` prints what the CSV holds: no cell can write a terminal control sequence."""

from __future__ import annotations

import re

from tests.test_cli_links import cli, db, env, slack, write  # noqa: F401 (fixtures)

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def test_cells_with_escape_sequences_are_printed_escaped(tmp_path, env, db, cli) -> None:  # noqa: F811
    source = write(
        tmp_path,
        "email,extension\n"
        "zed\x1b[2J\x1b[31m@example.com,311\n"  # an address no one has: reported with the cell
        "\x9b2J\x1b]0;pwned\x07,312\n",  # not an address at all: reported with the cell
    )
    ran = cli(["links", "import", source, "--skip-bad"], env)
    assert not CONTROL.search(ran.text), repr(ran.text)
    assert "could not resolve zed\\x1b[2J\\x1b[31m@example.com on row 2" in ran.out
    assert '"\\x9b2J\\x1b]0;pwned\\x07" is not a Slack user ID' in ran.out
