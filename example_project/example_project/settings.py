"""Settings for the example project: a local demo, never a production template.

SQLite in ``example_project/db.sqlite3`` by default. Set ``DATABASE_URL`` to try another
database, e.g. ``postgresql://postgres@127.0.0.1:5432/securetokens_demo`` or
``mysql://root@127.0.0.1:3306/securetokens_demo`` (needs the matching extra installed).
Set ``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``) to keep rate-limit counters in Redis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "example-project-only-insecure-key-never-use-this-anywhere-else"
)
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_securetokens",
    # The project package itself is an app: it holds the templates and `manage.py demouser`.
    "example_project",
    # Sign-up with a verified address, the profile page, and the email_verified receiver.
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_from_url(url: str) -> dict[str, Any]:
    """Turn a ``DATABASE_URL`` (sqlite, postgres[ql] or mysql scheme) into a DATABASES entry."""
    parts = urlsplit(url)
    backends = {
        "sqlite": "sqlite3",
        "postgres": "postgresql",
        "postgresql": "postgresql",
        "mysql": "mysql",
    }
    engine = f"django.db.backends.{backends[parts.scheme]}"
    name = unquote(parts.path[1:])  # sqlite:///db.sqlite3 is relative, sqlite:////tmp/x absolute
    if parts.scheme == "sqlite":
        # Mail jobs write from a background thread: take SQLite's write lock when a
        # transaction starts, so they wait for it instead of failing ("database is locked").
        return {"ENGINE": engine, "NAME": name, "OPTIONS": {"transaction_mode": "IMMEDIATE"}}
    return {
        "ENGINE": engine,
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# Nothing leaves the machine: every message is written as a file in example_project/sent_mail/,
# where you can open it and follow its link (SENT_MAIL_DIR elsewhere: the browser walk's own).
SENT_MAIL_DIR = os.environ.get("SENT_MAIL_DIR") or BASE_DIR / "sent_mail"
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND from Django 6.1
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": SENT_MAIL_DIR},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = SENT_MAIL_DIR
DEFAULT_FROM_EMAIL = "demo@example.com"

SECURETOKENS = {
    "BASE_URL": "http://127.0.0.1:8000",
    # Reset mail carries a link (the HTML pages) and a code (the single-page demo at /demo/).
    "PASSWORD_RESET_METHOD": "both",
    # Personal API keys: signed-in users make their own at /accounts/api-keys/, with the one
    # scope /api/orders/ needs, after re-entering their password (sudo mode).
    "SELF_SERVICE_API_KEYS": True,
    "SELF_SERVICE_API_KEY_SCOPES": ["orders:read"],
    # The app's pages are drawn in this site's own layout, header and styles.
    "BASE_TEMPLATE": "base.html",
    # Passwordless sign-in: the login page links to /accounts/email-login/, which mails a
    # link and a code; either signs in through the backend below.
    "PASSWORDLESS_LOGIN": True,
}
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_securetokens.backends.LoginTokenBackend",
]

# Mail jobs run in a background thread of the web process. To send them through a real task
# queue instead (docs/howto/task_queue.rst), start both the site and a worker with
#   EXAMPLE_TASK_QUEUE=django-tasks: `manage.py migrate`, then `manage.py db_worker`;
#   EXAMPLE_TASK_QUEUE=celery: `celery -A example_project worker` (RabbitMQ on 127.0.0.1).
EXAMPLE_TASK_QUEUE = os.environ.get("EXAMPLE_TASK_QUEUE", "")
if EXAMPLE_TASK_QUEUE == "django-tasks":
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    SECURETOKENS["EMAIL_SENDER"] = "django_securetokens.contrib.django_tasks.enqueue"
elif EXAMPLE_TASK_QUEUE == "celery":
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1//")
    SECURETOKENS["EMAIL_SENDER"] = "django_securetokens.contrib.celery.enqueue"

# Rate-limit counters live in the default cache, per process unless REDIS_URL is set. With
# Redis, `manage.py check` reports a missing `redis` package (securetokens.E021) or a server
# that does not answer (securetokens.W006): while it is down no reset mail goes out.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
