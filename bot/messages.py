"""Every sentence a user sees: pure functions from an outcome to Slack text or blocks."""

from __future__ import annotations

from typing import Any

from bot.store import CallRecord, Held, Link

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


def who(target: str) -> str:
    """How a destination reads in a sentence: a display number, or 'extension 310'."""
    return target if target.startswith("+") else f"extension {target}"


def calling(display: str, extension: str) -> str:
    """The immediate reply while the PBX is asked to connect the call."""
    return f":telephone_receiver: Calling {who(display)} from extension {extension}…"


def placed(display: str, extension: str) -> str:
    """The PBX accepted the call."""
    return (
        f":white_check_mark: Your phones on extension {extension} are ringing — answer to be "
        f"connected to {who(display)}."
    )


def not_linked(admins_hint: str) -> str:
    """The user has no extension yet."""
    return (
        "You don't have a phone extension linked yet, so I can't place calls for you. "
        f"Ask {admins_hint} to run `/dial-link @you EXTENSION`."
    )


def colleague_not_linked(user_id: str) -> str:
    """A `/dial @colleague` whose colleague has no extension."""
    return (
        f"<@{user_id}> has no extension linked, so I can't call them from here. "
        "An admin can link them with `/dial-link`."
    )


def unknown_extension(digits: str) -> str:
    """Short digits that are neither a linked extension nor a full number."""
    return (
        f"No one here is linked to extension {digits}, and it isn't a full phone number. "
        "Try `/dial @colleague`, or the full number with its area code."
    )


def own_extension(extension: str) -> str:
    """Dialing yourself would only ring your own phones."""
    return f"Extension {extension} is your own extension — pick someone else to call."


def held(hold: Held, display: str) -> str:
    """Why nothing was sent: a duplicate, or a budget that is spent for now."""
    wait = _seconds(hold.wait_seconds)
    if hold.reason == "duplicate":
        return (
            f"Already calling {who(display)} — your phones should be ringing. "
            f"If they don't, try again in {wait}."
        )
    if hold.reason == "user_rate":
        return f"You've placed a lot of calls in a short time. Please wait {wait} and try again."
    if hold.reason == "pbx_cooldown":
        return (
            "The phone system asked us to slow down, so I'm not sending calls for now. "
            f"Please try again in {wait}."
        )
    return (
        "This workspace has used up its calls to the phone system for the moment. "
        f"Please try again in {wait}."
    )


def store_busy() -> str:
    """The call log stayed locked; nothing was dialed."""
    return "The call log is busy right now, so nothing was dialed. Please try again in a moment."


def _seconds(count: int) -> str:
    return "1 second" if count == 1 else f"{count} seconds"


def failure(kind: str, display: str, extension: str, retry_after: float | None = None) -> str:
    """One plain sentence per way the PBX can fail: what happened and what to do."""
    target = who(display)
    sentences = {
        "invalid_extension": (
            f"The phone system doesn't recognise extension {extension}, so the call to "
            f"{target} wasn't placed. Ask an admin to check your link with `/dial-link`."
        ),
        "invalid_number": (
            f"The phone system wouldn't accept {target} as a number to call, so nothing was "
            "dialed. Check the number; if it is right, tell an admin."
        ),
        "no_devices": (
            f"None of the phones on extension {extension} is online, so I couldn't call "
            f"{target}. Sign in to your desk phone or softphone and try again."
        ),
        "key_missing": (
            "The dialer is misconfigured: the phone system wants an API key, so no call was "
            "placed. Admins should check the dialer's settings."
        ),
        "key_rejected": (
            "The dialer is misconfigured: the phone system refused its API key, so no call was "
            "placed. Admins should check the dialer's settings."
        ),
        "not_found": (
            "The dialer is misconfigured: the phone system's address is wrong, so no call was "
            "placed. Admins should check the dialer's settings."
        ),
        "rate_limited": (
            "The phone system is getting too many calls from this workspace right now, so "
            f"{target} wasn't called. Please try again in "
            f"{_seconds(int(min(retry_after or 60, 900)))}."
        ),
        "pbx_error": (
            f"The phone system had a problem with your call to {target}, so it may not have "
            "gone through. If your phones don't ring in a few seconds, try again; if it keeps "
            "happening, tell an admin."
        ),
        "timeout": (
            f"The phone system didn't answer in time. Your phones may still ring for {target} "
            "— give it a moment before trying again, so you don't call twice."
        ),
        "unreachable": (
            f"I couldn't reach the phone system, so {target} wasn't called. Please try again "
            "in a minute; if it keeps happening, tell an admin."
        ),
    }
    return sentences.get(kind, sentences["pbx_error"])


def unexpected_error() -> str:
    """Something in the bot itself went wrong; no details leak."""
    return (
        "Something went wrong on my side, so the call may not have been placed. If your phones "
        "don't ring in a few seconds, please try again."
    )


def no_number_in_message() -> str:
    """The message shortcut found nothing to dial."""
    return (
        "I couldn't find a phone number in that message. You can type one with "
        "`/dial 580-867-5309`."
    )


def choose_number(numbers: list[tuple[str, str]]) -> list[dict[str, Any]]:
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
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "That message has several numbers. Which one?"},
        },
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


def not_admin(admins_hint: str) -> str:
    """A non-admin tried to change links."""
    return f"Only {admins_hint} can link or unlink extensions. `/dial-link` on its own shows yours."


def bad_extension(text: str) -> str:
    """An extension that is not 2 to 8 digits."""
    return f"“{quote(text)}” isn't an extension: extensions are 2 to 8 digits, like 309."


def emergency_extension(extension: str) -> str:
    """An admin tried to link an emergency number as an extension."""
    return (
        f"{extension} is an emergency number, so it can't be linked as an extension: calls "
        "to it must never be placed by the bot."
    )


def link_not_understood(text: str) -> str:
    """A `/dial-link` we could not parse."""
    return f"I didn't understand “{quote(text)}”.\n{LINK_USAGE}"


def quote(text: str, limit: int = 60) -> str:
    """User text made safe to echo: no backticks, bounded length."""
    text = " ".join(text.replace("`", "'").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_log(records: list[CallRecord], user_id: str | None) -> str:
    """Recent audit rows for admins."""
    scope = f" for <@{user_id}>" if user_id else ""
    if not records:
        return f"No calls logged{scope} yet."
    lines = [
        f"• {r.at_utc} <@{r.user_id}> ext {r.extension or '—'} → {r.destination or '—'} "
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
