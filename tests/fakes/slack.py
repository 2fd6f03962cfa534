"""A loopback fake of the Slack Web API plus a catcher for response_url posts.

Runs a real ``ThreadingHTTPServer`` on 127.0.0.1 in a background thread so that an app in
another process (``python -m bot`` with ``SLACK_API_URL=fake.api_url``) can talk to it.
All recorded times (``ApiCall.at``, ``ResponsePost.at``) are ``time.monotonic()`` values.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

TEAM_ID = "T0123ABCD"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"

# Form-encoded Web API params that Slack clients send as JSON strings; decoded for tests.
_JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata", "unfurls", "outputs"})

#: The methods that finish a run of a workflow step (a custom function).
FUNCTION_COMPLETIONS = ("functions.completeSuccess", "functions.completeError")

# Status -> body, as hooks.slack.com answers response_url posts.
_RESPONSE_URL_BODIES = {
    200: "ok",
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    500: "rollup_error",
}


@dataclass
class ApiCall:
    """One Web API call: method, merged query/form/JSON params, the token used, and when."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float


@dataclass
class ResponsePost:
    """One POST to a response_url: its path, JSON body, when, and the status answered."""

    path: str
    body: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class _Override:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, fake: FakeSlack, port: int = 0) -> None:
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (timeouts, stop()); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        """Answer GETs (health checks, stray API calls) like POSTs."""
        self.do_POST()

    def do_POST(self) -> None:
        """Route /api/<method> and /response/<id>."""
        fake = self.server.fake
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if fake.response_delay:
            time.sleep(fake.response_delay)
        if parsed.path.startswith("/api/"):
            method = parsed.path[len("/api/") :]
            params = _parse_params(parsed.query, raw, self.headers.get("Content-Type", ""))
            token = _bearer(self.headers.get("Authorization")) or params.pop("token", None)
            params.pop("token", None)
            status, body, headers = fake._handle_api(method, params, token)
            self._send(status, json.dumps(body), "application/json; charset=utf-8", headers)
        elif parsed.path.startswith("/response/"):
            status = fake._handle_response_post(parsed.path, raw, self.headers)
            text = _RESPONSE_URL_BODIES.get(status, "error")
            self._send(status, text, "text/html")
        else:
            self._send(404, "not found", "text/plain")

    def _send(
        self, status: int, text: str, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[len("bearer ") :].strip()
    return None


def _parse_params(query: str, raw: bytes, content_type: str) -> dict[str, Any]:
    params = _form_params(query)
    if not raw:
        return params
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
        return params
    params.update(_form_params(text))
    return params


def _form_params(text: str) -> dict[str, Any]:
    """Form-encoded fields (a body or a query string), JSON-valued ones decoded."""
    params: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if key in _JSON_PARAMS and value[:1] in ("{", "["):
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        params[key] = value
    return params


class FakeSlack:
    """A fake Slack Web API and response_url endpoint on a free 127.0.0.1 port."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        port: int = 0,
    ) -> None:
        """Prepare the fake; call start() (or use it as a context manager) to serve.

        With a fixed `port`, `url` and `api_url` are known before start(), so a bot can be
        pointed at a Slack that is not there yet, and the fake stopped and started again.
        """
        self.bot_token = bot_token
        self.app_token = app_token
        self.users: dict[str, dict[str, Any]] = {}
        self.api_calls: list[ApiCall] = []
        self.response_posts: list[ResponsePost] = []
        self.response_status: int = 200
        self.response_delay: float = 0.0
        self.socket_mode_url: str | None = None
        #: Workflow tokens handed out in function_executed events: token -> execution id.
        self.function_tokens: dict[str, str] = {}
        self._finished_executions: set[str] = set()
        self._port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.api_url = self.url + "/api/" if port else ""
        self._overrides: dict[str, _Override] = {}
        #: Custom profile field definitions, as team.profile.get answers them.
        self.profile_fields: list[dict[str, Any]] = []
        #: Each user's custom field values: user ID -> field ID -> value.
        self.profile_values: dict[str, dict[str, str]] = {}
        #: How many more calls to a method answer 429 (ratelimited), and the Retry-After sent.
        self._rate_limits: dict[str, tuple[int, str]] = {}
        self._cond = threading.Condition()
        self._counter = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind a free (or the given) port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(self, self._port)
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self.api_url = self.url + "/api/"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits: once per test
            name=f"FakeSlack:{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close kept-alive connections and join the server thread."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_open_sockets()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        """Start and return the fake."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the fake."""
        self.stop()

    # ------------------------------------------------------------------ set-up helpers

    def response_url(self, name: str | None = None) -> str:
        """Return a fresh, unique response_url on this fake (optionally labelled by name)."""
        label = urllib.parse.quote(name, safe="") + "-" if name else ""
        return f"{self.url}/response/{label}{next(self._counter)}-{uuid.uuid4().hex[:12]}"

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
        team_id: str = TEAM_ID,
        enterprise_id: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_stranger: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a user shaped like Slack's user object; return it.

        By default a member of this workspace (TEAM_ID, as auth.test answers); `team_id`,
        `enterprise_id` and `is_stranger` describe someone seen from another team or org,
        `is_restricted` / `is_ultra_restricted` a multi- or single-channel guest.
        """
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        profile: dict[str, Any] = {"display_name": name, "real_name": real_name}
        if email is not None:
            profile["email"] = email
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": is_primary_owner,
            "is_bot": is_bot,
            "is_restricted": is_restricted or is_ultra_restricted,
            "is_ultra_restricted": is_ultra_restricted,
            "is_app_user": False,
            "tz": "America/Chicago",
            "profile": profile,
        }
        if enterprise_id is not None:
            user["enterprise_id"] = enterprise_id
        if is_stranger:
            user["is_stranger"] = True
        with self._cond:
            self.users[user_id] = user
        return user

    def add_profile_field(
        self,
        field_id: str,
        label: str,
        *,
        protected: bool = False,
        scim: bool = False,
    ) -> dict[str, Any]:
        """Define a custom profile field shaped like team.profile.get's (options carry the
        protection flags, as Slack documents them); return it."""
        options = {"is_protected": protected, "is_scim": scim} if protected or scim else None
        definition: dict[str, Any] = {
            "id": field_id,
            "ordering": len(self.profile_fields),
            "label": label,
            "hint": "",
            "type": "text",
            "possible_values": None,
            "options": options,
            "is_hidden": False,
            "section_id": "S0123ABCD",
            "permissions": {"scim": scim, "ui": not (protected or scim), "api": []},
        }
        with self._cond:
            self.profile_fields.append(definition)
        return definition

    def set_profile_value(self, user_id: str, field_id: str, value: str | None) -> None:
        """Set (or, with None, clear) one user's value in a custom profile field."""
        with self._cond:
            values = self.profile_values.setdefault(user_id, {})
            if value is None:
                values.pop(field_id, None)
            else:
                values[field_id] = value

    def rate_limit(self, method: str, times: int, retry_after: int = 1) -> None:
        """Answer the next `times` calls to `method` with 429 and Retry-After, as Slack does."""
        with self._cond:
            self._rate_limits[method] = (times, str(retry_after))

    def function_token(self, function_execution_id: str) -> str:
        """A fresh just-in-time workflow token (xwfp-…) for one step run, as Slack issues it.

        The token is what a function_executed event carries as `bot_access_token`; this fake
        accepts it for that run's functions.completeSuccess / completeError (and, as Slack
        does, for the bot's other methods), and refuses it for any other run.
        """
        token = f"xwfp-{next(self._counter)}-{uuid.uuid4().hex}"
        with self._cond:
            self.function_tokens[token] = function_execution_id
        return token

    def set_method_response(
        self,
        method: str,
        body: dict[str, Any] | None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make `method` answer `body` (e.g. {"ok": False, "error": "ratelimited"}); None resets."""
        with self._cond:
            if body is None:
                self._overrides.pop(method, None)
            else:
                self._overrides[method] = _Override(body, status, dict(headers or {}))

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[ApiCall]:
        """Return the recorded calls to one Web API method, oldest first."""
        with self._cond:
            return [call for call in self.api_calls if call.method == method]

    def posts_to(self, response_url: str) -> list[dict[str, Any]]:
        """Return the JSON bodies posted to one response_url, oldest first."""
        path = urllib.parse.urlsplit(response_url).path
        with self._cond:
            return [post.body for post in self.response_posts if post.path == path]

    def wait_for_posts(
        self, response_url: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until `count` posts reached response_url; AssertionError shows what arrived."""
        path = urllib.parse.urlsplit(response_url).path
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                bodies = [post.body for post in self.response_posts if post.path == path]
                if len(bodies) >= count:
                    return bodies
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    others = [(p.path, p.body) for p in self.response_posts if p.path != path]
                    raise AssertionError(
                        f"expected {count} post(s) to {path} within {timeout}s, got "
                        f"{len(bodies)}: {bodies!r}; posts to other response_urls: {others!r}; "
                        f"api calls: {[c.method for c in self.api_calls]!r}"
                    )
                self._cond.wait(remaining)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Block until `count` calls to `method` were recorded; AssertionError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                calls = [call for call in self.api_calls if call.method == method]
                if len(calls) >= count:
                    return calls
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, got "
                        f"{len(calls)}; all calls: {[c.method for c in self.api_calls]!r}"
                    )
                self._cond.wait(remaining)

    def completions(self, function_execution_id: str) -> list[ApiCall]:
        """Every functions.completeSuccess / completeError call for one step run, oldest first."""
        with self._cond:
            return [
                call
                for call in self.api_calls
                if call.method in FUNCTION_COMPLETIONS
                and call.params.get("function_execution_id") == function_execution_id
            ]

    def wait_for_completion(self, function_execution_id: str, timeout: float = 10.0) -> ApiCall:
        """Block until a step run was completed or failed; answer that first call."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                done = self.completions(function_execution_id)
                if done:
                    return done[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"step run {function_execution_id} neither completed nor failed within "
                        f"{timeout}s; all calls: {[c.method for c in self.api_calls]!r}"
                    )
                self._cond.wait(remaining)

    def reset(self) -> None:
        """Forget recorded calls and posts (users and settings are kept)."""
        with self._cond:
            self.api_calls.clear()
            self.response_posts.clear()

    # ------------------------------------------------------------------ request handling

    def _handle_response_post(self, path: str, raw: bytes, headers: Any) -> int:
        text = raw.decode("utf-8", errors="replace")
        body: Any
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            # Tolerate form posts (payload=<json>) and plain text; record what we can.
            form = dict(urllib.parse.parse_qsl(text))
            try:
                body = json.loads(form["payload"]) if "payload" in form else form
            except ValueError:
                body = {"_raw": text}
        if not isinstance(body, dict):
            body = {"_raw": body}
        status = self.response_status
        with self._cond:
            self.response_posts.append(ResponsePost(path, body, time.monotonic(), status))
            self._cond.notify_all()
        return status

    def _handle_api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._cond:
            self.api_calls.append(ApiCall(method, params, token, time.monotonic()))
            override = self._overrides.get(method)
            limited = self._rate_limits.get(method)
            if limited is not None and limited[0] > 0:
                self._rate_limits[method] = (limited[0] - 1, limited[1])
            self._cond.notify_all()
        if limited is not None and limited[0] > 0:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": limited[1]}
        if override is not None:
            return override.status, override.body, override.headers
        if method == "apps.connections.open":
            if token != self.app_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return 200, {"ok": True, "url": self.socket_mode_url}, {}
        handler = self._methods().get(method)
        if handler is None and method not in FUNCTION_COMPLETIONS:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        with self._cond:
            run_of_token = self.function_tokens.get(token or "")
        if token != self.bot_token and run_of_token is None:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method in FUNCTION_COMPLETIONS:
            return 200, self._finish_function(method, params, run_of_token), {}
        assert handler is not None
        return 200, handler(params), {}

    def _finish_function(
        self, method: str, params: dict[str, Any], run_of_token: str | None
    ) -> dict[str, Any]:
        """functions.completeSuccess / completeError, with the errors Slack documents."""
        execution_id = params.get("function_execution_id")
        if not execution_id:
            return {"ok": False, "error": "invalid_arguments"}
        if run_of_token is not None and run_of_token != execution_id:
            return {"ok": False, "error": "access_denied"}
        if method == "functions.completeSuccess" and not isinstance(params.get("outputs"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "functions.completeError" and not params.get("error"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            if execution_id in self._finished_executions:
                return {"ok": False, "error": "execution_not_in_running_state"}
            self._finished_executions.add(execution_id)
        return {"ok": True}

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "users.profile.get": self._users_profile_get,
            "team.profile.get": self._team_profile_get,
            "views.publish": self._view,
            "views.open": self._view,
            "views.update": self._view,
            "views.push": self._view,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.open": self._conversations_open,
        }

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "dialer",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email", "")).strip().lower()
        with self._cond:
            for user in self.users.values():
                if email and str(user["profile"].get("email", "")).lower() == email:
                    return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """users.list by cursor, as Slack pages it; custom fields are not in these profiles."""
        try:
            limit = max(1, min(int(params.get("limit") or 0) or 1000, 1000))
            cursor = str(params.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("user:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        with self._cond:
            members = list(self.users.values())
        page = members[start : start + limit]
        after = start + limit
        more = base64.b64encode(f"user:{after}".encode()).decode() if after < len(members) else ""
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": more},
        }

    def _users_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        """users.profile.get: the profile with its custom fields (an object, or [] if none)."""
        user_id = str(params.get("user", ""))
        with self._cond:
            user = self.users.get(user_id)
            values = dict(self.profile_values.get(user_id, {}))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        fields: Any = {key: {"value": value, "alt": ""} for key, value in values.items()} or []
        return {"ok": True, "profile": {**user["profile"], "fields": fields}}

    def _team_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            fields = [dict(definition) for definition in self.profile_fields]
        return {"ok": True, "profile": {"fields": fields, "sections": []}}

    def _view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        view = dict(view) if isinstance(view, dict) else {}
        view_id = params.get("view_id") or f"V{next(self._counter):010d}"
        view.update({"id": view_id, "team_id": TEAM_ID, "hash": uuid.uuid4().hex[:16]})
        return {"ok": True, "view": view}

    def _ts(self) -> str:
        return f"{time.time():.0f}.{next(self._counter):06d}"

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
        message.update({k: params[k] for k in ("text", "blocks") if k in params})
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._ts()}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": dm_channel(str(params.get("users", "")))}}


def dm_channel(users: str) -> str:
    """The DM channel ID this fake's conversations.open answers for a user (or users)."""
    suffix = users.replace(" ", "").replace(",", "").upper()[-9:] or "0"
    return f"D{suffix}"
