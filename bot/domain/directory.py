"""What the company directory says should happen to one person's link: the one decision.

A person's extension field (DIALER_EXTENSION_FIELD, filled by the identity provider) is compared
with their link and with who else holds that extension. The answer is a `Decision`: link, change,
remove, keep, nothing, or a conflict for the admins (a value the extension rule refuses, an
extension someone else holds, or a link an admin made by hand that the directory disagrees
with). A hand-made link is never overwritten; a deactivated person's link is always removed.
First use, Slack's user_change event and `links sync` all decide here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.extensions import Problem

#: A link's source: an admin (by hand, the form, a link request or a CSV import), or the directory.
HAND = "hand"
DIRECTORY = "directory"


class Verdict(StrEnum):
    """What to do about one person's link."""

    LINK = "link"  # no link yet: link from the directory
    CHANGE = "change"  # a directory link to another extension: follow the directory
    REMOVE = "remove"  # deactivated, or the field emptied under a directory link
    KEEP = "keep"  # the link already agrees
    NOTHING = "nothing"  # no value and no directory link: nothing to do
    # Conflicts: nothing changes, the admins are told.
    REFUSED = "refused"  # the extension rule refuses the value (911, "abc")
    TAKEN = "taken"  # someone else is linked to that extension
    HAND = "hand"  # a link an admin made by hand disagrees with the directory

    @property
    def changes(self) -> bool:
        """Whether the link is written (or removed)."""
        return self in (Verdict.LINK, Verdict.CHANGE, Verdict.REMOVE)

    @property
    def conflict(self) -> bool:
        """Whether the admins must look (nothing changes)."""
        return self in (Verdict.REFUSED, Verdict.TAKEN, Verdict.HAND)


@dataclass(frozen=True)
class Current:
    """A person's link as it stands: the extension and where it came from."""

    extension: str
    source: str


@dataclass(frozen=True)
class Decision:
    """One person's verdict and the facts behind it, for the store, the replies and the plan."""

    verdict: Verdict
    user_id: str
    #: What the directory holds (stripped); "" when the field is empty or the person is gone.
    value: str = ""
    #: The link before: its extension and source, or None.
    current: Current | None = None
    #: Who else holds `value` (TAKEN).
    holder: str = ""
    #: Why the rule refuses `value` (REFUSED).
    problem: Problem | None = None


def clean(value: object) -> str:
    """A field's value as the directory gives it, stripped; "" for none."""
    return value.strip() if isinstance(value, str) else ""


def decide(
    user_id: str,
    value: str,
    *,
    active: bool,
    current: Current | None,
    holders: Sequence[str],
    rule: Callable[[str], Problem | None],
) -> Decision:
    """The verdict for one person: their field `value`, whether the account is active, their
    link, the people linked to `value`, and the extension rule."""
    value = clean(value)
    if not active:
        verdict = Verdict.REMOVE if current is not None else Verdict.NOTHING
        return Decision(verdict, user_id, "", current)
    if not value:
        if current is not None and current.source == DIRECTORY:
            return Decision(Verdict.REMOVE, user_id, "", current)
        return Decision(Verdict.NOTHING, user_id, "", current)
    if current is not None and current.extension == value:
        return Decision(Verdict.KEEP, user_id, value, current)
    problem = rule(value)
    if problem is not None:
        return Decision(Verdict.REFUSED, user_id, value, current, problem=problem)
    if current is not None and current.source != DIRECTORY:
        return Decision(Verdict.HAND, user_id, value, current)
    others = [holder for holder in holders if holder != user_id]
    if others:
        return Decision(Verdict.TAKEN, user_id, value, current, holder=others[0])
    verdict = Verdict.CHANGE if current is not None else Verdict.LINK
    return Decision(verdict, user_id, value, current)
