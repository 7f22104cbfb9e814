"""The email-verification pages: ask for the mail and enter the code.

The flow's logic is :mod:`django_securetokens.flows.email_verification` (and
:mod:`~django_securetokens.flows.email_change` for a pending change); these views add forms,
templates and the session, which records *who* is verifying, never a secret (R-06,
R-31). Accepting a code gives the browser a new session key first (R-78); the link's pages
are in :mod:`.email_verification_confirm`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from django_securetokens.conf import EMAIL_CHANGE, setting
from django_securetokens.exceptions import InvalidToken, TokenError, TooManyAttempts
from django_securetokens.flows import RateLimited, email_change, email_verification
from django_securetokens.forms import VerificationCodeForm
from django_securetokens.owners import email_of
from django_securetokens.ratelimit import client_key
from django_securetokens.resend import seconds_to_wait
from django_securetokens.sessions import (
    accept,
    finish_verification,
    pending_verification,
    start_email_verification,
)

from .base import CodeFormMixin, TokenPageMixin, safe_next


class EmailVerificationView(TokenPageMixin, TemplateView):
    """Send a verification mail: to the logged-in user's address, or again (``resend``) for
    the verification this session waits for, which also serves visitors without an account.
    The per-address limits apply either way and a suppressed mail is answered the same."""

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
        kwargs["email"] = email_of(self.request.user)  # type: ignore[arg-type]
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
        else:
            try:
                start_email_verification(request, email_of(request.user), request.user)
            except InvalidToken:
                # No address, or one stored before R-80 that the flows cannot mail.
                return self.get(request, *args, **kwargs)
        return redirect("securetokens:email_verification_code")


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class EmailVerificationCodeView(CodeFormMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """Enter the mailed code; the identity comes from the session, never from the form.

    Wrong, malformed and exotic codes get one generic error and all count (R-20, R-32 to
    R-34); over ``EMAIL_VERIFICATION_CODE_RATE_PER_IP`` the page answers 429 (R-38).
    """

    template_name = "django_securetokens/email_verification_code.html"
    form_class = VerificationCodeForm
    success_url = reverse_lazy("securetokens:email_verification_complete")
    title = _("Enter your code")
    referrer_policy = "same-origin"  # its forms POST; its URL holds no secret

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
        if self.pending is None:
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: VerificationCodeForm) -> HttpResponse:
        pending, request = self.pending, self.request
        assert pending is not None  # noqa: S101 - post() returned early otherwise
        flow = email_change if pending.purpose == EMAIL_CHANGE else email_verification
        try:
            # Outside any transaction of ours: the attempt counts must persist on failure.
            token = flow.verify_code(
                form.cleaned_data["code"],
                email=pending.email,
                user=pending.user,
                client=client_key(request),
            )
            accept(request)
            if flow is email_change:
                email_change.complete(token, request.user, sender=type(self), request=request)
            else:
                email_verification.complete(token, sender=type(self), request=request)
        except TooManyAttempts as error:
            if not pending.issued:
                return self.refuse_code(form, error)
            # "Used up" only for the code this session was sent: the session already knows
            # that code exists, so saying so reveals nothing about anyone else's.
            form.add_error("code", form.error_messages["used_up"])
            return self.form_invalid(form)
        except (RateLimited, TokenError) as error:
            return self.refuse_code(form, error)
        finish_verification(request, token)
        return HttpResponseRedirect(safe_next(request, pending.next_url) or self.get_success_url())
