"""DRF views for tests/test_contrib_drf.py; imported only when DRF is installed."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from django_securetokens.contrib.drf import APIKeyAuthentication, HasAPIKeyScope


class WhoAmI(APIView):
    authentication_classes = [APIKeyAuthentication]
    permission_classes = [IsAuthenticated]
    # Two renderers, so DRF sends its own "Vary: Accept" beside the key headers.
    renderer_classes = [JSONRenderer, StaticHTMLRenderer]

    def get(self, request):
        return Response({"user": request.user.get_username(), "key": request.auth.selector})

    def post(self, request):
        return Response({"user": request.user.get_username()}, status=201)


class Orders(APIView):
    authentication_classes = [APIKeyAuthentication, SessionAuthentication]
    permission_classes = [HasAPIKeyScope]
    renderer_classes = [JSONRenderer]
    required_scopes = ["orders:read"]

    def get(self, request):
        return Response({"scopes": request.auth.scopes})
