"""Put logging back as it was after code that configures it (`logs.configure`, `main()`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def logging_kept() -> Iterator[None]:
    """Restore the root's handlers and level, every logger's level and the excepthook.

    `logs.configure` gives the root a handler on the stderr of the moment: left in place, it
    would write later tests' records to a captured stream pytest has closed.
    """
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
        sys.excepthook = hook
        logging.captureWarnings(False)
