"""The emailed link of an email verification, and the page where a verification ends.

Accepting the link gives the browser a new session key first (R-78).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_variables
from django.views.generic import TemplateView

from django_securetokens.exceptions import TokenError
from django_securetokens.flows import RateLimited, email_verification
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_key
from django_securetokens.sessions import accept, finish_verification

from .base import TokenPageMixin, safe_next, unlogged


@method_decorator(csrf_protect, name="dispatch")
class EmailVerificationConfirmView(TokenPageMixin, TemplateView):
    """The emailed link: ``GET`` shows a confirm button, only ``POST`` verifies (R-21), since
    mail scanners fetch links. Every refusal renders the same invalid page (R-15); over
    ``EMAIL_VERIFICATION_CONFIRM_RATE_PER_IP`` it answers 429 (R-38)."""

    template_name = "django_securetokens/email_verification_confirm.html"
    invalid_template_name = "django_securetokens/email_verification_invalid.html"
    success_url = reverse_lazy("securetokens:email_verification_complete")
    title = _("Confirm your email address")
    # The confirm button POSTs back, which no-referrer would break (see TokenPageMixin);
    # refusals, which have no form, keep no-referrer.
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
        accept(request)
        try:
            self.complete(token)
        except TokenError:
            return self.invalid()
        finish_verification(request, token)
        next_url = token.data.get("next") if isinstance(token.data, dict) else None
        self.referrer_policy = "no-referrer"  # the next page is not told the token URL
        return HttpResponseRedirect(safe_next(request, next_url) or str(self.success_url))

    @sensitive_variables("secret")
    def check_token(self, secret: str) -> SecureToken | HttpResponse:
        """The live token for *secret*, or the response that refuses it."""
        try:
            return self.verify(secret)
        except RateLimited:
            return unlogged(self.invalid(status=429))
        except TokenError:
            return self.invalid()

    @sensitive_variables("secret")
    def verify(self, secret: str) -> SecureToken:
        return email_verification.verify(secret, client=client_key(self.request))

    def may_confirm(self, token: SecureToken) -> bool:
        """Whether this request may use *token*; every verification link may be used."""
        return True

    def complete(self, token: SecureToken) -> None:
        email_verification.complete(token, sender=type(self), request=self.request)

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
