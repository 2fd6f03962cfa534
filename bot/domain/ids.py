"""The shapes of what the bot accepts as a Slack user ID, a mention and an extension."""

from __future__ import annotations

import re

#: A Slack user ID: U… or, on Enterprise Grid, W….
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: A mention as Slack escapes it: <@U0123ABCD> or <@U0123ABCD|name> (the name is not trusted).
#: Unanchored, so it can also find mentions inside a sentence; use .fullmatch() for a whole word.
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
#: An extension: 2 to 8 ASCII digits (never other scripts' digits, which the PBX would not know).
EXTENSION = re.compile(r"^[0-9]{2,8}$")
