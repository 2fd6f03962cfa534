"""The schema, as versioned migrations (sqlite-utils' Migrations): applied once each, in order."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("webfones-dialer")


@migrations()
def m001_links_and_calls(db: sqlite_utils.Database) -> None:
    """Links keyed by Slack user ID, the audit log of every attempt, and PBX state."""
    db["links"].create(
        {"user_id": str, "extension": str, "linked_by": str, "linked_at": str}, pk="user_id"
    )
    db["links"].create_index(["extension"])
    db["calls"].create(
        {
            "id": int,
            "at": float,
            "at_utc": str,
            "user_id": str,
            "extension": str,
            "destination": str,
            "surface": str,
            "outcome": str,
            "sent": int,
            "pbx_status": int,
            "latency_ms": int,
            "detail": str,
        },
        pk="id",
        not_null={"at", "user_id", "outcome", "sent"},
    )
    db["calls"].create_index(["at"])
    db["calls"].create_index(["user_id", "at"])
    db["calls"].create_index(["sent", "at"])
    db["pbx_state"].create({"key": str, "value": float}, pk="key")


@migrations()
def m002_finished_at(db: sqlite_utils.Database) -> None:
    """When each call ended: the duplicate window runs from the end, not the start."""
    db["calls"].add_column("finished_at", float)


@migrations()
def m003_typed(db: sqlite_utils.Database) -> None:
    """What the user typed, beside the destination it was read as (E.164 when it was a number)."""
    db["calls"].add_column("typed", str)


@migrations()
def m004_handled(db: sqlite_utils.Database) -> None:
    """Identities of Slack requests already acted on, so a replay or a retry acts no more."""
    db["handled"].create({"key": str, "at": float}, pk="key")
    db["handled"].create_index(["at"])


@migrations()
def m005_owners(db: sqlite_utils.Database) -> None:
    """Which process placed each call, and which processes are alive: a process starting on
    the same file settles only the calls of processes that are gone (a rolling upgrade)."""
    db["calls"].add_column("owner", str)
    db.execute("CREATE INDEX calls_pending ON calls (owner) WHERE outcome = 'pending'")
    db["processes"].create(
        {"owner": str, "pid": int, "host": str, "started_at": float, "heartbeat_at": float},
        pk="owner",
    )


@migrations()
def m006_claim_owners(db: sqlite_utils.Database) -> None:
    """Which process claimed each request, and whether it acted on it: a claim of a process
    that died before acting does not keep a resent request from being acted on elsewhere."""
    db["handled"].add_column("owner", str)
    db["handled"].add_column("done", int, not_null_default=1)


@migrations()
def m007_caller_answers(db: sqlite_utils.Database) -> None:
    """The caller's answer to "did it ring?" on each placed call (pruned with its row), and
    when each admin was last told about an extension that did not ring (once an hour)."""
    db["calls"].add_column("answer", str)
    db["calls"].add_column("answered_at", float)
    db.execute("CREATE INDEX calls_answers ON calls (answer, at) WHERE answer IS NOT NULL")
    db["admin_notices"].create(
        {"extension": str, "admin_id": str, "told_at": float}, pk=("extension", "admin_id")
    )


@migrations()
def m008_directory_links(db: sqlite_utils.Database) -> None:
    """Links from the company directory (DIALER_EXTENSION_FIELD): where each link came from
    (existing links were made by hand), the audit log of the directory's link changes, the
    conflicts open for the admins, and what the last `links sync` saw."""
    db["links"].add_column("source", str, not_null_default="hand")
    db["link_events"].create(
        {
            "id": int,
            "at": float,
            "at_utc": str,
            "user_id": str,
            "action": str,
            "extension": str,
            "previous": str,
            "source": str,
        },
        pk="id",
        not_null={"at", "user_id", "action"},
    )
    db["link_events"].create_index(["user_id", "at"])
    db["directory_conflicts"].create(
        {
            "user_id": str,
            "kind": str,
            "value": str,
            "holder": str,
            "extension": str,
            "first_at": float,
            "last_at": float,
        },
        pk="user_id",
    )
    db["directory_state"].create({"key": str, "value": str}, pk="key")
