"""The app speaks French and German: complete catalogues, a page and a mail rendered in one."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from .factories import UserFactory
from .login_support import login_on  # noqa: F401 - fixture

LOCALE = Path(__file__).resolve().parent.parent / "django_securetokens" / "locale"
LANGUAGES = ["de", "fr"]


def catalogue(mo: Path) -> dict:
    with mo.open("rb") as f:
        return dict(gettext.GNUTranslations(f)._catalog)  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text
    # msgfmt counts untranslated and fuzzy entries; a complete catalogue reports neither.
    stats = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "untranslated" not in stats
    assert "fuzzy" not in stats
    # The shipped .mo must be compiled from the current .po, or installs show stale strings.
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True)
    assert catalogue(po.with_suffix(".mo")) == catalogue(fresh)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_msgstr_without_msgfmt(language):
    """The same completeness rule, for machines without gettext tools."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text("utf-8")
    body = text.split("\n\n", 1)[1]  # after the header entry, whose msgstr is multi-line
    # An empty msgstr is "" with no continuation line after it.
    assert not re.search(r'^msgstr(\[\d\])? ""\n(?!")', body + "\n", re.MULTILINE)
    assert "fuzzy" not in body


def test_the_catalogues_translate_every_string_the_source_marks(tmp_path):
    """A string marked in the code or a template after the last makemessages would show in
    English: extract the strings afresh from a copy of the package and compare."""
    package = tmp_path / "django_securetokens"
    shutil.copytree(LOCALE.parent, package, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (package / "locale").mkdir()
    # Extraction needs no settings, as a contributor runs it (docs/howto/run-the-tests.rst).
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--locale", "de", "--keep-pot"],
        cwd=package,
        env=environment,
        capture_output=True,
        check=True,
    )
    template = package / "locale" / "django.pot"
    for language in LANGUAGES:
        po = LOCALE / language / "LC_MESSAGES" / "django.po"
        # msgcmp names each source string that lacks a translation, untranslated or fuzzy.
        compared = subprocess.run(
            ["msgcmp", str(po), str(template)], capture_output=True, text=True
        )
        assert compared.returncode == 0, f"{language}: {compared.stderr}"


@pytest.mark.django_db
def test_reset_page_renders_in_french():
    with translation.override("fr"):
        response = Client().get(reverse("securetokens:password_reset"))
    content = response.content.decode()
    assert "Réinitialisez votre mot de passe" in content
    assert "Envoyer le lien" in content
    assert "Send the link" not in content


@pytest.mark.django_db
@pytest.mark.usefixtures("mail_now", "fresh_cache")
def test_reset_mail_renders_in_french():
    UserFactory(username="alice", email="alice@example.com")
    with translation.override("fr"):
        Client().post(reverse("securetokens:password_reset"), {"email": "alice@example.com"})

    (message,) = mail.outbox
    assert message.subject == "Réinitialisez votre mot de passe sur testserver.example"
    assert "Bonjour alice," in message.body
    assert "expire dans 60 minutes" in message.body
    html, _ = message.alternatives[0]
    assert "Choisir un nouveau mot de passe" in html


@pytest.mark.django_db
def test_verification_page_renders_in_german(client):
    client.force_login(UserFactory(email="bob@example.com"))
    with translation.override("de"):
        response = client.get(reverse("securetokens:email_verification"))
    assert "Bestätigungs-E-Mail senden" in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_cache")
def test_the_background_thread_writes_the_mail_in_the_requests_language(settings):
    """The default sender runs jobs in another thread, which does not inherit the request's
    active language; the job carries it."""
    from django_securetokens import tasks

    settings.SECURETOKENS = {
        **settings.SECURETOKENS,
        "EMAIL_SENDER": "django_securetokens.tasks.run_in_thread",
    }
    UserFactory(username="alice", email="alice@example.com")
    with translation.override("de"):
        Client().post(reverse("securetokens:password_reset"), {"email": "alice@example.com"})
    assert tasks.join(timeout=30)

    (message,) = mail.outbox
    assert message.subject == "Setzen Sie Ihr Passwort auf testserver.example zurück"
    assert "Hallo alice," in message.body


@pytest.mark.django_db
def test_the_used_up_message_and_the_wait_speak_german(client, user, mail_now):
    client.force_login(user)
    with translation.override("de"):
        client.post(reverse("securetokens:email_verification"), HTTP_ACCEPT_LANGUAGE="de")
        page = client.get(
            reverse("securetokens:email_verification_code"), HTTP_ACCEPT_LANGUAGE="de"
        ).content.decode()
    assert "Ein neuer Code kann in 1 Minute gesendet werden." in page
    assert mail.outbox[-1].subject.startswith("Bestätigen Sie Ihre E-Mail-Adresse auf ")


@pytest.mark.django_db
@pytest.mark.usefixtures("login_on")
@pytest.mark.parametrize(
    ("language", "page", "button", "code_page", "subject", "body"),
    [
        (
            "de",
            "Per E-Mail anmelden",
            "Anmeldelink per E-Mail senden",
            "Anmeldecode eingeben",
            "Melden Sie sich bei testserver.example an",
            "Um sich anzumelden, öffnen Sie diesen Link und klicken Sie auf „Anmelden“:",
        ),
        (
            "fr",
            "Se connecter par e-mail",
            "M’envoyer un lien de connexion par e-mail",
            "Saisissez votre code de connexion",
            "Connectez-vous à testserver.example",
            "Pour vous connecter, ouvrez ce lien et appuyez sur « Se connecter » :",
        ),
    ],
)
def test_the_sign_in_pages_and_mail_speak_the_visitors_language(
    client, language, page, button, code_page, subject, body
):
    UserFactory(username="alice", email="alice@example.com")
    with translation.override(language):
        form = client.get(reverse("securetokens:login")).content.decode()
        client.post(reverse("securetokens:login"), {"email": "alice@example.com"})
        entry = client.get(reverse("securetokens:login_code")).content.decode()

    assert page in form and button in form
    assert code_page in entry and "alice@example.com" in entry
    (message,) = mail.outbox
    assert message.subject == subject
    assert body in message.body
    html, _ = message.alternatives[0]
    for text in (form, entry, message.body, html):
        assert "Sign in" not in text
        assert "sign-in" not in text
