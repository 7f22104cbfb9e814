"""The system check of the ``django.tasks`` sender; it imports the tasks framework only when
``EMAIL_SENDER`` names that sender."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning

from django_securetokens.conf import setting

SENDER = "django_securetokens.contrib.django_tasks.enqueue"
# Backends of Django and of the backport that never hand a task to a worker.
_IN_PROCESS = {"ImmediateBackend", "DummyBackend"}


def check_task_backend(**kwargs: Any) -> list[CheckMessage]:
    """``securetokens.W007``: the sender's backend runs jobs in the request, or never."""
    if setting("EMAIL_SENDER") != SENDER:
        return []
    try:
        from .django_tasks import securetokens_job
    except ImportError:  # securetokens.E017 reports it
        return []
    backend = securetokens_job.get_backend()
    if not {klass.__name__ for klass in type(backend).__mro__} & _IN_PROCESS:
        return []
    return [
        Warning(
            f"EMAIL_SENDER queues mail jobs on the task backend {backend.alias!r}, a "
            f"{type(backend).__name__}, which runs no worker: ImmediateBackend sends the "
            "mail inside the request, whose response time then tells whether an account "
            "exists (R-36); DummyBackend never sends it.",
            hint="Configure TASKS with a backend that has workers, such as "
            "django_tasks_db.DatabaseBackend.",
            id="securetokens.W007",
        )
    ]
