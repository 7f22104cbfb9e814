"""Settings for the test suite.

SQLite by default; ``SECURETOKENS_TEST_DB=postgresql`` or ``mysql`` points the suite at the
servers on 127.0.0.1 (PostgreSQL with trust auth, MariaDB as root without a password).
"""

from __future__ import annotations

import os

import django

SECRET_KEY = "tests-only-secret-key-that-is-long-enough-to-be-realistic-0123456789"
DEBUG = False
USE_TZ = True
# `make test-timezones` runs the time-related tests in zones with a daylight-saving change
# and with a half-hour offset.
TIME_ZONE = os.environ.get("SECURETOKENS_TEST_TZ", "UTC")
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

_DB = os.environ.get("SECURETOKENS_TEST_DB", "sqlite")
# One test database per run, so concurrent runs on one server cannot drop each other's tables.
_TEST_NAME = f"test_securetokens_{os.getpid()}"
if _DB == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "securetokens",
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "TEST": {"NAME": _TEST_NAME},
        }
    }
elif _DB == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "securetokens",
            "USER": "root",
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": _TEST_NAME, "CHARSET": "utf8mb4"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": os.environ.get("SECURETOKENS_SQLITE_TEST_NAME", "")},
        }
    }

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_securetokens",
    "tests",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

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

_REDIS = os.environ.get("SECURETOKENS_TEST_REDIS")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS}
        if _REDIS
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_LOCMEM_MAIL = "django.core.mail.backends.locmem.EmailBackend"
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND from Django 6.1
    MAILERS = {"default": {"BACKEND": _LOCMEM_MAIL}}
else:
    EMAIL_BACKEND = _LOCMEM_MAIL
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

# The JSON API's OpenAPI schema (tests/test_api_schema.py) is drf-spectacular's.
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

SECURETOKENS = {"BASE_URL": "https://testserver.example"}
