"""The table of outcomes: every way an attempt to call can end, and what each one means.

Each outcome is named once (`Outcome`) and described once (`OUTCOMES`) as facts: what kind of
ending it is, whether the PBX may have rung (the duplicate guard holds a repeat), whether it
counts as sent (the budgets) and how loudly it is logged. The store, the PBX client, the logs
and the metrics ask this table instead of keeping lists. What people read about an outcome (its
sentence and its Home label) lives at the Slack edge, in `bot.slack.text`, keyed by `Outcome`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How an attempt ended, as stored in the audit log's `outcome` column."""

    PENDING = "pending"
    PLACED = "placed"
    # The PBX's answers (one per kind of failure the Dialer API document describes).
    INVALID_EXTENSION = "invalid_extension"
    INVALID_NUMBER = "invalid_number"
    NO_DEVICES = "no_devices"
    KEY_MISSING = "key_missing"
    KEY_REJECTED = "key_rejected"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    PBX_ERROR = "pbx_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    # The bot's own trouble.
    ERROR = "error"
    INTERRUPTED = "interrupted"
    # Refused before anything was sent.
    REFUSED_NOT_UNDERSTOOD = "refused_not_understood"
    REFUSED_UNKNOWN_EXTENSION = "refused_unknown_extension"
    REFUSED_REGION = "refused_region"
    REFUSED_PREMIUM_RATE = "refused_premium_rate"
    REFUSED_SHARED_COST = "refused_shared_cost"
    REFUSED_PERSONAL_NUMBER = "refused_personal_number"
    REFUSED_INVALID = "refused_invalid"
    REFUSED_EMERGENCY = "refused_emergency"
    REFUSED_SPECIAL_EXTENSION = "refused_special_extension"
    REFUSED_UNLINKED = "refused_unlinked"
    #: Unlinked, and the company directory's extension could not be linked (a conflict).
    REFUSED_DIRECTORY_CONFLICT = "refused_directory_conflict"
    REFUSED_COLLEAGUE_UNLINKED = "refused_colleague_unlinked"
    REFUSED_OWN_EXTENSION = "refused_own_extension"
    REFUSED_NO_NUMBER = "refused_no_number"
    REFUSED_NO_INTERACTOR = "refused_no_interactor"
    REFUSED_STORE_BUSY = "refused_store_busy"
    REFUSED_STORE_FAILED = "refused_store_failed"
    # Held by the duplicate guard or a budget: nothing was sent this time.
    HELD_DUPLICATE = "held_duplicate"
    HELD_MAY_STILL_RING = "held_may_still_ring"
    HELD_USER_RATE = "held_user_rate"
    HELD_PBX_RATE = "held_pbx_rate"
    HELD_PBX_COOLDOWN = "held_pbx_cooldown"


class Kind(StrEnum):
    """What sort of ending an outcome is, for the Home tab, the metrics and redial."""

    CALL = "call"  # pending or placed
    FAILURE = "failure"  # sent (or meant to be) and it went wrong
    REFUSED = "refused"  # refused before the PBX
    HELD = "held"  # a duplicate or a budget


@dataclass(frozen=True)
class OutcomeInfo:
    """What the rest of the code asks of one outcome."""

    kind: Kind
    #: The PBX may have rung the phones: a repeat within the duplicate window is held.
    may_have_rung: bool
    #: The request went to the PBX (or may have): it counts against both budgets.
    sent: bool
    #: How loudly the dial's log line is written.
    log_level: int


_INFO, _WARN, _ERROR = logging.INFO, logging.WARNING, logging.ERROR


def _failure(level: int = _INFO) -> OutcomeInfo:
    """Sent to the PBX, which said no: it did not ring, and it counts against the budgets."""
    return OutcomeInfo(Kind.FAILURE, False, True, level)


def _refused(level: int = _INFO) -> OutcomeInfo:
    """Refused before the PBX: nothing rang, nothing counts."""
    return OutcomeInfo(Kind.REFUSED, False, False, level)


#: Held by the duplicate guard or a budget: nothing was sent this time.
_HELD = OutcomeInfo(Kind.HELD, False, False, _INFO)


OUTCOMES: dict[Outcome, OutcomeInfo] = {
    Outcome.PENDING: OutcomeInfo(Kind.CALL, True, True, _INFO),
    Outcome.PLACED: OutcomeInfo(Kind.CALL, True, True, _INFO),
    Outcome.INVALID_EXTENSION: _failure(),
    Outcome.INVALID_NUMBER: _failure(),
    Outcome.NO_DEVICES: _failure(),
    Outcome.KEY_MISSING: _failure(_WARN),
    Outcome.KEY_REJECTED: _failure(_WARN),
    Outcome.NOT_FOUND: _failure(_WARN),
    Outcome.RATE_LIMITED: _failure(_WARN),
    Outcome.PBX_ERROR: OutcomeInfo(Kind.FAILURE, True, True, _WARN),
    Outcome.TIMEOUT: OutcomeInfo(Kind.FAILURE, True, True, _WARN),
    Outcome.UNREACHABLE: OutcomeInfo(Kind.FAILURE, False, False, _WARN),
    Outcome.ERROR: OutcomeInfo(Kind.FAILURE, True, True, _ERROR),
    Outcome.INTERRUPTED: OutcomeInfo(Kind.FAILURE, True, True, _WARN),
    Outcome.REFUSED_NOT_UNDERSTOOD: _refused(),
    Outcome.REFUSED_UNKNOWN_EXTENSION: _refused(),
    Outcome.REFUSED_REGION: _refused(),
    Outcome.REFUSED_PREMIUM_RATE: _refused(),
    Outcome.REFUSED_SHARED_COST: _refused(),
    Outcome.REFUSED_PERSONAL_NUMBER: _refused(),
    Outcome.REFUSED_INVALID: _refused(),
    Outcome.REFUSED_EMERGENCY: _refused(),
    Outcome.REFUSED_SPECIAL_EXTENSION: _refused(_WARN),
    Outcome.REFUSED_UNLINKED: _refused(),
    Outcome.REFUSED_DIRECTORY_CONFLICT: _refused(_WARN),
    Outcome.REFUSED_COLLEAGUE_UNLINKED: _refused(),
    Outcome.REFUSED_OWN_EXTENSION: _refused(),
    Outcome.REFUSED_NO_NUMBER: _refused(),
    Outcome.REFUSED_NO_INTERACTOR: _refused(_WARN),
    Outcome.REFUSED_STORE_BUSY: _refused(_WARN),
    Outcome.REFUSED_STORE_FAILED: _refused(_ERROR),
    Outcome.HELD_DUPLICATE: _HELD,
    Outcome.HELD_MAY_STILL_RING: _HELD,
    Outcome.HELD_USER_RATE: _HELD,
    Outcome.HELD_PBX_RATE: _HELD,
    Outcome.HELD_PBX_COOLDOWN: _HELD,
}


def info(outcome: str) -> OutcomeInfo | None:
    """The table's row for an outcome read back from the log, or None for an unknown name."""
    try:
        return OUTCOMES[Outcome(outcome)]
    except ValueError:
        return None


def may_have_rung() -> tuple[str, ...]:
    """Ended outcomes that may have rung the phones (the duplicate guard holds a repeat)."""
    return tuple(o.value for o, row in OUTCOMES.items() if row.may_have_rung and o != "pending")


def of_kind(kind: Kind) -> tuple[str, ...]:
    """Every outcome of one kind (e.g. the failures the admin's Home lists)."""
    return tuple(o.value for o, row in OUTCOMES.items() if row.kind == kind)
