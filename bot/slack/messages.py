"""Every sentence a user or admin reads in Slack: pure functions from facts to text or blocks.

Sentences about a call take one `Facts` and are named by the table of outcomes
(`bot.domain.outcomes.OUTCOMES`). A sentence shown where Slack renders no markup (a modal's field
error) is asked for with `Facts(plain=True)`: it is then written plain here, never stripped
of its markup afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.domain.extensions import Kind, Problem
from bot.slack.countries import NON_GEOGRAPHIC, country_name, describe_regions

if TYPE_CHECKING:  # the store names its own outcomes from the table, which names these
    from bot.store import CallRecord, Link

DIAL_USAGE = (
    "*How to dial:* `/dial 580-867-5309`, `/dial +1 604 555 0143`, `/dial @colleague` "
    "or `/dial 310` for an extension. Your own phones ring first; answer and the call "
    "connects. You can also open a message's ⋮ menu and pick *Dial number in message*, "
    "or use *Dial a number* from the shortcuts menu or my Home tab."
)

LINK_USAGE = (
    "*`/dial-link`* shows your extension.\n"
    "Admins: `/dial-link @user 309` (or `/dial-link alice@example.com 309`) links or changes, "
    "`/dial-link @user remove` unlinks, "
    "`/dial-link list` lists everyone, `/dial-link log` or `/dial-link log @user` shows "
    "recent calls.\n"
    "Extensions are 2 to 8 digits."
)

#: How much of a user's text is echoed back in a reply.
QUOTE_LIMIT = 60


@dataclass(frozen=True)
class Facts:
    """What a sentence about one attempt may mention; each sentence uses what it needs."""

    #: The destination as people read it: "+1 580-867-5309", or extension digits ("310").
    display: str = ""
    #: The caller's own extension.
    extension: str = ""
    #: What the user typed, quoted back when it could not be read.
    typed: str = ""
    #: Seconds to wait before trying again (holds, the PBX's 429, a failure that may ring).
    wait_seconds: int = 0
    #: The destination's country, and the countries this workspace may call.
    region: str | None = None
    allowed_regions: frozenset[str] = frozenset()
    #: An emergency or special number the user typed or an admin tried to link.
    digits: str = ""
    #: A colleague's Slack user ID (`/dial @colleague`).
    colleague: str = ""
    #: Who may link extensions (DIALER_ADMINS), to name them.
    admins: tuple[str, ...] = field(default=())
    #: Render for a place that shows no markup (a modal's field error).
    plain: bool = False


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """User text made safe to echo: one line, no backticks or Slack brackets, bounded length."""
    flat = " ".join(text.replace("`", "'").replace("<", "").replace(">", "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _code(text: str, facts: Facts) -> str:
    return text if facts.plain else f"`{text}`"


def _mention(user_id: str, facts: Facts) -> str:
    return "them" if facts.plain else f"<@{user_id}>"


def admins_hint(admins: Iterable[str], *, plain: bool = False) -> str:
    """Who a user should ask about links, in words."""
    names = ", ".join(f"<@{user_id}>" for user_id in sorted(admins))
    if names and not plain:
        return f"an admin ({names})"
    return "an admin" if names else "a workspace admin"


def _seconds(count: int) -> str:
    return "1 second" if count == 1 else f"{count} seconds"


def who(target: str) -> str:
    """How a destination reads in a sentence: a display number, or 'extension 310'."""
    return target if target.startswith("+") else f"extension {target}"


# --- a call's progress and outcome ----------------------------------------------------------


def calling(facts: Facts) -> str:
    """The immediate reply while the PBX is asked to connect the call."""
    return f":telephone_receiver: Calling {who(facts.display)} from extension {facts.extension}…"


def placed(facts: Facts) -> str:
    """The PBX accepted the call."""
    return (
        f":white_check_mark: Your phones on extension {facts.extension} are ringing — answer to "
        f"be connected to {who(facts.display)}."
    )


def invalid_extension(facts: Facts) -> str:
    """The PBX does not know the caller's extension (400)."""
    return (
        f"The phone system doesn't recognise extension {facts.extension}, so the call to "
        f"{who(facts.display)} wasn't placed. Ask an admin to check your link with "
        f"{_code('/dial-link', facts)}."
    )


def invalid_number(facts: Facts) -> str:
    """The PBX refused the destination (a 400 that blames the number)."""
    return (
        f"The phone system wouldn't accept {who(facts.display)} as a number to call, so nothing "
        "was dialed. Check the number; if it is right, tell an admin."
    )


