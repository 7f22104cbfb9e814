"""Row lookups on the hot paths, with the SQL compiled once per database connection.

``manager.select_related("user").filter(selector=…).first()`` spends several times longer
building and compiling its query than the database spends running it, and the token and
API-key paths run such a lookup on every request. A :class:`Lookup` asks the ORM's own
compiler for the SQL once per connection and query shape, then each call only executes the
statement, applies the backend's converters and builds the instances with
``Model.from_db``, as the ORM's iterator does. Same SQL, same single query, same objects;
when the ORM gives a shape the fast path does not understand, the plain queryset runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

from django.db import connections, models

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

_M = TypeVar("_M", bound=models.Model)


class Plan(NamedTuple):
    """One :class:`Lookup` compiled for one database connection."""

    sql: str
    params: list[Any]  # as compiled; the caller's values go in at the slots
    slots: list[int]  # the position in params of each of the lookup's names, in order
    converters: list[tuple[int, list[Any], Any]]
    split: int  # row[:split] is the model's, row[split:] its user's
    fields: list[str]
    user_model: type[models.Model]
    user_fields: list[str]
    user_pk: int
    user_field: Any  # the ForeignKey, whose cache holds the loaded user


# Keyed by connection object: each thread has its own, and converters are bound to it.
_PLANS: WeakKeyDictionary[
    BaseDatabaseWrapper, dict[tuple[Lookup[Any], type[models.Model]], Plan | None]
]
_PLANS = WeakKeyDictionary()


class Lookup(Generic[_M]):
    """``select_related("user").filter(<names>=…, **fixed)``, at most one row.

    *names* are string columns whose values change from call to call; *fixed* holds the
    conditions that never do (their values are compiled into the plan). With *ordered*,
    the model's default ordering picks the first row; without, the names must select at
    most one row (a unique column), so the SQL needs no ``ORDER BY`` or ``LIMIT``.
    """

    def __init__(self, *names: str, ordered: bool = False, **fixed: Any) -> None:
        self.names = names
        self.ordered = ordered
        self.fixed = fixed

    def queryset(self, manager: models.Manager[_M], *values: str) -> models.QuerySet[_M]:
        """The plain queryset this lookup runs, for *values* of its names."""
        queryset = manager.select_related("user").filter(
            **dict(zip(self.names, values, strict=True))
        )
        queryset = queryset.filter(**self.fixed)
        return queryset[:1] if self.ordered else queryset.order_by()

    def first(self, manager: models.Manager[_M], *values: str) -> _M | None:
        """The row for *values* with its user loaded, in one query, or None."""
        alias = manager.db
        connection = connections[alias]
        plan = self.plan(manager, connection)
        if plan is None:
            return next(iter(self.queryset(manager, *values)), None)
        params = list(plan.params)
        for slot, value in zip(plan.slots, values, strict=True):
            params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, converters, expression in plan.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        split = plan.split
        instance = manager.model.from_db(alias, plan.fields, row[:split])
        user_row = row[split:]
        user = None
        if user_row[plan.user_pk] is not None:
            user = plan.user_model.from_db(alias, plan.user_fields, user_row)
        # What select_related's populator does: fill the relation's cache, no descriptor.
        plan.user_field.set_cached_value(instance, user)
        return instance

    def plan(self, manager: models.Manager[_M], connection: BaseDatabaseWrapper) -> Plan | None:
        """This lookup compiled for *connection*, once; None means "use the queryset".

        The SQL comes from the ORM's compiler, and the column layout and value converters
        from the same places Django's ``ModelIterable`` takes them, so backend quirks
        (SQLite datetimes as text, MySQL booleans, user models with UUID keys) stay
        Django's business. None when the layout is not the simple "every column of the
        model, then every column of its user" one (a multi-table-inherited user model).
        """
        model = manager.model
        plans = _PLANS.setdefault(connection, {})
        if (self, model) in plans:
            return plans[self, model]
        # Sentinels no real value can equal mark where each name's value goes.
        sentinels = [f"\0{name}\0" for name in self.names]
        compiler = self.queryset(manager, *sentinels).query.get_compiler(connection=connection)
        sql, compiled = compiler.as_sql()
        params = list(compiled)
        columns = [column for column, _, _ in compiler.select]
        info = compiler.klass_info or {}
        related = info.get("related_klass_infos", [])
        split = len(model._meta.concrete_fields)
        user_field = model._meta.get_field("user")
        user_model = user_field.related_model
        plans[self, model] = plan = None
        # The fast path needs the exact SQL shape the ORM gives on every backend we test;
        # the fallback (plan None) guards against a future Django changing it.
        if (  # pragma: no branch - the fallback is for shapes no supported Django produces
            all(params.count(sentinel) == 1 for sentinel in sentinels)
            and info.get("select_fields") == list(range(split))
            and len(related) == 1
            and not related[0].get("related_klass_infos")
            and related[0].get("select_fields") == list(range(split, len(columns)))
            and isinstance(user_model, type)
        ):
            names = [column.target.attname for column in columns]
            fields, user_fields = names[:split], names[split:]
            if fields == [  # pragma: no branch - as above: a guard against ORM changes
                f.attname for f in model._meta.concrete_fields
            ] and user_fields == [f.attname for f in user_model._meta.concrete_fields]:
                converters = compiler.get_converters(columns)
                plans[self, model] = plan = Plan(
                    sql=sql,
                    params=params,
                    slots=[params.index(sentinel) for sentinel in sentinels],
                    converters=[(pos, convs, expr) for pos, (convs, expr) in converters.items()],
                    split=split,
                    fields=fields,
                    user_model=user_model,
                    user_fields=user_fields,
                    user_pk=user_fields.index(user_model._meta.pk.attname),
                    user_field=user_field,
                )
        return plan
