"""The sentences people read, by audience: callers, admins, Home. The one way to get them.

`sentence(outcome, facts)` is how any surface words an attempt's outcome (`plain=True` where
Slack shows no markup); `label(outcome)` is its few words on Home and in the call log. The
other sentences are functions of `callers`, `admins` and `home`.
"""

from __future__ import annotations

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome
from bot.slack.text.callers import SENTENCES
from bot.slack.text.home import label
from bot.slack.text.markup import MRKDWN, PLAIN

__all__ = ["label", "sentence"]


def sentence(outcome: Outcome, facts: Facts, *, plain: bool = False) -> str:
    """What the caller reads about this outcome: mrkdwn, or plain text for a form's field."""
    return SENTENCES[outcome](facts, PLAIN if plain else MRKDWN)
