"""Email verification by code and by link, and the email change built on it.

:func:`start_email_verification` issues a link and a code for the same (owner, purpose,
address), mails both in one message, and records in the session *who* is verifying — the
user's primary key and/or the address, never a secret (R-06). The code page takes only
``code`` and reads the identity from that session (R-31). The link's GET only shows a
confirm button; its POST verifies (R-21). Either proof marks its token used and applies its
effect in one transaction (R-19), then the sibling secret from the same mail is revoked.

An address can be verified before its account exists (the secrets are bound to the address
alone) or for a logged-in user (bound to the account, so they die when its password or
address changes). An email change is the same flow under its own purpose: the new address
replaces the old one only when proven, and the old address is told (R-29, R-30).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView, TemplateView

from django_securetokens.conf import EMAIL_CHANGE, EMAIL_VERIFICATION, get_policy, setting
from django_securetokens.emails import (
    absolute_url,
    render_email,
    send_email,
    site_name,
    site_origin,
)
from django_securetokens.exceptions import TokenError, TooManyAttempts
from django_securetokens.forms import EmailChangeForm, VerificationCodeForm
from django_securetokens.managers import _normalize_email
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_ip, client_key, hit
from django_securetokens.resend import remember, seconds_to_wait
from django_securetokens.signals import email_verified
from django_securetokens.views.base import TokenPageMixin, unlogged

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("django_securetokens")

#: Session key of the pending verification: purpose, address, user pk, next URL. No secret.
SESSION_KEY = "_securetokens_email_verification"
#: Session key of an address proven before its account exists, with the time of the proof.
VERIFIED_SESSION_KEY = "_securetokens_email_verified"
#: How long such a proof lets a sign-up view create an account with the address.
VERIFIED_MAX_AGE = 3600

# Per purpose: the URL name of the emailed link and the email template prefix.
FLOWS = {
    EMAIL_VERIFICATION: (
        "securetokens:email_verification_confirm",
        "django_securetokens/email/email_verification",
    ),
    EMAIL_CHANGE: ("securetokens:email_change_confirm", "django_securetokens/email/email_change"),
}


@dataclass(frozen=True)
class Pending:
    """The verification this browser session is waiting for."""

    purpose: str
    email: str
    user: AbstractBaseUser | None
    next_url: str | None
    #: Whether this session's own request issued a code (not one suppressed by a limit).
    issued: bool = False
    #: When this session asked for mail for this address (epoch seconds), newest last.
    asked: list[int] | None = None


def _email_of(user: AbstractBaseUser) -> str:
    return getattr(user, user.get_email_field_name(), "") or ""


def format_code(code: str) -> str:
    """Split a code in two for reading aloud and typing: ``"123456"`` → ``"123 456"``."""
    middle = len(code) // 2
    return f"{code[:middle]} {code[middle:]}"


# Error reports list the locals of every frame: keep the new secrets out of them.
@sensitive_variables("secret", "code", "context")
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
    identity, so :class:`EmailVerificationCodeView` needs only the code. After success the
    browser goes to *next_url* (a local URL) or to ``email_verification_complete``.

    Returns whether a mail was sent: ``False`` when the per-address limits suppressed it
    (``EMAIL_VERIFICATION_RATE_PER_EMAIL``, keyed by the address whether or not it has an
    account, R-37). Earlier
    secrets stay valid then. Answer both cases alike, so a suppressed resend cannot be told
    apart from a sent one. Raises :class:`~django_securetokens.exceptions.InvalidToken` if
    *email* is not a string of at most 254 characters; validate it with a form first.
    """
    confirm_url_name, template_prefix = FLOWS[purpose]
    address = _normalize_email(email)
    rates = setting("EMAIL_VERIFICATION_RATE_PER_EMAIL")
    previous = request.session.get(SESSION_KEY)
    same = isinstance(previous, dict) and previous.get("email") == address
    asked = previous.get("asked") if same and isinstance(previous, dict) else None
    record = {
        "purpose": purpose,
        "email": address,
        "user": None if user is None else str(user.pk),
        "next": next_url,
        "asked": remember(asked, time.time(), rates),
        "issued": False,
    }
    request.session[SESSION_KEY] = record
    user_pk = None if user is None else user.pk
    if not hit("verification_mail", address, rates):
        logger.info("Verification mail (%s) for user %s suppressed by a limit", purpose, user_pk)
        return False
    data = {"next": next_url} if next_url else None
    _, secret = SecureToken.objects.issue(user, purpose=purpose, email=address, data=data)
    _, code = SecureToken.objects.issue_code(user=user, purpose=purpose, email=address)
    request.session[SESSION_KEY] = {**record, "issued": True}
    policy, now = get_policy(purpose), timezone.now()
    context = {
        "user": user,
        "email": address,
        "code": format_code(code),
        "code_valid_for": timeuntil(now + policy.code_ttl, now),
        "link": absolute_url(request, reverse(confirm_url_name, kwargs={"token": secret})),
        "site_name": site_name(site_origin(request)),
        "link_valid_for": timeuntil(now + policy.ttl, now),
    }
    sent = send_email(render_email(template_prefix, context, to=address), user_pk=user_pk)
    logger.info("Verification mail (%s) for user %s sent: %s", purpose, user_pk, sent)
    return sent


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


