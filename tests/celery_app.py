"""The Celery app of the real-worker tests: ``celery -A tests.celery_app worker``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_queues")

app = Celery("tests", include=["django_securetokens.contrib.celery"])
app.config_from_object("django.conf:settings", namespace="CELERY")
