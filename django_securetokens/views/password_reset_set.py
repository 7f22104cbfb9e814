"""The password-reset pages after the address: the mailed code, and the new password.

The code page turns a valid code into the same session reference a link gives (in a new
session, R-78), so ``password_reset_set`` serves both; it checks the reference on every
request and completes the flow (:func:`~django_securetokens.flows.password_reset.complete`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import SetPasswordForm
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from django_securetokens.conf import PASSWORD_RESET, setting
from django_securetokens.emails import site_origin
from django_securetokens.exceptions import TokenError
from django_securetokens.flows import RateLimited
from django_securetokens.flows import password_reset as flow
from django_securetokens.forms import VerificationCodeForm
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_ip, client_key
from django_securetokens.sessions import RESET_EMAIL_SESSION_KEY, RESET_SESSION_KEY, accept

from .base import CodeFormMixin, TokenPageMixin
from .password_reset import PasswordResetConfirmView


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class PasswordResetCodeView(CodeFormMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``password_reset_code``: the mailed code for the address given on ``password_reset``.

    Exists when ``PASSWORD_RESET_METHOD`` is ``"code"`` or ``"both"`` (else 404). The address
    comes from the session, never from this form (R-31); a wrong code, an unknown address
    and an expired code get the same error, and each try counts (R-20, R-32, R-33).
    """

    template_name = "django_securetokens/password_reset_code.html"
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)
    form_class = VerificationCodeForm
    success_url = reverse_lazy("securetokens:password_reset_set")
    title = _("Enter your code")
    purpose = PASSWORD_RESET

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if setting("PASSWORD_RESET_METHOD") == "link":
            raise Http404("Password reset by code is off")
        email = request.session.get(RESET_EMAIL_SESSION_KEY)
        self.email = email if isinstance(email, str) else None
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("email", self.email)
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.email is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: VerificationCodeForm) -> HttpResponse:
        try:
            # The code goes straight to the flow, so no local of this frame holds it.
            token = flow.verify_code(
                self.email,
                form.cleaned_data["code"],
                client=client_key(self.request),
                purpose=self.purpose,
            )
        except (RateLimited, TokenError) as error:
            return self.refuse_code(form, error)
        accept(self.request)
        self.request.session[RESET_SESSION_KEY] = flow.reference(token)
        self.request.session.pop(RESET_EMAIL_SESSION_KEY, None)
        return HttpResponseRedirect(self.get_success_url())


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordResetSetView(TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``password_reset_set``: Django's ``SetPasswordForm`` for the account of the link or
    code. A valid POST completes the flow; the user is not logged in unless
    :attr:`post_reset_login` is set (R-25, R-48)."""

    template_name = "django_securetokens/password_reset_set.html"
    referrer_policy = "same-origin"  # no secret in its URL, and its form POSTs back
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

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            reference = request.session.get(RESET_SESSION_KEY)
            self.token = flow.verify_reference(reference, purpose=self.purpose)
        except TokenError:
            request.session.pop(RESET_SESSION_KEY, None)
            return self.invalid_link()
        return super().dispatch(request, *args, **kwargs)

    def invalid_link(self) -> HttpResponse:
        """The same "invalid or expired link" page as :class:`PasswordResetConfirmView`."""
        context = self.get_context_data(form=None, title=PasswordResetConfirmView.title)
        return self.response_class(self.request, self.invalid_template_name, context)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.token.user}

    def form_valid(self, form: Form) -> HttpResponse:
        origin = site_origin(self.request)  # first, so a bad Host changes nothing
        try:
            user = flow.complete(
                self.token,
                form.save,  # type: ignore[attr-defined]
                origin=origin,
                client=client_ip(self.request),
                sender=type(self),
                request=self.request,
                notification_template_prefix=self.notification_template_prefix,
            )
        except TokenError:
            return self.invalid_link()
        finally:
            self.request.session.pop(RESET_SESSION_KEY, None)
        if self.post_reset_login:
            auth_login(self.request, user, self.post_reset_login_backend)  # type: ignore[arg-type]
        return HttpResponseRedirect(self.get_success_url())
