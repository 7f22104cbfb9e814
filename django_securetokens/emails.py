"""Templated email (text and HTML) and the absolute links inside it.

A failure to send is logged with the user's primary key only and swallowed: the caller's
response must not depend on whether mail went out (R-35, CVE-2024-45231), and neither the
address nor the message body (which holds a secret) may reach a log (R-65).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string

from .conf import setting

logger = logging.getLogger("django_securetokens")


def site_origin(request: HttpRequest | None) -> str:
    """The ``scheme://host`` that links in email point to (R-45).

    ``SECURETOKENS['BASE_URL']`` when set. Otherwise the ``Host`` header of *request*,
    validated against ``ALLOWED_HOSTS`` — read directly, so that ``X-Forwarded-Host`` is
    never used even when ``USE_X_FORWARDED_HOST`` is on — with ``https`` unless ``DEBUG``.
    """
    base_url = setting("BASE_URL")
    if base_url:
        return str(base_url).rstrip("/")
    if request is None:
        raise DisallowedHost("SECURETOKENS['BASE_URL'] is needed to build links without a request")
    host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
    domain, _ = split_domain_port(host)
    # Wildcards would let any Host header through, and with it a link to any site.
    allowed = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    if not allowed and settings.DEBUG:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        raise DisallowedHost(f"Invalid HTTP_HOST header for a link: {host!r}")
    return f"{'http' if settings.DEBUG else 'https'}://{host}"


def site_name(origin: str) -> str:
    """What mail calls the site: the host name of *origin* (from :func:`site_origin`)."""
    return urlsplit(origin).hostname or origin


def render_email(template_prefix: str, context: dict[str, Any], to: str) -> EmailMultiAlternatives:
    """Build the message from ``<prefix>_subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.

    One recipient, no CC or BCC (R-69). The subject is flattened to one line, since a
    newline in a header is an error.
    """
    subject = "".join(render_to_string(f"{template_prefix}_subject.txt", context).splitlines())
    message = EmailMultiAlternatives(
        subject=subject.strip(),
        body=render_to_string(f"{template_prefix}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"{template_prefix}.html", context), "text/html")
    return message


def send_email(message: EmailMultiAlternatives, *, user_pk: object = None) -> bool:
    """Send *message*; return whether it went out. Failures are logged by user pk only."""
    try:
        message.send()
    except Exception:
        logger.exception("Failed to send security email to user %s", user_pk)
        return False
    return True
