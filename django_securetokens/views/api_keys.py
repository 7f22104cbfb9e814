"""Personal API keys: a signed-in user lists, creates and revokes their own keys.

The pages over :mod:`django_securetokens.flows.api_keys`, as the JSON endpoints are.
Opt-in with ``SECURETOKENS["SELF_SERVICE_API_KEYS"]``; while it is off both pages answer 404.
A new key is shown once, in the response to the POST that created it, on a no-store page:
it never passes through a redirect, the session or the messages framework (R-06). Creating
a key needs a password entered within ``SELF_SERVICE_REAUTH_AGE`` (sudo mode, R-85); only
the time of that entry is kept in the session.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView

from django_securetokens.api_key_forms import APIKeyCreateForm
from django_securetokens.conf import setting
from django_securetokens.flows import api_keys
from django_securetokens.views.base import TokenPageMixin

#: Session key holding when the user last re-entered their password (a timestamp, no secret).
REAUTH_SESSION_KEY = "_securetokens_reauth_at"


class SelfServiceMixin:
    """404 unless ``SELF_SERVICE_API_KEYS`` is on; checked before the sign-in redirect, so
    a site without the feature does not even reveal the URL exists."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not api_keys.enabled():
            raise Http404
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the user re-entered their password within ``SELF_SERVICE_REAUTH_AGE``."""
    at = request.session.get(REAUTH_SESSION_KEY)
    age = setting("SELF_SERVICE_REAUTH_AGE").total_seconds()
    return isinstance(at, (int, float)) and 0 <= time.time() - at < age


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
@method_decorator(csrf_protect, name="dispatch")
class APIKeysView(SelfServiceMixin, LoginRequiredMixin, TokenPageMixin, FormView):  # type: ignore[type-arg]
    """``api_keys``: the user's keys and a form to create one; the new key is shown once.

    Configure it with :attr:`template_name`, :attr:`created_template_name` and
    :attr:`form_class`.
    """

    template_name = "django_securetokens/api_keys.html"
    #: The page that shows a new key, once.
    created_template_name = "django_securetokens/api_key_created.html"
    form_class = APIKeyCreateForm
    title = _("API keys")
    referrer_policy = "same-origin"  # its forms POST back (see TokenPageMixin)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        kwargs["request"] = self.request
        kwargs["needs_password"] = not recently_authenticated(self.request)
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs["api_keys"] = api_keys.keys(self.request.user)
        kwargs["limit"] = api_keys.key_limit()
        kwargs["max_days"] = api_keys.max_days()
        return super().get_context_data(**kwargs)

    def form_invalid(self, form: APIKeyCreateForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response

    @sensitive_variables("secret")
    def form_valid(self, form: APIKeyCreateForm) -> HttpResponse:
        if "password" in form.cleaned_data:
            self.request.session[REAUTH_SESSION_KEY] = time.time()
        data = form.cleaned_data
        try:
            api_key, secret = api_keys.create(
                self.request.user,
                name=data["name"],
                scopes=data.get("scopes", []),
                expires_in_days=data["expires_in_days"],
            )
        except ValidationError as error:  # another request took the last free place
            form.add_error(None, error)
            return self.form_invalid(form)
        # The page's whole context, frame included: a variable the templates miss makes
        # Django log the context at DEBUG, and this one holds the new key.
        context = self.get_context_data(
            title=_("Your new API key"), api_key=api_key, secret=secret, form=None
        )
        return self.response_class(
            request=self.request,
            template=[self.created_template_name],
            context=context,
            using=self.template_engine,
        )


@method_decorator(csrf_protect, name="dispatch")
class APIKeyRevokeView(SelfServiceMixin, LoginRequiredMixin, View):
    """``api_key_revoke``: POST revokes one of the user's own keys; any other id is 404."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if api_keys.revoke(request.user, pk) is None:
            raise Http404
        return redirect("securetokens:api_keys")
