"""Fixed-window rate limits in Django's cache, and the client address they count by.

A limit is a sequence of ``(most events, window in seconds)`` pairs, every one of which must
hold; ``None`` turns a limit off. Counters live in the cache named by
``SECURETOKENS['CACHE']``, which must be shared by every process (R-40). The window's number
is part of each cache key, so a backend whose ``incr`` resets the expiry (the database and
file caches do) can never stretch a window. Keys carry a keyed digest of what is counted,
never the value itself, so no email address, API key or IP address is readable from the cache.

``add`` then ``incr`` is atomic on Redis and Memcached; the database and file caches emulate
``incr`` with a read and a write, so under heavy concurrency they may undercount a little.

When the cache fails (Redis stopped, network down), a limit fails open or closed as its
entry in :mod:`django_securetokens.limits` says, instead of turning the request into an
HTTP 500; a scope with no entry fails closed, so a limit nobody classified cannot silently
vanish. Each failure is logged naming the scope and the error's type only. Failing closed
suppresses mail, so its first occurrence per scope and cause is an error (loud, but not a
flood); the log is re-armed once the cache answers again.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import Sequence

from django.core.cache import caches
from django.http import HttpRequest

from . import crypto
from .conf import current_key, setting

logger = logging.getLogger("django_securetokens")

#: ``(most events, window in seconds)`` pairs; ``None`` means no limit.
Rates = Sequence[Sequence[int]] | None

# (scope, error type) pairs already logged at error level since the cache last answered.
_reported: set[tuple[str, str]] = set()


def _cache_failed(scope: str, error: Exception, fail_open: bool) -> bool:
    """Log a cache failure (the scope and the exception's type only: its message might quote
    a key) and return *fail_open*."""
    cause = (scope, type(error).__name__)
    level = logging.WARNING
    if not fail_open and cause not in _reported:
        _reported.add(cause)
        level = logging.ERROR
    logger.log(
        level,
        "Rate-limit cache unavailable for %s (%s); failing %s",
        scope,
        cause[1],
        "open" if fail_open else "closed",
    )
    return fail_open


def _cache_key(scope: str, key: str, seconds: int) -> str:
    window = int(time.time() // seconds)
    # surrogatepass: a lone surrogate from a JSON body must be countable, not a crash.
    mac = crypto.digest(
        current_key("ratelimit")[1], scope.encode(), key.encode("utf-8", "surrogatepass")
    )
    return f"securetokens:rl:{scope}:{seconds}:{mac[:16].hex()}:{window}"


def count(scope: str, key: str, seconds: int) -> int:
    """Count one event for *key* in *scope*; return the number counted in this window."""
    name = _cache_key(scope, key, seconds)
    cache = caches[setting("CACHE")]
    if cache.add(name, 1, seconds):
        return 1
    try:
        value: int = cache.incr(name)
    except ValueError:  # the entry expired between add() and incr(): a fresh window
        cache.add(name, 1, seconds)
        return 1
    return value


def hit(scope: str, key: str, rates: Rates, *, fail_open: bool = False) -> bool:
    """Count one event for *key* in every window of *rates*; return whether all still allow.

    Every window counts the event even when another refuses, so the answer does not depend
    on the order of the pairs, and the count is taken before anything is judged, so racing
    requests cannot slip under the limit together (R-20). When the cache fails, the answer
    is *fail_open*.
    """
    if not rates:
        return True
    try:
        results = [count(scope, key, seconds) <= limit for limit, seconds in rates]
    except Exception as error:  # noqa: BLE001 - any backend's outage, see limits
        return _cache_failed(scope, error, fail_open)
    _reported.clear()
    return all(results)


def refund(scope: str, key: str, rates: Rates, *, fail_open: bool = False) -> None:
    """Take back one event :func:`hit` counted for *key* in every window of *rates*: a check
    counted before it ran, so that racing requests could not slip under the limit, that
    turned out not to be what the limit counts. A window that ended meanwhile, or a cache
    that fails, keeps its count."""
    if not rates:
        return
    cache = caches[setting("CACHE")]
    try:
        for _, seconds in rates:
            with contextlib.suppress(ValueError):  # no counter: the window ended meanwhile
                cache.decr(_cache_key(scope, key, seconds))
    except Exception as error:  # noqa: BLE001 - any backend's outage, see limits
        _cache_failed(scope, error, fail_open)
        return
    _reported.clear()


def exceeded(scope: str, key: str, rates: Rates, *, fail_open: bool = False) -> int | None:
    """Without counting: the longest window, in seconds, that *key* has already filled in
    *scope*, or None while every window still has room. When the cache fails, a fail-open
    scope has room and a fail-closed one is full for its longest window."""
    cache = caches[setting("CACHE")]
    try:
        full = [
            seconds
            for limit, seconds in rates or ()
            if (n := cache.get(_cache_key(scope, key, seconds), 0)) and n >= limit
        ]
    except Exception as error:  # noqa: BLE001 - any backend's outage, see limits
        if _cache_failed(scope, error, fail_open):
            return None
        return max((seconds for _, seconds in rates or ()), default=None)
    _reported.clear()
    return max(full) if full else None


def client_ip(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR``, unless ``TRUSTED_PROXY_COUNT`` proxies are
    configured, in which case the address the outermost trusted proxy saw (R-39).

    Each proxy appends the address it received the request from to ``X-Forwarded-For``, so
    with *n* trusted proxies the client is the *n*-th entry from the right; anything further
    left was written by the client and is ignored. A header shorter than *n*, or an entry
    that is not an address, means a proxy is missing, and ``REMOTE_ADDR`` is used.
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
