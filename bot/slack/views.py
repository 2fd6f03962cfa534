"""Block Kit views and blocks: App Home, the dial modal, link requests, choices. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.domain import outcomes
from bot.domain.answers import CallerAnswer, read_answer
from bot.domain.outcomes import Kind, Outcome
from bot.slack import text
from bot.slack.text import admins as admin_text
from bot.slack.text import callers
from bot.slack.text import directory as directory_text
from bot.slack.text import home as home_text
from bot.slack.text import receipts as receipt_text
from bot.slack.text.markup import destination_label
from bot.store import CallRecord, Link
from bot.store.answers import ExtensionTrouble

DIAL_MODAL = "dial_modal"
LINK_MODAL = "link_user_modal"
NUMBER_BLOCK = "number"
NUMBER_INPUT = "number_input"
EXTENSION_BLOCK = "extension"
EXTENSION_INPUT = "extension_input"
USER_BLOCK = "user"
USER_INPUT = "user_input"

OPEN_DIAL_MODAL = "open_dial_modal"
REDIAL = "redial"
REQUEST_LINK = "request_link"
OPEN_LINK_MODAL = "link_user_open"
#: A receipt's answer buttons (their value: the call's audit row id) and Tell an admin.
ANSWER_ACTIONS: dict[CallerAnswer, str] = {
    answer: f"receipt_{answer.value}" for answer in CallerAnswer
}
ANSWER_OF: dict[str, CallerAnswer] = {action: answer for answer, action in ANSWER_ACTIONS.items()}
TELL_ADMIN = "receipt_tell_admin"


@dataclass(frozen=True)
class AdminSummary:
    """What an admin sees on Home besides their own calls."""

    linked_users: int
    recent_failures: list[CallRecord]
    #: The extensions callers said did not ring this week, most first.
    didnt_ring: list[ExtensionTrouble] = field(default_factory=list)
    #: Conflicts between the company directory and the links, open for the admins.
    open_conflicts: int = 0


def _text(text: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": kind, "text": text}


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": _text(text)}
    if accessory:
        block["accessory"] = accessory
    return block


def _button(
    label: str, action_id: str, value: str = "", *, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _text(label[:75], "plain_text"),
        "action_id": action_id,
    }
    if value:
        button["value"] = value[:2000]
    if style:
        button["style"] = style
    return button


def outcome_label(outcome: str) -> str:
    """A log outcome in a few plain words."""
    return text.label(outcome)


def _when(at: float) -> str:
    stamp = int(at)
    fallback = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short}} {{time}}|{fallback}>"


def _redialable(record: CallRecord) -> bool:
    row = outcomes.info(record.outcome)
    refused = row is None or row.kind == Kind.REFUSED
    return bool(record.destination) and not refused


def _call_block(record: CallRecord) -> dict[str, Any]:
    destination = destination_label(record.destination) if record.destination else None
    label = outcome_label(record.outcome)
    what = home_text.home_call(destination, label, record.outcome, record.typed)
    text = f"{_when(record.at)}  {what}"
    redial = _button("Redial", REDIAL, record.destination or "") if _redialable(record) else None
    return _section(text, redial)


def not_linked_blocks(text: str) -> list[dict[str, Any]]:
    """The 'no extension' reply with a button that asks the admins to link the user."""
    return [
        _section(text),
        {"type": "actions", "elements": [_button("Ask an admin to link me", REQUEST_LINK)]},
    ]


def home_view(
    link: Link | None,
    calls: list[CallRecord],
    *,
    banner: str | None = None,
    admin: AdminSummary | None = None,
) -> dict[str, Any]:
    """The App Home tab: your extension, a dial button, your last calls, and admin tools."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _text("WebFones Dialer", "plain_text")},
    ]
    if banner:
        blocks.append(_section(banner))
    if link is None:
        blocks += not_linked_blocks(home_text.home_not_linked())
    else:
        blocks.append(
            _section(
                home_text.home_your_extension(link.extension),
                _button("Dial a number", OPEN_DIAL_MODAL, style="primary"),
            )
        )
    blocks += [{"type": "divider"}, _section("*Your last calls*")]
    if calls:
        blocks += [block for record in calls[:10] for block in _call_blocks(record)]
    else:
        blocks.append(_section(home_text.home_no_calls(linked=link is not None)))
    if admin is not None:
        blocks += _admin_blocks(admin)
        blocks += didnt_ring_blocks(admin.didnt_ring)
    return {"type": "home", "blocks": blocks[:100]}


def _admin_blocks(admin: AdminSummary) -> list[dict[str, Any]]:
    blocks = [
        {"type": "divider"},
        _section(
            home_text.home_admin_summary(admin.linked_users),
            _button("Link someone…", OPEN_LINK_MODAL),
        ),
    ]
    if admin.open_conflicts:
        blocks.append(_section(directory_text.home_conflicts(admin.open_conflicts)))
    if admin.recent_failures:
        lines = [
            f"• {_when(r.at)} <@{r.user_id}> → {destination_label(r.destination)}: "
            f"{outcome_label(r.outcome)}"
            for r in admin.recent_failures[:5]
        ]
        blocks.append(_section("*Recent failures*\n" + "\n".join(lines)))
    else:
        blocks.append(_section(home_text.home_no_failures()))
    return blocks


