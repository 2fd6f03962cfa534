"""What a call's receipt says: "did it ring?", what was noted, advice, and the admins' notice."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.answers import CallerAnswer

#: The receipt's buttons.
BUTTONS: dict[CallerAnswer, str] = {
    CallerAnswer.CONNECTED: "Connected",
    CallerAnswer.DIDNT_RING: "Didn't ring",
    CallerAnswer.NO_ANSWER: "No answer",
}
TELL_AN_ADMIN = "Tell an admin"

#: Each answer in a few words, after a call on Home and in the report.
LABELS: dict[CallerAnswer, str] = {
    CallerAnswer.CONNECTED: "connected",
    CallerAnswer.DIDNT_RING: "didn't ring",
    CallerAnswer.NO_ANSWER: "no answer",
}

QUESTION = "*Did it ring?* One tap lets me know (optional; it helps admins spot phone trouble)."
CHANGE_HINT = "Wrong answer? Tap another one to change it."


def details(number: str, extension: str, when: str) -> str:
    """The receipt's small print: the number as dialed, the extension that rang, and when."""
    return f"{number}  ·  from extension {extension}  ·  {when}"


def noted(answer: CallerAnswer, extension: str) -> str:
    """What the receipt says once the caller answered."""
    if answer == CallerAnswer.CONNECTED:
        return ":white_check_mark: Noted: you were connected. Thanks for letting me know!"
    if answer == CallerAnswer.NO_ANSWER:
        return (
            ":ballot_box_with_check: Noted: the call went through but no one picked up. "
            "Try again later, or reach them another way."
        )
    return didnt_ring_advice(extension)


def didnt_ring_advice(extension: str) -> str:
    """What usually keeps an extension's phones from ringing, and what to do about it."""
    return (
        f":no_bell: Noted: your phones on extension {extension} didn't ring. That usually means "
        f"no desk phone or softphone is signed in to extension {extension}, do-not-disturb is "
        "on, or its calls are forwarded somewhere else. Check those and try again; if it still "
        "doesn't ring, tell an admin."
    )


def home_answer(answer: CallerAnswer) -> str:
    """After a call on Home: the answer its caller gave."""
    return f" · you said: _{LABELS[answer]}_"


def _names(admins: Iterable[str]) -> str:
    return ", ".join(f"<@{admin}>" for admin in admins)


def admins_told(told: list[str], recently: list[str], failed: list[str], extension: str) -> str:
    """The caller's answer after Tell an admin: who was told now, before, or not at all."""
    parts = []
    if told:
        parts.append(
            f":incoming_envelope: I told {_names(told)} that extension {extension} didn't ring."
        )
    if recently:
        parts.append(
            f"{_names(recently)} already heard about extension {extension} in the last hour, "
            "so I didn't message them again."
        )
    if failed:
        parts.append(f"I couldn't reach {_names(failed)} just now; try again in a minute.")
    return " ".join(parts)


def no_admins(extension: str) -> str:
    """Tell an admin, with no admins set up (DIALER_ADMINS empty)."""
    return (
        "No admins are set up to hear about phone trouble here, so please tell a workspace "
        f"admin yourself that extension {extension} didn't ring."
    )


def didnt_ring_notice(caller: str, extension: str, number: str, when: str, count: int) -> str:
    """The admin's DM: who says which extension did not ring, when, and how often this week."""
    times = "That's the first time this week" if count <= 1 else f"That's {count} times this week"
    return (
        f":no_bell: <@{caller}> says the phones on extension {extension} didn't ring for their "
        f"call to {number} ({when}). {times} a caller said extension {extension} didn't ring. "
        "Usual causes: no desk phone or softphone signed in, do-not-disturb, or call forwarding."
    )


# --- taps that note nothing -------------------------------------------------------------------


def not_yours() -> str:
    """A tap on a receipt of someone else's call."""
    return "That receipt is for someone else's call, so I didn't note anything."


def not_found() -> str:
    """A tap naming no call the log still keeps (pruned, or not a call at all)."""
    return (
        "I couldn't find that call in the call log (old calls are cleared after a while), "
        "so I didn't note anything."
    )


def not_placed() -> str:
    """A tap for a call that was refused, held or failed."""
    return "That call was never placed, so there's no ringing to report; I didn't note anything."


def store_trouble() -> str:
    """The call log could not be read or written."""
    return (
        "I couldn't reach the call log just now, so nothing was saved. Please try again in a "
        "minute."
    )


def not_didnt_ring() -> str:
    """Tell an admin, for a call whose answer was changed from "didn't ring"."""
    return (
        "Your answer for that call is no longer “Didn't ring”, so there's nothing to tell the "
        "admins."
    )


# --- the admins' part of Home -----------------------------------------------------------------

HOME_DIDNT_RING_TITLE = "*Extensions that didn't ring* (callers' answers, last 7 days)"


def home_didnt_ring_line(extension: str, count: int, when: str) -> str:
    """One troubled extension on the admins' Home."""
    times = "1 time" if count == 1 else f"{count} times"
    return f"• extension *{extension}* — {times}, last {when}"


def home_no_didnt_ring() -> str:
    """The admins' list when no caller said their phones didn't ring this week."""
    return "No caller said their phones didn't ring in the last 7 days."
