"""The Celery sender with a real worker: ``celery worker`` in its own process, on this
machine's RabbitMQ, on the test database (``make test-celery``)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

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
    wait_for_mail,
)

pytestmark = [pytest.mark.worker, needs_worker_settings, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def app(settings):
    """The test's own queue on the broker, declared before and deleted after the test."""
    from .celery_app import app

    send_through(settings, "celery")
    with app.connection_for_write() as connection:
        queue = app.amqp.queues[settings.QUEUE](connection.default_channel)
        queue.declare()
        queue.purge()
        yield app
        queue.delete()


def held_by_the_broker(app) -> list[tuple[str, str]]:
    """``(body, headers and properties)`` of each message waiting in the test's queue, read
    without acknowledging them, so the broker keeps them for the worker."""
    held = []
    with app.connection_for_read() as connection:
        channel = connection.channel()
        while (message := channel.basic_get(settings.QUEUE, no_ack=False)) is not None:
            body = message.body.decode() if isinstance(message.body, bytes) else message.body
            held.append((body, f"{message.headers!r} {message.properties!r}"))
        channel.close()  # the unacknowledged messages go back to the queue
    return held


def start_worker():
    return start(
        "-m", "celery", "-A", "tests.celery_app", "worker", "--pool=solo", "--loglevel=INFO",
        "--queues", settings.QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat",
    )  # fmt: skip


def test_a_queued_reset_request_sends_one_mail_with_a_working_link(app):
    assert request_reset() == []  # the request path queries nothing
    ((body, properties),) = held_by_the_broker(app)
    assert "django_securetokens.run_job" in properties
    assert sent_mail() == []  # the request only queued the job

    worker = start_worker()
    try:
        (message,) = wait_for_mail(1, worker)
    finally:
        output = stop(worker)

    assert message["To"] == ADDRESS
    assert link_works(link_of(message))
    assert "succeeded" in output
    assert_no_secret_in(body + properties + output, [message])


def test_a_job_run_twice_leaves_one_live_link(app):
    from django_securetokens.contrib.celery import securetokens_job

    request_reset()
    ((body, _),) = held_by_the_broker(app)
    # A retry after a crash: the broker delivers the very same job a second time.
    (name, kwargs), _, _ = json.loads(body)
    securetokens_job.delay(name, kwargs)

    worker = start_worker()
    try:
        messages = wait_for_mail(2, worker)
    finally:
        stop(worker)

    assert_one_live_link(messages)
