"""Fault-injection doubles: a cache whose server is down and a mail server that hangs."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.mail.backends.locmem import EmailBackend as LocMemBackend


class DownCache(BaseCache):
    """Every operation fails as ``django.core.cache.backends.redis.RedisCache`` does when the
    Redis server has stopped: with a connection error, after the request has started."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    add = get = set = touch = delete = clear = incr = decr = has_key = _down
    get_many = set_many = delete_many = _down


class HangingBackend(LocMemBackend):
    """A mail server that accepts the connection and then never answers, until the test
    sets :attr:`release`."""

    release = threading.Event()

    def send_messages(self, messages):
        self.release.wait(timeout=30)
        return super().send_messages(messages)
