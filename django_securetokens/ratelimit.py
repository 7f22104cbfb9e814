"""Generic rate-limit counters in Django's cache, and the client address they count by.

Counters live in the cache named by ``SECURETOKENS['CACHE']``, which must be shared by every
process (R-40). Each counter is a fixed window: the window's number is part of the cache key,
so a backend whose ``incr`` resets the expiry (the database and file caches do) can never
stretch a window. Cache keys carry a keyed digest of what is counted, never the raw value, so
no email address, key or IP address is readable from the cache.

``add`` then ``incr`` is atomic on Redis and Memcached; the database and file caches emulate
``incr`` with a read and a write, so under heavy concurrency they may undercount a little.
"""

from __future__ import annotations

import ipaddress
import math
import time
from datetime import timedelta

from django.core.cache import caches
from django.http import HttpRequest

from . import crypto
from .conf import current_key, setting

_PURPOSE = "ratelimit"


def _cache_key(scope: str, key: str, period: timedelta) -> tuple[str, int]:
    seconds = max(1, math.ceil(period.total_seconds()))
    window = int(time.time() // seconds)
    # surrogatepass: a lone surrogate from a JSON body must be countable, not a crash.
    mac = crypto.digest(
        current_key(_PURPOSE)[1], scope.encode(), key.encode("utf-8", "surrogatepass")
    )
    return f"securetokens:rl:{scope}:{mac[:16].hex()}:{window}", seconds


def hit(scope: str, key: str, limit: int, period: timedelta) -> bool:
    """Count one event for *key* in *scope*; return whether it is still within *limit* events
    per *period*. The count is taken before anything is judged, so racing requests cannot
    exceed the limit between them (R-20)."""
    return count(scope, key, period) <= limit


def count(scope: str, key: str, period: timedelta) -> int:
    """Count one event for *key* in *scope* and return the number counted in this window."""
    name, seconds = _cache_key(scope, key, period)
    cache = caches[setting("CACHE")]
    if cache.add(name, 1, seconds):
        return 1
    try:
        value: int = cache.incr(name)
    except ValueError:  # the entry expired between add() and incr(): a fresh window
        cache.add(name, 1, seconds)
        return 1
    return value


def exceeded(scope: str, key: str, limit: int, period: timedelta) -> bool:
    """Whether *key* has already used up *limit* events in *scope*'s current window.
    Counts nothing."""
    name, _ = _cache_key(scope, key, period)
    count = caches[setting("CACHE")].get(name, 0)
    return isinstance(count, int) and count >= limit


def clear(scope: str, key: str, period: timedelta) -> None:
    """Forget *key*'s count in *scope*'s current window."""
    caches[setting("CACHE")].delete(_cache_key(scope, key, period)[0])


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_COUNT`` proxies are
    configured, in which case the address the outermost trusted proxy saw (R-39).

    Each proxy appends the address it received the request from to ``X-Forwarded-For``, so
    with *n* trusted proxies the client is the *n*-th entry from the right; anything further
    left was written by the client and is ignored.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies: int = setting("TRUSTED_PROXY_COUNT")
    if proxies > 0:
        hops = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if len(hops) >= proxies:
            candidate = hops[-proxies].strip()
            if _parse_ip(candidate) is not None:
                return candidate
    return remote


def client_key(request: HttpRequest) -> str:
    """What per-client limits count by: the IPv4 address, or the IPv6 /64 network, since one
    IPv6 subscriber usually holds a whole /64 and could otherwise rotate addresses freely."""
    ip = client_ip(request)
    address = _parse_ip(ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # a dual-stack socket's view of an IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return ip


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if len(value) > 64:  # far longer than any textual address, scope id included
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
