"""How fast is the token path, next to the cheapest ORM query there is?

Run from the repository root::

    python benchmarks/tokens.py --db sqlite
    python benchmarks/tokens.py --db postgresql   # 127.0.0.1:5432, user postgres, trust auth

In one process and one run on one database (Django's default settings), it fills the tables
to 1,000 and then 100,000 users, each with an API key, a used reset token and a slot, and
times, for the same sample of users, in slices of 50 interleaved with the floor
``User.objects.filter(pk=…).first()``:

* ``SecureToken.objects.issue``, ``verify`` and ``consume`` of a reset link;
* ``issue_code``, ``verify_code`` and ``consume_code`` of a verification code;
* ``APIKey.objects.issue``;
* the write floor ``User.objects.filter(pk=…).update(last_login=now)``: the cheapest durable
  write there is, one single-row ``UPDATE`` committed on its own. Every operation that must
  remember something (issue, consume, a counted guess) commits at least once, so none can be
  faster than this; it shows what the database's commit costs next to the read floor.

Each slice times the floor before and after the operations and takes the mean, so every
ratio pairs timings of one moment of a shared machine; a ratio is the median of the slices'.
It then prints the statements each operation sends, transaction control included, with what
each is for, and checks issue 17's targets; the exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import gc
import platform
import re
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The same set-up as the API-key bench, whose users and keys this one fills too.
from api_keys import SIZES, analyze, configure  # noqa: E402
from api_keys import fill as fill_users_and_keys  # noqa: E402

SLICE = 50
TARGET_GROWTH = 1.2
MAX_CONSUME_STATEMENTS = 4
# Issue 17's targets: the most an operation may take, as a ratio to the floor, per database.
TARGETS = {
    "verify": {"sqlite": 0.5, "postgresql": 0.5},
    "verify_code": {"sqlite": 0.6, "postgresql": 0.6},
    "consume": {"sqlite": 1.5, "postgresql": 1.5},
    "issue": {"sqlite": 2.0, "postgresql": 1.2},
    "issue_code": {"sqlite": 2.0, "postgresql": 1.2},
    "APIKey issue": {"sqlite": 2.0, "postgresql": 1.0},
}
# The operations that must commit; the write floor is their lower bound.
WRITES = ["issue", "consume", "issue_code", "verify_code", "consume_code", "APIKey issue"]
OPERATIONS = [
    "issue",
    "verify",
    "consume",
    "issue_code",
    "verify_code",
    "consume_code",
    "APIKey issue",
]

# What each statement is for, by its verb, its table and (for an UPDATE) what it sets.
PURPOSES = {
    ("BEGIN", "", ""): "transaction control: begin",
    ("COMMIT", "", ""): "transaction control: commit",
    ("SAVEPOINT", "", ""): "transaction control: savepoint",
    ("RELEASE", "", ""): "transaction control: savepoint",
    ("SELECT", "securetoken", "selector"): "find the token by selector, with its user",
    ("SELECT", "securetoken", "owner"): "find the owner's newest unspent code, with its user",
    ("SELECT", "tokenslot", ""): "lock the owner's slot: one live secret each (R-05)",
    ("INSERT", "tokenslot", ""): "create the owner's slot, first secret only",
    ("UPDATE", "tokenslot", "failures +"): "count the guess on the owner (R-20, R-33)",
    ("UPDATE", "tokenslot", "failures ="): "reset the owner's failure count if not 0 (R-33)",
    ("UPDATE", "securetoken", "revoked_at"): "supersede the owner's live secret (R-05)",
    ("UPDATE", "securetoken", "used_at"): "mark used if live: its row count picks one winner",
    ("UPDATE", "securetoken", "attempts"): "count the guess on the code (R-20, R-32)",
    ("INSERT", "securetoken", ""): "store the new token: selector and digest",
    ("INSERT", "apikey", ""): "store the new key: selector and digest",
}


def fill(count: int) -> None:
    """Users and API keys up to *count* (the API-key bench's own fill), then for each new
    user a used reset token and the slot it was issued under."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection
    from django.utils import timezone

    from django_securetokens.models import APIKey, SecureToken, TokenSlot
    from django_securetokens.owners import owner_key

    start = SecureToken.objects.count() + 1
    fill_users_and_keys(count, [""] * (start - 1), list(range(1, start)))
    # That fill writes its own ids; PostgreSQL's sequences must follow before issue() runs.
    reset = connection.ops.sequence_reset_sql(no_style(), [get_user_model(), APIKey])
    with connection.cursor() as cursor:
        for sql in reset:
            cursor.execute(sql)
    now = timezone.now()
    tokens, slots = [], []
    for pk in range(start, count + 1):
        owner = owner_key(pk, "")
        tokens.append(
            SecureToken(
                user_id=pk,
                owner=owner,
                purpose="password_reset",
                kind="link",
                selector=secrets.token_hex(8),
                digest=secrets.token_bytes(32),
                key_id="bench",
                created_at=now - timedelta(hours=2),
                expires_at=now - timedelta(hours=1),
                used_at=now - timedelta(hours=1, minutes=30),
            )
        )
        slots.append(TokenSlot(purpose="password_reset", owner=owner))
    SecureToken.objects.bulk_create(tokens, batch_size=2000)
    TokenSlot.objects.bulk_create(slots, batch_size=2000)


def operations(users: list[Any]) -> dict[str, Callable[[list[Any]], list[Any]]]:
    """Each operation over a slice of *users*; what issue returns feeds the next ones."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from django_securetokens.models import APIKey, SecureToken

    manager = SecureToken.objects
    links: list[str] = []
    codes: list[str] = []

    def issue(batch: list[Any]) -> list[Any]:
        links[:] = [manager.issue(user, purpose="password_reset")[1] for user in batch]
        return links

    def issue_code(batch: list[Any]) -> list[Any]:
        codes[:] = [
            manager.issue_code(user=user, purpose="email_verification")[1] for user in batch
        ]
        return codes

    return {
        "issue": issue,
        "verify": lambda batch: [manager.verify(secret, "password_reset") for secret in links],
        "consume": lambda batch: [manager.consume(secret, "password_reset") for secret in links],
        "issue_code": issue_code,
        "verify_code": lambda batch: [
            manager.verify_code(code, "email_verification", user=user)
            for code, user in zip(codes, batch, strict=True)
        ],
        "consume_code": lambda batch: [
            manager.consume_code(code, "email_verification", user=user)
            for code, user in zip(codes, batch, strict=True)
        ],
        "APIKey issue": lambda batch: [APIKey.objects.issue("bench", user) for user in batch],
        "write floor": lambda batch: [
            get_user_model().objects.filter(pk=user.pk).update(last_login=timezone.now())
            for user in batch
        ],
    }


def measure(pks: list[int], repeat: int) -> dict[str, dict[str, float]]:
    """µs per call of the fastest slice, and the median ratio to the floor, per operation."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    users = list(user_model.objects.filter(pk__in=pks).order_by("pk"))
    runs = operations(users)

    def floor(batch: list[Any]) -> None:
        for user in batch:
            user_model.objects.filter(pk=user.pk).first()

    for run in [floor, *runs.values()]:  # warm up every path
        run(users[:SLICE])
    times: dict[str, list[float]] = {name: [] for name in ["floor", *runs]}
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    gc.disable()
    try:
        for _ in range(repeat):
            for start in range(0, len(users), SLICE):
                batch = users[start : start + SLICE]
                spent = {}
                started = time.perf_counter()
                floor(batch)
                before = time.perf_counter() - started
                for name, run in runs.items():
                    started = time.perf_counter()
                    run(batch)
                    spent[name] = time.perf_counter() - started
                started = time.perf_counter()
                floor(batch)
                floor_time = (before + time.perf_counter() - started) / 2
                times["floor"].append(floor_time / len(batch) * 1e6)
                for name, elapsed in spent.items():
                    times[name].append(elapsed / len(batch) * 1e6)
                    ratios[name].append(elapsed / floor_time)
    finally:
        gc.enable()
    return {
        name: {
            "us": min(times[name]),
            "ratio": statistics.median(ratios[name]) if name in ratios else 1.0,
        }
        for name in times
    }


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement sent on the default connection, BEGIN and COMMIT included.

    Backends begin a transaction without a cursor (psycopg sends BEGIN itself) and commit
    through the driver, so those two are counted where Django asks for them.
    """
    from django.db import connection

    sent: list[str] = []

    def log(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.startswith("BEGIN"):  # SQLite's, counted below like everyone's
            sent.append(sql)
        return execute(sql, params, many, context)

    set_autocommit, commit = connection.set_autocommit, connection.commit

    def begin(autocommit: bool, **kwargs: Any) -> None:
        if not autocommit:
            sent.append("BEGIN")
        set_autocommit(autocommit, **kwargs)

    def end() -> None:
        sent.append("COMMIT")
        commit()

    connection.set_autocommit, connection.commit = begin, end  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(log):
            yield sent
    finally:
        del connection.set_autocommit, connection.commit


def purpose(sql: str) -> str:
    flat = " ".join(sql.replace('"', "").replace("`", "").split())
    verb = flat.split(" ", 1)[0].upper()
    table = re.search(r"(?:FROM|UPDATE|INTO) django_securetokens_(\w+)", flat)
    detail = ""
    if verb == "UPDATE":
        assignment = flat.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
        if "failures" in assignment:
            detail = "failures +" if "+" in assignment else "failures ="
        else:
            detail = next(c for c in ("revoked_at", "used_at", "attempts") if c in assignment)
    elif verb == "SELECT" and table and table[1] == "securetoken":
        detail = "selector" if "selector =" in flat.split(" WHERE ", 1)[1] else "owner"
    key = (verb, table[1] if table else "", detail)
    return PURPOSES.get(key, flat[:70])


def explain(users: list[Any]) -> dict[str, list[str]]:
    """The statements of one call of each operation, for a user who has had secrets."""
    runs = operations(users)
    sent = {}
    for name, run in runs.items():
        if name not in OPERATIONS:
            continue
        with statements() as log:
            run(users[:1])
        sent[name] = [purpose(sql) for sql in log]
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sample", type=int, default=200, help="users timed per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the sample")
    args = parser.parse_args()

    label, cleanup = configure(args.db)
    try:
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        rng = secrets.SystemRandom()
        results = []
        for size in SIZES:
            fill(size)
            analyze()
            pks = rng.sample(range(1, size + 1), min(args.sample, size))
            results.append((size, measure(pks, args.repeat)))
        sent = explain(list(get_user_model().objects.filter(pk__in=pks[:1])))
    finally:
        cleanup()

    print(
        f"The token path vs. the ORM floor on {label} (Python {platform.python_version()}, "
        f"Django {django_version()}; {args.repeat} passes over {args.sample} users in slices "
        f"of {SLICE}: µs of the fastest slice, ratio the median of the slices')"
    )
    print()
    header = ["operation", "statements"]
    for size, _ in results:
        header += [f"µs at {size:,}", f"ratio at {size:,}"]
    rows = []
    for name in ["floor", *OPERATIONS, "write floor"]:
        row = [name, str(len(sent.get(name, [None])))]
        for _, timing in results:
            row += [f"{timing[name]['us']:.1f}", f"{timing[name]['ratio']:.2f}x"]
        rows.append(row)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print()
    for name in OPERATIONS:
        print(f"{name}:")
        for number, text in enumerate(sent[name], 1):
            print(f"  {number}. {text}")
    print()
    (small_size, small), (large_size, large) = results[0], results[-1]
    floor_growth = large["floor"]["us"] / small["floor"]["us"]
    checks = [
        (
            len(sent["consume"]) <= MAX_CONSUME_STATEMENTS,
            f"consume sends {len(sent['consume'])} statements (<= {MAX_CONSUME_STATEMENTS})",
        )
    ]
    for name, targets in TARGETS.items():
        ratio = large[name]["ratio"]
        checks.append(
            (
                ratio <= targets[args.db],
                f"{name} {ratio:.2f}x the floor at {large_size:,} (<= {targets[args.db]}x)",
            )
        )
    for name in OPERATIONS:
        growth = large[name]["us"] / small[name]["us"] / floor_growth
        checks.append(
            (
                growth <= TARGET_GROWTH,
                f"{name} grows {growth:.2f}x from {small_size:,} to {large_size:,} relative to "
                f"the floor (<= {TARGET_GROWTH}x)",
            )
        )
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    write_floor = large["write floor"]["ratio"]
    print(
        f"\nAt {large_size:,} rows one committed single-row UPDATE, the write floor, takes "
        f"{write_floor:.2f}x the read floor: no operation that must commit can do better. "
        "The writing operations against it:"
    )
    for name in WRITES:
        print(f"  {name}: {large[name]['ratio'] / write_floor:.2f}x the write floor")
    return 0 if all(ok for ok, _ in checks) else 1


def django_version() -> str:
    import django

    return django.get_version()


if __name__ == "__main__":
    sys.exit(main())
