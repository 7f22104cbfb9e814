"""Password reset: request a link and/or a code by address, verify it, set the password.

Steps, in order:

* :func:`request` — for every valid address the same work: two rate-limit counts and one
  queued mail job; no database query, nothing returned, so neither the answer nor its timing
  tells whether an account exists (R-35, R-36, R-37). The job (:func:`send_password_reset`),
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from django_securetokens import crypto, limits, signals
from django_securetokens.conf import PASSWORD_RESET, current_key, setting
from django_securetokens.emails import render_email, send_email
from django_securetokens.exceptions import InvalidToken, TokenError
from django_securetokens.models import SecureToken
from django_securetokens.owners import canonical_email, email_of
from django_securetokens.tasks import enqueue, task

from .common import format_code, limit, link, login_url, site_name

logger = logging.getLogger("django_securetokens")

#: ``PASSWORD_RESET_METHOD`` values: what the reset mail carries.
METHODS = ("link", "code", "both")


@dataclass(frozen=True)
class MailOptions:
    """How the reset mail is made; JSON-serialisable, since the mail job receives it."""

    #: Purpose the secrets are issued for.
    purpose: str = PASSWORD_RESET
    #: Templates ``<prefix>_subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.
    email_template_prefix: str = "django_securetokens/email/password_reset"
    #: URL name of the link in the mail (one keyword argument, ``token``), unless
    #: ``FRONTEND_URLS['password_reset']`` is set.
    confirm_url_name: str = "securetokens:password_reset_confirm"
    #: Added to the mail's template context.
    extra_email_context: dict[str, Any] = field(default_factory=dict)
    #: Dotted path of a :class:`~django_securetokens.forms.PasswordResetRequestForm`
    #: subclass whose ``get_users`` chooses the accounts; None: :func:`find_users`.
    users_form: str | None = None


def email_fingerprint(email: str) -> str:
    """A short keyed digest of a normalised address: logs can correlate requests for one
    address without holding the address itself (R-65, R-67)."""
    key = current_key("log")[1]
    return crypto.digest(key, canonical_email(email).encode()).hex()[:16]


def is_eligible(user: AbstractBaseUser | None) -> bool:
    """Whether *user* may reset a password by email: active, with a usable password and a
    stored address. Checked when secrets are issued and again when they are used (R-16)."""
    if user is None or not user.is_active or not user.has_usable_password():
        return False
    return bool(email_of(user))


def find_users(email: str, *, usable_password: bool = True) -> Iterator[AbstractBaseUser]:
    """The accounts that may reset by *email*, with Django's semantics
    (``PasswordResetForm.get_users``): active users with a usable password, found
    case-insensitively by the user model's email field, then kept only if the stored address
    equals *email* under NFKC + casefold (R-41). Passwordless sign-in passes
    ``usable_password=False`` to find accounts without a password too."""
    user_model = get_user_model()
    name = user_model.get_email_field_name()
    candidates = user_model._default_manager.filter(
        **{f"{name}__iexact": email, "is_active": True}
    )
    wanted = canonical_email(email)
    for user in candidates:
        stored = email_of(user)
        usable = user.has_usable_password() or not usable_password
        if usable and stored and canonical_email(stored) == wanted:
            yield user


def _users(email: str, options: MailOptions) -> Iterable[AbstractBaseUser]:
    if options.users_form is None:
        return find_users(email)
    form_class = import_string(options.users_form)
    users: Iterable[AbstractBaseUser] = form_class().get_users(email)
    return users


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


@task
def send_password_reset(
    *,
    origin: str,
    options: dict[str, Any],
    email: str | None = None,
    user_pks: list[str] | None = None,
) -> None:
    """The mail job of a reset request (by *email*) or of the admin action (by *user_pks*):
    finds the accounts and mails each eligible one its secrets, off the request path."""
    mail = MailOptions(**options)
    if email is not None:
        users = _users(email, mail)
    else:
        users = get_user_model()._default_manager.filter(pk__in=user_pks or [])
    if not send_mail(users, origin, mail) and email is not None:
        logger.info("No password reset mail for %s: no eligible account", email_fingerprint(email))


@sensitive_variables("secret", "code", "context", "message")
def send_mail(users: Iterable[AbstractBaseUser], origin: str, options: MailOptions) -> int:
    """Issue the secrets ``PASSWORD_RESET_METHOD`` asks for to each eligible user in *users*
    and mail them to the address stored on the account (R-41, R-69); return how many mails
    went out. Sends :data:`~django_securetokens.signals.password_reset_issued` for each."""
    method = setting("PASSWORD_RESET_METHOD")
    sent = 0
    for user in users:
        if not is_eligible(user):
            continue
        context: dict[str, Any] = {
            "user": user,
            "origin": origin,
            "site_name": site_name(origin),
            "reset_url": None,
            "code": None,
            **options.extra_email_context,
        }
        token = None
        if method != "code":
            token, secret = SecureToken.objects.issue(user, purpose=options.purpose)
            context["reset_url"] = link(PASSWORD_RESET, options.confirm_url_name, secret, origin)
            context["valid_minutes"] = _minutes(token.expires_at - token.created_at)
        if method != "link":
            code_token, code = SecureToken.objects.issue_code(user=user, purpose=options.purpose)
            context["code"] = format_code(code)
            context["code_valid_minutes"] = _minutes(code_token.expires_at - code_token.created_at)
            token = token or code_token
        assert token is not None  # noqa: S101 - METHODS: at least one of the two
        context["expires_at"] = token.expires_at
        message = render_email(options.email_template_prefix, context, to=email_of(user))
        if send_email(message, user_pk=user.pk):
            sent += 1
            logger.info("Password reset link sent to user %s", user.pk)
            signals.password_reset_issued.send(sender=SecureToken, user=user, token=token)
    return sent


def _minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


# --- verify ------------------------------------------------------------------------------


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
    judged (R-20, R-32, R-33). Nothing is consumed.

    :raises RateLimited: over ``PASSWORD_RESET_CODE_RATE_PER_IP`` for *client* (R-38).
    :raises TokenError: when no account's live code matches, or on malformed input.
    """
    limit(limits.PASSWORD_RESET_CODE, client)
    if not isinstance(email, str) or not 0 < len(email) <= 254 or not email.isprintable():
        raise InvalidToken("bad email")
    for user in list(find_users(email)):
        try:
            return _eligible(SecureToken.objects.verify_code(code, purpose, user=user))
        except TokenError:
            continue
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


def _exchange(code: SecureToken) -> SecureToken:
    with transaction.atomic():
        SecureToken.objects.use(code)
        user: AbstractBaseUser = code.user  # type: ignore[assignment]  # _eligible checked
        remaining = max(code.expires_at - timezone.now(), timedelta(seconds=1))
        # The secret of this row is never sent anywhere: the session's reference is the
        # only way to it.
        link_token, _ = SecureToken.objects.issue(user, purpose=code.purpose, ttl=remaining)
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
    with transaction.atomic():
        SecureToken.objects.use(token)
        save()
        SecureToken.objects.revoke_for(user, purpose=token.purpose)
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


@task
def send_password_changed(*, user_pk: str, origin: str, template_prefix: str) -> None:
    """The notification job: tells the account's stored address that its password changed.

    The mail has no link with a secret and no password; it points to the sign-in page.
    """
    user = get_user_model()._default_manager.filter(pk=user_pk).first()
    to = email_of(user) if user is not None else ""
    if user is None or not to:
        return
    context = {
        "user": user,
        "origin": origin,
        "site_name": site_name(origin),
        "login_url": origin + (login_url() or "/"),
    }
    send_email(render_email(template_prefix, context, to=to), user_pk=user.pk)
