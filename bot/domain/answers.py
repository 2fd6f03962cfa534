"""What a caller can say about a placed call, since the PBX never says whether phones rang."""

from __future__ import annotations

from enum import StrEnum


class CallerAnswer(StrEnum):
    """The caller's answer to "did it ring?", as the audit log's `answer` column keeps it."""

    CONNECTED = "connected"
    DIDNT_RING = "didnt_ring"
    NO_ANSWER = "no_answer"


def read_answer(value: str) -> CallerAnswer | None:
    """The answer a stored or sent value names; None for anything else."""
    try:
        return CallerAnswer(value)
    except ValueError:
        return None
