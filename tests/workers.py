"""Helpers of the real-worker tests: start a worker process on the test database, and read
the mail it writes (``tests/settings_queues.py`` says how the two processes meet)."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_securetokens.models import SecureToken

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
RESET = reverse("securetokens:password_reset")
SET = reverse("securetokens:password_reset_set")
ADDRESS = "queued@example.com"
# What the filebased mail backend writes after each message.
_SEPARATOR = b"-" * 79 + b"\n"

needs_worker_settings = pytest.mark.skipif(
    getattr(settings, "SETTINGS_MODULE", "") != "tests.settings_queues",
    reason="starts a real worker: run with make test-celery or make test-django-tasks",
)


def start(*args: str) -> subprocess.Popen[bytes]:
    """A worker process on the database of the running test, writing mail to its folder."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_queues",
        "SECURETOKENS_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
    }
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def send_through(django_settings, sender: str) -> None:
    """Send mail through *sender* (a module of ``django_securetokens.contrib``), starting
    from an empty mail folder."""
    django_settings.SECURETOKENS = {
        **django_settings.SECURETOKENS,
        "EMAIL_SENDER": f"django_securetokens.contrib.{sender}.enqueue",
    }
    shutil.rmtree(settings.MAIL_DIR, ignore_errors=True)


def sent_mail() -> list[EmailMessage]:
    """Every message the workers wrote so far."""
    found = []
    for path in sorted(Path(settings.MAIL_DIR).glob("*.log")):
        for raw in path.read_bytes().split(_SEPARATOR):
            if raw.strip():
                found.append(email.message_from_bytes(raw, policy=email.policy.default))
    return found  # type: ignore[return-value]


def wait_for_mail(count: int, worker: subprocess.Popen[bytes], timeout: float = 60) -> list:
    """The first *count* messages, once the worker has written them."""
    deadline = time.monotonic() + timeout
    while len(found := sent_mail()) < count:
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            output = worker.communicate()[0].decode(errors="replace")
            raise AssertionError(f"{len(found)} of {count} mails; worker said:\n{output}")
        time.sleep(0.2)
    return found


def stop(worker: subprocess.Popen[bytes]) -> str:
    """Stop *worker* and return what it printed."""
    if worker.poll() is None:
        worker.terminate()
    try:
        return worker.communicate(timeout=30)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.communicate()[0].decode(errors="replace")


def link_of(message: EmailMessage) -> str:
    """The path of the reset link in *message*."""
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https://testserver\.example(/\S+)", body)
    assert found, body
    return found.group(1)


def link_works(path: str) -> bool:
    """Whether opening the link lets a fresh browser on to the set-password page."""
    response = Client().get(path)
    return response.status_code == 302 and response["Location"] == SET


def request_reset(address: str = ADDRESS) -> list[str]:
    """A reset request for *address*, as a browser sends it; the account of
    :data:`ADDRESS` exists. Return the statements the request ran, without their values."""
    if not get_user_model().objects.filter(email=ADDRESS).exists():
        UserFactory(email=ADDRESS)
    with CaptureQueriesContext(connection) as queries:
        assert Client().post(RESET, {"email": address}).status_code == 302
    return [query["sql"].split(" VALUES ", 1)[0] for query in queries]


def assert_one_live_link(messages: list[EmailMessage]) -> None:
    """One token per mail, and only the newest is live: its link is the one that works."""
    tokens = SecureToken.objects.filter(purpose="password_reset").order_by("created_at", "pk")
    assert tokens.count() == len(messages)
    assert list(SecureToken.objects.live()) == [tokens.last()]
    working = [link for link in map(link_of, messages) if link_works(link)]
    assert len(working) == 1
    secret = working[0].rstrip("/").rsplit("/", 1)[1]
    assert SecureToken.objects.verify(secret, purpose="password_reset") == tokens.last()


def assert_no_secret_in(held: str, messages: list[EmailMessage]) -> None:
    """R-86: nothing the queue held contains a link, a token or a verifier that was mailed."""
    assert ADDRESS in held  # the job names the address: what was read is the job itself
    for message in messages:
        secret = link_of(message).rstrip("/").rsplit("/", 1)[1]
        for part in (secret, secret[-20:], secret[:20]):
            assert part not in held
