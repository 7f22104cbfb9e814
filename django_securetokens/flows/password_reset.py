"""Password reset: request a link and/or a code by address, verify it, set the password.

Steps, in order:

* :func:`request` — for every valid address the same work: two rate-limit counts and one
  queued mail job; no database query, nothing returned, so neither the answer nor its timing
  tells whether an account exists (R-35, R-36, R-37). The job
  (:func:`~django_securetokens.flows.password_reset_mail.send_password_reset`),
  off the request path, finds the accounts, issues the secrets and sends the mail, with a
  link, a code or both (``PASSWORD_RESET_METHOD``).
* :func:`verify` (a link's token) or :func:`verify_code` (an address and a code) — the
  live token, or :class:`~django_securetokens.exceptions.TokenError`; nothing consumed.
  A front end that must carry the proof between requests keeps :func:`reference` of it
  (never the secret) and checks it with :func:`verify_reference` (R-06, R-42).
* :func:`complete` — consume the token and save the password in one transaction (R-18,
  R-19), revoke the user's other reset secrets, and queue the "password changed" mail (R-29).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_securetokens import limits, signals
from django_securetokens.conf import PASSWORD_RESET
from django_securetokens.exceptions import InvalidToken, TokenError
from django_securetokens.models import SecureToken
from django_securetokens.owners import canonical_email
from django_securetokens.tasks import enqueue

from .common import limit, spending
from .password_reset_mail import (
    MailOptions,
    email_fingerprint,
    find_users,
    is_eligible,
    send_password_changed,
    send_password_reset,
)

__all__ = [
    "METHODS",
    "MailOptions",
    "complete",
    "find_users",
    "is_eligible",
    "reference",
    "request",
    "request_for_users",
    "verify",
    "verify_code",
    "verify_reference",
]

logger = logging.getLogger("django_securetokens")

#: ``PASSWORD_RESET_METHOD`` values: what the reset mail carries.
METHODS = ("link", "code", "both")


# --- request -----------------------------------------------------------------------------


def request(
    email: str,
    *,
    client: str,
    origin: str,
    language: str | None = None,
    options: MailOptions | None = None,
) -> None:
    """Ask for a reset of the accounts with *email*, a syntactically valid address.

    Counts the request per *client* (``PASSWORD_RESET_RATE_PER_IP``) and per address
    (``PASSWORD_RESET_RATE_PER_EMAIL``, whether or not an account has it); when both allow,
    queues :func:`send_password_reset` through ``EMAIL_SENDER`` with *origin* (the
    ``scheme://host`` of links) and *language* (of the mail; default the active one). Makes
    no database query and returns nothing: a front end must answer every call alike.
    """
    if limits.PASSWORD_RESET_IP.hit(client) and limits.PASSWORD_RESET_EMAIL.hit(
        canonical_email(email)
    ):
        logger.info("Password reset requested for %s from %s", email_fingerprint(email), client)
        _queue(origin, language, options, email=email)
    else:
        # Not a word to the caller: a refused request looks like any other.
        logger.info(
            "Password reset request for %s from %s suppressed by a rate limit",
            email_fingerprint(email),
            client,
        )


def request_for_users(
    users: Iterable[AbstractBaseUser],
    *,
    origin: str,
    language: str | None = None,
    options: MailOptions | None = None,
) -> None:
    """Queue reset mail for *users*, as the admin action does (R-68): whoever triggers it
    never sees or chooses a password; the job skips ineligible users."""
    _queue(origin, language, options, user_pks=[str(user.pk) for user in users])


def _queue(origin: str, language: str | None, options: MailOptions | None, **target: Any) -> None:
    enqueue(
        send_password_reset,
        origin=origin,
        options=asdict(options or MailOptions()),
        language=language,
        **target,
    )


# --- verify ------------------------------------------------------------------------------


@sensitive_variables("secret")
def verify(secret: object, *, client: str, purpose: str = PASSWORD_RESET) -> SecureToken:
    """The live reset token of the link *secret*; nothing is consumed (R-21).

    :raises RateLimited: over ``PASSWORD_RESET_CONFIRM_RATE_PER_IP`` for *client* (R-38).
    :raises TokenError: for any refusal — malformed, unknown, expired, used, revoked, or a
        user no longer eligible (R-15, R-16).
    """
    limit(limits.PASSWORD_RESET_CONFIRM, client)
    return _eligible(SecureToken.objects.verify(secret, purpose))


@sensitive_variables("code")
def verify_code(
    email: object, code: object, *, client: str, purpose: str = PASSWORD_RESET
) -> SecureToken:
    """The live reset code that *code* matches for the accounts with *email*.

    Each eligible account of the address (usually one) is tried in turn; every try counts an
    attempt on that account's code and on its consecutive-failure cap, before the code is
    judged (R-20, R-32, R-33). Nothing is consumed. An unknown address costs the same
    statements as a wrong code, so neither the answer nor its timing tells whether an account
    has the address.

    :raises RateLimited: over ``PASSWORD_RESET_CODE_RATE_PER_IP`` for *client* (R-38).
    :raises TokenError: when no account's live code matches, or on malformed input.
    """
    limit(limits.PASSWORD_RESET_CODE, client)
    if not isinstance(email, str) or not 0 < len(email) <= 254 or not email.isprintable():
        raise InvalidToken("bad email")
    users = list(find_users(email))
    for user in users:
        try:
            return _eligible(SecureToken.objects.verify_code(code, purpose, user=user))
        except TokenError:
            continue
    if not users:
        # An address without an account goes through the engine's refusal too, which runs
        # the statements of a real guess: the answer's timing must not tell the two apart.
        # No reset code is ever bound to an address alone, so this never finds one.
        _eligible(SecureToken.objects.verify_code(code, purpose, email=email))
    raise InvalidToken("no live code matches")


def _eligible(token: SecureToken) -> SecureToken:
    if not is_eligible(token.user):
        raise InvalidToken("ineligible user")
    return token


def reference(token: SecureToken) -> dict[str, Any]:
    """What a session may keep to point at a verified *token*: its pk and
    :meth:`~SecureTokenManager.reference`, never the secret (R-06).

    A code is first exchanged for a fresh link row with the code's remaining lifetime (the
    code is used up), because references are made for links only.
    """
    if token.kind == "code":
        token = _exchange(token)
    return {"pk": token.pk, "reference": SecureToken.objects.reference(token)}


@sensitive_variables("code")
def _exchange(code: SecureToken) -> SecureToken:
    with spending(code) as tokens:
        tokens.use(code)
        user: AbstractBaseUser = code.user  # type: ignore[assignment]  # _eligible checked
        remaining = max(code.expires_at - timezone.now(), timedelta(seconds=1))
        # The secret of this row is never sent anywhere: the session's reference is the
        # only way to it.
        link_token, _ = tokens.issue(user, purpose=code.purpose, ttl=remaining)
    return link_token


def verify_reference(ref: object, *, purpose: str = PASSWORD_RESET) -> SecureToken:
    """The live token that :func:`reference` made *ref* for, its user still eligible.

    :raises TokenError: otherwise, whatever *ref* is.
    """
    if not isinstance(ref, dict):
        raise InvalidToken("no reference")
    token = SecureToken.objects.verify_reference(ref.get("pk"), ref.get("reference"), purpose)
    return _eligible(token)


# --- complete ----------------------------------------------------------------------------


def complete(
    token: SecureToken,
    save: Callable[[], object],
    *,
    origin: str,
    client: str,
    language: str | None = None,
    sender: object = None,
    request: object = None,
    notification_template_prefix: str = "django_securetokens/email/password_changed",
) -> AbstractBaseUser:
    """Spend *token* and set the new password, all or nothing (R-18, R-19); return the user.

    *save* sets and saves the password of ``token.user``, typically a valid
    ``SetPasswordForm``'s ``save``; it runs inside the transaction after the token is marked
    used, so a failed save leaves the token usable and a token used meanwhile saves nothing.
    The user's other reset secrets are revoked; changing the password hash ends their other
    sessions (R-25). Then :data:`~django_securetokens.signals.password_reset_completed` is
    sent (with *sender* and *request*, which the flow only passes on) and the "password
    changed" mail is queued to the stored address (R-29), with links at *origin*. *client*
    is only logged.

    :raises TokenError: (``UsedToken``) when another request used *token* first.
    """
    user: AbstractBaseUser = token.user  # type: ignore[assignment]  # verify() checked
    with spending(token) as tokens:
        tokens.use(token)
        save()
        tokens.revoke_for(user, purpose=token.purpose)
    logger.info("Password reset completed for user %s from %s", user.pk, client)
    signals.password_reset_completed.send(sender=sender, user=user, request=request)
    enqueue(
        send_password_changed,
        user_pk=str(user.pk),
        origin=origin,
        template_prefix=notification_template_prefix,
        language=language,
    )
    return user
