"""What people read about links kept by the company directory (DIALER_EXTENSION_FIELD).

The caller whose directory extension can't be linked, the admins told about a conflict, the
admins' Home line, `/dial-link list`'s mark, and the one line that stops start-up (or fails
`check`) when the field can't be trusted.
"""

from __future__ import annotations

from bot.domain.directory import Decision, Verdict
from bot.domain.facts import Facts
from bot.slack.text.admins import extension_refusal_reason
from bot.slack.text.markup import MRKDWN, Markup, quote

SETTING = "DIALER_EXTENSION_FIELD"


# --- the field itself: start-up, `check` and `links sync` --------------------------------------


def field_editable(label: str, field_id: str) -> str:
    """The field is one people can edit themselves: the app refuses to trust it."""
    return (
        f"{SETTING} names the profile field {label!r} ({field_id}), which people can edit "
        "themselves: anyone could type a colleague's extension and make calls ring their "
        "phones. Make it protected or sync it from your identity provider (SCIM), or unset "
        f"{SETTING}."
    )


def field_not_found(wanted: str, labels: list[str]) -> str:
    """No custom profile field has that label or id."""
    known = ", ".join(repr(label) for label in labels[:10]) or "none"
    return (
        f"{SETTING} is {wanted!r}, but this workspace has no custom profile field with that "
        f"label or id (its fields: {known})."
    )


def field_ambiguous(wanted: str, ids: list[str]) -> str:
    """Several fields share the label: the id must be used."""
    return (
        f"{SETTING} is {wanted!r}, which is the label of several profile fields "
        f"({', '.join(ids)}): set it to the id of the one that holds extensions."
    )


def field_refused(code: str) -> str:
    """Slack refused team.profile.get (usually the scope is missing)."""
    if code == "missing_scope":
        return (
            f"{SETTING} is set, but Slack refused to show the profile fields (missing_scope): "
            "add the users.profile:read scope to the app and reinstall it, or unset "
            f"{SETTING}."
        )
    return f"{SETTING} is set, but Slack refused to show the profile fields ({code})."


def field_unreachable(reason: str) -> str:
    """Slack could not be asked at start-up: links from the directory wait until it can."""
    return (
        f"could not reach Slack to check {SETTING} ({reason}); people will be linked from "
        "the directory once Slack answers"
    )


# --- the caller ------------------------------------------------------------------------------


def directory_conflict(facts: Facts, md: Markup = MRKDWN) -> str:
    """The caller's directory extension could not be linked: why, and that admins were told."""
    digits = quote(facts.digits, 20)
    if facts.colleague:
        holder = "someone else" if md.plain else f"<@{facts.colleague}>"
        why = f"is already linked to {holder}"
    else:
        why = "isn't an extension I can call from"
    return (
        f"The company directory says your extension is {digits}, but it {why}, so I couldn't "
        "link you or place the call. I've let the admins know; they'll sort it out in the "
        "directory or link you by hand."
    )


# --- the admins ------------------------------------------------------------------------------


def conflict_alert(decision: Decision) -> str:
    """The DM the admins get when the directory can't be followed for someone."""
    who, value = f"<@{decision.user_id}>", quote(decision.value, 20)
    if decision.verdict == Verdict.REFUSED and decision.problem is not None:
        why = f"{value} {extension_refusal_reason(decision.problem)}"
        if decision.problem.kind == "shape":
            why = f"“{value}” isn't an extension (2 to 8 digits)"
        text = f"The company directory gives {who} the extension {value}, but {why}."
    elif decision.verdict == Verdict.TAKEN:
        text = (
            f"The company directory gives {who} the extension {value}, but it is already "
            f"linked to <@{decision.holder}>."
        )
    else:
        before = decision.current.extension if decision.current else "another extension"
        text = (
            f"The company directory gives {who} the extension {value}, but an admin linked "
            f"them to {before} by hand, and I never overwrite a link made by hand."
        )
    return (
        f":warning: {text} Nobody was linked. Fix the field in your identity provider, or "
        "change the links with `/dial-link`; `python -m bot links sync` lists every conflict."
    )


def home_conflicts(count: int) -> str:
    """The admins' Home line: conflicts between the directory and the links."""
    if count == 1:
        return "*1 conflict* with the company directory is open: `links sync` lists it."
    return f"*{count} conflicts* with the company directory are open: `links sync` lists them."
