"""Tiny views guarded by the API-key decorator and mixin, for the HTTP tests."""

from __future__ import annotations

from django.http import JsonResponse, StreamingHttpResponse
from django.views import View

from django_securetokens.decorators import APIKeyRequiredMixin, api_key_required


def _describe(request):
    key = request.api_key
    return {
        "key": f"{key.prefix}_{key.selector}" if key else None,
        "user": request.user.get_username() if request.user.is_authenticated else None,
        "scopes": key.scopes if key else None,
    }


@api_key_required
def whoami(request):
    return JsonResponse(_describe(request))


@api_key_required("orders:read")
def orders(request):
    return JsonResponse(_describe(request))


@api_key_required
async def async_whoami(request):
    return JsonResponse(_describe(request))


@api_key_required
def stream(request):
    return StreamingHttpResponse(iter([b"streamed ", b"body"]))


def open_view(request):
    """Not guarded: shows what APIKeyMiddleware left on the request."""
    return JsonResponse(_describe(request) if hasattr(request, "api_key") else {"key": "unset"})


class OrdersView(APIKeyRequiredMixin, View):
    required_scopes = ("orders:read",)

    def get(self, request):
        return JsonResponse(_describe(request))

    def post(self, request):
        return JsonResponse(_describe(request), status=201)


class AsyncOrdersView(APIKeyRequiredMixin, View):
    required_scopes = ("orders:read",)

    async def get(self, request):
        return JsonResponse(_describe(request))
