"""Settings for the real-worker tests (``make test-celery``, ``make test-django-tasks``).

The test process and the worker processes it starts read this same module. The test process
creates the test database, a mail folder and a queue name of its own, and hands them to its
workers through the environment; a worker then points ``NAME`` at that test database and
writes every mail as a file there, for the test to read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import django

from .settings import *  # noqa: F403
from .settings import DATABASES, INSTALLED_APPS

# setdefault: the test process chooses, its workers inherit the choice.
_RUN = Path(os.environ.setdefault("SECURETOKENS_TEST_RUN_DIR", tempfile.mkdtemp("-securetokens")))
MAIL_DIR = _RUN / "mail"
QUEUE = os.environ.setdefault("SECURETOKENS_TEST_QUEUE", f"securetokens-test-{os.getpid()}")

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A worker cannot see an in-memory database: the test database is a file.
    DATABASES["default"]["TEST"]["NAME"] = str(_RUN / "test.sqlite3")
if "SECURETOKENS_WORKER_DB_NAME" in os.environ:  # in a worker: the test process's database
    DATABASES["default"]["NAME"] = os.environ["SECURETOKENS_WORKER_DB_NAME"]

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}

CELERY_BROKER_URL = os.environ.get(
    "SECURETOKENS_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//"
)
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

_FILE_MAIL = "django.core.mail.backends.filebased.EmailBackend"
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND from Django 6.1
    MAILERS = {"default": {"BACKEND": _FILE_MAIL, "OPTIONS": {"file_path": str(MAIL_DIR)}}}
else:
    EMAIL_BACKEND = _FILE_MAIL
    EMAIL_FILE_PATH = str(MAIL_DIR)

SECURETOKENS = {"BASE_URL": "https://testserver.example"}