def pending_verification(request: HttpRequest) -> Pending | None:
    """The verification this session waits for, or ``None``.

    A pending verification for an account is only honoured while that account is the one
    logged in, so another person at the same browser cannot finish it.
    """
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("purpose") not in FLOWS:
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


def _safe_next(request: HttpRequest, url: object) -> str | None:
    if isinstance(url, str) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _notify_old_address(user: AbstractBaseUser, old: str) -> None:
    """Tell the previous address that the account's address changed; no secret, no link."""
    context = {"user": user, "old_email": old, "new_email": _email_of(user)}
    message = render_email("django_securetokens/email/email_changed", context, to=old)
    send_email(message, user_pk=user.pk)


def complete_verification(request: HttpRequest, token: SecureToken, sender: type) -> None:
    """Use *token* and apply what it proves, in one transaction (R-19).

    Sends :data:`~django_securetokens.signals.email_verified` inside the transaction, so a
    receiver's own write (a "verified" flag) commits with it or not at all. For an email
    change, the account's address is replaced and the old one is told after commit. The
    other secret of the same mail (code or link) is revoked. Raises ``TokenError`` if the
    token was used meanwhile.
    """
    user = token.user
    with transaction.atomic():
        SecureToken.objects.use(token)
        owner = Q(user=user) if user is not None else Q(user__isnull=True, email=token.email)
        SecureToken.objects.live().filter(owner, purpose=token.purpose).update(
            revoked_at=timezone.now()
        )
        if token.purpose == EMAIL_CHANGE and user is not None:
            old = _email_of(user)
            setattr(user, user.get_email_field_name(), token.email)
            user.save(update_fields=[user.get_email_field_name()])
            if old:
                transaction.on_commit(partial(_notify_old_address, user, old))
        email_verified.send(sender=sender, user=user, email=token.email, request=request)
    request.session.pop(SESSION_KEY, None)
    if user is None:
        request.session[VERIFIED_SESSION_KEY] = {"email": token.email, "at": int(time.time())}
    logger.info("Address verified (%s) for user %s", token.purpose, token.user_id)


