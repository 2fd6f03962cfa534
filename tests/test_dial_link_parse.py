"""Reading /dial-link's words."""

from __future__ import annotations

import pytest

from bot.slack.listeners.dial_link import LinkCommand, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", LinkCommand("show")),
        ("help", LinkCommand("help")),
        ("list", LinkCommand("list")),
        ("log", LinkCommand("log")),
        ("log <@U0456EFGH|alice>", LinkCommand("log", user_id="U0456EFGH")),
        ("<@U0456EFGH|alice> 309", LinkCommand("link", user_id="U0456EFGH", extension="309")),
        ("<@U0456EFGH>   12345678", LinkCommand("link", user_id="U0456EFGH", extension="12345678")),
        ("<@U0456EFGH> remove", LinkCommand("remove", user_id="U0456EFGH")),
    ],
)
def test_valid_forms(text: str, expected: LinkCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text", ["alice 309", "<@U0456EFGH> 1", "<@U0456EFGH> 123456789", "<@U0456EFGH>", "log bob"]
)
def test_invalid_forms_explain(text: str) -> None:
    command = parse(text)
    assert command.action == "invalid" and command.problem
