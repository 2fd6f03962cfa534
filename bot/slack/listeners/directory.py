"""Slack's user_change event: a person's directory link follows their profile within seconds.

A deactivated person's link is removed; a new value in DIALER_EXTENSION_FIELD links or moves a
directory link (never one an admin made by hand: that is a conflict for the admins). The event's
profile may leave custom fields out (Slack documents that it often does), so then the field is
read afresh with users.profile.get. Nothing happens while DIALER_EXTENSION_FIELD is unset.
"""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncApp

from bot.slack.deps import Deps
from bot.slack.profiles import ProfileField, field_value


async def handle_user_change(event: dict, *, deps: Deps) -> None:
    """Follow one member's change: deactivation, or a new value in the extension field."""
    directory, profiles = deps.directory, deps.profiles
    if directory is None or profiles is None:
        return
    user = event.get("user") or {}
    user_id = str(user.get("id") or "")
    if not user_id or user.get("is_bot"):
        return
    value = None
    field = await profiles.field()
    if isinstance(field, ProfileField):
        value = field_value(user.get("profile"), field.id)
    await directory.profile_changed(user_id, deleted=bool(user.get("deleted")), value=value)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach user_change."""
    app.event("user_change")(partial(handle_user_change, deps=deps))