class EmailVerificationView(TokenPageMixin, TemplateView):
    """Send a verification mail: to the logged-in user's address, or again for the pending one.

    ``GET`` shows a button; ``POST`` mails a code and a link and redirects to the code page.
    A ``POST`` with ``resend`` re-sends for the verification this session is waiting for
    (which also serves visitors who have no account yet); the per-address limits apply
    either way and a suppressed mail is answered the same.
    """

    template_name = "django_securetokens/email_verification.html"
    title = _("Verify your email address")
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)
    #: ``callable(user) -> bool``: whether the user's current address is verified already,
    #: as the site records it (see the ``email_verified`` signal). The page then offers no
    #: verification. ``None``: the app cannot know, and always offers one.
    is_verified: Callable[[Any], bool] | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["email"] = _email_of(self.request.user)  # type: ignore[arg-type]
        kwargs["already_verified"] = bool(
            kwargs["email"] and self.is_verified and self.is_verified(self.request.user)
        )
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = pending_verification(request)
        if request.POST.get("resend") and pending is not None:
            start_email_verification(
                request,
                pending.email,
                pending.user,
                purpose=pending.purpose,
                next_url=pending.next_url,
            )
        elif not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        elif _email_of(request.user):
            start_email_verification(request, _email_of(request.user), request.user)
        else:
            return self.get(request, *args, **kwargs)
        return redirect("securetokens:email_verification_code")


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class EmailVerificationCodeView(TokenPageMixin, FormView):  # type: ignore[type-arg]
    """Enter the mailed code. The identity comes from the session, never from the form.

    Wrong, malformed and exotic codes all get one generic error and all count as attempts
    (R-20, R-32 to R-34). Submissions per client IP are limited
    (``EMAIL_VERIFICATION_CODE_RATE_PER_IP``, R-38); over it the page answers 429 without
    looking at the code.
    """

    template_name = "django_securetokens/email_verification_code.html"
    form_class = VerificationCodeForm
    success_url = reverse_lazy("securetokens:email_verification_complete")
    title = _("Enter your code")
    # Its forms POST (no-referrer would make browsers send "Origin: null", which fails
    # CSRF); its URL holds no secret.
    referrer_policy = "same-origin"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.pending = pending_verification(request)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["pending"] = self.pending
        if self.pending is not None:
            # From this session's own requests only, so it tells nobody about anyone else's.
            rates = setting("EMAIL_VERIFICATION_RATE_PER_EMAIL")
            wait = seconds_to_wait(self.pending.asked, time.time(), rates)
            kwargs["resend_wait_minutes"] = -(-wait // 60)
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rates = setting("EMAIL_VERIFICATION_CODE_RATE_PER_IP")
        if not hit("verification_code_ip", client_key(request), rates):
            form = self.get_form()
            form.add_error(None, form.error_messages["throttled"])
            return self.render_to_response(self.get_context_data(form=form), status=429)
        if self.pending is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: VerificationCodeForm) -> HttpResponse:
        pending = self.pending
        assert pending is not None  # noqa: S101 - post() returned early otherwise
        try:
            # Outside any transaction of ours: the attempt counts must persist on failure.
            token = SecureToken.objects.verify_code(
                form.cleaned_data["code"], pending.purpose, user=pending.user, email=pending.email
            )
            complete_verification(self.request, token, type(self))
        except TokenError as error:
            # "Used up" only for the code this session was sent: the session already knows
            # that code exists, so saying so reveals nothing about anyone else's.
            used_up = isinstance(error, TooManyAttempts) and pending.issued
            form.add_error("code", form.error_messages["used_up" if used_up else "invalid_code"])
            return self.form_invalid(form)
        return HttpResponseRedirect(
            _safe_next(self.request, pending.next_url) or self.get_success_url()
        )


