"""Exceptions raised when a token, code or API key is refused.

Every refusal is a :class:`TokenError`. The subclasses tell *code* why (for logs and for the
Python API); the HTTP layer answers all of them with the same generic response (R-15), so an
attacker learns nothing from which one was raised.
"""

from __future__ import annotations


class TokenError(Exception):
    """Base class of every refusal: catch this one."""


class InvalidToken(TokenError):
    """Malformed, unknown, tampered, wrong-purpose, or bound to an ineligible user."""


class ExpiredToken(TokenError):
    """Well-formed and genuine, but past its ``expires_at``."""


class UsedToken(TokenError):
    """Genuine, but already consumed: every secret succeeds at most once."""


class RevokedToken(TokenError):
    """Genuine, but revoked by an admin, superseded by a newer secret, or retired."""


class TooManyAttempts(TokenError):
    """The code, or code verification for this owner and purpose, hit its attempt limit."""
