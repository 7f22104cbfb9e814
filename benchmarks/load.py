"""Load: the example project under gunicorn on 127.0.0.1, driven by a bounded Python client.

Run from the repository root (``make bench-load``; needs the ``bench`` extra)::

    python benchmarks/load.py [--db postgresql|sqlite] [--duration 10] [--concurrency 16]
                              [--workers 4] [--rounds 5]

It builds a fresh database (PostgreSQL on 127.0.0.1:5432 by default, in a database of its
own that is dropped afterwards; or SQLite in a temporary directory): migrate, one user, one
API key issued through the engine and one signed-in session (the key and the session id
travel over a pipe, never through a log or a file). It starts gunicorn (gthread workers,
keep-alive) on a free loopback port, and then:

1. drives ``/bench/whoami/``, one view that answers a request authenticated either by an API
   key (``Authorization: Bearer <key>``, one query) or by a session cookie (Django's session
   and user, two queries), alternately by key and by session for ``--rounds`` rounds of
   ``--duration / --rounds`` seconds each at ``--concurrency`` keep-alive connections, and
   reports the median requests/s of each and the ratio key/session (target: >= 1.0), with
   p50/p99 latency and the error count (anything but a 200); interleaving the rounds lets a
   shared machine's load fall on both alike;
2. drives ``/api/whoami/`` (``api_key_required``) and ``/api/ping/`` (no authentication) the
   same way, for the cost of a key against no authentication at all;
3. fires 20 simultaneous password-reset requests for one account (rate limits raised for
   this phase) and checks that exactly one reset link, and one code when the project mails
   codes, of that account is live afterwards (R-05).

Exit status 1 when any request failed, the key is slower than the session, or the
live-token counts are not those. Everything listens on 127.0.0.1 only, and the server is stopped
(by its own pid) however the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESETS = 20

SETTINGS = """
from example_project.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "load_urls"
DATABASES = {{"default": {database!r}}}
CACHES = {{
    "default": {{
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "securetokens_cache",
    }}
}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MAILERS = {{"default": {{"BACKEND": EMAIL_BACKEND}}}}
SECURETOKENS = {{
    **SECURETOKENS,  # noqa: F405
    "BASE_URL": "https://127.0.0.1",
    "PASSWORD_RESET_RATE_PER_IP": ((100000, 60),),
    "PASSWORD_RESET_RATE_PER_EMAIL": ((100000, 60),),
}}
LOGGING = {{"version": 1, "disable_existing_loggers": False, "root": {{"level": "ERROR"}}}}
"""

# One view, two ways in: the key (through the engine's guard) or the session.
URLS = """
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from django_securetokens import http


@csrf_exempt
def whoami(request):
    if "HTTP_AUTHORIZATION" in request.META:
        refusal = http.guard(request)
        if refusal is not None:
            return refusal
    elif not request.user.is_authenticated:
        return JsonResponse({"detail": "Sign in."}, status=401)
    return JsonResponse({"user": request.user.get_username()})


urlpatterns = [
    path("bench/whoami/", whoami),
    path("", include("example_project.urls")),
]
"""

SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from django_securetokens.models import APIKey
user = get_user_model().objects.create_user("load", "load@example.com", "a load-test passphrase")
print(APIKey.objects.issue(name="load", user=user)[1])
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""

COUNT = """
import django
django.setup()
from django_securetokens.models import SecureToken
tokens = SecureToken.objects.filter(purpose="password_reset", user__username="load")
links, codes = tokens.filter(kind="link"), tokens.filter(kind="code")
print(tokens.count(), links.live().count(), codes.exists(), codes.live().count())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def drive(port: int, path: str, headers: dict[str, str], seconds: float, threads: int) -> dict:
    """*threads* keep-alive connections GET *path* until *seconds* have passed."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad: list[str] = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad.append(str(response.status))
            except (OSError, http.client.HTTPException) as error:
                bad.append(type(error).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": len(ordered) / seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "errors": len(errors),
    }


def concurrent_resets(port: int) -> list[int]:
    """RESETS threads each fetch the form (CSRF cookie and token), then POST at once."""
    barrier = threading.Barrier(RESETS)
    statuses: list[int] = []

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/accounts/password-reset/")
        response = conn.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = f"csrfmiddlewaretoken={token}&email=load%40example.com"
        barrier.wait()
        conn.request(
            "POST",
            "/accounts/password-reset/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Referer": f"http://127.0.0.1:{port}/accounts/password-reset/",
            },
        )
        statuses.append(conn.getresponse().status)
        conn.close()

    pool = [threading.Thread(target=one) for _ in range(RESETS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def interleaved(port: int, runs: dict[str, tuple[str, dict[str, str]]], args) -> dict:
    """Drive each of *runs* (name: path, headers) in turn, ``args.rounds`` times; return
    per name the round with the median requests/s and the errors of all rounds."""
    seconds = args.duration / args.rounds
    rounds: dict[str, list[dict]] = {name: [] for name in runs}
    for turn in range(args.rounds):
        names = list(runs)
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            path, headers = runs[name]
            rounds[name].append(drive(port, path, headers, seconds, args.concurrency))
    result = {}
    for name, done in rounds.items():
        median = sorted(done, key=lambda row: row["rps"])[len(done) // 2]
        result[name] = {**median, "errors": sum(row["errors"] for row in done)}
        result[name]["requests"] = sum(row["requests"] for row in done)
    return result


@contextlib.contextmanager
def database(kind: str, tmp: str):
    """The settings' DATABASES entry for *kind*; a PostgreSQL database lives only inside."""
    if kind == "sqlite":
        yield {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(tmp, "db.sqlite3")),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
        return
    import psycopg

    host, port, user = "127.0.0.1", os.environ.get("PGPORT", "5432"), "postgres"
    name = f"securetokens_load_{os.getpid()}"
    dsn = f"host={host} port={port} user={os.environ.get('PGUSER', user)} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": host,
            "PORT": port,
            "USER": os.environ.get("PGUSER", user),
            # Each gunicorn thread keeps its connection, as a production site would.
            "CONN_MAX_AGE": 60,
        }
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="securetokens-load-") as tmp,
        database(args.db, tmp) as db,
    ):
        Path(tmp, "load_settings.py").write_text(SETTINGS.format(database=db))
        Path(tmp, "load_urls.py").write_text(URLS)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([tmp, str(ROOT / "example_project"), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "load_settings",
        }
        manage = [sys.executable, str(ROOT / "example_project" / "manage.py")]
        # The cache table first: migrate's system checks ask the rate-limit cache (W006).
        subprocess.run([*manage, "createcachetable", "-v0"], env=env, check=True)  # noqa: S603
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)  # noqa: S603
        setup = subprocess.run(  # noqa: S603
            [sys.executable, "-c", SETUP], env=env, check=True, capture_output=True, text=True
        )
        key, session = setup.stdout.split()
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable, "-m", "gunicorn", "example_project.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30",
                "--log-level", "warning",
            ],
            env=env,
            cwd=tmp,
        )  # fmt: skip
        try:
            for _ in range(100):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    conn.request("GET", "/api/ping/")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                print("gunicorn did not answer", file=sys.stderr)
                return 1

            auth = {"Authorization": f"Bearer {key}"}
            cookie = {"Cookie": f"sessionid={session}"}
            for path, headers in (("/bench/whoami/", auth), ("/bench/whoami/", cookie)):
                drive(port, path, headers, 1.0, args.concurrency)  # warm-up
            same_view = interleaved(
                port,
                {"key": ("/bench/whoami/", auth), "session": ("/bench/whoami/", cookie)},
                args,
            )
            versus_none = interleaved(
                port, {"plain": ("/api/ping/", {}), "keyed": ("/api/whoami/", auth)}, args
            )
            plain, keyed = versus_none["plain"], versus_none["keyed"]
            statuses = concurrent_resets(port)
            time.sleep(1.0)  # the mail jobs run in each worker's background thread
            counts = subprocess.run(  # noqa: S603
                [sys.executable, "-c", COUNT], env=env, check=True, capture_output=True, text=True
            )
            issued, live_links, codes_issued, live_codes = counts.stdout.split()
            # One live secret per kind: the example project mails a link and a code.
            live = {"link": int(live_links), "code": int(live_codes)}
            expected = {"link": 1, "code": 1 if codes_issued == "True" else 0}
        finally:
            server.terminate()
            server.wait(timeout=30)

    ratio = keyed["rps"] / plain["rps"]
    key_vs_session = same_view["key"]["rps"] / same_view["session"]["rps"]
    print(
        f"Load: gunicorn {args.workers} gthread workers x 4 threads on 127.0.0.1, "
        f"{'PostgreSQL' if args.db == 'postgresql' else 'SQLite'}, {args.concurrency} keep-alive "
        f"connections, {args.duration:g} s per endpoint in {args.rounds} interleaved rounds "
        "(req/s, p50, p99: the median round)"
    )
    print(f"{'endpoint':<36}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, row in (
        ("/bench/whoami/ (API key)", same_view["key"]),
        ("/bench/whoami/ (session cookie)", same_view["session"]),
        ("/api/ping/ (no auth)", plain),
        ("/api/whoami/ (API key)", keyed),
    ):
        print(
            f"{name:<36}{row['requests']:>10}{row['rps']:>10.0f}{row['p50_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{row['errors']:>8}"
        )
    print(
        f"same view, API key vs session cookie: {key_vs_session:.2f}x the session's throughput "
        "(target >= 1.00)"
    )
    print(f"throughput with API-key authentication: {ratio:.2f}x of the unauthenticated view")
    print(
        f"{RESETS} concurrent reset requests for one account: statuses {sorted(set(statuses))}, "
        f"{issued} tokens issued; live: {live['link']} link, {live['code']} code "
        f"(expected {expected['link']} and {expected['code']})"
    )
    print(
        json.dumps(
            {
                **same_view,
                "plain": plain,
                "keyed": keyed,
                "ratio": ratio,
                "key_vs_session": key_vs_session,
                "live": live,
            }
        )
    )
    errors = sum(row["errors"] for row in (*same_view.values(), plain, keyed))
    ok = errors == 0 and key_vs_session >= 1.0 and live == expected and set(statuses) == {302}
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