def no_devices(facts: Facts) -> str:
    """None of the extension's phones is reachable."""
    return (
        f"None of the phones on extension {facts.extension} is online, so I couldn't call "
        f"{who(facts.display)}. Sign in to your desk phone or softphone and try again."
    )


def _misconfigured(problem: str) -> str:
    return (
        f"The dialer is misconfigured: {problem}, so no call was placed. Admins should check "
        "the dialer's settings."
    )


def key_missing(facts: Facts) -> str:
    """The PBX saw no API key (401)."""
    return _misconfigured("the phone system wants an API key")


def key_rejected(facts: Facts) -> str:
    """The PBX refused the API key (403)."""
    return _misconfigured("the phone system refused its API key")


def pbx_not_found(facts: Facts) -> str:
    """The PBX answered 404: the base URL is wrong."""
    return _misconfigured("the phone system's address is wrong")


def pbx_rate_limited(facts: Facts) -> str:
    """The PBX's shared request budget is spent (429)."""
    return (
        "The phone system is getting too many calls from this workspace right now, so "
        f"{who(facts.display)} wasn't called. Please try again in {_seconds(facts.wait_seconds)}."
    )


def pbx_error(facts: Facts) -> str:
    """The PBX failed or answered nonsense: the call may or may not ring."""
    return (
        f"The phone system had a problem with your call to {who(facts.display)}, so it may not "
        f"have gone through. If your phones don't ring within {_seconds(facts.wait_seconds)}, "
        "try again; if it keeps happening, tell an admin."
    )


def pbx_timeout(facts: Facts) -> str:
    """The PBX did not answer in time: the call may still ring."""
    return (
        f"The phone system didn't answer in time. Your phones may still ring for "
        f"{who(facts.display)} — wait {_seconds(facts.wait_seconds)} before trying again, so you "
        "don't call twice."
    )


def pbx_unreachable(facts: Facts) -> str:
    """No connection to the PBX: nothing was placed."""
    return (
        f"I couldn't reach the phone system, so {who(facts.display)} wasn't called. Please try "
        "again in a minute; if it keeps happening, tell an admin."
    )


def unexpected_error(facts: Facts) -> str:
    """Something in the bot itself went wrong; no details leak."""
    return (
        "Something went wrong on my side, so the call may not have been placed. If your phones "
        "don't ring in a few seconds, please try again."
    )


def interrupted(facts: Facts) -> str:
    """The bot stopped while the call was with the PBX."""
    return (
        f"The dialer restarted while your call to {who(facts.display)} was being placed; your "
        "phones may still ring. If they don't, try again."
    )


# --- refused before the PBX ------------------------------------------------------------------


def not_understood(facts: Facts) -> str:
    """Text that holds no phone number, quoted back safely."""
    return (
        f"I couldn't read “{quote(facts.typed)}” as a phone number. Try something like "
        f"{_code('/dial 580-867-5309', facts)} or {_code('/dial +1 604 555 0143', facts)}."
    )


def unknown_extension(facts: Facts) -> str:
    """Short digits that are neither a linked extension nor a full number."""
    return (
        f"No one here is linked to extension {quote(facts.typed)}, and it isn't a full phone "
        f"number. Try {_code('/dial @colleague', facts)}, or the full number with its area code."
    )


def _location(region: str | None) -> str:
    """Where a number is, after "is": "in Jamaica", or the wording for +800-style numbers."""
    if region == NON_GEOGRAPHIC:
        return "an international number that belongs to no single country"
    return f"in {country_name(region)}"


def region_refused(facts: Facts) -> str:
    """A number outside the workspace's allowed countries."""
    if facts.allowed_regions:
        scope = f"this workspace only allows calls to {describe_regions(facts.allowed_regions)}"
    else:
        scope = "this workspace doesn't allow calls to any country"
    return f"{facts.display} is {_location(facts.region)}; {scope}."


def premium_rate_refused(facts: Facts) -> str:
    """A premium-rate destination."""
    return (
        f"{facts.display} is a premium-rate number; premium-rate numbers can't be dialed from "
        "Slack."
    )


def shared_cost_refused(facts: Facts) -> str:
    """A shared-cost destination."""
    return (
        f"{facts.display} is a shared-cost number; shared-cost numbers can't be dialed from Slack."
    )


def personal_number_refused(facts: Facts) -> str:
    """A NANP personal ("follow-me") number, which forwards anywhere at the caller's cost."""
    return (
        f"{facts.display} is a personal forwarding number, which can be billed like a call "
        "abroad; those can't be dialed from Slack."
    )


