"""The example project's verification and reset-by-code flows work end to end, as ``make demo``
runs them.

Like ``test_example_project.py``, this runs under the example's own settings in a subprocess,
on a throw-away SQLite file so the demo database is never touched.
"""

from __future__ import annotations

from .test_example_project import run_example

FLOWS = """
import re
import django
from django.test.utils import setup_test_environment

django.setup()
setup_test_environment()  # the test client's host, and mail kept in mail.outbox

from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client

from django_securetokens import tasks

call_command("migrate", verbosity=0)
PASSWORD = "a long demo passphrase"


def code():
    assert tasks.join(timeout=30)  # mail goes out from the EMAIL_SENDER's background thread
    return "".join(re.search(r"(\\d{3}) (\\d{3})", mail.outbox[-1].body).groups())


def status(client):
    page = client.get("/profile/").content.decode()
    return re.search(r'id="email-status">([^<]+)<', page).group(1)


# Sign up: the address first, proven by the mailed code, then the account.
client = Client()
print("signup", client.post("/signup/", {"email": "new@example.com"})["Location"])
print("code", client.post("/accounts/email/verify/code/", {"code": code()})["Location"])
response = client.post(
    "/signup/account/", {"username": "new", "password1": PASSWORD, "password2": PASSWORD}
)
print("account", response["Location"], status(client))

# Change of address: password, code to the new address, notice to the old one.
change = {"email": "moved@example.com", "password": PASSWORD}
response = client.post("/accounts/email/change/", change)
tasks.join(timeout=30)
print("change", response["Location"], mail.outbox[-1].to)
client.post("/accounts/email/verify/code/", {"code": code()})
tasks.join(timeout=30)
print("changed", User.objects.get(username="new").email, status(client), mail.outbox[-1].to)

# An existing account verifies its address from the profile page.
User.objects.create_user("old", "old@example.com", PASSWORD)
client = Client()
client.force_login(User.objects.get(username="old"))
before = status(client)
client.post("/accounts/email/verify/")
client.post("/accounts/email/verify/code/", {"code": code()})
print("profile", before, "->", status(client))

# Now verified, the verify page offers nothing more, inside the site's own layout.
page = client.get("/accounts/email/verify/").content.decode()
offered = "Send the verification" in page
print("verify page", "is verified already" in page, offered, 'class="brand"' in page)
# Forgotten password, by the code in the reset mail (the example mails a link and a code).
client = Client()
client.post("/accounts/password-reset/", {"email": "old@example.com"})
print("reset", client.post("/accounts/password-reset/code/", {"code": code()})["Location"])
new = {"new_password1": "another demo passphrase", "new_password2": "another demo passphrase"}
print("password", client.post("/accounts/password-reset/set-password/", new)["Location"])
tasks.join(timeout=30)
print("login", User.objects.get(username="old").check_password(new["new_password1"]))
"""


def test_sign_up_change_address_and_verify_from_the_profile(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")

    result = run_example("-c", FLOWS)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "signup /accounts/email/verify/code/",
        "code /signup/account/",
        "account /profile/ verified",
        "change /accounts/email/verify/code/ ['moved@example.com']",
        "changed moved@example.com verified ['new@example.com']",
        "profile not verified -> verified",
        "verify page True False True",
        "reset /accounts/password-reset/set-password/",
        "password /accounts/password-reset/complete/",
        "login True",
    ]
