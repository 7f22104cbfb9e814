"""Nothing stored is a usable secret: scan every table after issuing every kind (R-06, T-06)."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest
from django.db import connection

from django_securetokens.models import APIKey, SecureToken

pytestmark = pytest.mark.django_db


def encodings(secret: str) -> set[str]:
    raw = secret.encode()
    return {
        secret,
        secret.lower(),
        raw.hex(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        quote(secret, safe=""),
    }


def dump_cells() -> list[str]:
    """Every cell of every table, as text (bytes both hex-encoded and decoded)."""
    cells = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, (bytes, bytearray)):
                        cells += [bytes(value).hex(), bytes(value).decode("latin-1")]
                    else:
                        cells.append(str(value))
    return cells


def test_no_table_holds_any_secret_and_no_log_line_does(user, caplog):
    caplog.set_level(logging.DEBUG)
    _, link = SecureToken.objects.issue(user, purpose="password_reset")
    _, verify_link = SecureToken.objects.issue(None, purpose="email_verification", email="a@b.c")
    _, code = SecureToken.objects.issue_code(user=user, purpose="email_verification")
    key, api_secret = APIKey.objects.issue(name="ci", user=user)
    APIKey.objects.authenticate(api_secret)
    rotated_secret = APIKey.objects.rotate(key)[1]
    SecureToken.objects.consume(link, purpose="password_reset")
    with pytest.raises(Exception):  # noqa: B017 -- any refusal; we scan the logs after
        SecureToken.objects.consume(link, purpose="password_reset")

    secrets_ = [link, link[16:], verify_link, verify_link[16:], api_secret, rotated_secret]
    secrets_ += [s.split("_")[-1] for s in (api_secret, rotated_secret)]  # key bodies
    cells = dump_cells()
    haystack = "\n".join(cells)
    for secret in secrets_:
        for form in encodings(secret):
            assert form not in haystack, f"a secret was found in the database as {form!r}"
    assert code not in cells, "a code was stored as a value"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*secrets_, code]:
        assert secret not in logged