@method_decorator(csrf_protect, name="dispatch")
class EmailVerificationConfirmView(TokenPageMixin, TemplateView):
    """The emailed link: ``GET`` shows a confirm button, only ``POST`` verifies (R-21).

    Mail scanners and link previews fetch links; a ``GET`` must change nothing. Every
    refusal (unknown, malformed, expired, used, revoked, wrong purpose) renders the same
    invalid page (R-15). Requests per client IP are limited
    (``EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP``).
    """

    purpose = EMAIL_VERIFICATION
    template_name = "django_securetokens/email_verification_confirm.html"
    invalid_template_name = "django_securetokens/email_verification_invalid.html"
    success_url = reverse_lazy("securetokens:email_verification_complete")
    title = _("Confirm your email address")
    # The confirm button POSTs back, which no-referrer would break (see TokenPageMixin).
    # same-origin still sends no Referer to any other site; this site already has the URL
    # from the GET. Refusals, which have no form, keep no-referrer.
    referrer_policy = "same-origin"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = self.check_token(kwargs["token"])
        if not isinstance(token, SecureToken):
            return token
        context = self.get_context_data(may_confirm=self.may_confirm(token), email=token.email)
        return self.render_to_response(context)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = self.check_token(kwargs["token"])
        if not isinstance(token, SecureToken):
            return token
        if not self.may_confirm(token):
            return self.render_to_response(self.get_context_data(may_confirm=False))
        try:
            complete_verification(request, token, type(self))
        except TokenError:
            return self.invalid()
        next_url = token.data.get("next") if isinstance(token.data, dict) else None
        self.referrer_policy = "no-referrer"  # the next page is not told the token URL
        return HttpResponseRedirect(_safe_next(request, next_url) or str(self.success_url))

    def check_token(self, secret: str) -> SecureToken | HttpResponse:
        """The live token for *secret*, or the response that refuses it."""
        rates = setting("EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP")
        if not hit("verification_confirm_ip", client_key(self.request), rates):
            logger.info(
                "Verification link from %s refused by a rate limit", client_ip(self.request)
            )
            return unlogged(self.invalid(status=429))
        try:
            return SecureToken.objects.verify(secret, self.purpose)
        except TokenError:
            return self.invalid()

    def may_confirm(self, token: SecureToken) -> bool:
        """Whether this request may use *token*; every verification link may be used."""
        return True

    def invalid(self, status: int = 200) -> HttpResponse:
        self.referrer_policy = "no-referrer"
        context = self.get_context_data(throttled=status == 429)
        return self.response_class(
            request=self.request,
            template=[self.invalid_template_name],
            context=context,
            using=self.template_engine,
            status=status,
        )


class EmailVerificationCompleteView(TokenPageMixin, TemplateView):
    """Where a verification ends unless the flow named another page."""

    template_name = "django_securetokens/email_verification_complete.html"
    title = _("Email address verified")


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class EmailChangeView(LoginRequiredMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """Ask to change the account's address; requires the current password (R-30).

    Nothing changes on the account here: the new address gets a code and a link, and
    becomes the account's address only once proven. Until then it is no password-reset
    destination, since reset looks addresses up on the account.
    """

    template_name = "django_securetokens/email_change.html"
    form_class = EmailChangeForm
    title = _("Change your email address")
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def form_valid(self, form: EmailChangeForm) -> HttpResponse:
        start_email_verification(
            self.request,
            form.cleaned_data["email"],
            self.request.user,  # type: ignore[arg-type]
            purpose=EMAIL_CHANGE,
        )
        return redirect("securetokens:email_verification_code")


class EmailChangeConfirmView(EmailVerificationConfirmView):
    """The emailed link of an email change; it needs the account's owner logged in (R-30)."""

    purpose = EMAIL_CHANGE
    title = _("Confirm your new email address")

    def may_confirm(self, token: SecureToken) -> bool:
        user = self.request.user
        return user.is_authenticated and user.pk == token.user_id


__all__ = [
    "SESSION_KEY",
    "VERIFIED_SESSION_KEY",
    "EmailChangeConfirmView",
    "EmailChangeView",
    "EmailVerificationCodeView",
    "EmailVerificationCompleteView",
    "EmailVerificationConfirmView",
    "EmailVerificationView",
    "complete_verification",
    "pending_verification",
    "start_email_verification",
    "verified_email",
]
