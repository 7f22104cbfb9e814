from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SecureTokensConfig(AppConfig):
    name = "django_securetokens"
    verbose_name = _("Secure tokens")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_databases, check_settings
        from .checks_frontends import check_base_template, check_flows
        from .conf import setting
        from .contrib.task_checks import check_task_backend

        checks.register(check_settings, checks.Tags.security)
        checks.register(check_databases, checks.Tags.security)
        checks.register(check_flows, checks.Tags.security)
        checks.register(check_task_backend, checks.Tags.security)
        checks.register(check_base_template, checks.Tags.templates)
        if setting("ADMIN_USER_ACTION") and apps.is_installed("django.contrib.admin"):
            from .admin_users import attach_user_action

            attach_user_action()
