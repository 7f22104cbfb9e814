"""Email verification over JSON: ``email_verification`` and ``email_verification_confirm``.

The same :mod:`django_securetokens.flows.email_verification` steps as the HTML pages. A
code proves the signed-in user's own address, the identity it was mailed for (R-31); the
link's token proves its address on its own, so a client that opens the link on another
device needs no session.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_securetokens.emails import site_origin
from django_securetokens.flows import email_verification
from django_securetokens.owners import email_of, validate_mailbox

from .base import SecureTokensAPIView
from .serializers import (
    DetailSerializer,
    EmptySerializer,
    VerificationProofSerializer,
    VerifiedSerializer,
)


class EmailVerificationView(SecureTokensAPIView):
    """``email_verification``: ``{}``, signed in → ``202``; mails a code and a link.

    The mail goes to the account's own address, off the request path. The per-address
    limit may suppress it (``EMAIL_VERIFICATION_RATE_PER_EMAIL``); the answer is the same.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = EmptySerializer
    accepted_message = _("We have sent a code and a link to your email address.")
    no_email_message = _("Your account has no email address to verify.")
    responses = {status.HTTP_202_ACCEPTED: (DetailSerializer, accepted_message)}

    def post(self, request: Request) -> Response:
        self.validated(request)
        email = email_of(request.user)  # type: ignore[arg-type]
        try:
            # An address stored before R-80 may be one the flows refuse: a 400, not a 500.
            validate_mailbox(email)
        except ValidationError:
            raise serializers.ValidationError(
                {"non_field_errors": [self.no_email_message]}
            ) from None
        email_verification.request(
            email,
            user=request.user,  # type: ignore[arg-type]
            origin=site_origin(request._request),
            client=self.client(),
            language=get_language(),
        )
        return Response({"detail": self.accepted_message}, status=status.HTTP_202_ACCEPTED)


class EmailVerificationConfirmView(SecureTokensAPIView):
    """``email_verification_confirm``: ``{"code"}`` signed in, or ``{"token"}``.

    ``200`` with ``{"email"}``, the address now proven, and ``email_verified`` sent; every
    failure is ``400`` ``invalid_token`` (R-15). Codes and links each have their per-client
    limit (``429``).
    """

    serializer_class = VerificationProofSerializer
    verified_message = _("Your email address is verified.")
    responses = {status.HTTP_200_OK: (VerifiedSerializer, verified_message)}

    def post(self, request: Request) -> Response:
        data = self.validated(request)
        if "token" in data:
            token = email_verification.verify(data["token"], client=self.client())
        elif not request.user.is_authenticated:
            # A code is judged against the identity it was mailed to, never one in the body.
            raise NotAuthenticated
        else:
            token = email_verification.verify_code(
                data["code"],
                email=email_of(request.user),
                user=request.user,
                client=self.client(),
            )
        email_verification.complete(token, sender=type(self), request=request._request)
        return Response({"detail": self.verified_message, "email": token.email})
