"""The HTTP flow of email verification: by code and by link, signed in or before sign-up."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from django_securetokens.flows.common import format_code
from django_securetokens.models import SecureToken
from django_securetokens.sessions import VERIFICATION_SESSION_KEY as SESSION_KEY
from django_securetokens.views.email_verification import EmailVerificationCodeView
from django_securetokens.views.email_verification_confirm import EmailVerificationConfirmView

from .conftest import failure_report, mailed_code_and_link, slot_of, use_fresh_cache
from .factories import UserFactory

# The clock stands still so that no rate-limit window can roll over in the middle of a
# test that counts up to a limit.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

START = reverse("securetokens:email_verification")
CODE = reverse("securetokens:email_verification_code")
COMPLETE = reverse("securetokens:email_verification_complete")


def confirm_url(secret):
    return reverse("securetokens:email_verification_confirm", kwargs={"token": secret})


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def started(signed_in):
    """A signed-in client that asked for a verification mail: ``(client, code, link)``."""
    signed_in.post(START)
    return (signed_in, *mailed_code_and_link(mail.outbox[-1]))


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


# --- asking for the mail -------------------------------------------------------------------


def test_start_needs_a_signed_in_user(client):
    assert client.get(START).status_code == 302
    response = client.post(START)
    assert response.status_code == 302 and "login" in response["Location"]
    assert mail.outbox == []


def test_start_page_shows_a_button_and_sends_nothing(signed_in, user):
    response = signed_in.get(START)

    assert response.status_code == 200
    assert user.email in response.content.decode()
    assert mail.outbox == [] and not SecureToken.objects.exists()


def test_post_mails_one_code_and_one_link_to_the_users_address(signed_in, user):
    response = signed_in.post(START)

    assert response.status_code == 302 and response["Location"] == CODE
    [message] = mail.outbox
    assert message.to == [user.email] and not message.cc and not message.bcc
    code, link = mailed_code_and_link(message)
    assert re.fullmatch(r"[0-9]{6}", code)
    assert format_code(code) in message.alternatives[0][0]  # the HTML part shows it too
    assert code not in message.subject and code[:3] not in message.subject
    assert link in message.alternatives[0][0]
    kinds = SecureToken.objects.live().filter(user=user, purpose="email_verification")
    assert sorted(kinds.values_list("kind", flat=True)) == ["code", "link"]
    assert set(kinds.values_list("email", flat=True)) == {user.email}


def test_user_without_an_address_gets_no_mail(client):
    user = UserFactory(email="")
    client.force_login(user)

    response = client.post(START)

    assert response.status_code == 200
    assert mail.outbox == []


def test_session_holds_the_identity_never_a_secret(started, user):
    client, code, link = started
    secret = link.rsplit("/", 2)[1]

    pending = client.session[SESSION_KEY]
    assert pending == {
        "purpose": "email_verification",
        "email": user.email,
        "user": str(user.pk),
        "next": None,
        # When this session asked, and whether its request issued the code: no secret.
        "asked": [int(time.time())],
        "issued": True,
    }
    stored = "".join(Session.objects.values_list("session_data", flat=True))
    decoded = str(dict(client.session.items()))
    for value in (code, format_code(code), secret, secret[16:]):
        assert value not in stored and value not in decoded


# --- the code page --------------------------------------------------------------------------


def test_code_page_headers(started):
    client, code, _ = started
    for response in (client.get(CODE), client.post(CODE, {"code": wrong(code)})):
        # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with
        # the form's POST and Django's CSRF check refuses it. No other site gets a Referer.
        assert response["Referrer-Policy"] == "same-origin"
        assert b'<meta name="referrer" content="same-origin">' in response.content
        assert "no-store" in response["Cache-Control"]


def test_right_code_verifies_and_sends_the_signal(started, user, verified_events):
    client, code, _ = started

    response = client.post(CODE, {"code": code})

    assert response.status_code == 302 and response["Location"] == COMPLETE
    [event] = verified_events
    assert event["sender"] is EmailVerificationCodeView
    assert event["user"] == user and event["email"] == user.email
    assert event["request"].path == CODE
    assert SESSION_KEY not in client.session
    # The link from the same mail is spent too, and the failure count is back to zero.
    assert not SecureToken.objects.live().filter(user=user).exists()
    assert slot_of(user, "email_verification").failures == 0
    assert client.get(COMPLETE).status_code == 200


def test_code_works_only_once(started, verified_events):
    client, code, _ = started
    client.post(CODE, {"code": code})

    response = client.post(CODE, {"code": code})

    assert response.status_code == 200 and len(verified_events) == 1


def test_wrong_code_renders_a_generic_error_and_counts(started, user, verified_events):
    client, code, _ = started

    response = client.post(CODE, {"code": wrong(code)})

    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert SecureToken.objects.get(kind="code").attempts == 1
    assert slot_of(user, "email_verification").failures == 1
    assert verified_events == []


@pytest.mark.parametrize("spelling", ["{0} {1}", "{0}-{1}", " {0}{1} ", "{0} - {1}"])
def test_spaces_and_hyphens_are_accepted(started, spelling, verified_events):
    client, code, _ = started

    response = client.post(CODE, {"code": spelling.format(code[:3], code[3:])})

    assert response.status_code == 302 and len(verified_events) == 1


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "transform",
    [
        lambda c: c.translate(ARABIC_INDIC),
        lambda c: c.translate(FULLWIDTH),
        lambda c: c[:5] + c[5].translate(FULLWIDTH),
        lambda c: c + "\0",
        lambda c: c.replace(c[0], "é", 1),
        lambda c: c + "😀",
        lambda c: c * 2000,
        lambda c: c[:5],
        lambda c: "\t".join(c),
    ],
    ids=[
        "arabic-indic",
        "fullwidth",
        "last-fullwidth",
        "nul",
        "accent",
        "emoji",
        "long",
        "short",
        "tabs",
    ],
)
def test_exotic_digits_and_hostile_input_fail_generically_and_count(started, transform):
    """R-34, T-34, T-70, T-71: only ASCII digits pass, and every such try is an attempt."""
    client, code, _ = started

    response = client.post(CODE, {"code": transform(code)})

    assert response.status_code == 200
    assert "This code is not valid" in response.content.decode()
    assert SecureToken.objects.get(kind="code").attempts == 1


def test_empty_code_is_a_form_error_not_an_attempt(started):
    client, _, _ = started

    response = client.post(CODE, {"code": "  "})

    assert response.status_code == 200
    assert SecureToken.objects.get(kind="code").attempts == 0


def test_five_wrong_codes_kill_the_code(started, verified_events, settings):
    """T-32: the sixth try fails even with the right code; a new code works."""
    client, code, _ = started
    for _ in range(5):
        client.post(CODE, {"code": wrong(code)})

    assert client.post(CODE, {"code": code}).status_code == 200
    assert verified_events == []

    mail.outbox.clear()
    use_fresh_cache(settings)  # stands for the resend cooldown running out
    client.post(START, {"resend": "1"})
    new_code, _ = mailed_code_and_link(mail.outbox[-1])
    assert client.post(CODE, {"code": new_code}).status_code == 302


def test_failure_cap_spans_codes_and_the_link_still_works(
    started, user, verified_events, settings
):
    """T-33: 4 codes × 5 wrong guesses, then even a fresh right code fails; the link works."""
    client, code, _ = started
    for _round in range(4):
        for _ in range(5):
            client.post(CODE, {"code": wrong(code)})
        use_fresh_cache(settings)  # the per-address and per-IP limits: this is about the cap
        client.post(START, {"resend": "1"})
        code, link = mailed_code_and_link(mail.outbox[-1])
    assert slot_of(user, "email_verification").failures == 20

    assert client.post(CODE, {"code": code}).status_code == 200
    assert verified_events == []

    # The 256-bit link is not capped, and success resets the cap.
    assert client.post(link).status_code == 302
    assert len(verified_events) == 1
    assert slot_of(user, "email_verification").failures == 0
    use_fresh_cache(settings)
    client.post(START)
    code, _ = mailed_code_and_link(mail.outbox[-1])
    assert client.post(CODE, {"code": code}).status_code == 302


def test_code_is_tied_to_the_session_that_asked(started, user, verified_events):
    """T-31: the same code from another browser, or for another account, fails."""
    _, code, _ = started

    stranger = Client()
    assert stranger.post(CODE, {"code": code}).status_code == 200
    other = UserFactory()
    stranger.force_login(other)
    assert (
        stranger.post(CODE, {"code": code, "email": user.email, "user": user.pk}).status_code
        == 200
    )
    assert verified_events == []
    assert SecureToken.objects.get(kind="code").attempts == 0


def test_pending_of_another_account_is_ignored_after_switching_users(started, verified_events):
    client, code, _ = started
    # A different account in the same browser (login() keeps the session data when the
    # session was not authenticated as someone else, so force the worst case).
    session = client.session
    pending = session[SESSION_KEY]
    client.force_login(UserFactory())
    session = client.session
    session[SESSION_KEY] = pending
    session.save()

    response = client.post(CODE, {"code": code})

    assert response.status_code == 200 and verified_events == []
    assert "There is no verification waiting" in response.content.decode()


def test_code_page_without_pending_verification(client):
    response = client.get(CODE)

    assert response.status_code == 200
    assert "There is no verification waiting" in response.content.decode()
    assert client.post(CODE, {"code": "123456"}).status_code == 200


def test_code_submissions_are_limited_per_ip(started, verified_events):
    """R-38, T-38, T-39: 10 per minute per IP, then 429, whatever X-Forwarded-For says."""
    client, code, _ = started
    for i in range(10):
        response = client.post(CODE, {"code": "x"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        assert response.status_code == 200

    response = client.post(CODE, {"code": code}, HTTP_X_FORWARDED_FOR="10.0.1.1")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert response["Referrer-Policy"] == "same-origin"
    assert verified_events == []
    # Another address is judged (and refused: the ten tries above used the code up).
    other_ip = client.post(CODE, {"code": code}, REMOTE_ADDR="192.0.2.7")
    assert other_ip.status_code == 200 and b"This code is used up" in other_ip.content


def test_hostile_bodies_never_cause_a_500(started):
    client, _, _ = started
    for body in ({"code": ["1", "2"]}, {}, {"code": "%00"}, {"code": "1" * 300}):
        assert client.post(CODE, body).status_code == 200


# --- resend and its limits -----------------------------------------------------------------


def test_resend_supersedes_the_old_code(started, settings):
    """R-05, T-05: a new code revokes the old; one live code and one live link remain."""
    client, old_code, old_link = started
    use_fresh_cache(settings)

    client.post(START, {"resend": "1"})

    assert len(mail.outbox) == 2
    new_code, new_link = mailed_code_and_link(mail.outbox[-1])
    assert SecureToken.objects.live().filter(kind="code").count() == 1
    assert SecureToken.objects.live().filter(kind="link").count() == 1
    if new_code != old_code:  # one chance in a million that they are the same
        assert client.post(CODE, {"code": old_code}).status_code == 200
    assert client.post(old_link).status_code == 200  # the invalid page
    assert client.post(CODE, {"code": new_code}).status_code == 302


def test_resend_within_the_cooldown_sends_nothing_and_looks_the_same(started):
    """R-37, T-37: the old code stays valid; the response is identical."""
    client, code, _ = started
    first = client.post(START, {"resend": "1"})

    assert len(mail.outbox) == 1
    assert first.status_code == 302 and first["Location"] == CODE
    assert client.post(CODE, {"code": code}).status_code == 302


@override_settings(
    SECURETOKENS={
        "BASE_URL": "https://testserver.example",
        "EMAIL_VERIFICATION_RATE_PER_EMAIL": ((5, 3600),),
        "EMAIL_VERIFICATION_RATE_PER_REQUESTER": None,  # this test is about the address
        "EMAIL_SENDER": "tests.conftest.run_immediately",
    }
)
def test_at_most_five_mails_per_address_and_hour(signed_in):
    responses = [signed_in.post(START) for _ in range(7)]

    assert len(mail.outbox) == 5
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, CODE)}


def test_cooldown_is_per_address(started):
    client, _, _ = started
    other = UserFactory()
    client.force_login(other)

    client.post(START)

    assert [m.to for m in mail.outbox][-1] == [other.email]


def test_mail_failure_is_logged_by_pk_and_answered_the_same(signed_in, user, caplog, monkeypatch):
    def smtp_down(message, fail_silently=False):
        raise OSError("SMTP down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", smtp_down)
    with caplog.at_level(logging.DEBUG, logger="django_securetokens"):
        response = signed_in.post(START)

    assert response.status_code == 302 and response["Location"] == CODE
    assert f"to user {user.pk}" in caplog.text
    assert user.email not in caplog.text


# --- the link -------------------------------------------------------------------------------


def test_get_of_the_link_shows_a_button_and_changes_nothing(started, verified_events):
    """R-21, T-21: scanners fetch links; only the POST verifies."""
    _, _, link = started
    browser = Client()
    for _ in range(3):
        response = browser.get(link)
        assert response.status_code == 200
        assert b'method="post"' in response.content
        assert response["Referrer-Policy"] == "same-origin"  # see test_code_page_headers
        assert "no-store" in response["Cache-Control"]
    assert SecureToken.objects.get(kind="link").used_at is None
    assert verified_events == []


def test_post_of_the_link_verifies_in_any_browser(started, user, verified_events):
    _, _, link = started

    response = Client().post(link)

    assert response.status_code == 302 and response["Location"] == COMPLETE
    [event] = verified_events
    assert event["sender"] is EmailVerificationConfirmView and event["email"] == user.email
    assert not SecureToken.objects.live().exists()  # the code from the mail is spent too
    assert response["Referrer-Policy"] == "no-referrer"


def test_link_is_single_use(started, verified_events):
    _, _, link = started
    Client().post(link)

    response = Client().post(link)

    assert response.status_code == 200 and b"Invalid or expired link" in response.content
    assert len(verified_events) == 1


def test_link_needs_csrf(started, user):
    _, _, link = started
    strict = Client(enforce_csrf_checks=True)

    assert strict.post(link).status_code == 403
    assert SecureToken.objects.get(kind="link").used_at is None


def invalid_cases(user, link_secret):
    reset = SecureToken.objects.issue(user, purpose="password_reset")[1]
    expired = SecureToken.objects.issue(
        UserFactory(), purpose="email_verification", ttl=timedelta(seconds=1)
    )
    SecureToken.objects.filter(pk=expired[0].pk).update(expires_at=expired[0].created_at)
    revoked = SecureToken.objects.issue(UserFactory(), purpose="email_verification")
    revoked[0].revoke()
    return {
        "garbage": "not-a-token",
        "tampered": link_secret[:-1] + ("A" if link_secret[-1] != "A" else "B"),
        "wrong purpose": reset,
        "expired": expired[1],
        "revoked": revoked[1],
        "uppercased": link_secret.upper(),
        "long": "a" * 5000,
        "non-ascii": "é" * 59,
        "nul": link_secret[:-1] + "\0",
        "percent": "%ZZ",
    }


def test_every_bad_link_gets_the_same_page(started, user):
    """R-15, T-15, T-70: byte-identical answers for every kind of bad link, never a 500."""
    client, _, link = started
    secret = link.rsplit("/", 2)[1]
    bodies = set()
    for name, bad in invalid_cases(user, secret).items():
        for method in (client.get, client.post):
            response = method(confirm_url(bad))
            assert response.status_code == 200, name
            assert response["Referrer-Policy"] == "no-referrer"
            assert "no-store" in response["Cache-Control"]
            bodies.add(response.content)
    assert len(bodies) == 1
    assert b"Invalid or expired link" in bodies.pop()
    assert (
        SecureToken.objects.get(kind="link", user=user, purpose="email_verification").used_at
        is None
    )


def test_link_dies_when_the_address_changes(started, user):
    """T-04: a verification link for the old address fails once the address changed."""
    _, code, link = started
    type(user).objects.filter(pk=user.pk).update(email="changed@example.com")

    assert Client().post(link).status_code == 200
    assert SecureToken.objects.filter(used_at__isnull=False).count() == 0


def test_confirmations_are_limited_per_ip(started):
    _, _, link = started
    browser = Client()
    for _ in range(20):
        assert browser.get(link).status_code == 200

    response = browser.post(link)

    assert response.status_code == 429
    assert SecureToken.objects.get(kind="link").used_at is None


# --- before the account exists --------------------------------------------------------------


def test_signup_verifies_the_address_by_code(client, verified_events):
    response = client.post(reverse("signup"), {"email": "New.Person@Example.com"})
    assert response["Location"] == CODE
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    code, _ = mailed_code_and_link(message)
    token = SecureToken.objects.get(kind="code")
    assert token.user is None and token.email == "new.person@example.com"

    response = client.post(CODE, {"code": code})

    assert response["Location"] == reverse("signup_account")
    [event] = verified_events
    assert event["user"] is None and event["email"] == "new.person@example.com"
    response = client.post(
        reverse("signup_account"),
        {
            "username": "newperson",
            "password1": "a-long pass phrase",
            "password2": "a-long pass phrase",
        },
    )
    assert response["Location"] == reverse("signup_done")
    assert (
        b"newperson: new.person@example.com is verified"
        in client.get(response["Location"]).content
    )
    # The proof served one account; it is gone now.
    assert client.get(reverse("signup_account"))["Location"] == reverse("signup")


def test_signup_link_works_in_another_browser_and_goes_on_there(client, verified_events):
    client.post(reverse("signup"), {"email": "someone@example.com"})
    _, link = mailed_code_and_link(mail.outbox[-1])
    other = Client()

    response = other.post(link)

    assert response["Location"] == reverse("signup_account")
    assert b"Verified address: someone@example.com" in other.get(response["Location"]).content
    assert verified_events[0]["user"] is None


def test_signup_account_step_needs_a_proof(client):
    assert client.get(reverse("signup_account"))["Location"] == reverse("signup")


def test_proof_expires_after_an_hour(client, time_machine):
    client.post(reverse("signup"), {"email": "someone@example.com"})
    code, _ = mailed_code_and_link(mail.outbox[-1])
    client.post(CODE, {"code": code})
    assert client.get(reverse("signup_account")).status_code == 200

    time_machine.move_to(timezone.now(), tick=False)
    time_machine.shift(timedelta(hours=1, seconds=1))

    assert client.get(reverse("signup_account")).status_code == 302


def test_a_code_for_an_address_does_not_verify_an_account(client, user):
    """The address-bound secrets and the account-bound ones are separate owners (R-04)."""
    client.post(reverse("signup"), {"email": user.email})
    code, _ = mailed_code_and_link(mail.outbox[-1])
    client.force_login(user)

    # The pending identity is the bare address, so the code works, but for user None.
    assert SecureToken.objects.get(kind="code").user is None
    assert SecureToken.objects.verify_code(code, "email_verification", email=user.email)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any TokenError
        SecureToken.objects.verify_code(code, "email_verification", user=user, email=user.email)


def test_unsafe_next_url_is_ignored(client, rf):
    from django.contrib.sessions.backends.db import SessionStore

    from django_securetokens.sessions import start_email_verification

    request = rf.post("/")
    request.session = SessionStore()
    start_email_verification(request, "x@example.com", next_url="https://evil.example/")
    request.session.save()
    client.cookies["sessionid"] = request.session.session_key
    code, link = mailed_code_and_link(mail.outbox[-1])

    assert client.post(CODE, {"code": code})["Location"] == COMPLETE


def test_an_email_change_needs_a_user(rf):
    from django.contrib.sessions.backends.db import SessionStore

    from django_securetokens.sessions import start_email_verification

    request = rf.post("/")
    request.session = SessionStore()
    with pytest.raises(ValueError, match="needs the user"):
        start_email_verification(request, "x@example.com", purpose="email_change")
    assert mail.outbox == [] and not request.session.keys()


def test_secrets_never_reach_the_logs(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post(reverse("signup"), {"email": "someone@example.com"})
        code, link = mailed_code_and_link(mail.outbox[-1])
        client.post(CODE, {"code": wrong(code)})
        client.post(link)
    secret = link.rsplit("/", 2)[1]
    assert caplog.records  # the flow does log
    for value in (code, secret, secret[16:], "someone@example.com"):
        assert value not in caplog.text


@override_settings(
    SECURETOKENS={"BASE_URL": "https://testserver.example", "TRUSTED_PROXY_COUNT": 1}
)
def test_behind_a_trusted_proxy_the_limit_follows_the_address_it_saw(started):
    """R-39: only the proxy's entry counts; what the client prepends is ignored."""
    client, _, _ = started
    for i in range(10):
        forwarded = f"203.0.113.{i}, 198.51.100.7"
        assert client.post(CODE, {"code": "x"}, HTTP_X_FORWARDED_FOR=forwarded).status_code == 200

    throttled = client.post(CODE, {"code": "x"}, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    other = client.post(CODE, {"code": "x"}, HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert (throttled.status_code, other.status_code) == (429, 200)


def test_link_used_by_another_request_meanwhile(started, monkeypatch, verified_events):
    """The confirm POST verifies, then another request wins the use: the invalid page."""
    _, _, link = started
    stale = SecureToken.objects.get(kind="link")
    SecureToken.objects.filter(pk=stale.pk).update(used_at=stale.created_at)
    monkeypatch.setattr(SecureToken.objects, "verify", lambda secret, purpose: stale)

    response = Client().post(link)

    assert response.status_code == 200 and b"Invalid or expired link" in response.content
    assert verified_events == []


def test_error_reports_hide_the_new_secrets(rf, user, monkeypatch):
    """R-46, T-46: a failure after issuing shows neither the code nor the link's secret."""
    from django.contrib.sessions.backends.db import SessionStore

    from django_securetokens.flows import _proof
    from django_securetokens.sessions import start_email_verification

    def broken_template(*args, **kwargs):
        raise RuntimeError("template broke")

    monkeypatch.setattr(_proof, "render_email", broken_template)
    request = rf.post(START)
    request.session, request.user = SessionStore(), user
    report = failure_report(lambda: start_email_verification(request, user.email, user), request)
    frames = report["frames"]

    # The mail job issues and mails the secrets; here it ran in the request (mail_now).
    [frame] = [f for f in frames if f["function"] == "send_proof"]
    shown = dict(frame["vars"])
    for name in ("secret", "code", "context"):
        assert shown[name] == "'********************'", name
    assert shown["email"] == repr(user.email)  # the rest is kept
