"""The example's Celery app, used when ``EXAMPLE_TASK_QUEUE=celery`` (see settings.py)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

app = Celery("example_project", include=["django_securetokens.contrib.celery"])
app.config_from_object("django.conf:settings", namespace="CELERY")
