"""What admins read (and people asking for a link): link answers, the call log, link requests."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.extensions import Kind, Problem
from bot.slack.text.countries import country_name
from bot.slack.text.markup import admins_hint, quote
from bot.store import CallRecord, Link

LINK_USAGE = (
    "*`/dial-link`* shows your extension.\n"
    "Admins: `/dial-link @user 309` (or `/dial-link alice@example.com 309`) links or changes, "
    "`/dial-link @user remove` unlinks, "
    "`/dial-link list` lists everyone, `/dial-link log` or `/dial-link log @user` shows "
    "recent calls.\n"
    "Extensions are 2 to 8 digits."
)

#: How much of a user's text is echoed back in a reply.


def link_requested_by(user_id: str) -> str:
    """The DM an admin gets when someone asks to be linked."""
    return f"<@{user_id}> asked to be linked to a phone extension so they can dial from Slack."


def link_modal_intro(user_id: str) -> str:
    """The link modal's first line when the person is known."""
    return f"Link <@{user_id}> to an extension."


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
    lines = [
        f"• extension {link.extension}: <@{link.user_id}>"
        + (" (from the directory)" if link.source == "directory" else "")
        for link in links
    ]
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


# --- extensions that can't be linked (bot.domain.extensions decides) ---


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
