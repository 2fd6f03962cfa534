"""What admins read (and people asking for a link): link answers, the call log, link requests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bot.domain.extensions import Kind, Problem
from bot.slack.text.countries import country_name
from bot.slack.text.home import label
from bot.slack.text.markup import admins_hint, destination_label, quote
from bot.store import CallRecord, Link

LINK_USAGE = (
    "*`/dial-link`* shows your extension.\n"
    "Admins: `/dial-link @user 309` (or `/dial-link alice@example.com 309`) links or changes, "
    "`/dial-link @user remove` unlinks, "
    "`/dial-link list` lists everyone (a page at a time: `/dial-link list 2`), "
    "`/dial-link log` or `/dial-link log @user` shows recent calls.\n"
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


#: Slack's advice for one message's text: longer messages are hard to read and get cut.
MESSAGE_LIMIT = 4000
#: Room kept under MESSAGE_LIMIT for the heading and the paging line.
_PAGE_BUDGET = MESSAGE_LIMIT - 400
#: Where to get every link at once, for a list longer than a message.
EXPORT_HINT = "For every link at once, run `python -m bot links export` where the dialer runs."


def link_list_pages(links: list[Link]) -> list[list[Link]]:
    """The links cut into pages that each fit one message (in the order given)."""
    pages: list[list[Link]] = [[]]
    size = 0
    for link in links:
        line = len(_link_line(link)) + 1
        if pages[-1] and size + line > _PAGE_BUDGET:
            pages.append([])
            size = 0
        pages[-1].append(link)
        size += line
    return pages


def _link_line(link: Link) -> str:
    source = " (from the directory)" if link.source == "directory" else ""
    return f"• extension {link.extension}: <@{link.user_id}>{source}"


def link_list(links: list[Link], page: int = 1) -> str:
    """One page of every link, for admins, with how to see the next page or everything."""
    if not links:
        return "No one is linked yet. Link someone with `/dial-link @user 309`."
    pages = link_list_pages(links)
    if not 1 <= page <= len(pages):
        return (
            f"There {'is' if len(pages) == 1 else 'are'} only {len(pages)} "
            f"page{'' if len(pages) == 1 else 's'} of links: try `/dial-link list`."
        )
    shown = pages[page - 1]
    first = sum(len(earlier) for earlier in pages[: page - 1]) + 1
    lines = "\n".join(_link_line(link) for link in shown)
    if len(pages) == 1:
        return f"*{len(links)} linked:*\n{lines}"
    heading = (
        f"*{len(links)} linked — page {page} of {len(pages)}, {first}–{first + len(shown) - 1}:*"
    )
    more = f"`/dial-link list {page + 1}` shows the next page. " if page < len(pages) else ""
    return f"{heading}\n{lines}\n{more}{EXPORT_HINT}"


def not_admin(admins: Iterable[str], *, viewing: bool = False) -> str:
    """A non-admin tried to change links (or, viewing, to list them or read the call log)."""
    if viewing:
        return (
            f"Only admins can list links or see the call log; ask {admins_hint(admins)} if you "
            "need either. `/dial-link` on its own shows your extension."
        )
    return (
        f"Only {admins_hint(admins)} can link or unlink extensions. `/dial-link` on its own "
        "shows yours."
    )


def not_of_this_workspace(*, viewing: bool = False) -> str:
    """Slack calls the user an admin, but a guest's, an outsider's or a bot's (plain text)."""
    what = "list links or see the call log" if viewing else "link extensions"
    return (
        f"Only an admin of this workspace can {what}; guests, people from other organizations "
        "and bots can't."
    )


def workspace_unknown() -> str:
    """The bot doesn't know its own workspace yet, so Slack's admins can't be told apart."""
    return (
        "I couldn't confirm with Slack which workspace I belong to, so only the admins listed "
        "in DIALER_ADMINS can manage links right now. Please try again in a minute."
    )


def bad_extension(text: str) -> str:
    """An extension that is not 2 to 8 digits."""
    return f"“{quote(text)}” isn't an extension: extensions are 2 to 8 digits, like 309."


def link_not_understood(text: str) -> str:
    """A `/dial-link` we could not parse."""
    return f"I didn't understand “{quote(text)}”.\n{LINK_USAGE}"


