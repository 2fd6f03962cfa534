"""The table of outcomes: every way an attempt to call can end, and what each one means.

Each outcome is named once (`Outcome`) and described once (`OUTCOMES`): whether the PBX may
have rung (the duplicate guard holds a repeat), whether it counts as sent (the budgets), how
the Home tab labels it, how loudly it is logged, and which sentence the user reads. The store,
the dialer, the Home tab, the logs and the metrics all ask this table instead of keeping lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.slack import messages
from bot.slack.messages import Facts


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
    #: The Home tab's words for it, after the destination ("— placed").
    label: str
    #: How loudly the dial's log line is written.
    log_level: int
    #: The sentence the user reads.
    sentence: Callable[[Facts], str]


_INFO, _WARN, _ERROR = logging.INFO, logging.WARNING, logging.ERROR


def _failure(label: str, sentence: Callable[[Facts], str], level: int = _INFO) -> OutcomeInfo:
    return OutcomeInfo(Kind.FAILURE, False, True, label, level, sentence)


def _refused(label: str, sentence: Callable[[Facts], str], level: int = _INFO) -> OutcomeInfo:
    return OutcomeInfo(Kind.REFUSED, False, False, label, level, sentence)


def _held(label: str, sentence: Callable[[Facts], str]) -> OutcomeInfo:
    return OutcomeInfo(Kind.HELD, False, False, label, _INFO, sentence)


OUTCOMES: dict[Outcome, OutcomeInfo] = {
    Outcome.PENDING: OutcomeInfo(Kind.CALL, True, True, "calling…", _INFO, messages.calling),
    Outcome.PLACED: OutcomeInfo(Kind.CALL, True, True, "placed", _INFO, messages.placed),
    Outcome.INVALID_EXTENSION: _failure("extension not recognised", messages.invalid_extension),
    Outcome.INVALID_NUMBER: _failure("number not accepted", messages.invalid_number),
    Outcome.NO_DEVICES: _failure("no phones online", messages.no_devices),
    Outcome.KEY_MISSING: _failure("dialer misconfigured", messages.key_missing, _WARN),
    Outcome.KEY_REJECTED: _failure("dialer misconfigured", messages.key_rejected, _WARN),
    Outcome.NOT_FOUND: _failure("dialer misconfigured", messages.pbx_not_found, _WARN),
    Outcome.RATE_LIMITED: _failure("phone system busy", messages.pbx_rate_limited, _WARN),
    Outcome.PBX_ERROR: OutcomeInfo(
        Kind.FAILURE, True, True, "phone system error", _WARN, messages.pbx_error
    ),
    Outcome.TIMEOUT: OutcomeInfo(
        Kind.FAILURE, True, True, "no answer from phone system", _WARN, messages.pbx_timeout
    ),
    Outcome.UNREACHABLE: OutcomeInfo(
        Kind.FAILURE, False, False, "phone system unreachable", _WARN, messages.pbx_unreachable
    ),
    Outcome.ERROR: OutcomeInfo(
        Kind.FAILURE, True, True, "bot error", _ERROR, messages.unexpected_error
    ),
    Outcome.INTERRUPTED: OutcomeInfo(
        Kind.FAILURE, True, True, "interrupted by a restart", _WARN, messages.interrupted
    ),
    Outcome.REFUSED_NOT_UNDERSTOOD: _refused("refused (not understood)", messages.not_understood),
    Outcome.REFUSED_UNKNOWN_EXTENSION: _refused(
        "refused (unknown extension)", messages.unknown_extension
    ),
    Outcome.REFUSED_REGION: _refused("refused (country not allowed)", messages.region_refused),
    Outcome.REFUSED_PREMIUM_RATE: _refused("refused (premium rate)", messages.premium_rate_refused),
    Outcome.REFUSED_SHARED_COST: _refused("refused (shared cost)", messages.shared_cost_refused),
    Outcome.REFUSED_PERSONAL_NUMBER: _refused(
        "refused (personal number)", messages.personal_number_refused
    ),
    Outcome.REFUSED_INVALID: _refused("refused (invalid)", messages.invalid_refused),
    Outcome.REFUSED_EMERGENCY: _refused("refused (emergency)", messages.emergency_refused),
    Outcome.REFUSED_SPECIAL_EXTENSION: _refused(
        "refused (special number)", messages.special_extension_refused, _WARN
    ),
    Outcome.REFUSED_UNLINKED: _refused("refused (unlinked)", messages.not_linked),
    Outcome.REFUSED_COLLEAGUE_UNLINKED: _refused(
        "refused (colleague unlinked)", messages.colleague_not_linked
    ),
    Outcome.REFUSED_OWN_EXTENSION: _refused("refused (own extension)", messages.own_extension),
    Outcome.REFUSED_NO_NUMBER: _refused("refused (no number)", messages.no_number_in_message),
    Outcome.REFUSED_NO_INTERACTOR: _refused(
        "refused (workflow run no one started)", messages.workflow_needs_interactor, _WARN
    ),
    Outcome.REFUSED_STORE_BUSY: _refused("refused (call log busy)", messages.store_busy, _WARN),
    Outcome.REFUSED_STORE_FAILED: _refused(
        "refused (call log unavailable)", messages.store_failed, _ERROR
    ),
    Outcome.HELD_DUPLICATE: _held("already calling", messages.held_duplicate),
    Outcome.HELD_MAY_STILL_RING: _held("held: last attempt may still ring", messages.held_may_ring),
    Outcome.HELD_USER_RATE: _held("too many calls", messages.held_user_rate),
    Outcome.HELD_PBX_RATE: _held("workspace limit reached", messages.held_pbx_rate),
    Outcome.HELD_PBX_COOLDOWN: _held("phone system busy", messages.held_pbx_cooldown),
}


def info(outcome: str) -> OutcomeInfo | None:
    """The table's row for an outcome read back from the log, or None for an unknown name."""
    try:
        return OUTCOMES[Outcome(outcome)]
    except ValueError:
        return None


def label(outcome: str) -> str:
    """A logged outcome in a few plain words, for Home and the admin's log."""
    row = info(outcome)
    return row.label if row is not None else outcome.replace("_", " ")


def may_have_rung() -> tuple[str, ...]:
    """Ended outcomes that may have rung the phones (the duplicate guard holds a repeat)."""
    return tuple(o.value for o, row in OUTCOMES.items() if row.may_have_rung and o != "pending")


def of_kind(kind: Kind) -> tuple[str, ...]:
    """Every outcome of one kind (e.g. the failures the admin's Home lists)."""
    return tuple(o.value for o, row in OUTCOMES.items() if row.kind == kind)


def sentence(outcome: Outcome, facts: Facts) -> str:
    """What the user reads for this outcome."""
    return OUTCOMES[outcome].sentence(facts)
