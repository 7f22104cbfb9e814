"""Signals host projects connect to. No signal ever carries a secret."""

from __future__ import annotations

from django.dispatch import Signal

#: A URL token or code was issued. Sent with ``sender=SecureToken`` and ``token`` (the row).
token_issued = Signal()

#: A URL token or code was used successfully. ``sender=SecureToken``, ``token``.
token_consumed = Signal()

#: A token, code or API key was refused. ``sender`` is the model class; ``reason`` is the
#: exception class name, ``purpose`` the purpose asked for, and ``token`` the row when one was
#: found (``None`` for unknown or malformed input).
token_rejected = Signal()

#: An API key was issued. ``sender=APIKey``, ``api_key`` (the row).
api_key_issued = Signal()

#: An API key was revoked. ``sender=APIKey``, ``api_key``.
api_key_revoked = Signal()

#: An API key expires soon and its owner is being told (``manage.py apikey notify-expiring``).
#: ``sender=APIKey``, ``api_key`` (the row) and ``expires_at``; sent once per key and expiry.
api_key_expiring = Signal()

#: An address was proven by a code or link. ``sender`` is the view class, with ``user`` (or
#: ``None`` before sign-up), ``email`` and ``request``. The host project decides what
#: "verified" means for its user model.
email_verified = Signal()

#: A password-reset link or code was issued and mailed. ``sender=SecureToken``, with ``user``
#: and ``token`` (the row). It is sent from the mail job, off the request path, so there is
#: no ``request``.
password_reset_issued = Signal()

#: A password was reset through the emailed link or code. ``sender`` is the class of the view
#: that completed it, with ``user`` and ``request``.
password_reset_completed = Signal()
