"""Email backends for tests and the timing benchmark."""

from __future__ import annotations

import smtplib
import time

from django.core.mail.backends.locmem import EmailBackend as LocMemBackend


class FailingBackend(LocMemBackend):
    """Every send fails, as when the SMTP server is down."""

    def send_messages(self, messages):
        raise smtplib.SMTPException("mail server unavailable")


class SleepingBackend(LocMemBackend):
    """Collects mail in ``django.core.mail.outbox`` after 250 ms per message, like a slow
    SMTP server."""

    delay = 0.25

    def send_messages(self, messages):
        time.sleep(self.delay * len(messages))
        return super().send_messages(messages)
