"""Several databases (issue 13 item 8): every statement of one operation on one database.

``make test-multidb`` runs this module under ``tests.settings_multidb`` on SQLite, PostgreSQL
and MariaDB: ``default`` is the primary, ``replica`` is where the router sends reads (a
database of its own, so a read sent there misses what the test wrote), and ``other`` is
reached only through ``db_manager("other")``. Each operation is watched on all three
connections.
"""

from __future__ import annotations

import re
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_securetokens import tasks
from django_securetokens.exceptions import InvalidToken, RevokedToken, UsedToken
from django_securetokens.flows import api_keys
from django_securetokens.models import APIKey, SecureToken, State, TokenSlot

from .conftest import flip_last
from .factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        set(settings.DATABASES) != {"default", "replica", "other"},
        reason="needs tests.settings_multidb: run `make test-multidb`",
    ),
    pytest.mark.django_db(databases="__all__"),
]

NEW_PASSWORD = "a brand new passphrase 42"


@contextmanager
def statements():
    """``{alias: [sql, ...]}``: what each database received inside the block, transaction
    control included."""
    sent: dict[str, list[str]] = {}
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias]))
            for alias in settings.DATABASES
        }
        yield sent
    sent.update({alias: [q["sql"] for q in c.captured_queries] for alias, c in captured.items()})


def assert_only(sent, alias):
    """Every statement went to *alias*, and so did the row lock on a server database."""
    assert {name for name, sql in sent.items() if sql} == {alias}
    if connections[alias].vendor != "sqlite":  # SQLite locks the whole file instead
        assert any("FOR UPDATE" in sql for sql in sent[alias])


def replicate(*rows):
    """Copy *rows* as the primary holds them now to the replica: what it has caught up on."""
    for row in rows:
        type(row)._base_manager.using("default").get(pk=row.pk).save(
            using="replica", force_insert=True
        )


def on(alias, model):
    return model._base_manager.using(alias)


@pytest.fixture
def user():
    return UserFactory()  # written to the primary


@pytest.fixture
def other_user():
    users = get_user_model()._default_manager.db_manager("other")
    return users.create_user("elsewhere", "elsewhere@example.com", "correct horse")


def wrong(code):
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# --- a primary and a replica: everything on the router's write database ---------------------


def test_a_link_issued_a_moment_ago_verifies_and_is_spent_where_the_router_writes(user):
    with statements() as sent:
        token, secret = SecureToken.objects.issue(user, purpose="password_reset")
        assert SecureToken.objects.verify(secret, purpose="password_reset") == token
        reference = SecureToken.objects.reference(token)
        SecureToken.objects.verify_reference(token.pk, reference, "password_reset")
        SecureToken.objects.consume(secret, purpose="password_reset")
    assert_only(sent, "default")
    assert on("default", SecureToken).get(pk=token.pk).state() == State.USED


def test_a_code_is_counted_judged_and_spent_where_the_router_writes(user):
    """The attempt on the code, the owner's and the address's failure counts (R-20, R-33,
    R-81) are written and read on the one database the code lives in."""
    address = "new@example.com"
    with statements() as sent:
        token, code = SecureToken.objects.issue_code(
            user=user, purpose="email_verification", email=address
        )
        with pytest.raises(InvalidToken):
            SecureToken.objects.verify_code(
                wrong(code), "email_verification", user=user, email=address
            )
        assert on("default", SecureToken).get(pk=token.pk).attempts == 1
        assert [s.failures for s in on("default", TokenSlot).order_by("owner")] == [1, 1]
        SecureToken.objects.consume_code(code, "email_verification", user=user, email=address)
    assert_only(sent, "default")
    assert [s.failures for s in on("default", TokenSlot)] == [0, 0]
    assert on("default", SecureToken).get(pk=token.pk).state() == State.USED


def test_a_spent_token_stays_spent_though_the_replica_still_shows_it_live(user):
    """R-18 with a lagging replica: the replica has seen the token issued but not used.
    Judged there, the used link would verify again."""
    token, secret = SecureToken.objects.issue(user, purpose="password_reset")
    replicate(user, token)
    SecureToken.objects.consume(secret, purpose="password_reset")
    assert on("replica", SecureToken).get(pk=token.pk).state() == State.LIVE
    with pytest.raises(UsedToken):
        SecureToken.objects.verify(secret, purpose="password_reset")
    with pytest.raises(UsedToken):
        SecureToken.objects.consume(secret, purpose="password_reset")


