"""How the store writes a moment as text: ISO-8601 in UTC, to the second, with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(at: float) -> str:
    """Seconds since the epoch as '2025-06-19T10:30:00Z'."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
