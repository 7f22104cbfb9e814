"""Password reset by a mailed code on the HTML pages (PASSWORD_RESET_METHOD), and the new
session key every accepted link or code gives the browser (R-78)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from django_securetokens.models import SecureToken
from django_securetokens.sessions import RESET_EMAIL_SESSION_KEY, RESET_SESSION_KEY

from .conftest import failure_report, mailed_code_and_link
from .factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("mail_now", "fresh_cache", "frozen_clock"),
]

RESET = reverse("securetokens:password_reset")
SENT = reverse("securetokens:password_reset_sent")
CODE = reverse("securetokens:password_reset_code")
SET = reverse("securetokens:password_reset_set")
COMPLETE = reverse("securetokens:password_reset_complete")
NEW = "a brand new passphrase 42"


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture(params=["code", "both"])
def by_code(request, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": request.param}
    return request.param


def mailed_code(message):
    return "".join(re.search(r"\b(\d{3}) (\d{3})\b", message.body).groups())


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def test_code_page_is_off_while_the_method_is_link(client):
    assert client.get(CODE).status_code == 404
    client.post(RESET, {"email": "alice@example.com"})
    assert RESET_EMAIL_SESSION_KEY not in client.session  # nothing written for it either


def test_reset_by_code_end_to_end(client, alice, by_code):
    response = client.post(RESET, {"email": "alice@example.com"})
    assert response["Location"] == SENT
    assert client.session[RESET_EMAIL_SESSION_KEY] == "alice@example.com"
    sent = client.get(SENT).content.decode()
    assert f'href="{CODE}"' in sent
    code = mailed_code(mail.outbox[0])

    page = client.get(CODE)
    assert page.status_code == 200 and "alice@example.com" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    response = client.post(CODE, {"code": code[:3] + " " + code[3:]})

    assert response.status_code == 302 and response["Location"] == SET
    assert RESET_EMAIL_SESSION_KEY not in client.session
    assert set(client.session[RESET_SESSION_KEY]) == {"pk", "reference"}
    response = client.post(SET, {"new_password1": NEW, "new_password2": NEW})
    assert response["Location"] == COMPLETE
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert not SecureToken.objects.live().exists()


def test_the_session_never_holds_the_code(client, alice, by_code):
    client.post(RESET, {"email": "alice@example.com"})
    code = mailed_code(mail.outbox[0])
    client.post(CODE, {"code": code})

    stored = str(dict(client.session))
    assert code not in stored


def test_unknown_address_and_wrong_code_get_the_same_error(client, alice, by_code):
    other = Client()
    other.post(RESET, {"email": "nobody@example.com"})
    client.post(RESET, {"email": "alice@example.com"})
    code = mailed_code(mail.outbox[0])

    unknown = other.post(CODE, {"code": code})
    wrong_code = client.post(CODE, {"code": wrong(code)})

    for response in (unknown, wrong_code):
        assert response.status_code == 200
        assert "This code is not valid" in response.content.decode()
    assert RESET_SESSION_KEY not in client.session
    assert SecureToken.objects.get(kind="code").attempts == 1


def test_five_wrong_codes_kill_the_code(client, alice, by_code):
    client.post(RESET, {"email": "alice@example.com"})
    code = mailed_code(mail.outbox[0])
    for n in range(5):
        client.post(CODE, {"code": wrong(code)}, REMOTE_ADDR=f"192.0.2.{n}")

    response = client.post(CODE, {"code": code}, REMOTE_ADDR="192.0.2.99")

    assert "This code is not valid" in response.content.decode()
    assert RESET_SESSION_KEY not in client.session


def test_code_submissions_are_limited_per_ip(client, alice, by_code):
    client.post(RESET, {"email": "alice@example.com"})
    code = mailed_code(mail.outbox[0])
    for _ in range(10):
        assert client.post(CODE, {"code": "x"}).status_code == 200

    response = client.post(CODE, {"code": code})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert RESET_SESSION_KEY not in client.session


def test_without_an_address_the_page_says_so(client, by_code):
    response = client.get(CODE)
    assert "no password reset waiting" in response.content.decode()
    assert client.post(CODE, {"code": "123456"}).status_code == 200


@pytest.mark.parametrize("body", [{"code": ""}, {"code": "\x00" * 5}, {"code": "٣" * 6}, {}])
def test_hostile_bodies_are_form_errors(client, alice, by_code, body):
    client.post(RESET, {"email": "alice@example.com"})
    assert client.post(CODE, body).status_code == 200


def test_both_sends_a_link_that_still_works(client, alice, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "PASSWORD_RESET_METHOD": "both"}
    client.post(RESET, {"email": "alice@example.com"})
    path = re.search(r"https://testserver\.example(/accounts/reset/\S+)", mail.outbox[0].body)

    assert client.get(path.group(1))["Location"] == SET


# --- a new session key whenever a link or a code is accepted (R-78) -----------------------


def planted(client):
    """Give *client* a session id chosen in advance, as a fixation attacker would."""
    session = client.session
    session["planted"] = True
    session.save()
    return session.session_key


def test_reset_link_cycles_the_session_key(client, alice):
    key = planted(client)
    client.post(RESET, {"email": "alice@example.com"})
    path = re.search(r"https://testserver\.example(/\S+)", mail.outbox[0].body).group(1)

    client.get(path)

    assert client.session.session_key != key
    assert client.session["planted"] is True  # the data moves on; only the key changes
    # The planted id no longer reaches the reset: it names no session at all now.
    assert b"invalid or has expired" in Client(HTTP_COOKIE=f"sessionid={key}").get(SET).content


def test_reset_code_cycles_the_session_key(client, alice, by_code):
    client.post(RESET, {"email": "alice@example.com"})
    key = client.session.session_key
    client.post(CODE, {"code": mailed_code(mail.outbox[0])})

    assert client.session.session_key != key


@pytest.mark.parametrize("proof", ["code", "link"])
def test_verification_cycles_the_session_key(client, proof):
    client.post(reverse("signup"), {"email": "someone@example.com"})
    key = client.session.session_key
    code, link = mailed_code_and_link(mail.outbox[0])

    if proof == "code":
        client.post(reverse("securetokens:email_verification_code"), {"code": code})
    else:
        client.post(link)

    assert client.session.session_key != key


def test_an_error_report_of_the_code_page_hides_the_code(client, alice, by_code, monkeypatch):
    """R-46: a failure after the code was checked shows it in no frame and no POST data."""
    from django.test import RequestFactory

    from django_securetokens.flows import password_reset
    from django_securetokens.views.password_reset_set import PasswordResetCodeView

    client.post(RESET, {"email": "alice@example.com"})
    code = mailed_code(mail.outbox[0])

    def broken(token):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(password_reset, "reference", broken)
    request = RequestFactory().post(CODE, {"code": code})
    request.session, request.user = client.session, alice
    request._dont_enforce_csrf_checks = True
    data = failure_report(lambda: PasswordResetCodeView.as_view()(request), request)

    # Every frame of the app's code (this test's own frame naturally holds the code).
    ours = [f for f in data["frames"] if "django_securetokens" in f["filename"]]
    assert {f["function"] for f in ours} >= {"form_valid"}
    assert code not in repr([f["vars"] for f in ours])
    assert code not in repr(data["request_meta"]) + repr(data["filtered_POST_items"])