#: Where a call was asked for, as the call log says it.
_SURFACES = {
    "slash": "with /dial",
    "shortcut": "from a message",
    "choice": "from a message's choices",
    "modal": "from the Dial a number form",
    "home": "with Redial on Home",
    "workflow": "from a workflow",
}


def _when(at: float) -> str:
    """A moment in the call log: Slack shows it in the reader's own time zone."""
    fallback = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at)}^{{date_short}} {{time}}|{fallback}>"


def _call_line(record: CallRecord) -> str:
    """One audit row as a sentence: who called what, from which extension, how, and the end."""
    who = f"<@{record.user_id}>" if record.user_id else "No one"
    what = destination_label(record.destination) if record.destination else ""
    what = what or "nothing they could dial"
    extension = f" from extension {record.extension}" if record.extension else ""
    where = _SURFACES.get(record.surface, f"via {record.surface}")
    return (
        f"• {_when(record.at)}: {who} called {what}{extension} {where} — {label(record.outcome)}."
    )


def call_log(records: list[CallRecord], user_id: str | None) -> str:
    """Recent audit rows for admins, each a sentence, within one message."""
    scope = f" by <@{user_id}>" if user_id else ""
    if not records:
        return f"No calls logged{scope} yet."
    lines: list[str] = []
    size = 0
    for record in records:
        line = _call_line(record)
        if size + len(line) + 1 > _PAGE_BUDGET:
            break
        lines.append(line)
        size += len(line) + 1
    return f"*The last {len(lines)} calls{scope}:*\n" + "\n".join(lines)


def ask_workspace_admin() -> str:
    """No admin could be messaged: the user has to ask in person."""
    return "Please ask a workspace admin to link you: they can run `/dial-link @you EXTENSION`."


def link_already_requested() -> str:
    """The user pressed the request button again soon after."""
    return (
        "I've already asked the admins to link you. You'll get a direct message from me when "
        "it's done."
    )


def link_requested(admins: list[str]) -> str:
    """The admins were asked to link the user."""
    names = ", ".join(f"<@{admin}>" for admin in admins)
    return f"I've asked {names} to link you. You'll get a direct message from me when it's done."


def link_yourself() -> str:
    """An admin with no extension asked to be linked, and no other admin could be asked."""
    return (
        "You're a dialer admin, so you can link yourself: run `/dial-link @yourname 309` with "
        "your own name and extension."
    )


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
    where = country_name(problem.region)
    if problem.kind == Kind.EMERGENCY:
        return f"an emergency number in {where}"
    if problem.kind == Kind.SPECIAL:
        return (
            f"a special-services number in {where} (a free short number such as a crisis or "
            "test line)"
        )
    if problem.kind == Kind.PREMIUM:
        return (
            f"a premium-rate number in {where} (a short number that charges the caller, such as "
            "a paid information line)"
        )
    return "an emergency number in other countries (people dial it from habit)"


#: Each prefix in front of a number, in words.
_PREFIX_WORDS = {
    "outside_line": "the outside-line prefix {}",
    "country_code": "the country code {}",
    "trunk_prefix": "the national dialing prefix {}",
}


def _prefixes(problem: Problem) -> str:
    """The prefixes in front of the number, in dialing order: "the outside-line prefix 9 and …"."""
    named = [_PREFIX_WORDS[kind].format(digits) for kind, digits in problem.prefixes()]
    if len(named) <= 2:
        return " and ".join(named)
    return ", ".join(named[:-1]) + f" and {named[-1]}"


def extension_refusal_reason(problem: Problem) -> str:
    """Why digits can't be an extension, after the digits: "is an emergency number in France"."""
    if problem.prefixes():
        return (
            f"is {problem.number} behind {_prefixes(problem)}, and {problem.number} is "
            f"{_reached(problem)}"
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
    if problem.outside_line and problem.extension.startswith(problem.outside_line):
        dialed = problem.extension[len(problem.outside_line) :]
        why = (
            f"on a PBX where {problem.outside_line} gets an outside line, a call to "
            f"{problem.extension} is a call to {dialed}."
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
        "The dialer can't record links right now, so nothing changed. The problem was logged "
        "for whoever runs the dialer; please try again later, and tell an admin if it keeps "
        "happening."
    )


def database_unavailable() -> str:
    """The database could not be read: nothing to show, and nothing was changed (plain text)."""
    return (
        "The dialer can't read its records right now. The problem was logged for whoever runs "
        "the dialer; please try again later, and tell an admin if it keeps happening."
    )