def dial_modal(initial: str = "") -> dict[str, Any]:
    """The 'Dial a number' modal with one number field."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": NUMBER_INPUT,
        "placeholder": _text("580-867-5309, +1 604 555 0143 or an extension", "plain_text"),
        "max_length": 64,
    }
    if initial:
        element["initial_value"] = initial[:64]
    return {
        "type": "modal",
        "callback_id": DIAL_MODAL,
        "title": _text("Dial a number", "plain_text"),
        "submit": _text("Call", "plain_text"),
        "close": _text("Cancel", "plain_text"),
        "blocks": [
            {
                "type": "input",
                "block_id": NUMBER_BLOCK,
                "label": _text("Number to call", "plain_text"),
                "element": element,
                "hint": _text(callers.DIAL_MODAL_HINT, "plain_text"),
            }
        ],
    }


def result_modal(text: str, title: str = "Dial a number") -> dict[str, Any]:
    """A modal that only shows a sentence (the call's progress or outcome)."""
    return {
        "type": "modal",
        "callback_id": "dial_result",
        "title": _text(title[:24], "plain_text"),
        "close": _text("Close", "plain_text"),
        "blocks": [_section(text)],
    }


def link_request_blocks(user_id: str) -> list[dict[str, Any]]:
    """The DM an admin gets when a user asks to be linked."""
    return [
        _section(
            admin_text.link_requested_by(user_id),
            _button("Link…", OPEN_LINK_MODAL, user_id, style="primary"),
        )
    ]


def link_modal(user_id: str | None) -> dict[str, Any]:
    """The admin's 'link someone' modal: a person (unless known) and an extension."""
    blocks: list[dict[str, Any]] = []
    if user_id:
        blocks.append(_section(admin_text.link_modal_intro(user_id)))
    else:
        blocks.append(
            {
                "type": "input",
                "block_id": USER_BLOCK,
                "label": _text("Person", "plain_text"),
                "element": {"type": "users_select", "action_id": USER_INPUT},
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": EXTENSION_BLOCK,
            "label": _text("Extension", "plain_text"),
            "element": {
                "type": "plain_text_input",
                "action_id": EXTENSION_INPUT,
                "placeholder": _text("2 to 8 digits, like 309", "plain_text"),
                "max_length": 8,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": LINK_MODAL,
        "private_metadata": user_id or "",
        "title": _text("Link an extension", "plain_text"),
        "submit": _text("Link", "plain_text"),
        "close": _text("Cancel", "plain_text"),
        "blocks": blocks,
    }


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
        {"type": "section", "text": {"type": "mrkdwn", "text": callers.several_numbers(left_out)}},
        {"type": "actions", "block_id": "dial_choice", "elements": buttons},
    ]


def link_form_values(view: dict[str, Any]) -> tuple[str, str | None]:
    """What the link form holds: the extension typed, and the person (known or picked)."""
    values = view.get("state", {}).get("values", {})
    extension = values.get(EXTENSION_BLOCK, {}).get(EXTENSION_INPUT, {}).get("value") or ""
    picked = values.get(USER_BLOCK, {}).get(USER_INPUT, {}).get("selected_user")
    return extension.strip(), view.get("private_metadata") or picked


def dial_form_number(view: dict[str, Any]) -> str:
    """What the user typed in the dial modal's number field."""
    values = view.get("state", {}).get("values", {})
    return values.get(NUMBER_BLOCK, {}).get(NUMBER_INPUT, {}).get("value") or ""


# --- call receipts ----------------------------------------------------------------------------


def when(at: float) -> str:
    """A moment as Slack shows it in the reader's own time zone (UTC as the fallback)."""
    return _when(at)


def answer_buttons(call_id: int, chosen: CallerAnswer | None = None) -> dict[str, Any]:
    """The receipt's three answers for one call (the one given, if any, highlighted)."""
    return {
        "type": "actions",
        "block_id": f"receipt_{call_id}",
        "elements": [
            _button(
                label,
                ANSWER_ACTIONS[answer],
                str(call_id),
                style="primary" if answer == chosen else None,
            )
            for answer, label in receipt_text.BUTTONS.items()
        ],
    }


def tell_admin_button(call_id: int) -> dict[str, Any]:
    """The one button a "didn't ring" answer offers: pass it on to the admins."""
    return {
        "type": "actions",
        "block_id": f"receipt_tell_{call_id}",
        "elements": [_button(receipt_text.TELL_AN_ADMIN, TELL_ADMIN, str(call_id))],
    }


def _call_blocks(record: CallRecord) -> list[dict[str, Any]]:
    """A call on Home: its line (with the caller's answer), and the answers a placed one offers."""
    block = _call_block(record)
    answer = read_answer(record.answer or "")
    if answer is not None:
        block["text"]["text"] += receipt_text.home_answer(answer)
    if record.outcome != Outcome.PLACED.value:
        return [block]
    if answer is None:
        return [block, answer_buttons(record.id)]
    if answer == CallerAnswer.DIDNT_RING:
        return [block, tell_admin_button(record.id)]
    return [block]


def didnt_ring_blocks(troubles: list[ExtensionTrouble]) -> list[dict[str, Any]]:
    """The admins' list of extensions that did not ring this week, with counts and last time."""
    if not troubles:
        return [_section(receipt_text.home_no_didnt_ring())]
    lines = [
        receipt_text.home_didnt_ring_line(t.extension, t.count, _when(t.last_at))
        for t in troubles[:5]
    ]
    return [_section(receipt_text.HOME_DIDNT_RING_TITLE + "\n" + "\n".join(lines))]