def test_a_token_is_spent_for_its_user_as_the_primary_has_it(user):
    """use() of a token loaded without its user judges the user where it spends the token:
    the replica has not seen the account deactivated (R-16)."""
    token, _ = SecureToken.objects.issue(user, purpose="password_reset")
    replicate(user)
    on("default", get_user_model()).filter(pk=user.pk).update(is_active=False)
    loaded = on("default", SecureToken).get(pk=token.pk)
    with statements() as sent, pytest.raises(InvalidToken):
        SecureToken.objects.use(loaded)
    assert {name for name, sql in sent.items() if sql} == {"default"}


def test_revoke_revoke_for_and_purge_run_where_the_router_writes(user):
    with statements() as sent:
        first, _ = SecureToken.objects.issue(user, purpose="password_reset")
        assert SecureToken.objects.revoke(first)
        SecureToken.objects.issue(user, purpose="email_verification")
        assert SecureToken.objects.revoke_for(user) == 1
        with time_machine.travel(timezone.now() + timedelta(days=400)):
            assert SecureToken.objects.purge() == 2
    assert_only(sent, "default")
    assert not on("default", SecureToken).exists()
    assert not on("default", TokenSlot).exists()


def test_api_keys_are_issued_used_rotated_and_revoked_where_the_router_writes(user):
    with statements() as sent:
        key, secret = APIKey.objects.issue(name="ci", user=user)
        assert APIKey.objects.authenticate(secret) == key
        key, secret = APIKey.objects.rotate(key, grace=timedelta(hours=1))
        assert APIKey.objects.authenticate(secret).user == user
        assert APIKey.objects.revoke(key)
        _, leaked = APIKey.objects.issue(name="leaked", user=user)
        APIKey.objects.revoke_secret(leaked)
    assert {name for name, sql in sent.items() if sql} == {"default"}
    assert on("default", APIKey).get(pk=key.pk).last_used_at is not None
    assert not on("replica", APIKey).exists()


def test_a_revoked_key_is_refused_though_the_replica_still_shows_it_live(user):
    """R-57, immediate revocation, with a lagging replica that saw the key issued."""
    key, secret = APIKey.objects.issue(name="ci", user=user)
    replicate(user, key)
    assert key.revoke()
    with pytest.raises(RevokedToken):
        APIKey.objects.authenticate(secret)


def test_personal_keys_are_counted_made_listed_and_revoked_where_the_router_writes(user, settings):
    """R-85 with a replica: the live-key limit is judged where the keys are written, under
    the owner's row lock there, and the list and revocation see a key made a moment ago."""
    settings.SECURETOKENS = {"SELF_SERVICE_API_KEY_LIMIT": 2}
    replicate(user)
    with statements() as sent:
        first, _ = api_keys.create(user, name="one", scopes=[], expires_in_days=1)
        second, _ = api_keys.create(user, name="two", scopes=[], expires_in_days=1)
        with pytest.raises(ValidationError) as refused:
            api_keys.create(user, name="three", scopes=[], expires_in_days=1)
        assert [key for key, _ in api_keys.keys(user)] == [second, first]
        assert api_keys.revoke(user, first.pk) == first
    assert refused.value.code == "limit"
    assert_only(sent, "default")
    assert on("default", APIKey).get(pk=first.pk).state() == State.REVOKED


