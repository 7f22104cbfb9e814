"""The password-reset flow: request, sent, confirm (the emailed link), set, complete.

How the pieces keep the flow safe:

* The request view does the same work for every valid address — a rate-limit count and a
  queued job — and answers with the same redirect, so neither its response nor its timing
  says whether an account exists (R-35, R-36). The job, off the request path, finds the
  accounts, issues the tokens and sends the mail (:func:`send_password_reset`).
* The link's GET only verifies the token, keeps a *reference* to it in the session (never
  the token) and redirects to a token-free URL (R-21, R-42, R-06).
* The set-password POST checks the reference again, then consumes the token and saves the
  new password in one transaction (R-18, R-19). Changing the password hash ends every other
  session, because the flow never calls ``update_session_auth_hash`` (R-25), and the user is
  told by email (R-29).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView, TemplateView

from django_securetokens import crypto, signals
from django_securetokens.conf import PASSWORD_RESET, current_key, setting
from django_securetokens.emails import render_email, send_email, site_origin
from django_securetokens.emails import site_name as _origin_site_name
from django_securetokens.exceptions import TokenError, UsedToken
from django_securetokens.forms import PasswordResetRequestForm, normalize_email
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_ip, client_key, hit
from django_securetokens.tasks import enqueue, name_of, task

from .base import TokenPageMixin, login_url, unlogged

logger = logging.getLogger("django_securetokens")

#: Session key holding ``{"pk": …, "reference": …}`` between the link and the new password.
SESSION_KEY = "_securetokens_password_reset"


def email_fingerprint(email: str) -> str:
    """A short keyed digest of a normalised address: logs can correlate requests for one
    address without holding the address itself (R-65, R-67)."""
    key = current_key("log")[1]
    return crypto.digest(key, normalize_email(email).encode()).hex()[:16]


def is_eligible(user: AbstractBaseUser | None) -> bool:
    """Whether *user* may reset a password by email: active, with a usable password and a
    stored address. Checked when links are issued and again when they are used (R-16)."""
    if user is None or not user.is_active or not user.has_usable_password():
        return False
    return bool(getattr(user, user.get_email_field_name(), ""))


class PasswordResetView(TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``password_reset``: ask for an address, always redirect to ``password_reset_sent``.

    Every valid submission is answered identically — existing, unknown, inactive or
    password-less account, over a rate limit, or a mail server that fails (R-35) — and the
    mail job runs off the request path (R-36). Configure it with the attributes below; the
    mail job receives those named in :attr:`mail_options`, so they may also be passed to
    ``as_view()``.
    """

    template_name = "django_securetokens/password_reset.html"
    # Its form POSTs back, which no-referrer would break (see TokenPageMixin); its URL
    # holds no secret.
    referrer_policy = "same-origin"
    form_class: type[PasswordResetRequestForm] = PasswordResetRequestForm
    success_url = reverse_lazy("securetokens:password_reset_sent")
    title = _("Reset your password")
    #: Purpose the tokens are issued for.
    purpose = PASSWORD_RESET
    #: Templates ``<prefix>_subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.
    email_template_prefix = "django_securetokens/email/password_reset"
    #: URL name of the link in the mail; it takes one keyword argument, ``token``.
    confirm_url_name = "securetokens:password_reset_confirm"
    #: Added to the mail's template context. Keep it JSON-serialisable if the mail job goes
    #: through a task queue.
    extra_email_context: dict[str, Any] | None = None
    #: Attributes handed to the mail job, which rebuilds the view from them.
    mail_options = ("purpose", "email_template_prefix", "confirm_url_name", "extra_email_context")

    @method_decorator(csrf_protect)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        email: str = form.cleaned_data["email"]
        ip = client_ip(self.request)
        # Computed for every request, so a bad Host header fails the same way for all.
        origin = site_origin(self.request)
        if self.allow(email, client_key(self.request)):
            logger.info("Password reset requested for %s from %s", email_fingerprint(email), ip)
            enqueue(send_password_reset, **self.job_kwargs(origin), email=email)
        else:
            # Not a word to the client: a refused request looks like any other.
            logger.info(
                "Password reset request for %s from %s suppressed by a rate limit",
                email_fingerprint(email),
                ip,
            )
        return super().form_valid(form)

    def allow(self, email: str, client: str) -> bool:
        """Count the request against the per-IP and per-address limits; return whether it
        may send mail. The address is counted whether or not an account has it (R-37)."""
        if not hit("password_reset_ip", client, setting("PASSWORD_RESET_RATE_PER_IP")):
            return False
        rates = setting("PASSWORD_RESET_RATE_PER_EMAIL")
        return hit("password_reset_email", normalize_email(email), rates)

    def job_kwargs(self, origin: str) -> dict[str, Any]:
        """What the mail job needs to rebuild this view: no secret, no request."""
        options = {name: getattr(self, name) for name in self.mail_options}
        return {"view": name_of(type(self)), "options": options, "origin": origin}

    # --- run by the mail job, off the request path ------------------------------------

    def get_users(self, email: str) -> Iterable[AbstractBaseUser]:
        """The accounts to mail for *email*: :meth:`PasswordResetRequestForm.get_users`."""
        form: PasswordResetRequestForm = self.form_class()
        return form.get_users(email)

    @sensitive_variables("secret", "path", "context", "message")
    def send_links(self, users: Iterable[AbstractBaseUser], origin: str) -> int:
        """Issue a token for each eligible user in *users* and mail the link to the address
        stored on the account (R-41, R-69). Return how many mails went out."""
        sent = 0
        for user in users:
            if not is_eligible(user):
                continue
            token, secret = SecureToken.objects.issue(user, purpose=self.purpose)
            path = reverse(self.confirm_url_name, kwargs={"token": secret})
            context = {
                "user": user,
                "reset_url": origin + path,
                "origin": origin,
                "site_name": _origin_site_name(origin),
                "expires_at": token.expires_at,
                "valid_minutes": round((token.expires_at - token.created_at).total_seconds() / 60),
                **(self.extra_email_context or {}),
            }
            to = getattr(user, user.get_email_field_name())
            message = render_email(self.email_template_prefix, context, to=to)
            if send_email(message, user_pk=user.pk):
                sent += 1
                logger.info("Password reset link sent to user %s", user.pk)
                signals.password_reset_issued.send(sender=type(self), user=user, token=token)
        return sent


