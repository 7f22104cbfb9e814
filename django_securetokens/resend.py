"""When a browser may ask for another mail, judged from that browser's own requests alone.

The per-address limits in :mod:`~django_securetokens.ratelimit` count everyone's requests
for an address, so telling a visitor "wait" from *them* would tell them that somebody else
asked for that address a moment ago. A page that says when a new code can be sent therefore
judges only the times this session itself asked, kept in the session (no secret, no
address of anyone else). The same ``(most, seconds)`` pairs apply, over a sliding window:
whenever this session is told it may ask again, its own earlier requests no longer fill any
of the fixed windows the real limit counts in.
"""

from __future__ import annotations

from collections.abc import Sequence

#: ``(most requests, window in seconds)`` pairs, as in the ``*_RATE_PER_*`` settings.
Rates = Sequence[Sequence[int]] | None


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def remember(asked: object, now: float, rates: Rates) -> list[int]:
    """*asked* (a session value: trusted only if it is a list of numbers) with *now* added
    and every time older than the longest window dropped, so the list stays short."""
    longest = max((seconds for _, seconds in rates or ()), default=0)
    times = asked if isinstance(asked, list) else []
    kept = [int(t) for t in times if _is_time(t) and now - t < longest]
    return [*kept, int(now)]


def seconds_to_wait(asked: object, now: float, rates: Rates) -> int:
    """How many seconds until this session may ask again without going over *rates*; 0 if
    it may ask now."""
    times = sorted(t for t in (asked if isinstance(asked, list) else ()) if _is_time(t))
    wait = 0.0
    for limit, seconds in rates or ():
        recent = [t for t in times if now - t < seconds]
        if limit > 0 and len(recent) >= limit:
            # The request that has to leave the window before one more fits.
            wait = max(wait, recent[-limit] + seconds - now)
    return int(-(-wait // 1))  # rounded up: "wait 0 seconds" must never come too early
