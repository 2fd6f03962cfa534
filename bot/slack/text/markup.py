"""How sentences are written for where they are shown: Slack's mrkdwn, or plain text.

A sentence is written once, with a `Markup`: `MRKDWN` where Slack renders mrkdwn (messages,
Home, modal sections), `PLAIN` where it renders none (a modal's field error, a workflow step's
error), so no sentence is ever stripped of its markup afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

#: How much of a user's text is echoed back in a reply.
QUOTE_LIMIT = 60


@dataclass(frozen=True)
class Markup:
    """Code spans and mentions as mrkdwn, or their plain-text stand-ins."""

    plain: bool

    def code(self, text: str) -> str:
        """A command or example in a code span (plain: as it is)."""
        return text if self.plain else f"`{text}`"

    def mention(self, user_id: str) -> str:
        """A person, as a mention (plain: "them", since a plain field cannot show a name)."""
        return "them" if self.plain else f"<@{user_id}>"


MRKDWN = Markup(plain=False)
PLAIN = Markup(plain=True)


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """User text made safe to echo: one line, no backticks or Slack brackets, bounded length."""
    flat = " ".join(text.replace("`", "'").replace("<", "").replace(">", "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def admins_hint(admins: Iterable[str], md: Markup = MRKDWN) -> str:
    """Who a user should ask about links, in words."""
    names = ", ".join(f"<@{user_id}>" for user_id in sorted(admins))
    if names and not md.plain:
        return f"an admin ({names})"
    return "an admin" if names else "a workspace admin"


#: Waits longer than this are said in minutes: "900 seconds" means little at a glance.
MINUTES_FROM = 90


def seconds(count: int) -> str:
    """A wait in words: "1 second", "20 seconds", and past 90 s whole minutes rounded up."""
    if count > MINUTES_FROM:
        minutes = -(-count // 60)
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return "1 second" if count == 1 else f"{count} seconds"


def who(target: str) -> str:
    """How a destination reads in a sentence: a display number, or 'extension 310'."""
    return target if target.startswith("+") else f"extension {target}"


def destination_label(destination: str | None) -> str:
    """An audit destination as people read it: '+1 580-867-5309' or 'extension 310'."""
    if not destination:
        return "—"
    if destination.startswith("+"):
        try:
            number = phonenumbers.parse(destination, None)
        except phonenumbers.NumberParseException:
            return destination
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if destination.isdigit():
        return f"extension {destination}"
    return destination
