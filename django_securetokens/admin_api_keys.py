"""Admin for API keys: issued here and shown exactly once (R-54, R-58, R-59, R-68).

A new or rotated key is rendered once, on its own ``no-store`` page, as the response to the
POST that made it. It never goes through the messages framework, the session, a redirect
URL, the admin log or the security log, and no later page can show it again: the database
holds only a digest, which the admin never displays, lists, searches or exports.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from . import ratelimit
from .admin_display import DateHierarchyWhereSupported, StateFilter, state_column, time_column
from .api_keys import is_scope
from .conf import setting
from .exceptions import TokenError
from .models import APIKey, State

logger = logging.getLogger("django_securetokens")

_TEMPLATES = "admin/django_securetokens/apikey/"
# Stashed on the request between save_model() and response_add(); popped when shown.
_ISSUED = "_securetokens_new_api_key"


class ScopesField(forms.Field):
    """Scopes typed as words separated by spaces or commas, stored as a list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"class": "vTextField"}))
        kwargs.setdefault("label", _("Scopes"))
        kwargs.setdefault(
            "help_text",
            _("What the key may do, separated by spaces, e.g. “orders:read orders:write”."),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return " ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        words = str(value or "").replace(",", " ").split()
        if not all(is_scope(word) for word in words):
            raise ValidationError(
                _("Each scope is 1 to 64 ASCII characters: no spaces, quotes or backslashes."),
                code="invalid",
            )
        return list(dict.fromkeys(words))


class APIKeyChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = ScopesField()

    class Meta:
        model = APIKey
        fields = ("name", "scopes")


def _max_age() -> timedelta | None:
    max_age: timedelta | None = setting("API_KEY_MAX_AGE")
    return max_age


class APIKeyAddForm(APIKeyChangeForm):
    """Name, owner, expiry and scopes. The expiry starts at the configured maximum
    (``API_KEY_MAX_AGE``) and cannot exceed it; "never" is a box to tick on purpose (R-57)."""

    expires_at = forms.SplitDateTimeField(
        label=_("Expires"), required=False, widget=AdminSplitDateTime
    )
    never_expires = forms.BooleanField(
        label=_("Never expires"),
        required=False,
        help_text=_("A key that never expires stays valid until someone revokes it."),
    )

    class Meta:
        model = APIKey
        fields = ("name", "user", "expires_at", "never_expires", "scopes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        max_age = _max_age()
        if max_age is not None:
            self.fields["expires_at"].initial = (timezone.now() + max_age).replace(microsecond=0)
            self.fields["expires_at"].help_text = _("At most %(days)s days from now.") % {
                "days": max_age.days
            }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        max_age = _max_age()
        expires_at = data.get("expires_at")
        if data.get("never_expires"):
            data["expires_at"] = None
        elif expires_at is None:
            if max_age is not None and "expires_at" not in self.errors:
                self.add_error("expires_at", _("Choose an expiry date, or tick “Never expires”."))
        elif expires_at <= timezone.now():
            self.add_error("expires_at", _("The expiry must be in the future."))
        elif max_age is not None and expires_at > timezone.now() + max_age:
            self.add_error("expires_at", _("The expiry is further away than this site allows."))
        return data


class RotateForm(forms.Form):
    grace = forms.TypedChoiceField(
        label=_("Keep the old secret working for"),
        choices=[
            (0, _("no time: it stops now")),
            (3600, _("1 hour")),
            (86400, _("24 hours")),
            (604800, _("7 days")),
        ],
        coerce=int,
        initial=0,
    )


class LeakedKeyForm(forms.Form):
    key = forms.CharField(
        label=_("API key"),
        strip=True,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "size": 70}),
        help_text=_("Paste the whole key. It is hashed, never stored or shown."),
    )


class APIKeyStateFilter(StateFilter):
    states = (State.LIVE, State.EXPIRED, State.REVOKED)


