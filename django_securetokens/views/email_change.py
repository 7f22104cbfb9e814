"""The email-change pages: ask with the current password (R-30), then confirm the link.

The new address becomes the account's only once proven
(:mod:`django_securetokens.flows.email_change`); its code is entered on the same code page
as a verification's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView

from django_securetokens.conf import EMAIL_CHANGE
from django_securetokens.flows import email_change
from django_securetokens.forms import EmailChangeForm
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_key
from django_securetokens.sessions import start_email_verification

from .base import TokenPageMixin
from .email_verification_confirm import EmailVerificationConfirmView


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class EmailChangeView(LoginRequiredMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """Ask to change the account's address; requires the current password (R-30).

    Nothing changes on the account here: the new address gets a code and a link. Until one
    is used it is no password-reset destination, since reset looks addresses up on the
    account. Past the limits on wrong passwords the page answers 429 (R-79).
    """

    template_name = "django_securetokens/email_change.html"
    form_class = EmailChangeForm
    title = _("Change your email address")
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        kwargs["request"] = self.request
        return kwargs

    def form_invalid(self, form: EmailChangeForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response

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

    title = _("Confirm your new email address")

    @sensitive_variables("secret")
    def verify(self, secret: str) -> SecureToken:
        return email_change.verify(secret, client=client_key(self.request))

    def may_confirm(self, token: SecureToken) -> bool:
        return email_change.may_complete(token, self.request.user)

    def complete(self, token: SecureToken) -> None:
        email_change.complete(token, self.request.user, sender=type(self), request=self.request)
