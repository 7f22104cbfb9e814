from django.http import JsonResponse

from django_securetokens.decorators import api_key_required


@api_key_required
def whoami(request):
    """Any valid key will do."""
    key = request.api_key
    return JsonResponse({"key": key.name, "user": request.user.get_username()})


@api_key_required("orders:read")
def orders(request):
    """Only a key with the orders:read scope; any other valid key gets 403."""
    return JsonResponse({"orders": [{"id": 1, "item": "A very secure token"}]})