class APIKeyAdmin(DateHierarchyWhereSupported, admin.ModelAdmin):  # type: ignore[type-arg]
    """Issue, list, rotate and revoke API keys; only staff with the model's ``add`` (issue)
    or ``change`` (rotate, revoke) permission may (R-59). Keys are revoked, never deleted,
    so their history stays."""

    form = APIKeyChangeForm
    list_display = (
        "key",
        "name",
        "user",
        "scopes_list",
        "created",
        "last_used",
        "expires",
        "state_label",
    )
    list_display_links = ("key", "name")
    list_filter = (APIKeyStateFilter, "created_at", "expires_at")
    list_select_related = ("user",)
    search_fields = ("name", "selector", f"user__{get_user_model().USERNAME_FIELD}")
    raw_id_fields = ("user",)  # when the user admin cannot serve an autocomplete
    date_hierarchy = "created_at"
    actions = ("revoke_keys",)
    readonly_fields = (
        "key",
        "user",
        "state_label",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "old_secret_until",
        "key_id",
    )

    # --- display ----------------------------------------------------------------------

    @admin.display(description=_("key id"), ordering="selector")
    def key(self, obj: APIKey) -> str:
        return f"{obj.prefix}_{obj.selector}…"

    @admin.display(description=_("scopes"))
    def scopes_list(self, obj: APIKey) -> str:
        return " ".join(obj.scopes or ())

    created = time_column("created_at", _("created"))
    last_used = time_column("last_used_at", _("last used"))
    expires = time_column("expires_at", _("expires"))
    old_secret_until = time_column("previous_expires_at", _("old secret works until"))

    state_label = state_column

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        # Not autocomplete_fields: that is a check error where the user admin cannot search.
        user_admin = self.admin_site._registry.get(get_user_model())
        return ("user",) if user_admin and user_admin.get_search_fields(request) else ()

    def get_fieldsets(self, request: HttpRequest, obj: APIKey | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": APIKeyAddForm.Meta.fields})]
        return [
            (None, {"fields": ("name", "scopes")}),
            (_("Key"), {"fields": self.readonly_fields}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: APIKey | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: APIKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = APIKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: APIKey | None = None) -> bool:
        return False

    # --- issuing ----------------------------------------------------------------------

    @sensitive_variables("secret")
    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        if change:
            # Write only what the form edits: a full save() would undo a revocation, a
            # rotation or a re-hash that happened while the form was open.
            fields = [name for name in ("name", "scopes") if name in form.changed_data]
            if fields:
                obj.save(update_fields=fields)
            return
        data = form.cleaned_data
        api_key, secret = APIKey.objects.issue(
            name=obj.name,
            user=obj.user,
            expires_at=data["expires_at"],
            scopes=obj.scopes,
            never_expires=data["never_expires"] or data["expires_at"] is None,
        )
        for field in APIKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(api_key, field.attname))
        obj._state.adding = False
        obj._state.db = api_key._state.db
        request.__dict__[_ISSUED] = secret
        _audit(request, "issued", obj)

    @sensitive_variables("secret")
    def response_add(
        self, request: HttpRequest, obj: APIKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = request.__dict__.pop(_ISSUED)
        return self._show_once(request, obj, secret, _("New API key"))

    @sensitive_variables("secret")
    def _show_once(
        self, request: HttpRequest, obj: APIKey, secret: str, title: Any
    ) -> HttpResponse:
        """The one response that ever holds the key. Never cached, never referred."""
        response = self._page(
            request,
            "issued.html",
            title,
            api_key=obj,
            secret=secret,
            change_url=self._change_url(obj),
        )
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    # --- revoking and rotating --------------------------------------------------------

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        revoked = 0
        for api_key in queryset:
            if APIKey.objects.revoke(api_key):
                revoked += 1
                self.log_change(request, api_key, gettext("Revoked."))
                _audit(request, "revoked", api_key)
        self.message_user(
            request,
            ngettext("%(count)d API key was revoked.", "%(count)d API keys were revoked.", revoked)
            % {"count": revoked},
        )

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("revoke-leaked/", wrap(self.revoke_leaked_view), name=f"{name}_revoke_leaked"),
            path("<path:object_id>/rotate/", wrap(self.rotate_view), name=f"{name}_rotate"),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_post_parameters("key"))
    def revoke_leaked_view(self, request: HttpRequest) -> HttpResponse:
        """Revoke a key given its plaintext, e.g. one found in a public repository (R-58)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = LeakedKeyForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                api_key = APIKey.objects.revoke_secret(form.cleaned_data["key"])
            except TokenError:
                form.add_error("key", _("This is not a key issued by this site."))
            else:
                self.log_change(request, api_key, gettext("Revoked as leaked."))
                _audit(request, "revoked as leaked", api_key)
                self.message_user(
                    request,
                    gettext("Revoked API key %(key)s (%(name)s).")
                    % {"key": self.key(api_key), "name": api_key.name},
                )
                return HttpResponseRedirect(self._change_url(api_key))
        return self._page(request, "revoke_leaked.html", _("Revoke a leaked key"), form=form)

    @sensitive_variables("secret")
    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Give a key a new secret in place, optionally keeping the old one for a while."""
        api_key = self.get_object(request, unquote(object_id))
        if api_key is None or not self.has_change_permission(request, api_key):
            raise PermissionDenied
        form = RotateForm(request.POST if request.method == "POST" else None)
        if api_key.revoked_at is None and form.is_valid():
            grace = timedelta(seconds=form.cleaned_data["grace"]) or None
            api_key, secret = APIKey.objects.rotate(api_key, grace=grace)
            self.log_change(request, api_key, gettext("Rotated the secret."))
            _audit(request, "rotated", api_key)
            return self._show_once(request, api_key, secret, _("Rotated API key"))
        return self._page(request, "rotate.html", _("Rotate API key"), form=form, api_key=api_key)

    @sensitive_variables("extra", "context")
    def _page(self, request: HttpRequest, template: str, title: Any, **extra: Any) -> HttpResponse:
        """One of this admin's own pages, in the admin's layout."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            # Every variable the templates read is set: Django's template engine logs a
            # missing one at DEBUG together with the whole context, a shown key included.
            "subtitle": None,
            **extra,
        }
        return TemplateResponse(request, f"{_TEMPLATES}{template}", context)

    def _change_url(self, api_key: APIKey) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[api_key.pk]
        )


def _audit(request: HttpRequest, event: str, api_key: APIKey) -> None:
    """The security-log line for an admin action: who, from where, which key (R-59, R-67)."""
    logger.info(
        "API key %s_%s %s by user %s from %s",
        api_key.prefix,
        api_key.selector,
        event,
        getattr(request.user, "pk", None),
        ratelimit.client_ip(request),
    )
