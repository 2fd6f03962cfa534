"""What callers read: a call's progress and outcome, refusals, holds, the shortcut, the step.

Every outcome of `bot.domain.outcomes.Outcome` has its sentence in `SENTENCES`; each sentence
takes the attempt's `Facts` and the `Markup` of the place it is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.facts import Facts
from bot.domain.outcomes import Outcome
from bot.slack.text.countries import NON_GEOGRAPHIC, country_name, describe_regions
from bot.slack.text.directory import directory_conflict
from bot.slack.text.markup import MRKDWN, Markup, admins_hint, quote, seconds, who

DIAL_USAGE = (
    "*How to dial:* `/dial 580-867-5309`, `/dial +1 604 555 0143`, `/dial @colleague` "
    "or `/dial 310` for an extension. Your own phones ring first; answer and the call "
    "connects. You can also open a message's ⋮ menu and pick *Dial number in message*, "
    "or use *Dial a number* from the shortcuts menu or my Home tab."
)


# --- a call's progress and outcome ----------------------------------------------------------


def by_hand(facts: Facts) -> str:
    """For a number typed with an extension: the PBX dials the number only, the caller the rest."""
    if not facts.then_dial:
        return ""
    return (
        f" I can only dial the number: once you're connected, dial extension {facts.then_dial} "
        "yourself."
    )


def calling(facts: Facts, md: Markup = MRKDWN) -> str:
    """The immediate reply while the PBX is asked to connect the call."""
    return (
        f":telephone_receiver: Calling {who(facts.display)} from extension {facts.extension}…"
        + by_hand(facts)
    )


def placed(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX accepted the call."""
    return (
        f":white_check_mark: Your phones on extension {facts.extension} are ringing — answer to "
        f"be connected to {who(facts.display)}." + by_hand(facts)
    )


