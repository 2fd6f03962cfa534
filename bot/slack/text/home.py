"""What App Home reads: the person's extension, their calls, and each outcome's short label."""

from __future__ import annotations

from bot.domain.outcomes import Outcome
from bot.slack.text.markup import quote


def home_not_linked() -> str:
    """Home's line for someone with no extension (a button to ask for one follows)."""
    return "You don't have a phone extension linked yet, so I can't place calls for you."


def home_your_extension(extension: str) -> str:
    """Home's line about the user's own extension."""
    return f"Your extension is *{extension}*. Your phones ring first; answer and the call connects."


def home_no_calls(linked: bool = True) -> str:
    """Home's call list when there is none yet; unlinked people first need an extension."""
    if not linked:
        return (
            "No calls yet. Once an admin links you to an extension (use *Ask an admin to link "
            "me* above), you can dial with `/dial 580-867-5309`."
        )
    return "No calls yet. Try `/dial 580-867-5309`."


def home_admin_summary(linked_users: int) -> str:
    """The admin's part of Home: how many are linked and where to see more."""
    people = "1 person is" if linked_users == 1 else f"{linked_users} people are"
    return (
        f"*Admin* — {people} linked. `/dial-link list` lists them; `/dial-link log` "
        "shows recent calls."
    )


def home_no_failures() -> str:
    """The admin's failure list when there is none."""
    return "No recent failures."


def home_call(destination: str | None, label: str, outcome: str, typed: str | None) -> str:
    """One call on Home after its time: "*+1 580-867-5309* — placed", or what had no number."""
    if destination:
        return f"*{destination}* — {label}"
    if outcome == Outcome.REFUSED_NO_NUMBER:
        return "no number found — refused"
    if typed:
        return f"“{quote(typed, 40)}” — {label}"
    return f"no number — {label}"


#: Each outcome in a few plain words, after a call's destination on Home and in the call log.
LABELS: dict[Outcome, str] = {
    Outcome.PENDING: "calling…",
    Outcome.PLACED: "placed",
    Outcome.INVALID_EXTENSION: "extension not recognized",
    Outcome.INVALID_NUMBER: "number not accepted",
    Outcome.NO_DEVICES: "no phones online",
    Outcome.KEY_MISSING: "dialer misconfigured",
    Outcome.KEY_REJECTED: "dialer misconfigured",
    Outcome.NOT_FOUND: "dialer misconfigured",
    Outcome.RATE_LIMITED: "phone system busy",
    Outcome.PBX_ERROR: "phone system error",
    Outcome.TIMEOUT: "no answer from phone system",
    Outcome.UNREACHABLE: "phone system unreachable",
    Outcome.ERROR: "bot error",
    Outcome.INTERRUPTED: "interrupted by a restart",
    Outcome.REFUSED_NOT_UNDERSTOOD: "refused (not understood)",
    Outcome.REFUSED_UNKNOWN_EXTENSION: "refused (unknown extension)",
    Outcome.REFUSED_REGION: "refused (country not allowed)",
    Outcome.REFUSED_PREMIUM_RATE: "refused (premium rate)",
    Outcome.REFUSED_SHARED_COST: "refused (shared cost)",
    Outcome.REFUSED_PERSONAL_NUMBER: "refused (personal number)",
    Outcome.REFUSED_INVALID: "refused (invalid)",
    Outcome.REFUSED_EMERGENCY: "refused (emergency)",
    Outcome.REFUSED_SPECIAL_EXTENSION: "refused (special number)",
    Outcome.REFUSED_UNLINKED: "refused (unlinked)",
    Outcome.REFUSED_DIRECTORY_CONFLICT: "refused (directory conflict)",
    Outcome.REFUSED_COLLEAGUE_UNLINKED: "refused (colleague unlinked)",
    Outcome.REFUSED_OWN_EXTENSION: "refused (own extension)",
    Outcome.REFUSED_NO_NUMBER: "refused (no number)",
    Outcome.REFUSED_NO_INTERACTOR: "refused (workflow run no one started)",
    Outcome.REFUSED_STORE_BUSY: "refused (dialer busy)",
    Outcome.REFUSED_STORE_FAILED: "refused (call log unavailable)",
    Outcome.HELD_DUPLICATE: "already calling",
    Outcome.HELD_MAY_STILL_RING: "held: last attempt may still ring",
    Outcome.HELD_USER_RATE: "too many calls",
    Outcome.HELD_PBX_RATE: "workspace limit reached",
    Outcome.HELD_PBX_COOLDOWN: "phone system busy",
}


def label(outcome: str) -> str:
    """A logged outcome in a few plain words (an unknown name from an old row, de-underscored)."""
    try:
        return LABELS[Outcome(outcome)]
    except ValueError:
        return outcome.replace("_", " ")
