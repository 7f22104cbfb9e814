"""The test settings with a UUID-keyed user model whose email field is not ``email``."""

from __future__ import annotations

from .settings import *  # noqa: F403

AUTH_USER_MODEL = "tests.CustomUser"
