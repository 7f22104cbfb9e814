"""What every page that handles a token, code or new secret has in common."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from django_securetokens.conf import setting
from django_securetokens.flows import RateLimited
from django_securetokens.flows.common import login_url


@method_decorator(never_cache, name="dispatch")
class TokenPageMixin:
    """``Cache-Control: no-store`` and a strict ``Referrer-Policy`` on every response.

    A page reached through a secret link must not be stored by a shared cache (R-44), and
    must not hand its URL to the next site in a ``Referer`` header (R-43); Django's global
    ``same-origin`` referrer policy is not enough, because a token page can link offsite.

    The policy is :attr:`referrer_policy`, sent as a header and (through the context) in
    ``base.html``'s ``<meta name="referrer">``.
    """

    title: Any = ""
    #: ``no-referrer`` by default. A page whose *form* POSTs back must use ``same-origin``:
    #: under ``no-referrer`` browsers send ``Origin: null`` with every POST (Fetch
    #: standard), which Django's CSRF check rightly refuses. Such a page must therefore
    #: never have a secret in its own URL.
    referrer_policy = "no-referrer"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        response["Referrer-Policy"] = self.referrer_policy
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("title", self.title)
        kwargs.setdefault("referrer_policy", self.referrer_policy)
        # The templates test these flags; a missing variable makes Django's template engine
        # log the whole context at DEBUG, and with it the request path holding the token.
        kwargs.setdefault("rate_limited", False)
        kwargs.setdefault("throttled", False)
        # The frame every page is drawn in (base.html): the site's own base template or
        # standalone.html, with the site's name and a way home.
        kwargs.setdefault("securetokens_base_template", setting("BASE_TEMPLATE"))
        kwargs.setdefault("site_name", get_current_site(self.request).name)  # type: ignore[attr-defined]
        kwargs.setdefault("home_url", "/")
        kwargs.setdefault("login_url", login_url())
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        return context


_R = TypeVar("_R", bound=HttpResponseBase)


def unlogged(response: _R) -> _R:
    """Keep Django's ``django.request`` logger from logging *response*.

    That logger writes the request path of every 4xx answer at WARNING ("Too Many Requests:
    /accounts/reset/<token>/"), and on the token-bearing URLs the path *is* the secret
    (R-65). The views log these refusals themselves, with the client IP and no path.
    """
    response._has_been_logged = True  # type: ignore[attr-defined]  # read by log_response
    return response


def safe_next(request: HttpRequest, url: object) -> str | None:
    """*url* if it is a local URL this site may redirect to, else None."""
    if isinstance(url, str) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class CodeFormMixin:
    """How the code-entry pages answer a refused code (``VerificationCodeForm``)."""

    def refuse_code(self, form: Any, error: Exception) -> HttpResponse:
        """Over the per-client limit, 429 without a word about the code (R-38); any other
        refusal, one generic form error whatever the reason (R-15)."""
        if isinstance(error, RateLimited):
            form.add_error(None, form.error_messages["throttled"])
            context = self.get_context_data(form=form)  # type: ignore[attr-defined]
            throttled: HttpResponse = self.render_to_response(context, status=429)  # type: ignore[attr-defined]
            return unlogged(throttled)
        form.add_error("code", form.error_messages["invalid_code"])
        response: HttpResponse = self.form_invalid(form)  # type: ignore[attr-defined]
        return response
