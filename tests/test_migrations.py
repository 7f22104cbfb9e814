from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "django_securetokens", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_indexes_on_selector_and_expiry():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, "django_securetokens_securetoken"
        )
    unique_columns = [c["columns"] for c in constraints.values() if c["unique"]]
    indexed_columns = [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]
    assert ["selector"] in unique_columns
    assert ["expires_at"] in indexed_columns
