"""The ``django.tasks`` and Celery senders in this process: they queue only once the
transaction commits, and what they queue runs the job. ``tests/test_worker_*.py`` run them
with real workers."""

from __future__ import annotations

import importlib.util

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from django_securetokens.models import SecureToken

pytestmark = pytest.mark.django_db

RESET = reverse("securetokens:password_reset")


@pytest.fixture
def celery_runs_tasks_in_process():
    celery = pytest.importorskip("celery")
    conf = celery.current_app.conf
    conf.task_always_eager = True
    yield
    conf.task_always_eager = False


@pytest.fixture
def tasks_backend_runs_tasks_in_process():
    # Without TASKS, Django's and the backport's default backend runs a task on enqueue.
    if importlib.util.find_spec("django.tasks") is None:  # Django 5.2: needs the backport
        pytest.importorskip("django_tasks")


@pytest.mark.parametrize(
    ("sender", "in_process"),
    [
        ("django_tasks", "tasks_backend_runs_tasks_in_process"),
        ("celery", "celery_runs_tasks_in_process"),
    ],
)
def test_the_job_is_queued_once_the_transaction_commits(
    request, user, settings, sender, in_process, django_capture_on_commit_callbacks
):
    request.getfixturevalue(in_process)
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": f"django_securetokens.contrib.{sender}.enqueue",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Client().post(RESET, {"email": user.email})
        assert mail.outbox == [] and not SecureToken.objects.exists()  # nothing queued yet

    assert len(callbacks) == 1
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert SecureToken.objects.live().filter(user=user).count() == 1
