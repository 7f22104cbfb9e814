"""The password-reset flow as plain functions: request, verify (link or code), complete."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_securetokens import signals
from django_securetokens.exceptions import TokenError, UsedToken
from django_securetokens.flows import RateLimited
from django_securetokens.flows import password_reset as flow
from django_securetokens.models import SecureToken

from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

ORIGIN = "https://testserver.example"
NEW = "a new long pass phrase"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def use_method(settings, method, **more):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": method, **more}


def mailed_code(message):
    return "".join(re.search(r"\b(\d{3}) (\d{3})\b", message.body).groups())


def mailed_secret(message):
    return re.search(r"/accounts/reset/([^/\s]+)/", message.body).group(1)


def setter(user, password=NEW):
    def save():
        user.set_password(password)
        user.save()

    return save


# --- request ------------------------------------------------------------------------------


def test_request_makes_no_query_and_returns_nothing(alice, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "EMAIL_SENDER": "tests.test_emails.record"}
    with CaptureQueriesContext(connection) as queries:
        answer = flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    assert answer is None and len(queries) == 0


@pytest.mark.parametrize("method", ["link", "code", "both"])
def test_the_mail_carries_what_the_method_asks_for(alice, settings, method):
    use_method(settings, method)

    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    has_link = "/accounts/reset/" in message.body
    has_code = re.search(r"\b\d{3} \d{3}\b", message.body) is not None
    assert (has_link, has_code) == {
        "link": (True, False),
        "code": (False, True),
        "both": (True, True),
    }[method]
    assert ("/accounts/reset/" in html) == has_link
    kinds = sorted(SecureToken.objects.live().values_list("kind", flat=True))
    assert kinds == {"link": ["link"], "code": ["code"], "both": ["code", "link"]}[method]


def test_unknown_address_sends_nothing_and_answers_the_same(alice):
    assert flow.request("nobody@example.com", client="192.0.2.1", origin=ORIGIN) is None
    assert mail.outbox == [] and not SecureToken.objects.exists()


def test_limits_per_address_and_per_client_suppress_silently(alice):
    for _ in range(3):
        flow.request("ALICE@example.com", client="192.0.2.1", origin=ORIGIN)
    assert len(mail.outbox) == 1  # one a minute per address, however it is spelled


def test_frontend_url_replaces_the_link(alice, settings):
    urls = {"password_reset": "https://app.example.com/reset#{token}"}
    settings.SECURETOKENS = {**settings.SECURETOKENS, "FRONTEND_URLS": urls}

    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)

    secret = re.search(r"https://app\.example\.com/reset#(\S+)", mail.outbox[0].body).group(1)
    assert flow.verify(secret, client="192.0.2.1").user == alice
    assert f"{ORIGIN}/accounts/reset/" not in mail.outbox[0].body


def test_request_for_users_skips_the_ineligible(alice):
    bob = UserFactory(email="bob@example.com", is_active=False)

    flow.request_for_users([alice, bob], origin=ORIGIN)

    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_issued_signal_comes_from_the_job(alice):
    seen = []
    signals.password_reset_issued.connect(receiver := lambda **kw: seen.append(kw))
    try:
        flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    finally:
        signals.password_reset_issued.disconnect(receiver)
    assert [(e["sender"], e["user"]) for e in seen] == [(SecureToken, alice)]


# --- verify -------------------------------------------------------------------------------


def test_verify_a_link_consumes_nothing(alice):
    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    secret = mailed_secret(mail.outbox[0])

    token = flow.verify(secret, client="192.0.2.1")

    assert token.user == alice and token.used_at is None
    assert flow.verify(secret, client="192.0.2.1") == token


@pytest.mark.parametrize("bad", [None, "", "x" * 10_000, "\x00", "\ud800", 42, b"bytes"])
def test_verify_refuses_bad_input_with_token_error(bad):
    with pytest.raises(TokenError):
        flow.verify(bad, client="192.0.2.1")


def test_verify_is_limited_per_client(settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "PASSWORD_RESET_CONFIRM_RATE_PER_IP": ((2, 60),),
    }
    for _ in range(2):
        with pytest.raises(TokenError):
            flow.verify("x", client="192.0.2.1")
    with pytest.raises(RateLimited) as refused:
        flow.verify("x", client="192.0.2.1")
    assert refused.value.retry_after == 60
    with pytest.raises(TokenError):
        flow.verify("x", client="192.0.2.2")  # another client is judged


def test_verify_code_for_the_address(alice, settings):
    use_method(settings, "code")
    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    code = mailed_code(mail.outbox[0])

    token = flow.verify_code("Alice@Example.com", code, client="192.0.2.1")

    assert token.user == alice and token.kind == "code" and token.used_at is None


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("bob@example.com", None),  # another address
        ("alice@example.com", "000000"),  # a wrong code
        (None, None),
        ("a" * 300, None),
        ("alice@example.com\x00", None),
        (["alice@example.com"], None),
    ],
)
def test_verify_code_refuses_with_token_error(alice, settings, email, code):
    use_method(settings, "code")
    UserFactory(email="bob@example.com")
    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    right = mailed_code(mail.outbox[0])

    with pytest.raises(TokenError):
        flow.verify_code(email, code or right, client="192.0.2.1")
    if code == "000000":
        assert SecureToken.objects.get(kind="code").attempts == 1


def test_an_unknown_address_costs_the_statements_of_a_wrong_code(alice, settings):
    """Timing must not tell whether an account has the address: the same queries run."""
    use_method(settings, "code")
    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    wrong = f"{(int(mailed_code(mail.outbox[0])) + 1) % 10**6:06d}"

    def statements(email):
        with CaptureQueriesContext(connection) as queries, pytest.raises(TokenError):
            flow.verify_code(email, wrong, client="192.0.2.1")
        # Each statement up to its WHERE: which table it reads or writes, and how. Savepoints
        # aside, which the test's own transaction adds.
        return [
            re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"].split(" WHERE ")[0])
            for q in queries.captured_queries
            if "SAVEPOINT" not in q["sql"]
        ]

    assert statements("nobody@example.com") == statements("alice@example.com")


def test_an_address_alone_never_passes_for_a_reset_code(alice, settings):
    """A reset code bound to no account (only the Python API can make one) is refused."""
    _, code = SecureToken.objects.issue_code(purpose="password_reset", email="x@example.com")

    with pytest.raises(TokenError):
        flow.verify_code("x@example.com", code, client="192.0.2.1")


def test_reset_codes_have_the_attempt_limit_of_verification_codes(alice, settings):
    """R-32: five wrong guesses kill the code, even for the right one afterwards."""
    use_method(settings, "code")
    flow.request("alice@example.com", client="192.0.2.1", origin=ORIGIN)
    code = mailed_code(mail.outbox[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for n in range(5):
        with pytest.raises(TokenError):
            flow.verify_code("alice@example.com", wrong, client=f"192.0.2.{n}")

    with pytest.raises(TokenError):
        flow.verify_code("alice@example.com", code, client="192.0.2.99")


def test_verify_code_is_limited_per_client(alice, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "PASSWORD_RESET_CODE_RATE_PER_IP": ((1, 60),),
    }
    with pytest.raises(TokenError):
        flow.verify_code("alice@example.com", "123456", client="192.0.2.1")
    with pytest.raises(RateLimited):
        flow.verify_code("alice@example.com", "123456", client="192.0.2.1")


def test_an_ineligible_user_is_refused(alice):
    _, secret = SecureToken.objects.issue(alice, purpose="password_reset")
    alice.set_unusable_password()
    type(alice).objects.filter(pk=alice.pk).update(password=alice.password)

    with pytest.raises(TokenError):
        flow.verify(secret, client="192.0.2.1")


# --- references and complete --------------------------------------------------------------


def test_reference_of_a_link_points_at_it(alice):
    token, _ = SecureToken.objects.issue(alice, purpose="password_reset")

    reference = flow.reference(token)

    assert set(reference) == {"pk", "reference"}
    assert flow.verify_reference(reference) == token


def test_reference_of_a_code_spends_the_code_for_a_link_row_of_its_lifetime(alice):
    code_token, _ = SecureToken.objects.issue_code(user=alice, purpose="password_reset")

    found = flow.verify_reference(flow.reference(code_token))

    code_token.refresh_from_db()
    assert code_token.used_at is not None
    assert found.kind == "link" and found.user == alice
    assert found.expires_at <= code_token.expires_at


@pytest.mark.parametrize("ref", [None, "x", {"pk": "1", "reference": 1}, {}])
def test_bad_references_are_refused(ref):
    with pytest.raises(TokenError):
        flow.verify_reference(ref)


@pytest.mark.parametrize("kind", ["link", "code"])
def test_complete_sets_the_password_revokes_the_rest_and_notifies(alice, kind):
    link, _ = SecureToken.objects.issue(alice, purpose="password_reset")
    code, _ = SecureToken.objects.issue_code(user=alice, purpose="password_reset")
    token = link if kind == "link" else code
    completed = []
    signals.password_reset_completed.connect(receiver := lambda **kw: completed.append(kw))
    try:
        user = flow.complete(token, setter(alice), origin=ORIGIN, client="192.0.2.1")
    finally:
        signals.password_reset_completed.disconnect(receiver)

    alice.refresh_from_db()
    assert user == alice and alice.check_password(NEW)
    assert not SecureToken.objects.live().exists()
    assert [m.subject for m in mail.outbox] == ["Your password on testserver.example was changed"]
    assert [e["user"] for e in completed] == [alice]


def test_complete_is_all_or_nothing(alice):
    token, _ = SecureToken.objects.issue(alice, purpose="password_reset")

    def failing_save():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        flow.complete(token, failing_save, origin=ORIGIN, client="192.0.2.1")
    token.refresh_from_db()
    assert token.used_at is None and mail.outbox == []

    flow.complete(token, setter(alice), origin=ORIGIN, client="192.0.2.1")
    with pytest.raises(UsedToken):
        flow.complete(token, setter(alice, "another pass phrase"), origin=ORIGIN, client="-")
    alice.refresh_from_db()
    assert alice.check_password(NEW)
