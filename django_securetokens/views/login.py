"""The passwordless sign-in pages: ``login``, ``login_code``, ``login_confirm`` (R-84).

All three answer 404 unless ``SECURETOKENS['PASSWORDLESS_LOGIN']`` is on. The logic is
:mod:`django_securetokens.flows.login`; these views add forms, templates and the session,
which holds the address asked for and the ``next`` URL, never a secret (R-06).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView

from django_securetokens.conf import setting
from django_securetokens.emails import site_origin
from django_securetokens.exceptions import TokenError
from django_securetokens.flows import RateLimited
from django_securetokens.flows import login as flow
from django_securetokens.forms import LoginRequestForm, VerificationCodeForm
from django_securetokens.models import SecureToken
from django_securetokens.ratelimit import client_key
from django_securetokens.sessions import LOGIN_SESSION_KEY

from .base import TokenPageMixin, safe_next, unlogged
from .email_verification_confirm import EmailVerificationConfirmView


class PasswordlessLoginMixin:
    """404 unless ``PASSWORDLESS_LOGIN`` is on: a new way into accounts is a site's choice."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not setting("PASSWORDLESS_LOGIN"):
            raise Http404("Passwordless sign-in is off")
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response

    def redirect_url(self, next_url: object) -> str:
        """*next_url* when this site may redirect to it, else ``LOGIN_REDIRECT_URL``."""
        request: HttpRequest = self.request  # type: ignore[attr-defined]
        return safe_next(request, next_url) or resolve_url(settings.LOGIN_REDIRECT_URL)


@method_decorator(csrf_protect, name="dispatch")
class LoginView(PasswordlessLoginMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``login``: ask for an address, always redirect to ``login_code``.

    Every valid submission is answered identically and mails nothing for an unknown address
    (R-35, R-36); a local ``next`` (query string or form) is carried to the end.
    """

    template_name = "django_securetokens/login.html"
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)
    form_class: type[LoginRequestForm] = LoginRequestForm
    success_url = reverse_lazy("securetokens:login_code")
    title = _("Sign in by email")

    def next_url(self) -> str | None:
        return safe_next(
            self.request, self.request.POST.get("next") or self.request.GET.get("next")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("next", self.next_url() or "")
        return super().get_context_data(**kwargs)

    def form_valid(self, form: LoginRequestForm) -> HttpResponse:
        email: str = form.cleaned_data["email"]
        next_url = self.next_url()
        flow.request(
            email,
            client=client_key(self.request),
            origin=site_origin(self.request),
            language=get_language(),
            next_url=next_url,
        )
        self.request.session[LOGIN_SESSION_KEY] = {"email": email, "next": next_url}
        return super().form_valid(form)


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class LoginCodeView(PasswordlessLoginMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``login_code``: the mailed code for the address given on ``login``, which comes from
    the session, never from this form (R-31). A wrong code, an unknown address and an
    expired code get the same error; each try counts (R-20, R-32, R-33) and sends
    ``user_login_failed``. Success signs in and redirects to a safe ``next``."""

    template_name = "django_securetokens/login_code.html"
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)
    form_class = VerificationCodeForm
    title = _("Enter your sign-in code")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        pending = request.session.get(LOGIN_SESSION_KEY)
        self.pending = pending if isinstance(pending, dict) else {}
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("email", self.pending.get("email"))
        return super().get_context_data(**kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.pending.get("email"):
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: VerificationCodeForm) -> HttpResponse:
        try:
            token = flow.verify_code(
                self.pending["email"],
                form.cleaned_data["code"],
                client=client_key(self.request),
                request=self.request,
            )
            flow.sign_in(self.request, token)
        except RateLimited:
            form.add_error(None, form.error_messages["throttled"])
            return unlogged(self.render_to_response(self.get_context_data(form=form), status=429))
        except TokenError:
            form.add_error("code", form.error_messages["invalid_code"])
            return self.form_invalid(form)
        self.request.session.pop(LOGIN_SESSION_KEY, None)
        return HttpResponseRedirect(self.redirect_url(self.pending.get("next")))


class LoginConfirmView(PasswordlessLoginMixin, EmailVerificationConfirmView):
    """``login_confirm``: the emailed link. ``GET`` shows a "Sign in" button and uses
    nothing, since mail scanners fetch links; ``POST`` signs in as ``login_code`` does and
    redirects to the ``next`` stored with the link, when safe. Every refusal renders the
    same invalid page (R-15); over ``LOGIN_CONFIRM_RATE_PER_IP`` it answers 429 (R-38)."""

    template_name = "django_securetokens/login_confirm.html"
    invalid_template_name = "django_securetokens/login_invalid.html"
    title = _("Sign in")

    @property
    def success_url(self) -> str:  # type: ignore[override]
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    @sensitive_variables("secret")
    def verify(self, secret: str) -> SecureToken:
        return flow.verify(secret, client=client_key(self.request))

    def complete(self, token: SecureToken) -> None:
        flow.sign_in(self.request, token)
        self.request.session.pop(LOGIN_SESSION_KEY, None)
