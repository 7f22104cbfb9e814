"""Does the password-reset request take as long for an unknown address as for a known one?

R-36: with an email backend that sleeps 250 ms per message, the medians of the response
times for existing and for unknown addresses must differ by less than 10 % (and by less
than SECURITY.md's 25 ms), over at least 50 interleaved requests each. Both front ends are
measured: the HTML form (``securetokens:password_reset``) and the JSON API
(``securetokens_api:password_reset``), whose request must also make no database query.

The script builds its own throw-away site (a temporary SQLite file, so that the mail
thread and the requests share one database), sends the requests through Django's full
request handler and middleware, and prints the numbers. It exits with status 1 when the
default sender leaks. For comparison it also measures a naive configuration that sends
the mail inside the request (``EMAIL_SENDER = run_now``), which the same measurement must
catch.

    python benchmarks/password_reset_timing.py [--requests 200] [--naive-requests 20]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SLEEP = 0.25
MAX_RELATIVE = 0.10
MAX_ABSOLUTE = 0.025
WARMUP = 10


def configure(database: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only-secret-key-0123456789-0123456789-0123456789",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django_securetokens",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        ROOT_URLCONF=__name__,
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND=f"{__name__}.SleepingBackend",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        SECURETOKENS={
            "BASE_URL": "https://bench.example",
            # One client sends every request here: lift the per-IP limit, or most requests
            # would be (silently) suppressed and the benchmark would measure nothing.
            "PASSWORD_RESET_RATE_PER_IP": [(1_000_000, 60)],
        },
    )
    django.setup()
    from django.urls import include, path

    urlpatterns[:] = [
        path("accounts/", include("django_securetokens.urls")),
        path("api/auth/", include("django_securetokens.api.urls")),
    ]


def sleeping_backend() -> type:
    from django.core.mail.backends.base import BaseEmailBackend

    class Backend(BaseEmailBackend):
        """A mail server that takes 250 ms per message."""

        sent = 0

        def send_messages(self, messages):  # type: ignore[no-untyped-def]
            time.sleep(SLEEP * len(messages))
            Backend.sent += len(messages)
            return len(messages)

    return Backend


#: How each front end is asked for a reset: URL, how the body is sent, the answer expected.
FRONTS = {
    "html": ("/accounts/password-reset/", {}, 302),
    "json": ("/api/auth/password-reset/", {"content_type": "application/json"}, 202),
}


def queries_per_request(front: str) -> int:
    """The database queries one reset request of *front* makes, for a known address."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    url, encoding, _ = FRONTS[front]
    User.objects.create(username=f"q-{front}", email=f"q-{front}@example.com")
    with CaptureQueriesContext(connection) as queries:
        Client().post(url, {"email": f"q-{front}@example.com"}, **encoding)
    return len(queries)


def measure(
    sender: str, requests: int, tag: str, front: str = "html"
) -> tuple[list[float], list[float]]:
    """Interleave *requests* known and *requests* unknown addresses sent to *front*; return
    both timings."""
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client, override_settings

    from django_securetokens import tasks

    count = requests + WARMUP
    User.objects.bulk_create(
        User(username=f"{tag}{n}", email=f"{tag}{n}@example.com", password="md5$x$y")
        for n in range(count)
    )
    known = [f"{tag}{n}@example.com" for n in range(count)]
    unknown = [f"{tag}-nobody{n}@example.com" for n in range(count)]
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    url, encoding, expected = FRONTS[front]
    client = Client()
    cache.clear()
    with override_settings(SECURETOKENS={**settings.SECURETOKENS, "EMAIL_SENDER": sender}):
        for n in range(count):
            pair = [("known", known[n]), ("unknown", unknown[n])]
            if secrets.randbelow(2):  # random order within each pair: no position bias
                pair.reverse()
            for kind, email in pair:
                started = time.perf_counter()
                response = client.post(url, {"email": email}, **encoding)
                elapsed = time.perf_counter() - started
                assert response.status_code == expected, response.status_code
                if n >= WARMUP:
                    timings[kind].append(elapsed)
        tasks.join()
    return timings["known"], timings["unknown"]


def report(title: str, known: list[float], unknown: list[float]) -> tuple[float, float]:
    median_known, median_unknown = statistics.median(known), statistics.median(unknown)
    absolute = abs(median_known - median_unknown)
    relative = absolute / min(median_known, median_unknown)
    print(f"\n{title}")
    print(f"  requests:        {len(known)} known + {len(unknown)} unknown, interleaved")
    for name, values in (("known", known), ("unknown", unknown)):
        q = statistics.quantiles(values, n=10)
        print(
            f"  {name:<8} median {statistics.median(values) * 1000:7.2f} ms   "
            f"p10 {q[0] * 1000:7.2f} ms   p90 {q[-1] * 1000:7.2f} ms"
        )
    print(f"  difference of medians: {absolute * 1000:.2f} ms ({relative:.1%})")
    return absolute, relative


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per kind (at least 50)")
    parser.add_argument("--naive-requests", type=int, default=20, help="0 skips the baseline")
    args = parser.parse_args()
    if args.requests < 50:
        parser.error("--requests must be at least 50 (R-36)")

    with tempfile.TemporaryDirectory() as folder:
        configure(os.path.join(folder, "bench.sqlite3"))
        from django.core.management import call_command

        from django_securetokens import tasks

        globals()["SleepingBackend"] = sleeping_backend()
        call_command("migrate", verbosity=0)
        print(
            f"Mail backend sleeps {SLEEP * 1000:.0f} ms per message; Django {django.__version__}."
        )

        results = []
        for front, title in (("html", "HTML form"), ("json", "JSON API")):
            before = SleepingBackend.sent  # type: ignore[name-defined]  # noqa: F821
            known, unknown = measure(
                tasks.name_of(tasks.run_in_thread), args.requests, f"a{front}", front
            )
            absolute, relative = report(
                f"{title}, default sender (mail job in a background thread):", known, unknown
            )
            sent = SleepingBackend.sent - before  # type: ignore[name-defined]  # noqa: F821
            print(f"  mails sent after the run: {sent} (expected {args.requests + WARMUP})")
            queries = queries_per_request(front)
            tasks.join()  # its mail is not the next run's
            print(f"  database queries in one request: {queries}")
            results.append((title, absolute, relative, sent, queries))
        if args.naive_requests:
            naive = measure(tasks.name_of(tasks.run_now), args.naive_requests, "b")
            report("Naive sender (mail sent inside the request), for comparison:", *naive)

    ok = True
    for title, absolute, relative, sent, queries in results:
        passed = (
            relative < MAX_RELATIVE
            and absolute < MAX_ABSOLUTE
            and sent == args.requests + WARMUP
            and queries == 0
        )
        ok = ok and passed
        print(
            f"\nR-36 {'PASS' if passed else 'FAIL'} ({title}): default sender differs by "
            f"{relative:.1%} (< {MAX_RELATIVE:.0%}) and {absolute * 1000:.2f} ms "
            f"(< {MAX_ABSOLUTE * 1000:.0f} ms); {queries} database queries (0 expected)."
        )
    return 0 if ok else 1


# The site's URLs (ROOT_URLCONF is this module), filled in once Django is set up.
urlpatterns: list = []

if __name__ == "__main__":
    sys.exit(main())
