"""Progress of a long operator command: a bar on a terminal, plain lines in a log or a pipe.

On a terminal the bar is redrawn in place with a carriage return (count, share, time left); no
dependency is needed for that. Anywhere else, a plain line every tenth of the way (and at the
end), so a cron log stays readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30
#: A terminal redraw at most this often (seconds).
REDRAW_SECONDS = 0.1


def duration(seconds: float) -> str:
    """A time left in words: "45s", "3m 20s", "1h 5m"."""
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class Progress:
    """Counts steps of a known total and shows how far along it is, and how long is left."""

    def __init__(
        self,
        total: int,
        what: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        tty: bool | None = None,
    ) -> None:
        self.total = max(total, 0)
        self.done = 0
        self._what = what
        self._stream = stream or sys.stderr
        self._clock = clock
        self._tty = self._stream.isatty() if tty is None else tty
        self._started = clock()
        self._drawn = -1.0
        self._next_line = 1

    def left(self) -> str:
        """The time left at the pace so far ("" before the first step)."""
        if not self.done:
            return ""
        spent = self._clock() - self._started
        return duration(spent / self.done * (self.total - self.done))

    def step(self) -> None:
        """One more step done."""
        self.done += 1
        if self._tty:
            now = self._clock()
            if self.done == self.total or now - self._drawn >= REDRAW_SECONDS:
                self._drawn = now
                self._draw()
        elif self.total and self.done * 10 >= self._next_line * self.total:
            while self.done * 10 >= self._next_line * self.total:
                self._next_line += 1
            self._line()

    def _draw(self) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(BAR_WIDTH * share)
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        left = f" · {self.left()} left" if self.done < self.total else ""
        self._stream.write(f"\r{bar} {self.done}/{self.total} {self._what}{left}\033[K")
        if self.done >= self.total:
            self._stream.write("\n")
        self._stream.flush()

    def _line(self) -> None:
        percent = self.done * 100 // self.total
        left = f", about {self.left()} left" if self.done < self.total else ""
        self._stream.write(f"{self.done} of {self.total} {self._what} ({percent}%){left}\n")
        self._stream.flush()

    def clear(self) -> None:
        """Wipe the bar before another line is printed; the next step draws it again."""
        if self._tty and 0 < self.done < self.total:
            self._stream.write("\r\033[K")
            self._stream.flush()
            self._drawn = -1.0

    def interrupt(self) -> None:
        """End the bar's line, so what is printed next starts on a line of its own."""
        if self._tty and 0 < self.done < self.total:
            self._stream.write("\n")
            self._stream.flush()
