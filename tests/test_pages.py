"""Every page offers its next step, under a site header or inside the site's base template."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.checks import Error
from django.test import Client, override_settings
from django.urls import reverse

from django_securetokens.checks_frontends import check_base_template
from django_securetokens.models import SecureToken
from django_securetokens.views.email_verification import EmailVerificationView

from .conftest import mailed_code_and_link

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache", "mail_now")]

LOGIN = "/accounts/login/"


def links(response):
    return re.findall(r'<a href="([^"]+)"', response.content.decode())


def leads_on(response):
    """Whether the page's own content has a link or a form: a way forward, not only home."""
    main = response.content.decode().split("<main>", 1)[-1]
    return "<form" in main or '<a href="' in main


def invalid_link(name):
    return reverse(f"securetokens:{name}", kwargs={"token": "x" * 40})


@pytest.mark.parametrize(
    ("url", "next_step"),
    [
        (reverse("securetokens:password_reset"), LOGIN),
        (reverse("securetokens:password_reset_sent"), reverse("securetokens:password_reset")),
        (reverse("securetokens:password_reset_complete"), LOGIN),
        (reverse("securetokens:email_verification_complete"), "/"),
        (reverse("securetokens:email_verification_code"), LOGIN),
    ],
)
@override_settings(LOGIN_URL=LOGIN)
def test_each_page_links_to_its_next_step_and_home(client, url, next_step):
    response = client.get(url)

    assert response.status_code == 200
    assert next_step in links(response)
    assert re.search(r'<a href="/" rel="home">testserver</a>', response.content.decode())


def test_invalid_links_offer_a_new_one(client):
    reset = client.get(invalid_link("password_reset_confirm"), follow=True)
    verify = client.post(invalid_link("email_verification_confirm"))

    assert reverse("securetokens:password_reset") in links(reset)
    assert "Ask for a new email" in verify.content.decode()
    assert reverse("securetokens:email_verification") in links(verify)


@override_settings(LOGIN_URL="no-such-url-name")
def test_without_a_sign_in_page_the_way_on_is_home(client):
    response = client.get(reverse("securetokens:password_reset_complete"))

    assert "/" in links(response) and "Sign in" not in response.content.decode()


def test_no_verification_waiting_says_how_to_start_one(client, user):
    code_page = reverse("securetokens:email_verification_code")
    with override_settings(LOGIN_URL=LOGIN):
        anonymous = client.get(code_page)
    with override_settings(LOGIN_URL="no-such-url-name"):
        nowhere = client.get(code_page)
    client.force_login(user)
    signed_in = client.get(code_page)

    assert LOGIN in links(anonymous)
    assert "/" in links(nowhere)
    assert reverse("securetokens:email_verification") in links(signed_in)


def test_an_account_without_an_address_is_offered_to_add_one(client):
    from .factories import UserFactory

    client.force_login(UserFactory(email=""))

    response = client.get(reverse("securetokens:email_verification"))

    assert reverse("securetokens:email_change") in links(response)


def test_the_confirm_page_names_the_address(client, user):
    client.force_login(user)
    client.post(reverse("securetokens:email_verification"))
    _, link = mailed_code_and_link(mail.outbox[-1])

    response = client.get(link)

    assert f"confirm <strong>{user.email}</strong> as your email address" in (
        response.content.decode()
    )


def test_a_verified_address_is_not_offered_again(rf, user):
    view = EmailVerificationView.as_view(is_verified=lambda u: u.pk == user.pk)
    request = rf.get("/")
    request.user = user

    response = view(request)
    response.render()

    html = response.content.decode()
    assert "is verified already" in html and "<form" not in html
    assert leads_on(response)


@override_settings(SECURETOKENS={"BASE_TEMPLATE": "site_base.html"})
def test_pages_render_inside_the_sites_base_template(client):
    response = client.get(reverse("securetokens:password_reset"))

    html = response.content.decode()
    assert '<nav id="site-nav">' in html
    assert "<title>Reset your password · Test site</title>" in html
    assert re.search(r'<div id="site-content">\s*<h1>Reset your password</h1>', html)
    assert "<form" in html and 'rel="home"' not in html  # the site's header, not ours
    assert response["Referrer-Policy"]  # still sent as a header without the <meta>
    assert SecureToken.objects.count() == 0


def test_base_template_check():
    assert check_base_template() == []
    with override_settings(SECURETOKENS={"BASE_TEMPLATE": "site_base.html"}):
        assert check_base_template() == []
    for value, problem in [
        ("no/such/template.html", "cannot be loaded (TemplateDoesNotExist)"),
        (["site_base.html"], "must be a template name or None"),
    ]:
        with override_settings(SECURETOKENS={"BASE_TEMPLATE": value}):
            [error] = check_base_template()
        assert isinstance(error, Error) and error.id == "securetokens.E027"
        assert problem in error.msg


def test_base_template_check_runs_with_the_others():
    from django.core import checks

    with override_settings(SECURETOKENS={"BASE_TEMPLATE": "missing.html"}):
        ids = {message.id for message in checks.run_checks()}
    assert "securetokens.E027" in ids


def test_every_status_page_leads_on(client):
    for url in (
        reverse("securetokens:password_reset_sent"),
        reverse("securetokens:email_verification_complete"),
        invalid_link("email_verification_confirm"),
    ):
        response = Client().get(url, follow=True)
        assert leads_on(response), url
