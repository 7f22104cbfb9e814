"""The password-reset HTTP flow, end to end, against SECURITY.md R-15…R-50 and R-65…R-69."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import DatabaseError, connection
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from django_securetokens import signals, tasks
from django_securetokens.exceptions import UsedToken
from django_securetokens.models import SecureToken
from django_securetokens.sessions import RESET_SESSION_KEY as SESSION_KEY
from django_securetokens.views.password_reset import PasswordResetConfirmView
from django_securetokens.views.password_reset_set import PasswordResetSetView

from .conftest import cache_entries, server_database_only, use_mail_backend
from .factories import UserFactory

# The clock stands still so that no rate-limit window can roll over in the middle of a
# test that counts up to a limit.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

RESET = reverse("securetokens:password_reset")
SENT = reverse("securetokens:password_reset_sent")
SET = reverse("securetokens:password_reset_set")
COMPLETE = reverse("securetokens:password_reset_complete")
NEW_PASSWORD = "a brand new passphrase 42"
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{20,}")


def request_reset(client, email, **extra):
    return client.post(RESET, {"email": email}, **extra)


def link_path(message):
    """The path of the reset link in *message* (the test BASE_URL is stripped)."""
    url = re.search(r"https://testserver\.example(/\S+)", message.body)
    assert url, message.body
    return url.group(1)


def secret_of(path):
    return path.rstrip("/").rsplit("/", 1)[1]


def open_link(client, email="user@example.com"):
    """Request a reset, open the mailed link; return (secret, response of the link)."""
    request_reset(client, email)
    path = link_path(mail.outbox[-1])
    return secret_of(path), client.get(path)


def set_password(client, password=NEW_PASSWORD, confirm=None):
    return client.post(SET, {"new_password1": password, "new_password2": confirm or password})


def comparable(response):
    """Status, headers and body: what R-35 says must not differ. ``Date`` and ``Expires``
    (which ``never_cache`` sets to the current time) only tell the clock."""
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("date", "expires")}
    return response.status_code, headers, sorted(response.cookies), response.content


@pytest.fixture
def victim(db):
    return UserFactory(email="user@example.com", is_staff=True)


# --- the request page: no enumeration (R-28, R-35, R-36, R-37, R-38, R-39, R-41) ----------


def test_request_page_renders_the_form_with_no_store_headers(client):
    response = client.get(RESET)

    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert b"csrfmiddlewaretoken" in response.content
    assert "no-store" in response["Cache-Control"]
    # A form page: no-referrer would make browsers send "Origin: null", failing CSRF.
    assert response["Referrer-Policy"] == "same-origin"
    assert b'<meta name="referrer" content="same-origin">' in response.content


def test_invalid_address_shows_a_form_error_and_sends_nothing(client):
    response = request_reset(client, "not an address")

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert mail.outbox == []


@pytest.mark.parametrize(
    "case", ["unknown", "inactive", "unusable_password", "rate_limited", "mail_failure"]
)
def test_every_kind_of_address_gets_the_known_address_response(client, settings, victim, case):
    known = comparable(request_reset(Client(), "user@example.com"))
    assert known[0] == 302 and known[1]["Location"] == SENT
    email = "someone@example.com"
    if case == "inactive":
        UserFactory(email=email, is_active=False)
    elif case == "unusable_password":
        UserFactory(email=email, password=None).set_unusable_password()
    elif case == "rate_limited":
        UserFactory(email=email)
        request_reset(Client(), email)
    elif case == "mail_failure":
        UserFactory(email=email)
        use_mail_backend(settings, "tests.mailbackends.FailingBackend")
    outbox_before = len(mail.outbox)

    assert comparable(request_reset(Client(), email)) == known
    assert len(mail.outbox) == outbox_before  # no mail to unknown or ineligible addresses


def test_unusable_password_user_gets_no_mail(client):
    user = UserFactory(email="nopass@example.com")
    user.set_unusable_password()
    user.save()

    request_reset(client, "nopass@example.com")

    assert mail.outbox == []


def test_request_path_does_no_database_work(client, settings, victim, django_assert_num_queries):
    # With the default sender the job waits for commit, which never comes inside a test
    # transaction: what remains is the request path itself, and it is the same for both.
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": tasks.name_of(tasks.run_in_thread),
    }
    for email in ("user@example.com", "nobody@example.com"):
        with django_assert_num_queries(0):
            assert request_reset(client, email).status_code == 302


def test_reset_request_changes_nothing_on_the_account(client, victim, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_RATE_PER_EMAIL": [(100, 60)]}
    before = model_to_dict(victim)

    for _ in range(10):
        request_reset(client, "user@example.com")

    victim.refresh_from_db()
    assert model_to_dict(victim) == before
    assert victim.check_password("correct horse battery staple")


def test_per_address_limit_one_per_minute_identical_answers(victim):
    responses = [
        comparable(request_reset(Client(), email))
        for email in ["user@example.com", "ghost@example.com"] * 10
    ]

    assert len(set(map(repr, responses))) == 1
    assert len(mail.outbox) == 1


def test_per_address_limit_five_per_hour(victim, settings):
    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "PASSWORD_RESET_RATE_PER_EMAIL": [(100, 60), (5, 3600)],
    }
    for _ in range(7):
        request_reset(Client(), "user@example.com")

    assert len(mail.outbox) == 5


def test_per_address_limit_counts_case_and_unicode_variants_together(victim):
    request_reset(Client(), "user@example.com")
    request_reset(Client(), "USER@EXAMPLE.COM")

    assert len(mail.outbox) == 1


def test_per_ip_limit_on_requests_is_silent(client):
    users = [UserFactory() for _ in range(21)]
    responses = {repr(comparable(request_reset(client, user.email))) for user in users}

    assert len(responses) == 1
    assert len(mail.outbox) == 20


def test_rotating_x_forwarded_for_does_not_escape_the_ip_limit(client):
    users = [UserFactory() for _ in range(21)]
    for n, user in enumerate(users):
        request_reset(client, user.email, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert len(mail.outbox) == 20


def test_trusted_proxy_count_reads_the_forwarded_address(client, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "TRUSTED_PROXY_COUNT": 1}
    users = [UserFactory() for _ in range(21)]
    for n, user in enumerate(users):
        request_reset(client, user.email, HTTP_X_FORWARDED_FOR=f"198.51.100.7, 203.0.113.{n}")

    assert len(mail.outbox) == 21


@pytest.mark.parametrize(
    "submitted", ["USER@EXAMPLE.COM", "User@Example.com", "vıctim@example.com"]
)
def test_mail_goes_only_to_the_stored_address(submitted):
    UserFactory(email="user@example.com")
    UserFactory(email="victim@example.com")

    request_reset(Client(), submitted)

    for message in mail.outbox:
        assert message.to in (["user@example.com"], ["victim@example.com"])
        assert message.to != [submitted]
    if "ı" in submitted:  # dotless i: equal to "victim" under SQL UPPER(), not under casefold
        assert mail.outbox == []


# --- the mail (R-45, R-49, R-69) ----------------------------------------------------------


def test_mail_has_one_recipient_text_and_html_and_no_secret_in_the_subject(client, victim):
    request_reset(client, "user@example.com")

    (message,) = mail.outbox
    assert message.to == ["user@example.com"] and message.cc == [] and message.bcc == []
    assert not TOKEN_LIKE.search(message.subject)
    path = link_path(message)
    assert message.body.count(secret_of(path)) == 1
    html = message.alternatives[0][0]
    assert f'href="https://testserver.example{path}"' in html
    urls = re.findall(r"https?://[^\s\"'<>]+", message.body + html)
    assert {url.split("/")[2] for url in urls} == {"testserver.example"}  # no redirector


def test_links_ignore_a_poisoned_host_header(client, settings, victim):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    settings.USE_X_FORWARDED_HOST = True

    request_reset(
        client, "user@example.com", HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example"
    )

    assert "https://testserver.example/accounts/reset/" in mail.outbox[0].body
    assert "evil.example" not in mail.outbox[0].body


def test_without_base_url_links_use_the_validated_host_never_x_forwarded_host(
    client, settings, victim
):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "BASE_URL": None}
    settings.ALLOWED_HOSTS = ["good.example", "evil.example"]
    settings.USE_X_FORWARDED_HOST = True

    request_reset(
        client, "user@example.com", HTTP_HOST="good.example", HTTP_X_FORWARDED_HOST="evil.example"
    )

    assert "https://good.example/accounts/reset/" in mail.outbox[0].body
    assert "evil.example" not in mail.outbox[0].body


def test_host_outside_allowed_hosts_is_refused_for_every_address(settings, victim):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "BASE_URL": None}
    settings.ALLOWED_HOSTS = ["good.example"]

    for email in ("user@example.com", "ghost@example.com"):
        assert request_reset(Client(), email, HTTP_HOST="evil.example").status_code == 400
    assert mail.outbox == []


# --- the link (R-15, R-21, R-38, R-42, R-43, R-44) ----------------------------------------


def test_link_moves_the_token_into_a_session_reference_and_out_of_the_url(client, victim):
    secret, response = open_link(client)

    assert response.status_code == 302
    assert response["Location"] == SET
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    stored = json.dumps(dict(client.session.items()))
    for part in (secret, secret[16:], secret[:16], secret[16:40]):
        assert part not in stored
        assert part not in client.session.session_key
    assert set(client.session[SESSION_KEY]) == {"pk", "reference"}

    page = client.get(SET)
    assert page.status_code == 200
    assert secret[16:] not in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"  # a form page whose URL has no secret
    assert "no-store" in page["Cache-Control"]


def test_get_never_consumes(client, victim):
    secret, _ = open_link(client)
    token = SecureToken.objects.get()
    path = reverse("securetokens:password_reset_confirm", kwargs={"token": secret})
    for _ in range(3):  # a mail scanner
        Client().get(path)

    token.refresh_from_db()
    assert token.used_at is None
    fresh = Client()
    assert fresh.get(path).status_code == 302
    assert set_password(fresh)["Location"] == COMPLETE


@pytest.mark.parametrize(
    "suffix",
    [
        "%00",
        "%0a",
        "%ZZ",
        "%ED%B2%80",
        "é" * 59,
        "A" * 10_000,
        "a/b/c",
        "0" * 16 + "A" * 43,
        "None",
    ],
)
def test_bad_input_in_the_url_gets_the_invalid_link_page(client, suffix):
    expected = client.get(reverse("securetokens:password_reset_confirm", kwargs={"token": "x"}))

    response = client.get(f"/accounts/reset/{suffix}/")

    assert response.status_code == 200
    assert response.content == expected.content
    assert b"invalid or has expired" in response.content
    assert b"<form" not in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    assert b'<meta name="referrer" content="no-referrer">' in response.content
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "how",
    ["used", "expired", "revoked", "superseded", "inactive", "password_changed", "wrong_purpose"],
)
def test_dead_tokens_get_the_same_invalid_link_page(client, victim, how):
    unknown = client.get("/accounts/reset/" + "0" * 16 + "A" * 43 + "/")
    purpose = "email_verification" if how == "wrong_purpose" else "password_reset"
    token, secret = SecureToken.objects.issue(victim, purpose=purpose)
    if how == "used":
        SecureToken.objects.use(token)
    elif how == "expired":
        SecureToken.objects.filter(pk=token.pk).update(expires_at=token.created_at)
    elif how == "revoked":
        token.revoke()
    elif how == "superseded":
        SecureToken.objects.issue(victim, purpose="password_reset")
    elif how == "inactive":
        type(victim).objects.filter(pk=victim.pk).update(is_active=False)
    elif how == "password_changed":
        victim.set_password("changed elsewhere 123")
        victim.save()

    response = client.get(reverse("securetokens:password_reset_confirm", kwargs={"token": secret}))

    assert comparable(response) == comparable(unknown)
    assert SESSION_KEY not in client.session


def test_per_ip_limit_on_links_answers_429(client):
    path = "/accounts/reset/" + "0" * 16 + "A" * 43 + "/"
    for _ in range(20):
        assert client.get(path).status_code == 200

    response = client.get(path, HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert response.status_code == 429
    assert b"<form" not in response.content
    assert "no-store" in response["Cache-Control"]


def test_set_password_page_without_a_reference_is_the_invalid_link_page(client):
    response = client.get(SET)

    assert response.status_code == 200
    assert b"invalid or has expired" in response.content
    assert b"new_password1" not in response.content


def test_a_forged_or_stale_reference_is_refused(client, victim):
    open_link(client)
    session = client.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "reference": "0" * 64}
    session.save()

    assert b"invalid or has expired" in client.get(SET).content
    assert SESSION_KEY not in client.session


def test_token_in_the_query_string_is_ignored(client, victim):
    request_reset(client, "user@example.com")
    secret = secret_of(link_path(mail.outbox[0]))

    response = client.post(
        f"{SET}?token={secret}", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert b"invalid or has expired" in response.content
    assert SecureToken.objects.get().used_at is None


# --- setting the password (R-16, R-18, R-19, R-25, R-29, R-46, R-47, R-48) ----------------


def test_full_flow_sets_the_password_consumes_the_token_and_notifies(client, victim):
    secret, _ = open_link(client)

    response = set_password(client)

    assert response.status_code == 302 and response["Location"] == COMPLETE
    victim.refresh_from_db()
    assert victim.check_password(NEW_PASSWORD)
    assert SecureToken.objects.get().used_at is not None
    assert SESSION_KEY not in client.session
    notification = mail.outbox[-1]
    assert notification.to == ["user@example.com"]
    assert "changed" in notification.subject
    text = notification.body + notification.alternatives[0][0]
    assert not TOKEN_LIKE.search(text)
    assert NEW_PASSWORD not in text and secret[16:] not in text
    complete = client.get(COMPLETE)
    assert complete.status_code == 200 and b"/accounts/login/" in complete.content
    # The link is dead now.
    assert b"invalid" in Client().get(f"/accounts/reset/{secret}/").content


def test_no_auto_login_and_other_sessions_end(client, victim):
    browser_a, browser_b = Client(), Client()
    browser_a.force_login(victim)
    browser_b.force_login(victim)
    assert browser_a.get("/admin/").status_code == 200

    open_link(client)
    set_password(client)

    assert "_auth_user_id" not in client.session
    for browser in (browser_a, browser_b):
        response = browser.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_reset_in_a_browser_logged_in_as_the_user_logs_it_out(client, victim):
    client.force_login(victim)
    open_link(client)

    set_password(client)

    assert client.get("/admin/").status_code == 302


def test_post_reset_login_is_opt_in_and_rotates_the_session_key(client, victim, monkeypatch):
    monkeypatch.setattr(PasswordResetSetView, "post_reset_login", True)
    open_link(client)
    before = client.session.session_key

    set_password(client)

    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_mismatched_and_weak_passwords_are_form_errors_and_keep_the_token(
    client, victim, settings
):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 12},
        }
    ]
    open_link(client)

    mismatch = set_password(client, NEW_PASSWORD, "something else entirely")
    weak = set_password(client, "short1")

    for response in (mismatch, weak):
        assert response.status_code == 200
        assert b"errorlist" in response.content
    assert SecureToken.objects.get().used_at is None
    assert set_password(client)["Location"] == COMPLETE


def test_failure_while_saving_rolls_back_and_leaves_the_token_unused(client, victim, monkeypatch):
    open_link(client)

    def broken_save(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(get_user_model(), "save", broken_save)
    with pytest.raises(DatabaseError):
        set_password(client)
    monkeypatch.undo()

    assert SecureToken.objects.get().used_at is None
    victim.refresh_from_db()
    assert victim.check_password("correct horse battery staple")
    assert set_password(client)["Location"] == COMPLETE


def test_losing_the_race_gets_the_invalid_link_page(client, victim, monkeypatch):
    open_link(client)

    def lost(token):
        raise UsedToken("lost a race")

    monkeypatch.setattr(SecureToken.objects, "use", lost)
    response = set_password(client)

    assert b"invalid or has expired" in response.content
    victim.refresh_from_db()
    assert victim.check_password("correct horse battery staple")


def test_user_deactivated_after_opening_the_link_cannot_set_a_password(client, victim):
    open_link(client)
    type(victim).objects.filter(pk=victim.pk).update(is_active=False)

    response = set_password(client)

    assert b"invalid or has expired" in response.content
    assert SecureToken.objects.get().used_at is None


def test_other_reset_tokens_of_the_user_are_revoked(client, victim):
    open_link(client)
    code, _ = SecureToken.objects.issue_code(user=victim, purpose="password_reset")

    set_password(client)

    code.refresh_from_db()
    assert code.revoked_at is not None


def test_csrf_is_enforced_on_both_forms(victim):
    browser = Client(enforce_csrf_checks=True)
    assert request_reset(browser, "user@example.com").status_code == 403
    assert mail.outbox == []
    assert browser.post(SET, {"new_password1": "x", "new_password2": "x"}).status_code == 403


def test_passwords_are_hidden_from_error_reports(client, victim, monkeypatch):
    open_link(client)
    request = RequestFactory().post(
        SET, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    request.session = client.session
    request.user = AnonymousUser()
    request._dont_enforce_csrf_checks = True

    def broken(self, commit=True):
        raise RuntimeError("boom")

    monkeypatch.setattr(SetPasswordForm, "save", broken)
    with pytest.raises(RuntimeError):
        PasswordResetSetView.as_view()(request)
    report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()

    assert request.sensitive_post_parameters == "__ALL__"
    assert NEW_PASSWORD not in report
    assert "new_password1" in report and "********************" in report


def test_completed_signal_carries_user_and_request(client, victim):
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    signals.password_reset_completed.connect(receiver)
    try:
        open_link(client)
        set_password(client)
    finally:
        signals.password_reset_completed.disconnect(receiver)

    ((sender, kwargs),) = received
    assert sender is PasswordResetSetView
    assert kwargs["user"] == victim and kwargs["request"].path == SET


def test_issued_signal_carries_user_and_token(client, victim):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.password_reset_issued.connect(receiver)
    try:
        request_reset(client, "user@example.com")
    finally:
        signals.password_reset_issued.disconnect(receiver)

    ((kwargs),) = received
    assert kwargs["user"] == victim and kwargs["token"] == SecureToken.objects.get()
    assert "request" not in kwargs


# --- pages carry nothing third-party (R-49) -----------------------------------------------


def test_pages_load_nothing_from_other_origins(client, victim):
    pages = [client.get(RESET), client.get(SENT), client.get("/accounts/reset/x/")]
    _, link = open_link(client)
    pages += [client.get(SET)]
    set_password(client)
    pages += [client.get(COMPLETE)]

    for page in pages:
        html = page.content.decode()
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), html
        assert "<script" not in html


# --- logs (R-65, R-67) --------------------------------------------------------------------


def test_logs_record_events_without_secrets_or_addresses(client, victim, caplog):
    caplog.set_level(logging.DEBUG)
    secret, _ = open_link(client)
    set_password(client)
    client.get("/accounts/reset/" + "0" * 16 + "A" * 43 + "/")
    request_reset(client, "user@example.com")  # suppressed: one per minute

    text = "\n".join(record.getMessage() for record in caplog.records)
    for leak in (secret, secret[16:], "user@example.com", NEW_PASSWORD):
        assert leak not in text
    ours = [r.getMessage() for r in caplog.records if r.name == "django_securetokens"]
    assert any(m.startswith("Password reset requested for ") and "127.0.0.1" in m for m in ours)
    assert f"Password reset link sent to user {victim.pk}" in ours
    assert f"Password reset completed for user {victim.pk} from 127.0.0.1" in ours
    assert "Invalid password reset link opened from 127.0.0.1" in ours
    assert any("suppressed by a rate limit" in m for m in ours)


def test_send_failure_is_logged_by_user_pk_only(client, victim, settings, caplog):
    use_mail_backend(settings, "tests.mailbackends.FailingBackend")
    caplog.set_level(logging.DEBUG)

    request_reset(client, "user@example.com")

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        f"Failed to send security email to user {victim.pk}"
    ]
    assert "user@example.com" not in caplog.text
    assert "/accounts/reset/" not in caplog.text


# --- concurrency (R-18) -------------------------------------------------------------------


@server_database_only()
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_link_succeed_once():
    user = UserFactory(email="race@example.com")
    _, secret = SecureToken.objects.issue(user, purpose="password_reset")
    browsers = [Client() for _ in range(8)]
    for browser in browsers:
        assert browser.get(f"/accounts/reset/{secret}/").status_code == 302
    barrier = threading.Barrier(len(browsers))
    results = {}

    def attempt(n, browser):
        try:
            barrier.wait()
            password = f"racing password number {n}"
            response = set_password(browser, password)
            results[n] = (response.status_code, response.get("Location"), password)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n, b)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [r for r in results.values() if r[1] == COMPLETE]
    assert len(winners) == 1
    user.refresh_from_db()
    assert user.check_password(winners[0][2])
    assert len([m for m in mail.outbox if "changed" in m.subject]) == 1


def test_confirm_view_is_get_only(client):
    assert client.post("/accounts/reset/x/").status_code == 405
    assert PasswordResetConfirmView.http_method_names


# --- defensive branches -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["confirm", "set"])
def test_an_ineligible_user_is_refused_even_with_a_live_token(client, victim, monkeypatch, where):
    # The engine already kills tokens when the password, email or active flag changes; the
    # views check eligibility again so that a custom policy cannot be bypassed.
    from django_securetokens.flows import password_reset

    request_reset(client, "user@example.com")
    path = link_path(mail.outbox[0])
    if where == "set":
        client.get(path)
    monkeypatch.setattr(password_reset, "is_eligible", lambda user: False)

    response = client.get(path if where == "confirm" else SET)

    assert b"invalid or has expired" in response.content
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize(
    ("pk", "reference"),
    [("1", "0" * 64), (True, "0" * 64), (None, None), (1, 123), (10**9, "0" * 64)],
)
def test_malformed_session_references_are_refused(client, victim, pk, reference):
    open_link(client)
    session = client.session
    session[SESSION_KEY] = {"pk": pk, "reference": reference}
    session.save()

    assert b"invalid or has expired" in client.get(SET).content


def test_complete_page_without_a_resolvable_login_url(client, settings):
    settings.LOGIN_URL = "no-such-url-name"

    response = client.get(COMPLETE)

    assert response.status_code == 200 and b"Sign in" not in response.content


def test_no_table_session_or_cache_entry_holds_the_secret_at_any_step(client, victim):
    from django.contrib.sessions.models import Session

    from .test_storage import dump_cells, encodings

    def everything():
        cells = dump_cells()
        cells += [json.dumps(s.get_decoded()) for s in Session.objects.all()]
        cells += [f"{key}{value!r}" for key, value in cache_entries()]
        return "\n".join(cells)

    request_reset(client, "user@example.com")
    secret = secret_of(link_path(mail.outbox[0]))
    needles = encodings(secret) | encodings(secret[16:])
    after_request = everything()
    client.get(f"/accounts/reset/{secret}/")
    after_link = everything()
    set_password(client)
    after_reset = everything()

    for dump in (after_request, after_link, after_reset):
        assert not [n for n in needles if n in dump]
