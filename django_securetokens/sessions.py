"""What a browser session remembers between the steps of a flow, for the HTML pages.

Never a secret (R-06): the address a reset code was asked for, a reference to a verified
reset token, who is verifying an address, and an address proven before sign-up. The flows
themselves (:mod:`django_securetokens.flows`) know nothing of sessions; a JSON client
carries its state itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import HttpRequest

from .conf import EMAIL_CHANGE, EMAIL_VERIFICATION, setting
from .emails import site_origin
from .flows import email_change, email_verification
from .ratelimit import client_key
from .resend import remember

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .models import SecureToken

#: ``{"pk": …, "reference": …}`` between a reset link (or code) and the new password.
RESET_SESSION_KEY = "_securetokens_password_reset"
#: The address given on ``password_reset``, for the ``password_reset_code`` page.
RESET_EMAIL_SESSION_KEY = "_securetokens_password_reset_email"
#: The pending verification: purpose, address, user pk, next URL.
VERIFICATION_SESSION_KEY = "_securetokens_email_verification"
#: An address proven before its account exists, with the time of the proof.
VERIFIED_SESSION_KEY = "_securetokens_email_verified"
#: The passwordless sign-in this browser waits for: the address given and the next URL.
LOGIN_SESSION_KEY = "_securetokens_login"
#: How long such a proof lets a sign-up view create an account with the address.
VERIFIED_MAX_AGE = 3600


def accept(request: HttpRequest) -> None:
    """Give the browser a new session key before a link or code is acted on (R-78).

    A session id planted by someone else then holds nothing this flow writes next, so they
    cannot finish the flow in the victim's place (session fixation).
    """
    request.session.cycle_key()


@dataclass(frozen=True)
class Pending:
    """The verification this browser session is waiting for."""

    purpose: str
    email: str
    user: AbstractBaseUser | None
    next_url: str | None
    #: Whether this session's own request queued a code (not one suppressed by a limit).
    issued: bool = False
    #: When this session asked for mail for this address (epoch seconds), newest last.
    asked: list[int] | None = None


def start_email_verification(
    request: HttpRequest,
    email: str,
    user: AbstractBaseUser | None = None,
    *,
    purpose: str = EMAIL_VERIFICATION,
    next_url: str | None = None,
) -> bool:
    """Mail a code and a link that prove *email*, and remember who is verifying.

    With *user*, both secrets are bound to that account and to *email*; without, to the
    address alone (verification before sign-up). The session then knows the pending
    identity, so the code page needs only the code. After success the browser goes to
    *next_url* (a local URL) or to ``email_verification_complete``.

    Returns whether a mail was queued: ``False`` when a limit suppressed it — per address,
    per requester (the user, or else this session) or per client (R-37, R-77); earlier
    secrets stay valid then. Answer both cases alike. Raises
    :class:`~django_securetokens.exceptions.InvalidToken` if *email* is not a string of at
    most 254 characters or not an address the flows can mail; validate it with a form first
    (:func:`~django_securetokens.owners.validate_mailbox`, R-80).
    """
    origin, client = site_origin(request), client_key(request)
    previous = request.session.get(VERIFICATION_SESSION_KEY)
    same = isinstance(previous, dict) and previous.get("email") == email
    asked = remember(
        previous.get("asked") if same and isinstance(previous, dict) else None,
        time.time(),
        setting("EMAIL_VERIFICATION_RATE_PER_EMAIL"),
    )
    if purpose == EMAIL_CHANGE:
        if user is None:
            raise ValueError("an email change needs the user whose address changes")
        queued = email_change.request(user, email, origin=origin, client=client)
    else:
        # A visitor's first request has no session key yet: it is counted per client only,
        # as is every request of a script that drops its cookies.
        queued = email_verification.request(
            email,
            user=user,
            origin=origin,
            client=client,
            session=request.session.session_key,
            next_url=next_url,
        )
    # The address as given: the engine normalises it again when the code is checked.
    request.session[VERIFICATION_SESSION_KEY] = {
        "purpose": purpose,
        "email": email,
        "user": None if user is None else str(user.pk),
        "next": next_url,
        "asked": asked,
        "issued": queued,
    }
    return queued


def pending_verification(request: HttpRequest) -> Pending | None:
    """The verification this session waits for, or ``None``.

    A pending verification for an account is only honoured while that account is the one
    logged in, so another person at the same browser cannot finish it.
    """
    data = request.session.get(VERIFICATION_SESSION_KEY)
    if not isinstance(data, dict) or data.get("purpose") not in (EMAIL_VERIFICATION, EMAIL_CHANGE):
        return None
    user = None
    if data.get("user") is not None:
        if not request.user.is_authenticated or str(request.user.pk) != data["user"]:
            return None
        user = request.user
    asked = data.get("asked")
    return Pending(
        data["purpose"],
        data["email"],
        user,
        data.get("next"),
        issued=data.get("issued") is True,
        asked=asked if isinstance(asked, list) else None,
    )


def verified_email(request: HttpRequest, *, pop: bool = False) -> str | None:
    """The address this session proved before having an account, if proven in the last hour.

    A sign-up view calls it to create the account with a verified address; pass
    ``pop=True`` once the account exists, so the proof serves one account only.
    """
    session = request.session
    proof = session.pop(VERIFIED_SESSION_KEY, None) if pop else session.get(VERIFIED_SESSION_KEY)
    if not isinstance(proof, dict) or time.time() - proof.get("at", 0) > VERIFIED_MAX_AGE:
        return None
    email = proof.get("email")
    return email if isinstance(email, str) else None


def finish_verification(request: HttpRequest, token: SecureToken) -> None:
    """Forget the pending verification once *token* proved its address; an address proven
    without an account is remembered for sign-up (:func:`verified_email`)."""
    request.session.pop(VERIFICATION_SESSION_KEY, None)
    if token.user_id is None:
        request.session[VERIFIED_SESSION_KEY] = {"email": token.email, "at": int(time.time())}
