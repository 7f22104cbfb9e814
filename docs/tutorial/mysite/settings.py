# The tutorial adds these regions to the end of the mysite/settings.py that
# `django-admin startproject mysite` writes, each in its own step; tests/test_tutorial.py
# builds that project from them.

# [app]
import django

INSTALLED_APPS += ["django_securetokens"]

# Mail is written by a background thread. SQLite then needs its write lock taken when a
# transaction starts, so that thread waits its turn instead of failing ("database is locked").
DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}

# Links in mail are absolute, so the app needs your site's origin.
SECURETOKENS = {"BASE_URL": "http://127.0.0.1:8000"}

# While you try things out, every mail is written to a file in sent_mail/.
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND from Django 6.1
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": BASE_DIR / "sent_mail"},
        }
    }
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "sent_mail"
DEFAULT_FROM_EMAIL = "webmaster@localhost"
# [/app]

# [login]
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# [/login]

# [accounts]
INSTALLED_APPS += ["accounts"]
# [/accounts]

# [deploy]
import os

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
if not DEBUG:  # real mail in production: Django's SMTP backend, configured by EMAIL_HOST etc.
    if django.VERSION >= (6, 1):
        MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}
    else:
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# [/deploy]