@task
def send_password_reset(
    *,
    view: str,
    options: dict[str, Any],
    origin: str,
    email: str | None = None,
    user_pks: list[str] | None = None,
) -> None:
    """The mail job of a reset request (by *email*) or of the admin action (by *user_pks*).

    It rebuilds the :class:`PasswordResetView` subclass named *view* with *options*, finds
    the accounts and sends their links, all off the request path (R-36).
    """
    view_class = import_string(view)
    if not (isinstance(view_class, type) and issubclass(view_class, PasswordResetView)):
        raise ValueError(f"{view} is not a PasswordResetView")
    instance = view_class(**options)
    if email is not None:
        users: Iterable[AbstractBaseUser] = instance.get_users(email)
    else:
        users = get_user_model()._default_manager.filter(pk__in=user_pks or [])
    if not instance.send_links(users, origin) and email is not None:
        logger.info("No password reset mail for %s: no eligible account", email_fingerprint(email))


def queue_reset_links(
    request: HttpRequest,
    users: Iterable[AbstractBaseUser],
    view_class: type[PasswordResetView] = PasswordResetView,
) -> None:
    """Queue reset links for *users*, as the admin action does (R-68): whoever triggers it
    never sees or chooses a password, and ineligible users are skipped."""
    view = view_class()
    user_pks = [str(user.pk) for user in users]
    enqueue(send_password_reset, **view.job_kwargs(site_origin(request)), user_pks=user_pks)


class PasswordResetSentView(TokenPageMixin, TemplateView):
    """``password_reset_sent``: "check your email", whatever happened."""

    template_name = "django_securetokens/password_reset_sent.html"
    title = _("Check your email")