@pytest.mark.usefixtures("mail_now", "fresh_cache")
def test_a_password_reset_runs_its_tokens_on_the_primary(client):
    """The whole flow in a browser, the account replicated long ago: the link mailed a
    moment ago opens, sets the password and is spent, all on the primary."""
    user = UserFactory(email="user@example.com")
    replicate(user)
    client.post(reverse("securetokens:password_reset"), {"email": "user@example.com"})
    link = re.search(r"https://testserver\.example(/\S+)", mail.outbox[-1].body).group(1)
    response = client.get(link)
    assert response.status_code == 302
    assert response.url == reverse("securetokens:password_reset_set")
    response = client.post(
        response.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.url == reverse("securetokens:password_reset_complete")
    assert on("default", get_user_model()).get(pk=user.pk).check_password(NEW_PASSWORD)
    assert on("default", SecureToken).get().state() == State.USED
    assert not on("replica", SecureToken).exists()
    assert client.get(link).status_code == 200  # the "invalid link" page: spent


# --- db_manager("other"): nothing reaches the router's databases ----------------------------


def test_every_statement_of_a_token_manager_bound_to_other_goes_to_other(other_user):
    """Token, slot lock, supersession, attempts and failure counts, use, revoke and purge."""
    tokens = SecureToken.objects.db_manager("other")
    address = "new@example.com"
    with statements() as sent:
        token, secret = tokens.issue(other_user, purpose="password_reset")
        assert tokens.verify(secret, purpose="password_reset") == token
        tokens.verify_reference(token.pk, tokens.reference(token), "password_reset")
        with pytest.raises(InvalidToken):
            tokens.verify(flip_last(secret), purpose="password_reset")
        tokens.consume(secret, purpose="password_reset")
        code_token, code = tokens.issue_code(
            user=other_user, purpose="email_verification", email=address
        )
        with pytest.raises(InvalidToken):
            tokens.verify_code(wrong(code), "email_verification", user=other_user, email=address)
        tokens.consume_code(code, "email_verification", user=other_user, email=address)
        assert on("other", SecureToken).get(pk=code_token.pk).attempts == 2
        link, _ = tokens.issue(other_user, purpose="email_verification", email=address)
        assert tokens.revoke(link)
        tokens.issue(other_user, purpose="password_reset")
        assert tokens.revoke_for(other_user) == 1
        with time_machine.travel(timezone.now() + timedelta(days=400)):
            assert tokens.purge() == 4
    assert_only(sent, "other")
    assert not on("default", TokenSlot).exists()


def test_every_statement_of_a_key_manager_bound_to_other_goes_to_other(other_user):
    keys = APIKey.objects.db_manager("other")
    with statements() as sent:
        key, secret = keys.issue(name="ci", user=other_user)
        assert keys.authenticate(secret) == key
        key, secret = keys.rotate(key, grace=timedelta(hours=1))
        assert keys.authenticate(secret).user == other_user
        assert keys.revoke(key)
        _, leaked = keys.issue(name="leaked", user=other_user)
        keys.revoke_secret(leaked)
    assert {name for name, sql in sent.items() if sql} == {"other"}
    assert on("other", APIKey).get(pk=key.pk).last_used_at is not None


def test_a_personal_key_is_made_in_a_transaction_where_the_router_writes(other_user, settings):
    """The user's row lock and the limit's count share one transaction with the new key, on
    the database the router writes them to, though it is not ``default``."""
    settings.DATABASE_ROUTERS = ["tests.routers.ElsewhereRouter"]
    with statements() as sent:
        api_keys.create(other_user, name="ci", scopes=[], expires_in_days=1)
    assert_only(sent, "other")
    assert on("other", APIKey).get().user == other_user


RAN: list[str] = []


@tasks.task
def record(word: str) -> None:
    """A job that notes it ran."""
    RAN.append(word)


@pytest.mark.parametrize("sender", [tasks.run_now, tasks.run_in_thread])
def test_a_mail_job_waits_for_the_transaction_on_the_users_database(
    settings, sender, django_capture_on_commit_callbacks
):
    """A job looks up rows the request wrote: it waits for their database to commit, which
    on this site is not ``default``."""
    settings.DATABASE_ROUTERS = ["tests.routers.ElsewhereRouter"]
    RAN.clear()
    with (
        django_capture_on_commit_callbacks(using="default") as on_default,
        django_capture_on_commit_callbacks(using="other", execute=True) as on_other,
    ):
        sender(tasks.name_of(record), {"word": "committed"})
        assert tasks.join(timeout=5)
        assert RAN == []  # not before the commit
    assert tasks.join(timeout=5)
    assert (len(on_default), len(on_other), RAN) == (0, 1, ["committed"])


@pytest.mark.parametrize("model", [SecureToken, APIKey])
def test_a_user_of_another_database_cannot_own_a_secret_there(user, model):
    """``user_id`` would name whoever has that id in ``other``: Django's relation check
    refuses the row before anything is written."""
    with statements() as sent, pytest.raises(ValueError, match="prevents this relation"):
        if model is SecureToken:
            SecureToken.objects.db_manager("other").issue(user, purpose="password_reset")
        else:
            APIKey.objects.db_manager("other").issue(name="ci", user=user)
    assert not any(sent.values())
