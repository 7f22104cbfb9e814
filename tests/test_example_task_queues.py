"""The example project sends its mail through either shipped task-queue sender on request."""

from __future__ import annotations

import pytest

from .test_example_project import run_example

SHOW_SENDER = """
import django
django.setup()
from django.conf import settings
from django_securetokens.conf import setting
print(setting("EMAIL_SENDER"), settings.TASKS if hasattr(settings, "TASKS") else "-")
"""


@pytest.mark.parametrize(
    ("queue", "package", "sender"),
    [
        ("django-tasks", "django_tasks_db", "contrib.django_tasks.enqueue"),
        ("celery", "celery", "contrib.celery.enqueue"),
    ],
)
def test_the_example_uses_the_sender_it_is_asked_for(monkeypatch, queue, package, sender):
    pytest.importorskip(package)  # the tasks and celery extras
    monkeypatch.setenv("EXAMPLE_TASK_QUEUE", queue)
    checked = run_example("manage.py", "check", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    shown = run_example("-c", SHOW_SENDER)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"django_securetokens.{sender} ")
    assert ("DatabaseBackend" in shown.stdout) == (queue == "django-tasks")


def test_the_celery_worker_finds_the_task(monkeypatch):
    pytest.importorskip("celery")
    monkeypatch.setenv("EXAMPLE_TASK_QUEUE", "celery")
    listed = run_example(
        "-c",
        "from example_project.celery import app; app.loader.import_default_modules(); "
        "print(sorted(app.tasks))",
    )
    assert listed.returncode == 0, listed.stderr
    assert "'django_securetokens.run_job'" in listed.stdout
