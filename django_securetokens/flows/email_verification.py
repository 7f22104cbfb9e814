"""Email verification: prove an address with a mailed code or link.

With a user, the secrets are bound to that account and the address (they die when its
password or address changes); without, to the address alone, for verification before
sign-up. Steps: :func:`request` queues one mail holding both a link and a code;
:func:`verify` (the link's token) or :func:`verify_code` (the code, with the identity it
was issued for, R-31) gives the live token; :func:`complete` uses it and sends
:data:`~django_securetokens.signals.email_verified`. What "verified" means for the user
model is the host project's decision.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.views.decorators.debug import sensitive_variables

from django_securetokens.conf import EMAIL_VERIFICATION
from django_securetokens.models import SecureToken

from . import _proof

PURPOSE = EMAIL_VERIFICATION


def request(
    email: str,
    *,
    user: AbstractBaseUser | None = None,
    origin: str,
    client: str,
    session: str | None = None,
    next_url: str | None = None,
    language: str | None = None,
) -> bool:
    """Queue, through ``EMAIL_SENDER``, one mail to *email* with a code and a link.

    *origin* is the ``scheme://host`` of the link (unless ``FRONTEND_URLS`` maps
    ``email_verification``), *next_url* is stored on the link's row for the page after
    success, *language* is the mail's (default: the active language). Earlier secrets of the
    same owner and purpose are superseded when the job issues the new ones.

    The secrets are bound to, and the mail sent to, the address's canonical form
    (:func:`~django_securetokens.owners.canonical_email`: NFKC, case-folded, domain
    IDNA-encoded, R-77).

    Returns whether the mail was queued: False when a limit suppressed it, counted per
    client *client* (``EMAIL_VERIFICATION_RATE_PER_IP``), per requester — *user*, or else
    the browser *session*'s key when given (``EMAIL_VERIFICATION_RATE_PER_REQUESTER``) —
    and per canonical address (``EMAIL_VERIFICATION_RATE_PER_EMAIL``, whether or not an
    account has it, R-37); earlier secrets stay valid then. Answer both alike. Raises
    :class:`~django_securetokens.exceptions.InvalidToken` when *email* is not a printable
    string of at most 254 characters (:func:`~django_securetokens.owners.validate_mailbox`
    refuses it in a form first).
    """
    return _proof.request(
        PURPOSE,
        email,
        user,
        origin=origin,
        next_url=next_url,
        language=language,
        client=client,
        session=session,
    )


@sensitive_variables("secret")
def verify(secret: object, *, client: str) -> SecureToken:
    """The live verification token of the link *secret*; nothing is used.

    :raises RateLimited: over ``EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP`` for *client*.
    :raises TokenError: for every refusal (R-15).
    """
    return _proof.verify(PURPOSE, secret, client=client)


@sensitive_variables("code")
def verify_code(
    code: object, *, email: str, user: AbstractBaseUser | None = None, client: str
) -> SecureToken:
    """The live code that *code* matches for (*user*, *email*), the identity the code was
    requested for and never one taken from the same form as the code (R-31). Every call
    counts an attempt before the code is judged (R-20, R-32, R-33); nothing is used.

    :raises RateLimited: over ``EMAIL_VERIFICATION_CODE_RATE_PER_IP`` for *client* (R-38).
    :raises TokenError: for every refusal.
    """
    return _proof.verify_code(PURPOSE, code, email=email, user=user, client=client)


def complete(token: SecureToken, *, sender: Any = None, request: Any = None) -> None:
    """Use *token* and send ``email_verified`` in one transaction (R-19); the other secret of
    the same mail, and every other live secret of the owner for this purpose, is revoked.

    *sender* and *request* are only passed on to the signal's receivers.

    :raises TokenError: when the token was used meanwhile.
    """
    _proof.complete(token, None, sender=sender, request=request)
