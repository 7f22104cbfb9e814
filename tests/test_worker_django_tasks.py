"""The ``django.tasks`` sender with a real worker: django-tasks-db's ``db_worker`` in its own
process, on the test database (``make test-django-tasks``)."""

from __future__ import annotations

import pytest

from .workers import (
    ADDRESS,
    assert_no_secret_in,
    assert_one_live_link,
    link_of,
    link_works,
    needs_worker_settings,
    request_reset,
    send_through,
    sent_mail,
    start,
    stop,
)

pytestmark = [pytest.mark.worker, needs_worker_settings, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _queued_through_django_tasks(settings):
    send_through(settings, "django_tasks")


def queue_table() -> str:
    """Every column of every row the queue's table holds."""
    from django_tasks_db.models import DBTaskResult

    return repr(list(DBTaskResult.objects.values()))


def run_worker() -> None:
    """``db_worker --batch``: run every queued task, then exit."""
    worker = start("-m", "django", "db_worker", "--batch", "--no-startup-delay")
    try:
        worker.wait(timeout=120)
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output


def test_a_queued_reset_request_sends_one_mail_with_a_working_link():
    (insert,) = request_reset()  # the request path writes the task row, and nothing else
    assert insert.startswith("INSERT INTO") and "dbtaskresult" in insert
    queued = queue_table()
    assert sent_mail() == []  # the request only queued the job

    run_worker()

    (message,) = sent_mail()
    assert message["To"] == ADDRESS
    assert link_works(link_of(message))
    assert "SUCCESSFUL" in queue_table()
    assert_no_secret_in(queued + queue_table(), [message])


def test_the_request_runs_the_same_sql_for_an_unknown_address():
    # R-36 with this sender: the one write is the same whatever the address.
    assert request_reset("nobody@example.com") == request_reset()


def test_a_job_run_twice_leaves_one_live_link():
    from django_tasks_db.models import DBTaskResult

    from django_securetokens.contrib.django_tasks import securetokens_job

    request_reset()
    (row,) = DBTaskResult.objects.all()
    # A retry after a crash: the very same job, queued a second time.
    securetokens_job.enqueue(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])

    run_worker()

    messages = sent_mail()
    assert len(messages) == 2
    assert_one_live_link(messages)