def invalid_refused(facts: Facts) -> str:
    """A number of plausible length that does not exist."""
    region = facts.region
    where = f" in {country_name(region)}" if region and region != NON_GEOGRAPHIC else ""
    return f"{facts.display} isn't a valid phone number{where}; check the digits and try again."


def emergency_refused(facts: Facts) -> str:
    """Someone typed an emergency number: send them to a real phone."""
    digits = facts.digits
    number = digits if 0 < len(digits) <= 6 else "your local emergency number"
    return (
        "I can't place emergency calls: a call from the bot would reach the dispatcher from the "
        f"wrong place. Dial {number} from a phone directly so the dispatcher sees where you are."
    )


def special_extension_refused(facts: Facts) -> str:
    """A linked 'extension' that the PBX would route to emergency or special services."""
    return (
        f"Extension {facts.digits} would reach emergency or special services, so I won't dial it "
        f"from Slack. Dial it from a phone directly; an admin can fix the link with "
        f"{_code('/dial-link', facts)}."
    )


def not_linked(facts: Facts) -> str:
    """The user has no extension yet."""
    return (
        "You don't have a phone extension linked yet, so I can't place calls for you. "
        f"Ask {admins_hint(facts.admins, plain=facts.plain)} to run "
        f"{_code('/dial-link @you EXTENSION', facts)}."
    )


def colleague_not_linked(facts: Facts) -> str:
    """A `/dial @colleague` whose colleague has no extension."""
    if facts.plain:
        return (
            "That person has no extension linked, so I can't call them from here. An admin can "
            "link them with /dial-link."
        )
    return (
        f"<@{facts.colleague}> has no extension linked, so I can't call them from here. "
        "An admin can link them with `/dial-link`."
    )


def own_extension(facts: Facts) -> str:
    """Dialing yourself would only ring your own phones."""
    return f"Extension {facts.display} is your own extension — pick someone else to call."


def no_number_in_message(facts: Facts) -> str:
    """The message shortcut found nothing to dial."""
    return (
        "I couldn't find a phone number in that message. You can type one with "
        f"{_code('/dial 580-867-5309', facts)}."
    )


def store_busy(facts: Facts) -> str:
    """The call log stayed locked; nothing was dialed."""
    return "The call log is busy right now, so nothing was dialed. Please try again in a moment."


def store_failed(facts: Facts) -> str:
    """The database is read-only, full or failing: nothing is dialed that can't be recorded."""
    return (
        "The dialer can't record calls right now, so it won't place them — an admin has been "
        "told in the log. Please try again later."
    )


# --- held: a duplicate or a budget -----------------------------------------------------------


def held_duplicate(facts: Facts) -> str:
    """The same call is in flight or was just placed."""
    return (
        f"Already calling {who(facts.display)} — your phones should be ringing. "
        f"If they don't, try again in {_seconds(facts.wait_seconds)}."
    )


def held_may_ring(facts: Facts) -> str:
    """The last attempt at this call failed in a way that may still ring the phones."""
    return (
        f"Your last call to {who(facts.display)} failed, but it may still ring your phones. "
        f"Try again in {_seconds(facts.wait_seconds)} if they don't, so you don't call twice."
    )


def held_user_rate(facts: Facts) -> str:
    """This user's budget is spent for now."""
    return (
        "You've placed a lot of calls in a short time. "
        f"Please wait {_seconds(facts.wait_seconds)} and try again."
    )


def held_pbx_rate(facts: Facts) -> str:
    """The workspace's PBX budget is spent for now."""
    return (
        "This workspace has used up its calls to the phone system for the moment. "
        f"Please try again in {_seconds(facts.wait_seconds)}."
    )


def held_pbx_cooldown(facts: Facts) -> str:
    """The PBX answered 429 recently: no calls until its pause is over."""
    return (
        "The phone system asked us to slow down, so I'm not sending calls for now. "
        f"Please try again in {_seconds(facts.wait_seconds)}."
    )


# --- App Home and the modals -----------------------------------------------------------------

#: The dial modal's hint under the number field (plain text).
DIAL_MODAL_HINT = "Your own phones ring first; answer to connect."
#: The dial modal's field error when it was submitted empty (plain text).
TYPE_A_NUMBER = "Type a number."


def home_not_linked() -> str:
    """Home's line for someone with no extension (a button to ask for one follows)."""
    return "You don't have a phone extension linked yet, so I can't place calls for you."


def home_your_extension(extension: str) -> str:
    """Home's line about the user's own extension."""
    return f"Your extension is *{extension}*. Your phones ring first; answer and the call connects."


def home_no_calls() -> str:
    """Home's call list when there is none yet."""
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


