"""Password reset over JSON: ``password_reset``, ``password_reset_verify``,
``password_reset_complete``.

The same :mod:`django_securetokens.flows.password_reset` steps as the HTML pages. A client
presents the emailed link's token, or the address and the mailed code (whichever
``PASSWORD_RESET_METHOD`` sends); nothing is kept between requests, so the proof comes with
each of them and is spent only by a successful ``password_reset_complete``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import SetPasswordForm
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from django_securetokens.emails import site_origin
from django_securetokens.flows import password_reset
from django_securetokens.models import SecureToken

from .base import SecureTokensAPIView
from .serializers import (
    DetailSerializer,
    EmailSerializer,
    PasswordResetCompleteSerializer,
    ProofSerializer,
)


class PasswordResetView(SecureTokensAPIView):
    """``password_reset``: ``{"email"}`` → ``202``, the same answer for every address.

    Known, unknown, inactive or password-less account, over a limit or not: one status, one
    body, one set of headers, and no database query, since the mail job runs off the request
    path (R-35 to R-37).
    """

    serializer_class = EmailSerializer
    accepted_message = _("If an account has this address, we have sent it a message.")
    #: Passed to the flow: which mail, which link.
    mail_options: password_reset.MailOptions | None = None
    responses = {status.HTTP_202_ACCEPTED: (DetailSerializer, accepted_message)}

    def post(self, request: Request) -> Response:
        email: str = self.validated(request)["email"]
        password_reset.request(
            email,
            client=self.client(),
            # Computed for every address, so a bad Host header fails alike for all.
            origin=site_origin(request._request),
            language=get_language(),
            options=self.mail_options,
        )
        return Response({"detail": self.accepted_message}, status=status.HTTP_202_ACCEPTED)


class ProofMixin:
    """Finds the live reset token a body's ``{"token"}`` or ``{"email", "code"}`` proves."""

    def verified_token(self, data: dict[str, Any]) -> SecureToken:
        client: str = self.client()  # type: ignore[attr-defined]
        if "token" in data:
            return password_reset.verify(data["token"], client=client)
        return password_reset.verify_code(data["email"], data["code"], client=client)


class PasswordResetVerifyView(ProofMixin, SecureTokensAPIView):
    """``password_reset_verify``: is this proof still good?

    ``200`` when it is, and nothing is consumed; else ``400`` ``invalid_token``. Checking a
    code counts as an attempt on it (R-20), as submitting it would.
    """

    serializer_class = ProofSerializer
    valid_message = _("This link or code is valid.")
    responses = {status.HTTP_200_OK: (DetailSerializer, valid_message)}

    def post(self, request: Request) -> Response:
        self.verified_token(self.validated(request))
        return Response({"detail": self.valid_message})


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordResetCompleteView(ProofMixin, SecureTokensAPIView):
    """``password_reset_complete``: a proof and ``new_password``.

    The password goes through ``AUTH_PASSWORD_VALIDATORS`` (Django's ``SetPasswordForm``);
    its errors are a ``400`` ``{"new_password": [...]}`` and spend nothing. Success spends
    the token and saves the password in one transaction, revokes the user's other reset
    secrets, ends their other sessions, queues the "password changed" mail and signs no one
    in (R-19, R-25, R-29).
    """

    serializer_class = PasswordResetCompleteSerializer
    form_class: type[SetPasswordForm] = SetPasswordForm  # type: ignore[type-arg]
    done_message = _("Your password has been set. You may sign in now.")
    responses = {status.HTTP_200_OK: (DetailSerializer, done_message)}

    def post(self, request: Request) -> Response:
        data = self.validated(request)
        token = self.verified_token(data)
        password = data["new_password"]
        form = self.form_class(token.user, {"new_password1": password, "new_password2": password})
        if not form.is_valid():
            self.form_invalid(form, "new_password")
        password_reset.complete(
            token,
            form.save,
            origin=site_origin(request._request),
            client=self.client(),
            language=get_language(),
            sender=type(self),
            request=request._request,
        )
        return Response({"detail": self.done_message})
