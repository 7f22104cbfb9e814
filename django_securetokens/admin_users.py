"""The "send password reset email" action for the project's user admin (R-68).

Staff can *trigger* a reset for a user; they never see the link, and nothing here lets them
see or choose a password. With ``SECURETOKENS['ADMIN_USER_ACTION']`` on (the default), the
app adds the action to the user admin registered on ``django.contrib.admin.site`` when it
starts. For another admin site, or to place it yourself, list
:func:`send_password_reset_email` in your ``UserAdmin.actions``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .emails import site_origin
from .flows.password_reset import MailOptions, is_eligible, request_for_users

#: The reset an administrator triggers: the same link, in a mail that says who sent it, since
#: "someone, probably you, asked" would be untrue.
ADMIN_MAIL = MailOptions(email_template_prefix="django_securetokens/email/password_reset_by_admin")


@admin.action(description=_("Send password reset email"), permissions=["change"])
def send_password_reset_email(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> None:
    """Mail a reset link to each selected user who may reset (active, usable password,
    an address on file). The link goes to the user's stored address only."""
    users = [user for user in queryset if is_eligible(user)]
    if users:
        request_for_users(users, origin=site_origin(request), options=ADMIN_MAIL)
        modeladmin.message_user(
            request,
            ngettext(
                "A password reset email is on its way to %(count)d user.",
                "Password reset emails are on their way to %(count)d users.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )
    skipped = len(queryset) - len(users)
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d user was skipped: inactive, without a usable password, or "
                "without an email address.",
                "%(count)d users were skipped: inactive, without a usable password, or "
                "without an email address.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


def user_admin(site: admin.AdminSite | None = None) -> admin.ModelAdmin[Any] | None:
    """The user model's admin on *site* (default ``admin.site``), or None."""
    try:
        return (site or admin.site).get_model_admin(get_user_model())
    except NotRegistered:
        return None


def attach_user_action(site: admin.AdminSite | None = None) -> bool:
    """Add the action to the registered user admin; return whether it has it now.

    Idempotent. Works once admin autodiscovery has run, which is the case when
    ``django.contrib.admin`` comes before ``django_securetokens`` in ``INSTALLED_APPS``.
    """
    model_admin = user_admin(site)
    if model_admin is None:
        return False
    actions = list(model_admin.actions or ())
    if send_password_reset_email not in actions:
        model_admin.actions = [*actions, send_password_reset_email]
    return True
