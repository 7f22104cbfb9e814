"""The docs name the templates each page really renders, derived from the URLconf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from django_securetokens import urls

DOCS = Path(__file__).resolve().parent.parent / "docs"
PREFIX = "django_securetokens/"


def rendered_templates() -> dict[str, set[str]]:
    """For each URL name, the templates its view renders: every ``*template_name``
    attribute of the view class (the page, and the "invalid link" page where there is one)."""
    pages = {}
    for pattern in urls.urlpatterns:
        view = pattern.callback.view_class  # type: ignore[union-attr]
        names = {
            getattr(view, attribute)
            for attribute in dir(view)
            if attribute.endswith("template_name") and getattr(view, attribute)
        }
        assert all(name.startswith(PREFIX) for name in names), names
        pages[pattern.name] = {name.removeprefix(PREFIX) for name in names}  # type: ignore[union-attr]
    return pages


def documented_templates(path: Path) -> dict[str, set[str]]:
    """The list-tables of *path* whose rows start with a URL name: name -> templates."""
    rows = re.split(r"\n   \* - ", path.read_text())[1:]
    table = {}
    for row in rows:
        columns = re.split(r"\n     - ", row)
        name = re.match(r"``(\w+)``", columns[0])
        if name and len(columns) > 1:
            table[name.group(1)] = set(re.findall(r"``(\w+\.html)``", columns[1]))
    return table


def exceptions() -> set[str]:
    """URL names whose templates are not just ``<url name>.html``."""
    return {name for name, found in rendered_templates().items() if found != {f"{name}.html"}}


def test_the_reference_lists_every_page_with_the_templates_it_renders():
    assert documented_templates(DOCS / "reference" / "views.rst") == rendered_templates()


def test_the_password_reset_howto_table_agrees():
    documented = documented_templates(DOCS / "howto" / "password_reset.rst")
    assert documented == {
        name: found
        for name, found in rendered_templates().items()
        if name.startswith("password_reset")
    }


@pytest.mark.parametrize("howto", ["templates_and_mail.rst", "email_verification.rst"])
def test_the_howtos_name_every_page_that_breaks_the_url_name_rule(howto):
    """Both say "each page is ``<url name>.html``", and must name the pages it misses."""
    text = (DOCS / "howto" / howto).read_text()
    assert "<url name>.html" in text
    covered = set(re.findall(r"``(\w+)``", text))
    section = exceptions()
    if howto == "email_verification.rst":
        section = {name for name in section if name.startswith("email_")}
    assert section, "no page breaks the rule: drop the exceptions from the how-to"
    assert section <= covered


def test_the_rule_has_the_exceptions_this_test_expects():
    """A test that cannot fail is a defect: the rule must really have exceptions."""
    pages = rendered_templates()
    assert pages["email_change_confirm"] == {
        "email_verification_confirm.html",
        "email_verification_invalid.html",
    }
    assert pages["password_reset"] == {"password_reset.html"}
