"""The README's quick start, followed to the letter in a fresh virtual environment.

The steps are the README's own marked blocks (``<!-- quickstart: ... -->``), so the README
cannot drift from what works: ``run`` blocks run line by line in bash, ``append`` and
``create`` blocks are written to the file they name. The one line not run is ``runserver``:
in its place the new project's own Python walks a password reset and an email verification
with Django's test client, and follows every link on every page it meets.

Slow (a virtual environment and a pip install): only ``make test-quickstart`` runs it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- quickstart: (run|append|create) ?(\S*) -->\n```[\w+-]+\n(.*?)```", re.S)

pytestmark = [
    pytest.mark.quickstart,
    pytest.mark.skipif(
        os.environ.get("SECURETOKENS_QUICKSTART") != "1",
        reason="slow: run by make test-quickstart (SECURETOKENS_QUICKSTART=1)",
    ),
]

# Run by the new project's Python in its directory, in place of runserver.
WALK = r"""
import os, re, sys, time

sys.path.insert(0, os.getcwd())  # the project directory, as manage.py has it
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
import django

django.setup()
from django.test.utils import setup_test_environment

setup_test_environment()  # mail kept in mail.outbox, and the test client's host allowed

from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

PASSWORD, NEW_PASSWORD = "a first long passphrase", "a second long passphrase"
User.objects.create_user("ada", "ada@example.com", PASSWORD)
client = Client()
seen = set()


def mail_number(n):
    deadline = time.monotonic() + 30  # the reset mail is sent by a background thread
    while len(mail.outbox) < n:
        assert time.monotonic() < deadline, "no mail"
        time.sleep(0.05)
    return mail.outbox[n - 1]


def page(response, name):
    # Every link on the page leads somewhere: no 404, no 500.
    assert response.status_code == 200, (name, response.status_code)
    for href in re.findall(r'href="(/[^"]*)"', response.content.decode()):
        if href not in seen:
            seen.add(href)
            status = Client().get(href).status_code
            assert status in (200, 302), (name, href, status)
    print(name, "ok")


page(client.get(reverse("securetokens:password_reset")), "reset request")
response = client.post(reverse("securetokens:password_reset"), {"email": "ada@example.com"})
page(client.get(response["Location"]), "reset sent")
link = re.search(r"http://127.0.0.1:8000(/\S+)", mail_number(1).body).group(1)
set_page = client.get(link)["Location"]
page(client.get(set_page), "set password")
response = client.post(
    set_page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
)
complete = client.get(response["Location"])
page(complete, "reset complete")
sign_in = re.search(r'<a href="([^"]+)">Sign in</a>', complete.content.decode()).group(1)
page(client.get(sign_in), "sign-in page")
response = client.post(sign_in, {"username": "ada", "password": NEW_PASSWORD})
print("signed in", response.status_code, response["Location"])
home = client.get(response["Location"])
print("home", home.status_code, home["Location"])
page(client.get(home["Location"]), "verify page")
response = client.post(home["Location"])
page(client.get(response["Location"]), "code page")
# Mail 2 tells Ada that her password changed; mail 3 has the code.
code = "".join(re.search(r"\b(\d{3}) (\d{3})\b", mail_number(3).body).groups())
response = client.post(response["Location"], {"code": code})
page(client.get(response["Location"]), "verified")
print("subjects", [message.subject for message in mail.outbox])
"""


def steps():
    """The README's quick-start blocks as ``(kind, path, text)``, in order."""
    found = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in found].count("run") >= 2, "quick-start markers missing"
    return found


def test_the_readme_quick_start_works_in_a_fresh_virtualenv(tmp_path):
    source = tmp_path / "source"  # a private copy: pip writes build/ into the tree it builds
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "_build", "__pycache__"),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (tmp_path / "walk.py").write_text(WALK, encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURETOKENS"))},
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
    }
    script = ["set -euo pipefail", f"cd {shlex.quote(str(tmp_path))}"]
    for kind, path, text in steps():
        if kind == "run":
            for line in text.splitlines():
                if line.startswith("python manage.py runserver"):
                    line = f"python {shlex.quote(str(tmp_path / 'walk.py'))}"
                script.append(
                    line.replace("pip install django-securetokens", f"pip install -q {source}")
                )
        else:
            redirect = ">>" if kind == "append" else ">"
            script.append(f"mkdir -p $(dirname {path}) && cat {redirect} {path} <<'QUICKSTART'")
            script += [text.rstrip("\n"), "QUICKSTART"]

    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-11:] == [
        "reset request ok",
        "reset sent ok",
        "set password ok",
        "reset complete ok",
        "sign-in page ok",
        "signed in 302 /",
        "home 302 /accounts/email/verify/",
        "verify page ok",
        "code page ok",
        "verified ok",
        "subjects ['Reset your password on 127.0.0.1', "
        "'Your password on 127.0.0.1 was changed', "
        "'Verify your email address on 127.0.0.1']",
    ]
