"""The example's API: two JSON endpoints behind API keys issued in the admin.

Try them with a key from /admin/ → Secure tokens → API keys → Add::

    curl -H "Authorization: Bearer sk_live_…" http://127.0.0.1:8000/api/whoami/
    curl -H "X-API-Key: sk_live_…" http://127.0.0.1:8000/api/orders/
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from django_securetokens.decorators import api_key_required


@api_key_required
def whoami(request: HttpRequest) -> JsonResponse:
    """Who the key belongs to. Any valid key will do."""
    key = request.api_key  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "key": f"{key.prefix}_{key.selector}",
            "name": key.name,
            "scopes": key.scopes,
            "user": request.user.get_username() if request.user.is_authenticated else None,
        }
    )


@api_key_required("orders:read")
def orders(request: HttpRequest) -> JsonResponse:
    """Needs a key with the ``orders:read`` scope; any other valid key gets 403."""
    return JsonResponse({"orders": [{"id": 1, "item": "A very secure token"}]})


def ping(request: HttpRequest) -> JsonResponse:
    """No authentication: the baseline the load benchmark compares ``whoami`` with."""
    return JsonResponse({"key": None, "name": None, "scopes": [], "user": None})