class PasswordResetConfirmView(TokenPageMixin, TemplateView):
    """``password_reset_confirm``: the emailed link.

    A valid token is replaced by a reference in the session and the browser is redirected
    to ``password_reset_set``, so the token leaves the address bar, the history and any
    ``Referer`` (R-42). Nothing is consumed on GET, since mail scanners follow links (R-21).
    Every failure — malformed, unknown, expired, used, revoked or ineligible user — gets the
    same "invalid link" page (R-15); over the per-IP limit the page answers 429 (R-38).
    """

    template_name = "django_securetokens/password_reset_invalid.html"
    success_url = reverse_lazy("securetokens:password_reset_set")
    title = _("Invalid password reset link")
    purpose = PASSWORD_RESET

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ip = client_ip(request)
        if not hit(
            "password_reset_confirm",
            client_key(request),
            setting("PASSWORD_RESET_CONFIRM_RATE_PER_IP"),
        ):
            logger.info("Password reset link from %s refused by a rate limit", ip)
            response = self.render_to_response(
                self.get_context_data(rate_limited=True), status=429
            )
            return unlogged(response)
        try:
            token = SecureToken.objects.verify(kwargs.get("token"), self.purpose)
            if not is_eligible(token.user):
                raise TokenError("ineligible user")
        except TokenError:
            logger.info("Invalid password reset link opened from %s", ip)
            return self.render_to_response(self.get_context_data())
        request.session[SESSION_KEY] = {
            "pk": token.pk,
            "reference": SecureToken.objects.reference(token),
        }
        return HttpResponseRedirect(self.success_url)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordResetSetView(TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``password_reset_set``: Django's ``SetPasswordForm`` for the account of the link.

    The session reference is checked on every request. A valid POST consumes the token and
    saves the password in one transaction (R-19), revokes the user's other reset tokens,
    mails a notification (R-29) and does not log the user in unless
    :attr:`post_reset_login` is set (R-25, R-48).
    """

    template_name = "django_securetokens/password_reset_set.html"
    # The token never reaches this URL (it is swapped for a session reference first), and
    # the form must POST back: same-origin, not no-referrer (see TokenPageMixin).
    referrer_policy = "same-origin"
    invalid_template_name = "django_securetokens/password_reset_invalid.html"
    form_class: type[Form] = SetPasswordForm
    success_url = reverse_lazy("securetokens:password_reset_complete")
    title = _("Choose a new password")
    purpose = PASSWORD_RESET
    #: Log the user in after the reset (with ``login()``, which rotates the session key).
    post_reset_login = False
    #: Dotted path of the authentication backend for :attr:`post_reset_login`.
    post_reset_login_backend: str | None = None
    #: Templates of the "your password was changed" mail, which holds no link or secret.
    notification_template_prefix = "django_securetokens/email/password_changed"

    token: SecureToken
    user: AbstractBaseUser

    def load_token(self) -> bool:
        """Find the token the session refers to; False (and forget it) unless it is still
        live and its user still eligible (R-16)."""
        reference = self.request.session.get(SESSION_KEY)
        try:
            if not isinstance(reference, dict):
                raise TokenError("no reference in the session")
            token = SecureToken.objects.verify_reference(
                reference.get("pk"), reference.get("reference"), self.purpose
            )
            if not is_eligible(token.user):
                raise TokenError("ineligible user")
        except TokenError:
            self.request.session.pop(SESSION_KEY, None)
            return False
        self.token, self.user = token, token.user  # type: ignore[assignment]
        return True

    def invalid_link(self) -> HttpResponse:
        """The same "invalid or expired link" page as :class:`PasswordResetConfirmView`."""
        context = self.get_context_data(form=None, title=PasswordResetConfirmView.title)
        return self.response_class(self.request, self.invalid_template_name, context)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.load_token():
            return self.invalid_link()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.load_token():
            return self.invalid_link()
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.user}

    def form_valid(self, form: Form) -> HttpResponse:
        user = self.user
        origin = site_origin(self.request)  # before the change, so a bad Host changes nothing
        try:
            # All or nothing: if saving fails, the token stays unused and may be retried;
            # if another request used it first, nothing is saved.
            with transaction.atomic():
                SecureToken.objects.use(self.token)
                form.save()  # type: ignore[attr-defined]
                SecureToken.objects.revoke_for(user, purpose=self.purpose)
        except UsedToken:
            self.request.session.pop(SESSION_KEY, None)
            return self.invalid_link()
        self.request.session.pop(SESSION_KEY, None)
        logger.info(
            "Password reset completed for user %s from %s", user.pk, client_ip(self.request)
        )
        signals.password_reset_completed.send(sender=type(self), user=user, request=self.request)
        self.notify(user, origin)
        if self.post_reset_login:
            auth_login(self.request, user, self.post_reset_login_backend)  # type: ignore[arg-type]
        return HttpResponseRedirect(self.get_success_url())

    def notify(self, user: AbstractBaseUser, origin: str) -> None:
        """Queue the "your password was changed" mail to the stored address (R-29)."""
        enqueue(
            send_password_changed,
            user_pk=str(user.pk),
            origin=origin,
            template_prefix=self.notification_template_prefix,
        )


@task
def send_password_changed(*, user_pk: str, origin: str, template_prefix: str) -> None:
    """The notification job: tells the account's stored address that its password changed.

    The mail has no link with a secret and no password; it points to the sign-in page.
    """
    user = get_user_model()._default_manager.filter(pk=user_pk).first()
    to = getattr(user, user.get_email_field_name(), "") if user is not None else ""
    if user is None or not to:
        return
    context = {
        "user": user,
        "origin": origin,
        "site_name": _origin_site_name(origin),
        "login_url": origin + (login_url() or "/"),
    }
    send_email(render_email(template_prefix, context, to=to), user_pk=user.pk)


class PasswordResetCompleteView(TokenPageMixin, TemplateView):
    """``password_reset_complete``: the password was changed; sign in with it."""

    template_name = "django_securetokens/password_reset_complete.html"
    title = _("Password changed")
