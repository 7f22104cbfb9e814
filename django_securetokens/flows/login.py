"""Passwordless sign-in: a mailed link or code signs the account in (R-84).

Steps, in order:

* :func:`request` — for every valid address the same work: two rate-limit counts and one
  queued mail job, no database query (R-35, R-36, R-37). The job (:func:`send_login`) finds
  the one active account with the address, with or without a password, issues a link and a
  code (each superseding the account's earlier one) and mails both. An unknown address gets
  no mail and no account: signing up is the project's own flow.
* :func:`verify` (the link's token) or :func:`verify_code` (an address and a code) — the
  live token, or :class:`~django_securetokens.exceptions.TokenError`; nothing is used. A
  wrong code sends Django's ``user_login_failed``, so lockout tools see it.
* :func:`sign_in` — ``authenticate()`` with the token, through
  :class:`~django_securetokens.backends.LoginTokenBackend` (which calls :func:`complete`),
  then ``login()``: the session key changes (R-78) and ``user_logged_in`` is sent.

The user-state fingerprint the engine stores with each secret kills both when the account is
deactivated or its address or password changes (R-16).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import authenticate, user_login_failed
from django.contrib.auth import login as auth_login
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.debug import sensitive_variables

from django_securetokens import limits
from django_securetokens.conf import LOGIN, get_policy
from django_securetokens.emails import render_email, send_email, site_name
from django_securetokens.exceptions import InvalidToken, TokenError
from django_securetokens.models import SecureToken
from django_securetokens.owners import canonical_email, email_of
from django_securetokens.tasks import enqueue, task

from .common import format_code, limit, link, spending
from .password_reset_mail import email_fingerprint, find_users

logger = logging.getLogger("django_securetokens")

PURPOSE = LOGIN
#: URL name of the mailed link (unless ``FRONTEND_URLS['login']`` is set) and the mail's
#: templates ``<prefix>_subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.
CONFIRM_URL_NAME = "securetokens:login_confirm"
TEMPLATE_PREFIX = "django_securetokens/email/login"


def find_user(email: str) -> AbstractBaseUser | None:
    """The one active account whose stored address is *email* (R-41), usable password or
    not; None when no account, or more than one, has it: a sign-in names one account."""
    users = list(find_users(email, usable_password=False))
    return users[0] if len(users) == 1 else None


def request(
    email: str,
    *,
    client: str,
    origin: str,
    language: str | None = None,
    next_url: str | None = None,
) -> None:
    """Ask for a sign-in mail to *email*, a syntactically valid address.

    Counts the request per *client* (``LOGIN_RATE_PER_IP``) and per address
    (``LOGIN_RATE_PER_EMAIL``, whether or not an account has it); when both allow, queues
    :func:`send_login` through ``EMAIL_SENDER`` with *origin* (the ``scheme://host`` of the
    link), *language* (of the mail) and *next_url* (kept on the link's row; the front end
    checks it again before redirecting). Returns nothing: answer every call alike (R-35).
    """
    if limits.LOGIN_IP.hit(client) and limits.LOGIN_EMAIL.hit(canonical_email(email)):
        logger.info("Sign-in mail requested for %s from %s", email_fingerprint(email), client)
        enqueue(send_login, email=email, origin=origin, next_url=next_url, language=language)
    else:
        logger.info(
            "Sign-in request for %s from %s suppressed by a rate limit",
            email_fingerprint(email),
            client,
        )


@task
@sensitive_variables("secret", "code", "context")
def send_login(*, email: str, origin: str, next_url: str | None) -> None:
    """The mail job: issue a link and a code for the account with *email* and mail both,
    in one message, to the address stored on the account."""
    user = find_user(email)
    if user is None:
        logger.info("No sign-in mail for %s: no single active account", email_fingerprint(email))
        return
    data = {"next": next_url} if next_url else None
    _, secret = SecureToken.objects.issue(user, purpose=PURPOSE, data=data)
    _, code = SecureToken.objects.issue_code(user=user, purpose=PURPOSE)
    policy, now = get_policy(PURPOSE), timezone.now()
    context: dict[str, Any] = {
        "user": user,
        "origin": origin,
        "site_name": site_name(origin),
        "link": link(PURPOSE, CONFIRM_URL_NAME, secret, origin),
        "link_valid_for": timeuntil(now + policy.ttl, now),
        "code": format_code(code),
        "code_valid_for": timeuntil(now + policy.code_ttl, now),
    }
    sent = send_email(render_email(TEMPLATE_PREFIX, context, to=email_of(user)), user_pk=user.pk)
    logger.info("Sign-in mail for user %s sent: %s", user.pk, sent)


@sensitive_variables("secret")
def verify(secret: object, *, client: str) -> SecureToken:
    """The live sign-in token of the link *secret*; nothing is used (mail scanners open
    links, so only :func:`sign_in` spends it).

    :raises RateLimited: over ``LOGIN_CONFIRM_RATE_PER_IP`` for *client* (R-38).
    :raises TokenError: for every refusal, an inactive account included (R-15, R-16).
    """
    limit(limits.LOGIN_CONFIRM, client)
    return SecureToken.objects.verify(secret, PURPOSE)


@sensitive_variables("code")
def verify_code(
    email: object, code: object, *, client: str, request: HttpRequest | None = None
) -> SecureToken:
    """The live sign-in code that *code* matches for the account with *email*.

    Every call counts an attempt on the code and on the account's failure cap before the
    code is judged (R-20, R-32, R-33); nothing is used. A refusal sends
    ``user_login_failed`` with the address as ``username`` (never the code) and *request*.

    :raises RateLimited: over ``LOGIN_CODE_RATE_PER_IP`` for *client* or
        ``LOGIN_CODE_RATE_PER_EMAIL`` for the address (R-38, R-81).
    :raises TokenError: when no live code of that account matches, or on malformed input.
    """
    limit(limits.LOGIN_CODE, client)
    if not isinstance(email, str) or not 0 < len(email) <= 254 or not email.isprintable():
        raise InvalidToken("bad email")
    limit(limits.LOGIN_CODE_EMAIL, canonical_email(email))
    try:
        user = find_user(email)
        if user is None:
            raise InvalidToken("no single active account")
        return SecureToken.objects.verify_code(code, PURPOSE, user=user)
    except TokenError:
        user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)
        raise


def complete(token: SecureToken) -> AbstractBaseUser:
    """Use *token* and revoke the account's other sign-in secrets (the link or code of the
    same mail) in one transaction; return its user. Called by the authentication backend.

    :raises TokenError: when the token was used meanwhile, or its user is no longer eligible.
    """
    user: AbstractBaseUser = token.user  # type: ignore[assignment]  # verify() checked
    with spending(token) as tokens:
        tokens.use(token)
        tokens.revoke_for(user, purpose=PURPOSE)
    logger.info("Passwordless sign-in for user %s", user.pk)
    return user


def sign_in(request: HttpRequest, token: SecureToken) -> AbstractBaseUser:
    """Sign the browser session of *request* in with a verified *token*.

    Goes through ``authenticate()`` and ``login()``, so ``AUTHENTICATION_BACKENDS`` decides
    (``LoginTokenBackend`` must be listed), the session key changes (R-78) and
    ``user_logged_in`` is sent.

    :raises TokenError: when no backend accepted the token (used meanwhile, or the backend
        is not configured).
    """
    user = authenticate(request, login_token=token)
    if user is None:
        raise InvalidToken("no backend signed the token in")
    auth_login(request, user)
    return user
