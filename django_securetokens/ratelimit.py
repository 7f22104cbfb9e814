"""Rate limits and cooldowns in Django's cache (R-37, R-38, R-39, R-40).

Counters live in the cache named by ``SECURETOKENS['CACHE']``, which must be shared by every
process (a system check warns about per-process caches). Cache keys are keyed digests of
the scope and the key, so an address or an IP never appears in the cache in clear.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.core.cache import caches
from django.http import HttpRequest

from . import crypto
from .conf import current_key, setting


def client_ip(request: HttpRequest) -> str:
    """The client's IP: ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_COUNT`` proxies are trusted.

    With *n* trusted proxies each appending to ``X-Forwarded-For``, the client is the *n*-th
    address from the right; anything to its left was written by the client and is ignored,
    so rotating that header cannot dodge a limit (R-39).
    """
    count: int = setting("TRUSTED_PROXY_COUNT")
    if count > 0:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return str(request.META.get("REMOTE_ADDR", ""))


def hit(scope: str, key: str, limit: int, period: int) -> bool:
    """Count one event for *key* in *scope*; return whether it is within *limit* per *period*.

    *period* is in seconds. A limit of one is a cooldown: an atomic ``add`` that only the
    first caller in *period* wins. Larger limits count in fixed windows with ``add`` then
    ``incr``, both atomic in Redis, Memcached and the local-memory cache; the window is part
    of the cache key, so a backend that resets the expiry on ``incr`` cannot stretch it.
    """
    digest = crypto.digest(
        current_key("ratelimit")[1],
        scope.encode(),
        str(period).encode(),
        key.encode("utf-8", "surrogatepass"),
    )
    name = f"securetokens:rl:{digest.hex()}"
    cache = caches[setting("CACHE")]
    if limit <= 1:
        return limit == 1 and cache.add(name, 1, timeout=period)
    name += f":{int(time.time() // period)}"
    if cache.add(name, 1, timeout=period):
        return True
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr: this is the window's first hit
        cache.add(name, 1, timeout=period)
        return True
    return int(count) <= limit


def hit_all(scope: str, key: str, rates: Iterable[tuple[int, int]]) -> bool:
    """:func:`hit` for each ``(limit, period)`` pair of *rates*; True if all of them allow.

    Every window counts the event, even once one refuses, so that the answer does not depend
    on the order of the pairs.
    """
    results = [hit(scope, key, limit, period) for limit, period in rates]
    return all(results)
