"""securetokens.W007: the django.tasks sender needs a task backend that has workers."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from django.core.checks import run_checks

from django_securetokens.contrib.task_checks import SENDER

pytest.importorskip("django_tasks_db")  # a backend with workers, from the tasks extra
# Django's own framework from 6.0, the backport before.
FRAMEWORK = "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"


def sender_warnings():
    return [m for m in run_checks(tags=["security"]) if m.id == "securetokens.W007"]


@pytest.fixture
def tasks_sender(settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "EMAIL_SENDER": SENDER}


def test_other_senders_are_not_judged(settings):
    settings.TASKS = {"default": {"BACKEND": f"{FRAMEWORK}.backends.dummy.DummyBackend"}}
    assert sender_warnings() == []


@pytest.mark.usefixtures("tasks_sender")
@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (f"{FRAMEWORK}.backends.immediate.ImmediateBackend", "ImmediateBackend"),
        (f"{FRAMEWORK}.backends.dummy.DummyBackend", "DummyBackend"),
    ],
)
def test_a_backend_without_workers_is_a_warning(settings, backend, expected):
    settings.TASKS = {"default": {"BACKEND": backend}}
    (message,) = sender_warnings()
    assert expected in message.msg and "R-36" in message.msg


@pytest.mark.usefixtures("tasks_sender")
def test_a_backend_with_workers_passes(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert sender_warnings() == []


@pytest.mark.usefixtures("tasks_sender")
def test_a_missing_tasks_framework_is_left_to_e017(monkeypatch):
    monkeypatch.setitem(sys.modules, "django_securetokens.contrib.django_tasks", None)
    assert sender_warnings() == []
