"""Build Slack request bodies and sign them the way Slack does (see SLACK-WIRE.md)."""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from slack_sdk.signature import SignatureVerifier

DEFAULT_TEAM_ID = "T0123ABCD"
DEFAULT_CHANNEL_ID = "C0123ABCD"
DEFAULT_APP_ID = "A0123ABCD"
VERIFICATION_TOKEN = "XXXX"

_serial = itertools.count(1)


def new_trigger_id() -> str:
    """A fresh trigger_id: Slack gives every command and interaction its own."""
    return f"{int(time.time())}.{next(_serial)}.{secrets.token_hex(4)}"


def new_event_id() -> str:
    """A fresh event_id, as Slack gives every event it delivers (and keeps for its retries)."""
    return f"Ev{next(_serial):04d}{secrets.token_hex(5).upper()}"


def slash_command_payload(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str = "jdoe",
    response_url: str,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """Return the fields of a slash command as a dict of strings, in Slack's order."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": DEFAULT_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str = "jdoe",
    response_url: str,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    trigger_id: str | None = None,
) -> str:
    """Return a slash command form-encoded like Slack does ('+' -> %2B, space -> '+')."""
    fields = slash_command_payload(
        command,
        text,
        user_id=user_id,
        user_name=user_name,
        response_url=response_url,
        team_id=team_id,
        channel_id=channel_id,
        trigger_id=trigger_id,
    )
    return urllib.parse.urlencode(fields)


def message_action_payload(
    *,
    user_id: str,
    text: str,
    response_url: str,
    blocks: list[dict[str, Any]] | None = None,
    callback_id: str = "dial_from_message",
    user_name: str = "jdoe",
    message_user: str = "U222",
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
) -> dict[str, Any]:
    """Return a message shortcut payload; the message has 'blocks' only when given."""
    message_ts = "1583636382.000300"
    message: dict[str, Any] = {"type": "message", "user": message_user, "ts": message_ts}
    message["text"] = text
    if blocks is not None:
        message["blocks"] = blocks
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": "1583637157.207593",
        "team": {"id": team_id, "domain": "acme"},
        "user": {"id": user_id, "name": user_name},
        "channel": {"id": channel_id, "name": "general"},
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
        "message_ts": message_ts,
        "message": message,
        "response_url": response_url,
    }


def block_actions_payload(
    *,
    user_id: str,
    action_id: str,
    value: str,
    response_url: str,
    block_id: str = "b1",
    text: str | None = None,
    user_name: str = "jdoe",
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
) -> dict[str, Any]:
    """Return a button click from an ephemeral message (no 'message' object, like Slack)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": DEFAULT_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": "111.222",
            "channel_id": channel_id,
            "is_ephemeral": True,
        },
        "trigger_id": new_trigger_id(),
        "team": {"id": team_id, "domain": "acme"},
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "type": "button",
                "text": {"type": "plain_text", "text": value if text is None else text},
                "value": value,
                "action_ts": "1596530385.194939",
            }
        ],
    }


def interactive_body(payload: dict[str, Any]) -> str:
    """Return the form body Slack posts for interactivity: payload=<urlencoded JSON>."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def signed_headers(
    body: str,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Return Content-Type, X-Slack-Request-Timestamp and X-Slack-Signature for a body."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def post_signed(
    url: str,
    body: str,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10.0,
    content_type: str = "application/x-www-form-urlencoded",
    extra_headers: dict[str, str] | None = None,
) -> tuple[int, str, float]:
    """POST a signed body; return (status, response text, seconds taken), even for 4xx/5xx."""
    headers = signed_headers(body, signing_secret, timestamp=timestamp, content_type=content_type)
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    headers.update(extra_headers or {})
    return post_raw(url, body, headers, timeout=timeout)


def post_raw(
    url: str, body: str, headers: dict[str, str], *, timeout: float = 10.0
) -> tuple[int, str, float]:
    """POST a body with exactly these headers (a replay sends a request's own again)."""
    request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        status = error.code
        text = error.read().decode("utf-8", errors="replace")
    return status, text, time.perf_counter() - started


def event_callback_body(
    event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID, event_id: str | None = None
) -> str:
    """An Events API request body (JSON), as Slack posts it to the request URL."""
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": DEFAULT_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
    )


