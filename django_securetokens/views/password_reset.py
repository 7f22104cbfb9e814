"""The password-reset pages: request, sent, confirm (the link), complete.

The flow's logic is :mod:`django_securetokens.flows.password_reset`; these views add forms,
templates and the session. The link's GET keeps a *reference* to the verified token in a
new session (never the secret) and redirects to a token-free URL (R-21, R-42, R-06, R-78);
:mod:`.password_reset_set` takes over from there.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect
from django.views.generic import FormView, TemplateView

from django_securetokens.conf import PASSWORD_RESET, setting
from django_securetokens.emails import site_origin
from django_securetokens.exceptions import TokenError
from django_securetokens.flows import RateLimited
from django_securetokens.flows import password_reset as flow
from django_securetokens.forms import PasswordResetRequestForm
from django_securetokens.ratelimit import client_ip, client_key
from django_securetokens.sessions import RESET_EMAIL_SESSION_KEY, RESET_SESSION_KEY, accept
from django_securetokens.tasks import name_of

from .base import TokenPageMixin, unlogged

logger = logging.getLogger("django_securetokens")


@method_decorator(csrf_protect, name="dispatch")
class PasswordResetView(TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``password_reset``: ask for an address, always redirect to ``password_reset_sent``.

    Every valid submission is answered identically (R-35) and the mail job runs off the
    request path (R-36). The attributes named in :attr:`mail_options` go to the job.
    """

    template_name = "django_securetokens/password_reset.html"
    referrer_policy = "same-origin"  # its form POSTs back (see TokenPageMixin)
    form_class: type[PasswordResetRequestForm] = PasswordResetRequestForm
    success_url = reverse_lazy("securetokens:password_reset_sent")
    title = _("Reset your password")
    purpose = PASSWORD_RESET
    email_template_prefix = "django_securetokens/email/password_reset"
    confirm_url_name = "securetokens:password_reset_confirm"
    #: Added to the mail's context; JSON-serialisable, since it goes to the mail job.
    extra_email_context: dict[str, Any] | None = None
    mail_options = ("purpose", "email_template_prefix", "confirm_url_name", "extra_email_context")

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        email: str = form.cleaned_data["email"]
        origin = site_origin(self.request)  # for every request: a bad Host fails alike
        flow.request(
            email, client=client_key(self.request), origin=origin, options=self.get_mail_options()
        )
        if setting("PASSWORD_RESET_METHOD") != "link":
            # For the code page, whether or not an account has it; the code stays in the mail.
            self.request.session[RESET_EMAIL_SESSION_KEY] = email
        return super().form_valid(form)

    def get_mail_options(self) -> flow.MailOptions:
        """The mail job's options: :attr:`mail_options`, and the form whose ``get_users``
        chooses the accounts."""
        options = {name: getattr(self, name) for name in self.mail_options}
        options["extra_email_context"] = options.get("extra_email_context") or {}
        return flow.MailOptions(**options, users_form=name_of(self.form_class))


class PasswordResetSentView(TokenPageMixin, TemplateView):
    """``password_reset_sent``: "check your email", whatever happened."""

    template_name = "django_securetokens/password_reset_sent.html"
    title = _("Check your email")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("code_method", setting("PASSWORD_RESET_METHOD") != "link")
        return super().get_context_data(**kwargs)


class PasswordResetConfirmView(TokenPageMixin, TemplateView):
    """``password_reset_confirm``: the emailed link; a valid token becomes a session reference
    and the browser goes on to ``password_reset_set``. Every refusal gets the same "invalid
    link" page (R-15); over the per-IP limit it answers 429 (R-38)."""

    template_name = "django_securetokens/password_reset_invalid.html"
    success_url = reverse_lazy("securetokens:password_reset_set")
    title = _("Invalid password reset link")
    purpose = PASSWORD_RESET

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ip = client_ip(request)
        try:
            secret = kwargs.get("token")
            token = flow.verify(secret, client=client_key(request), purpose=self.purpose)
        except RateLimited:
            logger.info("Password reset link from %s refused by a rate limit", ip)
            context = self.get_context_data(rate_limited=True)
            return unlogged(self.render_to_response(context, status=429))
        except TokenError:
            logger.info("Invalid password reset link opened from %s", ip)
            return self.render_to_response(self.get_context_data())
        accept(request)
        request.session[RESET_SESSION_KEY] = flow.reference(token)
        return HttpResponseRedirect(self.success_url)


class PasswordResetCompleteView(TokenPageMixin, TemplateView):
    """``password_reset_complete``: the password was changed; sign in with it."""

    template_name = "django_securetokens/password_reset_complete.html"
    title = _("Password changed")
