"""A mail sender for Django's tasks framework: ``django.tasks`` on Django 6.0 and later, or
the ``django-tasks`` backport (``pip install "django-securetokens[tasks]"``) on Django 5.2::

    SECURETOKENS = {"EMAIL_SENDER": "django_securetokens.contrib.django_tasks.enqueue"}

Jobs go to the default backend of ``TASKS``, on the default queue. The task's arguments are
the job's dotted path and its keyword arguments: ids and plain values, never a secret, since
the token is issued inside the job (R-86).
"""

from __future__ import annotations

import functools
from typing import Any

from django_securetokens.tasks import after_commit, run_job

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the same API from the backport
    from django_tasks import task  # type: ignore[no-redef]


@task
def securetokens_job(name: str, kwargs: dict[str, Any]) -> None:
    """Run one mail job in a tasks worker (``db_worker``, ``rqworker``, ...)."""
    run_job(name, kwargs)


def enqueue(name: str, kwargs: dict[str, Any]) -> None:
    """The ``EMAIL_SENDER``: queue the job once the request's transaction commits, so a
    rolled-back request queues nothing and a worker never looks for rows not yet written."""
    after_commit(functools.partial(securetokens_job.enqueue, name, kwargs))