def retry_headers(attempt: int, reason: str = "http_timeout") -> dict[str, str]:
    """The headers Slack adds when it sends an Events API request again."""
    return {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason}


def interactivity_input(user_id: str) -> dict[str, Any]:
    """A `slack#/types/interactivity` value: who clicked or submitted, as Slack attests it."""
    pointer = f"{time.time():.0f}.{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex}"
    secret = "SeCrEt" + uuid.uuid4().hex
    return {"interactor": {"id": user_id, "secret": secret}, "interactivity_pointer": pointer}


def function_executed_event(
    *,
    callback_id: str,
    inputs: dict[str, Any],
    function_execution_id: str,
    bot_access_token: str,
    workflow_execution_id: str = "Wx0123WXYZ",
    title: str = "Place a call",
) -> dict[str, Any]:
    """A function_executed event: one run of an app's workflow step, with its inputs.

    Shaped like Slack's reference payload: the function's definition, the run's `inputs`,
    the step run's `function_execution_id`, the workflow run's `workflow_execution_id`, and a
    just-in-time `bot_access_token` (xwfp-…) for completing this run.
    """
    input_parameters = [
        {
            "type": "slack#/types/interactivity" if name == "interactivity" else "string",
            "name": name,
            "title": name.title(),
            "is_required": True,
        }
        for name in inputs
    ]
    now = int(time.time())
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0123ABCD",
            "callback_id": callback_id,
            "title": title,
            "description": title,
            "type": "app",
            "input_parameters": input_parameters,
            "output_parameters": [],
            "app_id": DEFAULT_APP_ID,
            "date_created": now - 86400,
            "date_updated": now - 3600,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": function_execution_id,
        "workflow_execution_id": workflow_execution_id,
        "event_ts": f"{time.time():.6f}",
        "bot_access_token": bot_access_token,
    }


def app_home_opened_event(user_id: str) -> dict[str, Any]:
    """The app_home_opened event for the Home tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D0123HOME",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


def global_shortcut_payload(*, user_id: str, callback_id: str) -> dict[str, Any]:
    """A global shortcut (from the composer or search): a trigger_id, no response_url."""
    return {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": DEFAULT_TEAM_ID, "domain": "acme"},
        "user": {"id": user_id, "username": "jdoe", "team_id": DEFAULT_TEAM_ID},
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
    }


def home_button_payload(*, user_id: str, action_id: str, value: str = "") -> dict[str, Any]:
    """A button click on the App Home tab: a view container and no response_url."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": "home",
        "type": "button",
        "text": {"type": "plain_text", "text": action_id},
        "action_ts": f"{time.time():.6f}",
    }
    if value:
        action["value"] = value
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "jdoe", "name": "jdoe", "team_id": DEFAULT_TEAM_ID},
        "api_app_id": DEFAULT_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": "VHOME0001"},
        "trigger_id": new_trigger_id(),
        "team": {"id": DEFAULT_TEAM_ID, "domain": "acme"},
        "view": {"id": "VHOME0001", "type": "home", "callback_id": "", "private_metadata": ""},
        "actions": [action],
    }


def dm_button_payload(
    *, user_id: str, action_id: str, value: str, response_url: str
) -> dict[str, Any]:
    """A button click in a bot DM (a normal message, with a response_url)."""
    payload = block_actions_payload(
        user_id=user_id, action_id=action_id, value=value, response_url=response_url
    )
    payload["container"] = {
        "type": "message",
        "message_ts": "444.555",
        "channel_id": "D0123ADMIN",
        "is_ephemeral": False,
    }
    return payload


def view_submission_payload(
    *,
    user_id: str,
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    private_metadata: str = "",
    view_id: str = "VMODAL001",
) -> dict[str, Any]:
    """A modal's submission: state.values keyed by block_id then action_id."""
    return {
        "type": "view_submission",
        "team": {"id": DEFAULT_TEAM_ID, "domain": "acme"},
        "user": {"id": user_id, "username": "jdoe", "name": "jdoe", "team_id": DEFAULT_TEAM_ID},
        "api_app_id": DEFAULT_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": DEFAULT_TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1599.abc",
            "title": {"type": "plain_text", "text": "Modal"},
        },
        "response_urls": [],
    }
