"""A mail sender for Celery (``pip install "django-securetokens[celery]"``)::

    SECURETOKENS = {"EMAIL_SENDER": "django_securetokens.contrib.celery.enqueue"}

Workers must import this module to know the task: list it in the Celery app's ``include``
(``Celery("proj", include=["django_securetokens.contrib.celery"])``). The message holds the
job's dotted path and its keyword arguments: ids and plain values, never a secret, since
the token is issued inside the job (R-86).
"""

from __future__ import annotations

import functools
from typing import Any

from celery import shared_task

from django_securetokens.tasks import after_commit, run_job

#: The Celery task, named ``django_securetokens.run_job`` whatever module path it is found
#: under. It is acknowledged only once it has run, so a worker that dies mid-job leaves the
#: message to be run again; that is safe, since a new link supersedes the one mailed before.
securetokens_job: Any = shared_task(
    name="django_securetokens.run_job", acks_late=True, ignore_result=True
)(run_job)


def enqueue(name: str, kwargs: dict[str, Any]) -> None:
    """The ``EMAIL_SENDER``: publish the job once the request's transaction commits, so a
    rolled-back request queues nothing and a worker never looks for rows not yet written."""
    after_commit(functools.partial(securetokens_job.delay, name, kwargs))
