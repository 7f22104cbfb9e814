"""Email change: a new address replaces the account's own only once proven (R-30).

The same proof as email verification under its own purpose: :func:`request` mails the new
address a code and a link bound to the account, :func:`verify` / :func:`verify_code` give
the live token, and :func:`complete` — for the account's owner only — replaces the address
and tells the old one (R-29). Until then the new address is no password-reset destination,
since reset looks addresses up on the account.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.views.decorators.debug import sensitive_variables

from django_securetokens.conf import EMAIL_CHANGE
from django_securetokens.emails import render_email, send_email
from django_securetokens.exceptions import InvalidToken
from django_securetokens.models import SecureToken
from django_securetokens.owners import email_of
from django_securetokens.tasks import enqueue, task

from . import _proof

PURPOSE = EMAIL_CHANGE


def request(
    user: AbstractBaseUser,
    email: str,
    *,
    origin: str,
    client: str,
    language: str | None = None,
) -> bool:
    """Queue, through ``EMAIL_SENDER``, a code and a link to the new address *email* of
    *user*, whose password the caller has already checked (R-30). Nothing on the account
    changes. Returns and raises as :func:`.email_verification.request`.
    """
    return _proof.request(
        PURPOSE,
        email,
        user,
        origin=origin,
        next_url=None,
        language=language,
        client=client,
        session=None,
    )


@sensitive_variables("secret")
def verify(secret: object, *, client: str) -> SecureToken:
    """The live email-change token of the link *secret*; nothing is used. Raises as
    :func:`.email_verification.verify`; check :func:`may_complete` before completing."""
    return _proof.verify(PURPOSE, secret, client=client)


@sensitive_variables("code")
def verify_code(code: object, *, email: str, user: AbstractBaseUser, client: str) -> SecureToken:
    """The live code *code* matches for *user* and the new address *email*. Raises as
    :func:`.email_verification.verify_code`."""
    return _proof.verify_code(PURPOSE, code, email=email, user=user, client=client)


def may_complete(token: SecureToken, user: Any) -> bool:
    """Whether *user* (the signed-in user, or an anonymous one) may complete *token*: only
    the account's owner may (R-30)."""
    return bool(user.is_authenticated) and user.pk == token.user_id


def complete(token: SecureToken, user: Any, *, sender: Any = None, request: Any = None) -> None:
    """Use *token* and make its address *user*'s own, in one transaction (R-19).

    Sends ``email_verified`` inside the transaction (*sender* and *request* are only passed
    on) and queues a notice to the old address, which holds no secret and no link (R-29).

    :raises TokenError: when *user* is not the token's owner, or the token was used meanwhile.
    """
    if not may_complete(token, user):
        raise InvalidToken("an email change is completed by its account's owner only")
    _proof.complete(token, _replace_address, sender=sender, request=request)


def _replace_address(token: SecureToken) -> None:
    user: AbstractBaseUser = token.user  # type: ignore[assignment]  # bound at request
    old = email_of(user)
    field = user.get_email_field_name()
    setattr(user, field, token.email)
    user.save(update_fields=[field])
    if old:
        # The sender runs jobs after commit, so a rolled-back change tells no one.
        enqueue(send_email_changed, user_pk=str(user.pk), old_email=old)


@task
def send_email_changed(*, user_pk: str, old_email: str) -> None:
    """The notice job: tells *old_email* that the account's address changed; no secret."""
    user = get_user_model()._default_manager.filter(pk=user_pk).first()
    if user is None:
        return
    context = {"user": user, "old_email": old_email, "new_email": email_of(user)}
    message = render_email("django_securetokens/email/email_changed", context, to=old_email)
    send_email(message, user_pk=user.pk)