def link_requested_by(user_id: str) -> str:
    """The DM an admin gets when someone asks to be linked."""
    return f"<@{user_id}> asked to be linked to a phone extension so they can dial from Slack."


def link_modal_intro(user_id: str) -> str:
    """The link modal's first line when the person is known."""
    return f"Link <@{user_id}> to an extension."


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
    "over_limit": "past the 25 a message can offer",
}


def several_numbers(left_out: dict[str, int] | None = None) -> str:
    """The message holds several numbers: pick one, and why the others are not offered."""
    text = "That message has several numbers. Which one?"
    counts = {reason: count for reason, count in (left_out or {}).items() if count}
    if counts:
        total = sum(counts.values())
        others = "1 other number isn't" if total == 1 else f"{total} other numbers aren't"
        why = ", ".join(
            f"{count} {_LEFT_OUT.get(reason, reason.replace('_', ' '))}"
            for reason, count in counts.items()
        )
        text += f" ({others} shown because they can't be dialed from here: {why}.)"
    return text


def choose_number(
    numbers: list[tuple[str, str]], left_out: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Blocks offering one button per (display, e164) number found in a message."""
    buttons = [
        {
            "type": "button",
            "action_id": f"dial_choice_{index}",
            "text": {"type": "plain_text", "text": display[:75]},
            "value": e164,
        }
        for index, (display, e164) in enumerate(numbers)
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": several_numbers(left_out)}},
        {"type": "actions", "block_id": "dial_choice", "elements": buttons},
    ]


def link_shown(link: Link | None) -> str:
    """Answer to a plain `/dial-link`: your own extension."""
    if link is None:
        return "You don't have an extension linked yet. An admin can link you with `/dial-link`."
    return f"Your extension is {link.extension}. `/dial 580-867-5309` calls from it."


def linked(user_id: str, extension: str, previous: Link | None, others: list[str]) -> str:
    """An admin linked or changed a link."""
    if previous is None:
        text = f"Linked <@{user_id}> to extension {extension}."
    elif previous.extension == extension:
        text = f"<@{user_id}> was already linked to extension {extension}."
    else:
        text = f"Changed <@{user_id}> from extension {previous.extension} to {extension}."
    if others:
        shared = ", ".join(f"<@{other}>" for other in others)
        text += f" Note: extension {extension} is also linked to {shared}."
    return text


def unlinked(user_id: str, previous: Link | None) -> str:
    """An admin removed a link."""
    if previous is None:
        return f"<@{user_id}> had no extension linked; nothing to remove."
    return f"Removed <@{user_id}>'s link to extension {previous.extension}."


def link_list(links: list[Link]) -> str:
    """Every link, for admins."""
    if not links:
        return "No one is linked yet. Link someone with `/dial-link @user 309`."
    lines = [f"• extension {link.extension}: <@{link.user_id}>" for link in links]
    return f"*{len(links)} linked:*\n" + "\n".join(lines)


def not_admin(admins: Iterable[str]) -> str:
    """A non-admin tried to change links."""
    return (
        f"Only {admins_hint(admins)} can link or unlink extensions. `/dial-link` on its own "
        "shows yours."
    )


def bad_extension(text: str) -> str:
    """An extension that is not 2 to 8 digits."""
    return f"“{quote(text)}” isn't an extension: extensions are 2 to 8 digits, like 309."


def link_not_understood(text: str) -> str:
    """A `/dial-link` we could not parse."""
    return f"I didn't understand “{quote(text)}”.\n{LINK_USAGE}"


def call_log(records: list[CallRecord], user_id: str | None) -> str:
    """Recent audit rows for admins."""
    scope = f" for <@{user_id}>" if user_id else ""
    if not records:
        return f"No calls logged{scope} yet."
    lines = [
        f"• {r.at_utc} {f'<@{r.user_id}>' if r.user_id else 'no one'} "
        f"ext {r.extension or '—'} → {r.destination or '—'} "
        f"via {r.surface}: *{r.outcome}*" + (f" ({r.pbx_status})" if r.pbx_status else "")
        for r in records
    ]
    return f"*Last {len(records)} calls{scope}:*\n" + "\n".join(lines)


def ask_workspace_admin() -> str:
    """No admin could be messaged: the user has to ask in person."""
    return "Please ask a workspace admin to link you: they can run `/dial-link @you EXTENSION`."


def link_already_requested() -> str:
    """The user pressed the request button again soon after."""
    return "I've already asked the admins to link you. You'll get a message when it's done."


def link_requested(admins: list[str]) -> str:
    """The admins were asked to link the user."""
    names = ", ".join(f"<@{admin}>" for admin in admins)
    return f"I've asked {names} to link you. You'll get a message here when it's done."


def you_are_linked(extension: str) -> str:
    """DM to a user whose link an admin just made."""
    return (
        f"You're now linked to extension {extension}. Try `/dial 580-867-5309`, pick *Dial "
        "number in message* from a message's ⋮ menu, or open my Home tab."
    )


def no_user_with_email(email: str) -> str:
    """users.lookupByEmail found nobody."""
    return f"No one in this workspace has the email address {quote(email)}."


def email_not_a_person(email: str) -> str:
    """The address belongs to a deactivated account or a bot."""
    return f"{quote(email)} belongs to a deactivated account or a bot, so I won't link it."


def email_lookup_failed() -> str:
    """users.lookupByEmail failed for a reason other than 'not found'."""
    return (
        "I couldn't look up that email address. Admins: check that the app has the "
        "users:read.email scope, or link with `/dial-link @user 309`."
    )


# --- extensions that can't be linked (bot.domain.extensions decides; these say why) -------------------


def _reached(problem: Problem) -> str:
    """What the number a refused extension reaches is, after "is"."""
    if problem.kind == Kind.EMERGENCY:
        return f"an emergency number in {country_name(problem.region)}"
    if problem.kind == Kind.SPECIAL:
        return (
            f"a special-services number in {country_name(problem.region)} "
            "(a free short number such as a crisis or test line)"
        )
    return "an emergency number in other countries (people dial it from habit)"


def extension_refusal_reason(problem: Problem) -> str:
    """Why digits can't be an extension, after the digits: "is an emergency number in France"."""
    if problem.outside_line:
        return (
            f"is {problem.number} behind the outside-line prefix {problem.outside_line}, "
            f"and {problem.number} is {_reached(problem)}"
        )
    if problem.country_code:
        return (
            f"is {problem.number} with the country code {problem.country_code} in front, "
            f"and {problem.number} is {_reached(problem)}"
        )
    return f"is {_reached(problem)}"


def extension_refused(problem: Problem, *, plain: bool = False) -> str:
    """An admin tried to link digits that can't be an extension; plain for a modal field error.

    Only the shape sentence differs in plain text (Slack's form quotes the text back); the others
    carry no mrkdwn.
    """
    if problem.kind == Kind.SHAPE:
        return (
            "Extensions are 2 to 8 digits, like 309." if plain else bad_extension(problem.extension)
        )
    if problem.outside_line:
        why = (
            f"on a PBX where {problem.outside_line} gets an outside line, a call to "
            f"{problem.extension} is a call to {problem.number}."
        )
    else:
        why = "a PBX may send calls to it out to the phone network."
    reason = extension_refusal_reason(problem)
    return f"{problem.extension} {reason}, so it can't be linked as an extension: {why}"


# --- the Workflow Builder step "Place a call" -------------------------------------------------


def workflow_needs_interactor(facts: Facts | None = None) -> str:
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


# --- Slack's Web API out of reach (the ack itself never needs it) -----------------------------


def slack_unreachable_admin_check() -> str:
    """Only Slack knows whether this user is a workspace admin, and Slack could not be asked."""
    return (
        "I couldn't reach Slack to check that you're an admin, so nothing changed. "
        "Please try again in a minute."
    )


def slack_unreachable_email() -> str:
    """users.lookupByEmail could not reach Slack."""
    return (
        "I couldn't reach Slack to look up that email address, so nothing changed. "
        "Please try again in a minute, or link with `/dial-link @user 309`."
    )


def slack_unreachable() -> str:
    """Anything else that needed Slack's Web API while Slack could not be reached."""
    return "I couldn't reach Slack just now, so that didn't work. Please try again in a minute."


# --- the link form and link requests (plain text where a form shows it) ----------------------

#: The link form's field error for someone who is not an admin (plain text).
ONLY_ADMINS_LINK = "Only admins can link extensions."
#: The link form's field error when no person was picked (plain text).
PICK_A_PERSON = "Pick a person."


def link_store_busy() -> str:
    """Another writer held the database too long: no link changed (plain text)."""
    return "The link database is busy right now, so nothing changed. Please try again."


# --- the database can't be used (read-only, full or failing) ---------------------------------


def link_not_saved() -> str:
    """A link could not be written: the database is read-only, full or failing (plain text)."""
    return (
        "The dialer can't record links right now, so nothing changed — an admin has been told "
        "in the log. Please try again later."
    )


def database_unavailable() -> str:
    """The database could not be read: nothing to show, and nothing was changed (plain text)."""
    return (
        "The dialer can't read its records right now — an admin has been told in the log. "
        "Please try again later."
    )
