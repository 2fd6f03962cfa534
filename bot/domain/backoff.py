"""A retry schedule: waits that double up to a longest wait (DIALER_SLACK_RETRY)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Waits that double from `first` up to `longest` seconds, then stay there.

    The schedule is the DIALER_SLACK_RETRY setting (Settings.slack_retry).
    """

    first: float
    longest: float

    def waits(self) -> Iterator[float]:
        """The wait before each next try, forever."""
        wait = self.first
        while True:
            yield wait
            wait = min(wait * 2, self.longest)
