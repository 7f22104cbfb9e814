"""docs/howto/task_queue.rst's "In tests" section includes these classes: they must pass.

The how-to shows a reader's tests, so they are written as a reader would write them, with
Django's own test cases and the default user model's manager.
"""

from __future__ import annotations

import pytest

# [imports]
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse

RUN_NOW = {"EMAIL_SENDER": "django_securetokens.tasks.run_now"}
# [/imports]


@override_settings(SECURETOKENS=RUN_NOW)
class PasswordResetMailTests(TestCase):
    def test_the_reset_mail_goes_out(self):
        get_user_model().objects.create_user("ada", "ada@example.com", "a-long-password")
        # TestCase wraps each test in a transaction that never commits: run the
        # on-commit callbacks (and with them the mail job) when the block ends.
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(reverse("securetokens:password_reset"), {"email": "ada@example.com"})
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["ada@example.com"])


@override_settings(SECURETOKENS=RUN_NOW)
class PasswordResetMailTransactionTests(TransactionTestCase):
    def test_the_reset_mail_goes_out(self):
        get_user_model().objects.create_user("ada", "ada@example.com", "a-long-password")
        # Each query commits at once, so the job runs before the response returns.
        self.client.post(reverse("securetokens:password_reset"), {"email": "ada@example.com"})
        self.assertEqual(len(mail.outbox), 1)


@pytest.mark.django_db
def test_in_a_plain_testcase_transaction_the_outbox_stays_empty(client, settings):
    """Why the how-to needs either of the above: the job waits for a commit that a test's
    transaction never makes."""
    settings.SECURETOKENS = RUN_NOW
    get_user_model().objects.create_user("ada", "ada@example.com", "a-long-password")
    client.post(reverse("securetokens:password_reset"), {"email": "ada@example.com"})
    assert mail.outbox == []
