"""Fixed-window rate limits in Django's cache, and the client IP they are keyed by.

Counters live in the cache named by ``SECURETOKENS['CACHE']``, which must be shared by every
process (R-40; a system check warns about per-process caches). Keys are keyed digests, so
neither an email address nor an IP address is ever written to the cache in the clear.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import caches
from django.http import HttpRequest

from . import crypto
from .conf import current_key, setting


def _cache_key(scope: str, key: str, period: int) -> str:
    digest = crypto.digest(current_key("ratelimit")[1], scope.encode(), key.encode())
    return f"securetokens:rl:{scope}:{period}:{digest.hex()[:32]}"


def hit(scope: str, key: str, limit: int, period: int) -> bool:
    """Count one event for *key* in *scope*; return whether it is within *limit* per *period*.

    *period* is in seconds. ``add`` then ``incr`` is atomic on every cache backend that
    Django ships (Redis ``INCR``, Memcached ``incr``, a lock in LocMemCache, an ``UPDATE`` in
    the database cache), so concurrent requests cannot all slip under the limit (R-20).
    """
    cache = caches[setting("CACHE")]
    cache_key = _cache_key(scope, key, period)
    cache.add(cache_key, 0, timeout=period)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window expired between add() and incr(): start a new one
        cache.add(cache_key, 1, timeout=period)
        count = 1
    return count <= limit


def hit_all(scope: str, key: str, rates: Iterable[tuple[int, int]]) -> bool:
    """:func:`hit` for each ``(limit, period)`` pair of *rates*; True if all of them allow.

    Every window counts the event, even once one refuses, so that the answer does not depend
    on the order of the pairs.
    """
    results = [hit(scope, key, limit, period) for limit, period in rates]
    return all(results)


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR`` unless proxies are trusted (R-39).

    With ``SECURETOKENS['TRUSTED_PROXY_COUNT'] = n > 0``, the *n*-th address from the right of
    ``X-Forwarded-For``, the one the outermost trusted proxy saw. Anything to its left was
    written by the client and is ignored. A header shorter than *n* means a proxy is
    missing, and ``REMOTE_ADDR`` is used.
    """
    remote_addr = str(request.META.get("REMOTE_ADDR", ""))
    count = setting("TRUSTED_PROXY_COUNT")
    if not count:
        return remote_addr
    forwarded = [
        part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    ]
    forwarded = [part for part in forwarded if part]
    return forwarded[-count] if len(forwarded) >= count else remote_addr
