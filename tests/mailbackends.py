"""Email backends for tests."""

from __future__ import annotations

import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocMemBackend


class FailingBackend(LocMemBackend):
    """Every send fails, as when the SMTP server is down."""

    def send_messages(self, messages):
        raise smtplib.SMTPException("mail server unavailable")