def invalid_extension(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX does not know the caller's extension (400)."""
    return (
        f"The phone system doesn't recognize extension {facts.extension}, so the call to "
        f"{who(facts.display)} wasn't placed. Ask an admin to check which extension you're "
        "linked to."
    )


def invalid_number(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX refused the destination (a 400 that blames the number)."""
    return (
        f"The phone system wouldn't accept {who(facts.display)} as a number to call, so nothing "
        "was dialed. Check the number; if it is right, tell an admin."
    )


def no_devices(facts: Facts, md: Markup = MRKDWN) -> str:
    """None of the extension's phones is reachable."""
    return (
        f"None of the phones on extension {facts.extension} is online, so I couldn't call "
        f"{who(facts.display)}. Sign in to your desk phone or softphone and try again."
    )


def _misconfigured() -> str:
    """The dialer's own settings are wrong; what exactly is for the log, not for a caller."""
    return (
        "The dialer isn't set up right, so no call was placed. Please tell an admin so they "
        "can fix it."
    )


def key_missing(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX saw no API key (401)."""
    return _misconfigured()


def key_rejected(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX refused the API key (403)."""
    return _misconfigured()


def pbx_not_found(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX answered 404: the base URL is wrong."""
    return _misconfigured()


def pbx_rate_limited(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX's shared request budget is spent (429)."""
    return (
        "The phone system is getting too many calls from this workspace right now, so "
        f"{who(facts.display)} wasn't called. Please try again in {seconds(facts.wait_seconds)}."
    )


def pbx_error(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX failed or answered nonsense: the call may or may not ring."""
    return (
        f"The phone system had a problem with your call to {who(facts.display)}, so it may not "
        f"have gone through. If your phones don't ring within {seconds(facts.wait_seconds)}, "
        "try again; if it keeps happening, tell an admin."
    )


def pbx_timeout(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX did not answer in time: the call may still ring."""
    return (
        f"The phone system didn't answer in time. Your phones may still ring for "
        f"{who(facts.display)} — wait {seconds(facts.wait_seconds)} before trying again, so you "
        "don't call twice."
    )


def pbx_unreachable(facts: Facts, md: Markup = MRKDWN) -> str:
    """No connection to the PBX: nothing was placed."""
    return (
        f"I couldn't reach the phone system, so {who(facts.display)} wasn't called. Please try "
        "again in a minute; if it keeps happening, tell an admin."
    )


def unexpected_error(facts: Facts, md: Markup = MRKDWN) -> str:
    """Something in the bot itself went wrong; no details leak."""
    return (
        "Something went wrong on my side, so the call may not have been placed. If your phones "
        "don't ring in a few seconds, please try again."
    )


def interrupted(facts: Facts, md: Markup = MRKDWN) -> str:
    """The bot stopped while the call was with the PBX."""
    return (
        f"The dialer restarted while your call to {who(facts.display)} was being placed; your "
        "phones may still ring. If they don't, try again."
    )


# --- refused before the PBX ------------------------------------------------------------------


def not_understood(facts: Facts, md: Markup = MRKDWN) -> str:
    """Text that holds no phone number, quoted back safely."""
    return (
        f"I couldn't read “{quote(facts.typed)}” as a phone number. Try something like "
        f"{md.code('/dial 580-867-5309')} or {md.code('/dial +1 604 555 0143')}."
    )


def unknown_extension(facts: Facts, md: Markup = MRKDWN) -> str:
    """Short digits that are neither a linked extension nor a full number."""
    return (
        f"No one here is linked to extension {quote(facts.typed)}, and it isn't a full phone "
        f"number. Try {md.code('/dial @colleague')}, or the full number with its area code."
    )


def _location(region: str | None) -> str:
    """Where a number is, after "is": "in Jamaica", or the wording for +800-style numbers."""
    if region == NON_GEOGRAPHIC:
        return "an international number that belongs to no single country"
    return f"in {country_name(region)}"


def region_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A number outside the workspace's allowed countries."""
    if facts.allowed_regions:
        scope = f"this workspace only allows calls to {describe_regions(facts.allowed_regions)}"
    else:
        scope = "this workspace doesn't allow calls to any country"
    return f"{facts.display} is {_location(facts.region)}; {scope}."


def premium_rate_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A premium-rate destination."""
    return (
        f"{facts.display} is a premium-rate number; premium-rate numbers can't be dialed from "
        "Slack."
    )


def shared_cost_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A shared-cost destination."""
    return (
        f"{facts.display} is a shared-cost number; shared-cost numbers can't be dialed from Slack."
    )


def personal_number_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A NANP personal ("follow-me") number, which forwards anywhere at the caller's cost."""
    return (
        f"{facts.display} is a personal forwarding number, which can be billed like a call "
        "abroad; those can't be dialed from Slack."
    )


def invalid_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A number of plausible length that does not exist."""
    region = facts.region
    where = f" in {country_name(region)}" if region and region != NON_GEOGRAPHIC else ""
    return f"{facts.display} isn't a valid phone number{where}; check the digits and try again."


def emergency_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """Someone typed an emergency number: send them to a real phone."""
    digits = facts.digits
    number = digits if 0 < len(digits) <= 6 else "your local emergency number"
    return (
        "I can't place emergency calls: a call from the bot would reach the dispatcher from the "
        f"wrong place. Dial {number} from a phone directly so the dispatcher sees where you are."
    )


def special_extension_refused(facts: Facts, md: Markup = MRKDWN) -> str:
    """A linked 'extension' that the PBX would route to emergency, special or premium numbers."""
    return (
        f"Extension {facts.digits} would reach an emergency, special-services or premium-rate "
        "number, so I won't dial it from Slack. Dial it from a phone directly; an admin can fix "
        f"the link with {md.code('/dial-link')}."
    )


def not_linked(facts: Facts, md: Markup = MRKDWN) -> str:
    """The user has no extension yet."""
    return (
        "You don't have a phone extension linked yet, so I can't place calls for you. "
        f"Ask {admins_hint(facts.admins, md)} to run "
        f"{md.code('/dial-link @you EXTENSION')}."
    )


def colleague_not_linked(facts: Facts, md: Markup = MRKDWN) -> str:
    """A `/dial @colleague` whose colleague has no extension."""
    if md.plain:
        return (
            "That person has no extension linked, so I can't call them from here. An admin can "
            "link them with /dial-link."
        )
    return (
        f"<@{facts.colleague}> has no extension linked, so I can't call them from here. "
        "An admin can link them with `/dial-link`."
    )


def own_extension(facts: Facts, md: Markup = MRKDWN) -> str:
    """Dialing yourself would only ring your own phones."""
    return f"Extension {facts.display} is your own extension — pick someone else to call."


def no_number_in_message(facts: Facts, md: Markup = MRKDWN) -> str:
    """The message shortcut found nothing to dial."""
    return (
        "I couldn't find a phone number in that message. You can type one with "
        f"{md.code('/dial 580-867-5309')}."
    )


def store_busy(facts: Facts, md: Markup = MRKDWN) -> str:
    """The call log stayed locked; nothing was dialed."""
    return "The dialer is busy right now, so nothing was dialed. Please try again in a moment."


def store_failed(facts: Facts, md: Markup = MRKDWN) -> str:
    """The database is read-only, full or failing: nothing is dialed that can't be recorded."""
    return (
        "The dialer can't record calls right now, so it won't place them. The problem was "
        "logged for whoever runs the dialer; please try again later, and tell an admin if it "
        "keeps happening."
    )


# --- held: a duplicate or a budget -----------------------------------------------------------


def held_duplicate(facts: Facts, md: Markup = MRKDWN) -> str:
    """The same call is in flight or was just placed."""
    return (
        f"Already calling {who(facts.display)} — your phones should be ringing. "
        f"If they don't, try again in {seconds(facts.wait_seconds)}."
    )


def held_may_ring(facts: Facts, md: Markup = MRKDWN) -> str:
    """The last attempt at this call failed in a way that may still ring the phones."""
    return (
        f"Your last call to {who(facts.display)} failed, but it may still ring your phones. "
        f"Try again in {seconds(facts.wait_seconds)} if they don't, so you don't call twice."
    )


def held_user_rate(facts: Facts, md: Markup = MRKDWN) -> str:
    """This user's budget is spent for now."""
    return (
        "You've placed a lot of calls in a short time. "
        f"Please wait {seconds(facts.wait_seconds)} and try again."
    )


def held_pbx_rate(facts: Facts, md: Markup = MRKDWN) -> str:
    """The workspace's PBX budget is spent for now."""
    return (
        "This workspace has used up its calls to the phone system for the moment. "
        f"Please try again in {seconds(facts.wait_seconds)}."
    )


def held_pbx_cooldown(facts: Facts, md: Markup = MRKDWN) -> str:
    """The PBX answered 429 recently: no calls until its pause is over."""
    return (
        "The phone system asked me to slow down, so I'm not sending calls for now. "
        f"Please try again in {seconds(facts.wait_seconds)}."
    )


# --- App Home and the modals -----------------------------------------------------------------

#: The dial modal's hint under the number field (plain text).
DIAL_MODAL_HINT = "Your own phones ring first; answer to connect."
#: The dial modal's field error when it was submitted empty (plain text).
TYPE_A_NUMBER = "Type a number."


# --- the message shortcut --------------------------------------------------------------------


#: Why a number found in a message is not offered, as a phrase after a count.
_LEFT_OUT = {
    "region": "in countries this workspace doesn't call",
    "premium_rate": "premium-rate",
    "shared_cost": "shared-cost",
    "personal_number": "personal forwarding numbers",
    "invalid": "not valid numbers",
    "emergency": "emergency numbers",
    "not_understood": "not readable",
}
#: Numbers left out only because a message can show so many choices, not because of the number.
OVER_LIMIT = "over_limit"
#: How many numbers a message can offer (Slack's limit on an actions block's elements).
CHOICE_LIMIT = 25


def several_numbers(left_out: dict[str, int] | None = None) -> str:
    """The message holds several numbers: pick one, and why the others are not offered."""
    text = "That message has several numbers. Which one?"
    counts = {reason: count for reason, count in (left_out or {}).items() if count}
    over = counts.pop(OVER_LIMIT, 0)
    notes = []
    if counts:
        total = sum(counts.values())
        others = "1 other number isn't" if total == 1 else f"{total} other numbers aren't"
        why = ", ".join(
            f"{count} {_LEFT_OUT.get(reason, reason.replace('_', ' '))}"
            for reason, count in counts.items()
        )
        notes.append(f"{others} shown because they can't be dialed from here: {why}.")
    if over:
        more = "1 more number was" if over == 1 else f"{over} more numbers were"
        notes.append(
            f"{more} left out because a message can show only {CHOICE_LIMIT} choices; "
            f"to call one, type it with `/dial`."
        )
    if notes:
        text += " (" + " ".join(notes) + ")"
    return text


# --- the Workflow Builder step "Place a call" -------------------------------------------------


def workflow_needs_interactor(facts: Facts, md: Markup = MRKDWN) -> str:
    """A run of the step that no person started (a scheduled or event-triggered workflow)."""
    return (
        "The Place a call step needs someone to start it: it rings the phones of the person "
        "who clicked the workflow's button or submitted its form, and this run has no such "
        "person. Start the workflow from a button, a link or a form, not a schedule or an event."
    )


def workflow_no_number() -> str:
    """The step's number input arrived empty."""
    return (
        "The Place a call step got no number to call, so nothing was dialed. In Workflow "
        "Builder, set the step's Number to a form answer or to a number like 580-867-5309."
    )


def slack_unreachable() -> str:
    """Anything else that needed Slack's Web API while Slack could not be reached."""
    return "I couldn't reach Slack just now, so that didn't work. Please try again in a minute."


Sentence = Callable[[Facts, Markup], str]

#: The sentence each outcome is told with.
SENTENCES: dict[Outcome, Sentence] = {
    Outcome.PENDING: calling,
    Outcome.PLACED: placed,
    Outcome.INVALID_EXTENSION: invalid_extension,
    Outcome.INVALID_NUMBER: invalid_number,
    Outcome.NO_DEVICES: no_devices,
    Outcome.KEY_MISSING: key_missing,
    Outcome.KEY_REJECTED: key_rejected,
    Outcome.NOT_FOUND: pbx_not_found,
    Outcome.RATE_LIMITED: pbx_rate_limited,
    Outcome.PBX_ERROR: pbx_error,
    Outcome.TIMEOUT: pbx_timeout,
    Outcome.UNREACHABLE: pbx_unreachable,
    Outcome.ERROR: unexpected_error,
    Outcome.INTERRUPTED: interrupted,
    Outcome.REFUSED_NOT_UNDERSTOOD: not_understood,
    Outcome.REFUSED_UNKNOWN_EXTENSION: unknown_extension,
    Outcome.REFUSED_REGION: region_refused,
    Outcome.REFUSED_PREMIUM_RATE: premium_rate_refused,
    Outcome.REFUSED_SHARED_COST: shared_cost_refused,
    Outcome.REFUSED_PERSONAL_NUMBER: personal_number_refused,
    Outcome.REFUSED_INVALID: invalid_refused,
    Outcome.REFUSED_EMERGENCY: emergency_refused,
    Outcome.REFUSED_SPECIAL_EXTENSION: special_extension_refused,
    Outcome.REFUSED_UNLINKED: not_linked,
    Outcome.REFUSED_DIRECTORY_CONFLICT: directory_conflict,
    Outcome.REFUSED_COLLEAGUE_UNLINKED: colleague_not_linked,
    Outcome.REFUSED_OWN_EXTENSION: own_extension,
    Outcome.REFUSED_NO_NUMBER: no_number_in_message,
    Outcome.REFUSED_NO_INTERACTOR: workflow_needs_interactor,
    Outcome.REFUSED_STORE_BUSY: store_busy,
    Outcome.REFUSED_STORE_FAILED: store_failed,
    Outcome.HELD_DUPLICATE: held_duplicate,
    Outcome.HELD_MAY_STILL_RING: held_may_ring,
    Outcome.HELD_USER_RATE: held_user_rate,
    Outcome.HELD_PBX_RATE: held_pbx_rate,
    Outcome.HELD_PBX_COOLDOWN: held_pbx_cooldown,
}
