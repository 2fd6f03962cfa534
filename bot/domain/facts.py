"""What is known about one attempt to call: the facts a sentence about it may mention."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    """What a sentence about one attempt may mention; each sentence uses what it needs."""

    #: The destination as people read it: "+1 580-867-5309", or extension digits ("310").
    display: str = ""
    #: The caller's own extension.
    extension: str = ""
    #: An extension typed after the number ("ext 12"), which the caller must dial by hand.
    then_dial: str = ""
    #: What the user typed, quoted back when it could not be read.
    typed: str = ""
    #: Seconds to wait before trying again (holds, the PBX's 429, a failure that may ring).
    wait_seconds: int = 0
    #: The destination's country, and the countries this workspace may call.
    region: str | None = None
    allowed_regions: frozenset[str] = frozenset()
    #: An emergency or special number the user typed or an admin tried to link.
    digits: str = ""
    #: A colleague's Slack user ID (`/dial @colleague`).
    colleague: str = ""
    #: Who may link extensions (DIALER_ADMINS), to name them.
    admins: tuple[str, ...] = ()
