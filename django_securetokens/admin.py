"""Admin for the app's models. Admins can see and revoke; they never see a digest or secret.

Digest, salt and fingerprint columns are left out of every list, form, filter and search
(R-68). API keys have the larger admin, in :mod:`.admin_api_keys`; the user admin's "send
password reset email" action is in :mod:`.admin_users`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_api_keys import APIKeyAdmin
from .admin_display import DateHierarchyWhereSupported, StateFilter, state_column, time_column
from .conf import purpose_label
from .models import APIKey, SecureToken

# Everything an admin may see of a token: handles and timestamps, never digest or salt.
_VISIBLE_FIELDS = (
    "selector",
    "purpose_display",
    "kind",
    "user",
    "email",
    "created_at",
    "expires_at",
    "used_at",
    "revoked_at",
    "attempts",
    "data",
)


class PurposeFilter(admin.SimpleListFilter):
    title = _("purpose")
    parameter_name = "purpose"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        used = SecureToken.objects.order_by().values_list("purpose", flat=True).distinct()
        return [(purpose, purpose_label(purpose)) for purpose in sorted(used)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(purpose=value) if value else queryset


@admin.register(SecureToken)
class SecureTokenAdmin(DateHierarchyWhereSupported, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: tokens are issued by the flows, never typed in by hand."""

    list_display = [
        "selector",
        "purpose_display",
        "kind",
        "owner_display",
        "created",
        "expires",
        "state_display",
        "attempts",
    ]
    list_filter = [PurposeFilter, "kind", StateFilter, "created_at"]
    search_fields = ["selector", "email", "purpose"]
    fields = readonly_fields = _VISIBLE_FIELDS
    list_select_related = ["user"]
    actions = ["revoke_selected"]
    date_hierarchy = "created_at"

    @admin.display(description=_("owner"), ordering="user")
    def owner(self, obj: SecureToken) -> str:
        return str(obj.user) if obj.user_id else obj.email

    owner_display = owner  # the column's name: "owner" would show the model field (a digest)

    created = time_column("created_at", _("created"))
    expires = time_column("expires_at", _("expires"))

    @admin.display(description=_("purpose"), ordering="purpose")
    def purpose_display(self, obj: SecureToken) -> str:
        return purpose_label(obj.purpose)

    state_display = state_column

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[SecureToken]) -> None:
        count = SecureToken.objects.revoke_queryset(queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", count)
            % {"count": count},
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("django_securetokens.change_securetoken")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(APIKey, APIKeyAdmin)
