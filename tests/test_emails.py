"""The mails: what each says, overriding them by path, and the mail-job hook."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from django.core import mail
from django.core.exceptions import DisallowedHost
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from django_securetokens import tasks
from django_securetokens.emails import site_origin
from django_securetokens.flows.password_reset_mail import (
    send_password_changed,
    send_password_reset,
)
from django_securetokens.forms import PasswordResetRequestForm
from django_securetokens.models import SecureToken
from django_securetokens.views.password_reset import PasswordResetView

from .factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mail_now", "fresh_cache")]

RESET = reverse("securetokens:password_reset")

recorded: list[tuple[str, dict]] = []


def record(name, kwargs):
    """An EMAIL_SENDER that only records what a task queue would carry."""
    recorded.append((name, kwargs))


@pytest.fixture
def user(db):
    return UserFactory(username="alice", email="alice@example.com")


def test_reset_mail_text_and_html(user):
    Client().post(RESET, {"email": "alice@example.com"})

    (message,) = mail.outbox
    assert message.subject == "Reset your password on testserver.example"
    assert "Hello alice," in message.body
    assert "expires in 60 minutes" in message.body
    assert "https://testserver.example/accounts/reset/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<a href="https://testserver.example/accounts/reset/' in html
    assert "&amp;" not in message.body  # text parts are not HTML-escaped


def test_templates_are_overridden_by_path(user, settings, tmp_path):
    folder = tmp_path / "django_securetokens" / "email"
    folder.mkdir(parents=True)
    (folder / "password_reset_subject.txt").write_text("Custom subject for {{ site_name }}")
    (folder / "password_reset.txt").write_text("Custom body {{ reset_url }} {{ brand }}")
    (folder / "password_reset.html").write_text('<p>Custom <a href="{{ reset_url }}">link</a></p>')
    pages = tmp_path / "django_securetokens"
    (pages / "password_reset.html").write_text("custom request page {{ form.email }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    settings.ROOT_URLCONF = "tests.test_emails"

    assert Client().get(RESET).content.startswith(b"custom request page")
    Client().post("/branded/", {"email": "alice@example.com"})

    (message,) = mail.outbox
    assert message.subject == "Custom subject for testserver.example"
    assert message.body.startswith("Custom body https://testserver.example/accounts/reset/")
    assert message.body.endswith(" Acme")
    assert message.alternatives[0][0].startswith("<p>Custom <a href=")


def test_notification_mail_has_no_link_with_a_secret(user):
    client = Client()
    client.post(RESET, {"email": "alice@example.com"})
    path = "/" + mail.outbox[0].body.split("https://testserver.example/", 1)[1].split()[0]
    client.get(path)
    client.post(
        reverse("securetokens:password_reset_set"),
        {"new_password1": "new pass phrase 99", "new_password2": "new pass phrase 99"},
    )

    notification = mail.outbox[-1]
    assert notification.to == ["alice@example.com"]
    assert notification.subject == "Your password on testserver.example was changed"
    assert "https://testserver.example/accounts/login/" in notification.body
    assert "/accounts/reset/" not in notification.body + notification.alternatives[0][0]


def test_the_sender_hook_carries_no_secret_and_serialises_as_json(user, settings):
    settings.SECURETOKENS = {**settings.SECURETOKENS, "EMAIL_SENDER": "tests.test_emails.record"}
    recorded.clear()

    Client().post(RESET, {"email": "alice@example.com"})

    ((name, kwargs),) = recorded
    assert name == "django_securetokens.flows.password_reset_mail.send_password_reset"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs["email"] == "alice@example.com"
    assert kwargs["origin"] == "https://testserver.example"
    assert not SecureToken.objects.exists()  # the token is issued by the job, not before
    assert mail.outbox == []

    tasks.run_job(name, kwargs)  # what a worker does

    assert len(mail.outbox) == 1 and SecureToken.objects.count() == 1


def test_run_job_refuses_functions_that_are_not_tasks():
    with pytest.raises(ValueError, match="not a django-securetokens task"):
        tasks.run_job("os.getcwd", {})


def test_the_job_refuses_options_it_does_not_know(user):
    with pytest.raises(TypeError):
        send_password_reset(origin="x", options={"view": "django.views.generic.View"}, email="a")


def job_kwargs():
    """What the reset view hands the mail job, less the target."""
    options = asdict(PasswordResetView().get_mail_options())
    return {"origin": "https://testserver.example", "options": options}


@pytest.mark.parametrize(
    "users_form", ["django.views.generic.View", "django.forms.Form", "os.getcwd"]
)
def test_the_job_only_instantiates_a_form_with_get_users(user, users_form):
    options = {"users_form": users_form}
    with pytest.raises(ValueError, match="not a form with get_users"):
        send_password_reset(origin="x", options=options, email="alice@example.com")
    assert mail.outbox == []


def test_a_custom_users_form_chooses_who_may_reset(user, settings):
    settings.ROOT_URLCONF = "tests.test_emails"
    staff = UserFactory(username="staff", email="staff@example.com", is_staff=True)

    Client().post("/staff-only/", {"email": "alice@example.com"})
    Client().post("/staff-only/", {"email": "staff@example.com"})

    assert [m.to for m in mail.outbox] == [[staff.email]]


def test_run_now_runs_after_commit(user, django_capture_on_commit_callbacks):
    kwargs = job_kwargs()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.run_now(tasks.name_of(send_password_reset), {**kwargs, "email": "alice@example.com"})
        assert mail.outbox == []

    assert len(callbacks) == 1 and len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_run_in_thread_sends_from_a_background_thread_and_survives_errors(caplog):
    UserFactory(email="bob@example.com")
    kwargs = {**job_kwargs()}
    tasks.run_in_thread(tasks.name_of(send_password_reset), {**kwargs, "email": "bob@example.com"})
    tasks.run_in_thread("os.getcwd", {})  # a bad job is logged, and the next one still runs
    tasks.run_in_thread(
        tasks.name_of(send_password_reset), {**kwargs, "email": "nobody@example.com"}
    )

    assert tasks.join(timeout=30)
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "Background job os.getcwd failed" in caplog.text


class StaffOnlyForm(PasswordResetRequestForm):
    """Importable by the mail job, as a custom ``form_class`` must be."""

    def get_users(self, email):
        return (u for u in super().get_users(email) if u.is_staff)


# Used by test_templates_are_overridden_by_path as ROOT_URLCONF: a view configured through
# as_view() keyword arguments, which the mail job must honour.
from django.urls import include, path  # noqa: E402

urlpatterns = [
    path("accounts/", include("django_securetokens.urls")),
    path("branded/", PasswordResetView.as_view(extra_email_context={"brand": "Acme"})),
    path("staff-only/", PasswordResetView.as_view(form_class=StaffOnlyForm)),
]


def test_notification_job_skips_missing_users_and_falls_back_to_the_origin(user, settings):
    prefix = "django_securetokens/email/password_changed"
    send_password_changed(user_pk="999999", origin="https://o.example", template_prefix=prefix)
    assert mail.outbox == []

    settings.LOGIN_URL = "no-such-url-name"
    send_password_changed(user_pk=str(user.pk), origin="https://o.example", template_prefix=prefix)
    assert "https://o.example/\n" in mail.outbox[0].body


def test_admin_jobs_skip_ineligible_users(user):
    user.is_active = False
    user.save()
    kwargs = job_kwargs()

    send_password_reset(**kwargs, user_pks=[str(user.pk)])

    assert mail.outbox == []


def test_links_without_request_need_base_url(settings):
    settings.SECURETOKENS = {}
    with pytest.raises(DisallowedHost):
        site_origin(None)


def test_debug_without_allowed_hosts_accepts_localhost_only(settings):
    settings.SECURETOKENS = {}
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    assert site_origin(RequestFactory().get("/", HTTP_HOST="localhost:8000")) == (
        "http://localhost:8000"
    )
    with pytest.raises(DisallowedHost):
        site_origin(RequestFactory().get("/", HTTP_HOST="evil.example"))


def test_link_origin_ignores_wildcard_hosts(rf):
    """R-45: with ALLOWED_HOSTS = ['*'] the Host header must not become the link."""
    request = rf.get("/", HTTP_HOST="attacker.example")
    with override_settings(SECURETOKENS={}, ALLOWED_HOSTS=["*"]), pytest.raises(DisallowedHost):
        site_origin(request)
    with override_settings(SECURETOKENS={}, ALLOWED_HOSTS=["*", "shop.example"]):
        assert site_origin(rf.get("/", HTTP_HOST="shop.example")) == "https://shop.example"


# --- what the mails say: the site's name and who asked ---------------------------------


def test_a_reset_the_user_asked_for_says_probably_you(client, user):
    client.post(reverse("securetokens:password_reset"), {"email": user.email})

    [message] = mail.outbox
    assert "Someone, probably you, asked to reset the password" in message.body
    assert "If you did not ask for this, ignore this email" in message.body


def test_the_verification_mail_names_the_site_and_who_asked(client, user):
    client.force_login(user)

    client.post(reverse("securetokens:email_verification"))

    [message] = mail.outbox
    assert message.subject == "Verify your email address on testserver.example"
    assert "Someone, probably you, asked to verify" in message.body
    assert "Someone, probably you, asked to verify" in message.alternatives[0][0]


def test_the_email_change_mail_says_sign_in(client, user):
    client.force_login(user)

    client.post(
        reverse("securetokens:email_change"),
        {"email": "new@example.com", "password": "correct horse battery staple"},
    )

    [message] = mail.outbox
    assert message.subject == "Confirm your new email address on testserver.example"
    assert "Or follow this link while signed in:" in message.body
    assert "Someone, probably you," in message.body
