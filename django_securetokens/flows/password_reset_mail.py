"""The password-reset mail: who may reset, and the jobs that send the mail.

Both jobs run off the request path through ``EMAIL_SENDER``
(:func:`~django_securetokens.tasks.enqueue`), so a reset request takes as long for an
unknown address as for a known one (R-36); their arguments are JSON and hold no secret, since
the job issues the secrets itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.forms import BaseForm
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from django_securetokens import crypto, signals
from django_securetokens.conf import PASSWORD_RESET, current_key, setting
from django_securetokens.emails import render_email, send_email, site_name
from django_securetokens.models import SecureToken
from django_securetokens.owners import canonical_email, email_of
from django_securetokens.tasks import task

from .common import format_code, link, login_url

logger = logging.getLogger("django_securetokens")


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
    get_users = None
    # Job arguments may come from a queue: instantiate no class but a form.
    if isinstance(form_class, type) and issubclass(form_class, BaseForm):
        get_users = getattr(form_class(), "get_users", None)
    if not callable(get_users):
        raise ValueError(f"{options.users_form} is not a form with get_users()")
    users: Iterable[AbstractBaseUser] = get_users(email)
    return users


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
            "valid_minutes": None,
            "code": None,
            "code_valid_minutes": None,
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
