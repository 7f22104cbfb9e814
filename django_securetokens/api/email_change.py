"""Email change over JSON: ``email_change`` and ``email_change_confirm``.

The same :mod:`django_securetokens.flows.email_change` steps as the HTML pages: the current
password proves the owner (R-30), the new address gets a code and a link, and it replaces
the account's address only when the signed-in owner presents one of them.
"""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_securetokens.emails import site_origin
from django_securetokens.flows import email_change
from django_securetokens.forms import EmailChangeForm

from .base import SecureTokensAPIView
from .serializers import (
    DetailSerializer,
    EmailChangeSerializer,
    ProofSerializer,
    VerifiedSerializer,
)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class EmailChangeView(SecureTokensAPIView):
    """``email_change``: ``{"email", "password"}``, signed in → ``202``.

    The answer is the same whether or not another account has the address, and nothing
    changes until the new address is proven with ``email_change_confirm``. A wrong password
    is a ``400`` on ``password``; past ``EMAIL_CHANGE_REAUTH_RATE_PER_USER`` or ``_PER_IP``
    wrong ones, a ``429`` without the password being checked (R-79).
    """

    permission_classes = [IsAuthenticated]
    serializer_class = EmailChangeSerializer
    form_class: type[EmailChangeForm] = EmailChangeForm
    accepted_message = _("We have sent a code and a link to your new email address.")
    responses = {status.HTTP_202_ACCEPTED: (DetailSerializer, accepted_message)}

    def post(self, request: Request) -> Response:
        form = self.form_class(
            request.user,  # type: ignore[arg-type]
            self.validated(request),
            request=request._request,
        )
        if not form.is_valid():
            if form.throttled:
                raise Throttled
            self.form_invalid(form)
        email_change.request(
            request.user,  # type: ignore[arg-type]
            form.cleaned_data["email"],
            origin=site_origin(request._request),
            client=self.client(),
            language=get_language(),
        )
        return Response({"detail": self.accepted_message}, status=status.HTTP_202_ACCEPTED)


class EmailChangeConfirmView(SecureTokensAPIView):
    """``email_change_confirm``: ``{"email", "code"}`` or ``{"token"}``, signed in.

    ``200`` with ``{"email"}``, now the account's address; *email* is the new address the code
    was mailed to. Only the account's owner may complete the change: every failure,
    including a token of another account, is ``400`` ``invalid_token`` (R-15).
    """

    permission_classes = [IsAuthenticated]
    serializer_class = ProofSerializer
    changed_message = _("Your email address has been changed.")
    responses = {status.HTTP_200_OK: (VerifiedSerializer, changed_message)}

    def post(self, request: Request) -> Response:
        data = self.validated(request)
        if "token" in data:
            token = email_change.verify(data["token"], client=self.client())
        else:
            token = email_change.verify_code(
                data["code"],
                email=data["email"],
                user=request.user,  # type: ignore[arg-type]
                client=self.client(),
            )
        email_change.complete(token, request.user, sender=type(self), request=request._request)
        return Response({"detail": self.changed_message, "email": token.email})
