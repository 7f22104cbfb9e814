"""Which database one operation runs on: one alias for every statement, reads included.

Issuing a token writes its row, locks its owner's slot and may reset failure counts; verifying
a code counts attempts before it judges. Those statements only mean something together, on
one database, so each operation picks an alias once and sends everything there: the alias of
``SecureToken.objects.db_manager(alias)``, else the router's ``db_for_write``. Reads are no
exception: a replica may not yet hold a token issued a moment ago, or may still show as live
one that was just used or revoked.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.db import models, router

_M = TypeVar("_M", bound=models.Model)


def write_alias(manager: models.Manager[Any], instance: models.Model | None = None) -> str:
    """The database of one operation of *manager*.

    The alias *manager* was bound to with ``db_manager()``, else the routers'
    ``db_for_write``, hinted like ``Model.save()`` with the *instance* the operation
    changes. Without routers that is the database *instance* was read from, or ``default``.
    """
    if manager._db is not None:
        return manager._db
    if instance is not None:
        return router.db_for_write(manager.model, instance=instance)
    # The hints Django's Manager.db passes too (django-stubs leaves the attribute out).
    return router.db_for_write(manager.model, **manager._hints)  # type: ignore[attr-defined]


def new_row(model: type[_M], alias: str, user: object, **fields: Any) -> _M:
    """An unsaved *model* row for database *alias*, owned by *user*.

    The user is assigned once the row knows its database, so Django's own relation check
    runs against it: the routers' ``allow_relation``, or without routers the rule that both
    live in one database. A token or key never points at a user of another database, where
    its ``user_id`` would name someone else.
    """
    row = model(**fields)
    row._state.db = alias
    row.user = user  # type: ignore[attr-defined]  # SecureToken and APIKey have a user
    return row


def load_user(row: models.Model, alias: str) -> None:
    """Load *row*'s user from database *alias*, unless it is loaded already.

    A row's user is otherwise fetched where the routers read, perhaps a replica that does
    not show yet a password changed or an account deactivated a moment ago (R-16).
    """
    field = cast("models.ForeignKey[Any, Any]", row._meta.get_field("user"))
    user_id = getattr(row, field.attname)
    if user_id is not None and not field.is_cached(row):
        users = field.remote_field.model._base_manager.using(alias)
        field.set_cached_value(row, users.filter(pk=user_id).first())
