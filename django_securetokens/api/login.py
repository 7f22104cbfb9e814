"""Passwordless sign-in over JSON: ``login`` and ``login_confirm`` (R-84).

The same :mod:`django_securetokens.flows.login` steps as the HTML pages; both endpoints
answer 404 unless ``SECURETOKENS['PASSWORDLESS_LOGIN']`` is on. Success signs the session in
through ``authenticate()`` and ``login()``; ``LOGIN_RESPONSE`` may add a token of the
project's own to the answer, for clients that do not keep cookies.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from django_securetokens.conf import setting
from django_securetokens.emails import site_origin
from django_securetokens.flows import login

from .base import SecureTokensAPIView
from .serializers import DetailSerializer, EmailSerializer, ProofSerializer


class PasswordlessLoginAPIView(SecureTokensAPIView):
    """404 unless ``PASSWORDLESS_LOGIN`` is on, before anything else is looked at."""

    off_message = _("Passwordless sign-in is off on this site.")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not setting("PASSWORDLESS_LOGIN"):
            raise Http404
        super().initial(request, *args, **kwargs)


class LoginView(PasswordlessLoginAPIView):
    """``login``: ``{"email"}`` → ``202``, the same answer for every address.

    Known, unknown or inactive account, over a limit or not: one status, one body, and no
    database query, since the mail job runs off the request path (R-35 to R-37). An active
    account with the address gets one mail with a link and a code.
    """

    serializer_class = EmailSerializer
    accepted_message = _("If an account has this address, we have sent it a sign-in email.")
    responses = {
        status.HTTP_202_ACCEPTED: (DetailSerializer, accepted_message),
        status.HTTP_404_NOT_FOUND: (DetailSerializer, PasswordlessLoginAPIView.off_message),
    }

    def post(self, request: Request) -> Response:
        email: str = self.validated(request)["email"]
        login.request(
            email,
            client=self.client(),
            origin=site_origin(request._request),
            language=get_language(),
        )
        return Response({"detail": self.accepted_message}, status=status.HTTP_202_ACCEPTED)


@method_decorator(sensitive_post_parameters("token", "code"), name="dispatch")
class LoginConfirmView(PasswordlessLoginAPIView):
    """``login_confirm``: ``{"token"}`` or ``{"email", "code"}`` → ``200``, signed in.

    The session is signed in (a new session key, ``user_logged_in`` sent) and the answer
    holds the fields ``LOGIN_RESPONSE`` returns. Every failure is ``400`` ``invalid_token``
    (R-15); a wrong code also sends ``user_login_failed``. Links and codes each have their
    per-client limit, codes also a per-address one (``429``).
    """

    serializer_class = ProofSerializer
    signed_in_message = _("You are signed in.")
    responses = {
        status.HTTP_200_OK: (DetailSerializer, signed_in_message),
        status.HTTP_404_NOT_FOUND: (DetailSerializer, PasswordlessLoginAPIView.off_message),
    }

    def post(self, request: Request) -> Response:
        data = self.validated(request)
        if "token" in data:
            token = login.verify(data["token"], client=self.client())
        else:
            token = login.verify_code(
                data["email"], data["code"], client=self.client(), request=request._request
            )
        user = login.sign_in(request._request, token)
        return Response({"detail": self.signed_in_message, **self.extra_fields(request, user)})

    def extra_fields(self, request: Request, user: Any) -> dict[str, Any]:
        """What ``LOGIN_RESPONSE`` adds to the answer: ``callable(request, user) -> dict``."""
        path = setting("LOGIN_RESPONSE")
        if path is None:
            return {}
        extra: dict[str, Any] = import_string(path)(request, user)
        return extra
