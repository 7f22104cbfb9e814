"""Statements on the hot paths, with the SQL compiled once per database connection.

``manager.select_related("user").filter(selector=…).first()`` spends several times longer
building and compiling its query than the database spends running it, and the token and
API-key paths run such a lookup on every request. A :class:`Lookup` asks the ORM's own
compiler for the SQL once per connection and query shape, then each call only executes the
statement, applies the backend's converters and builds the instances with
``Model.from_db``, as the ORM's iterator does. Same SQL, same single query, same objects;
when the ORM gives a shape the fast path does not understand, the plain queryset runs.
An :class:`Update` does the same for the conditional ``UPDATE`` statements whose row counts
decide who wins a race or whether a guess may still count. Both run on the database their
caller names, the one its whole operation uses (see :mod:`.databases`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast
from weakref import WeakKeyDictionary

from django.db import connections, models
from django.db.models.sql import UpdateQuery

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

_M = TypeVar("_M", bound=models.Model)


class Plan(NamedTuple):
    """One :class:`Lookup` compiled for one database connection."""

    sql: str
    params: list[Any]  # as compiled; the caller's values go in at the slots
    names: list[str] | None  # see named()
    slots: list[int]  # the position in params of each of the lookup's names, in order
    converters: list[tuple[int, list[Any], Any]]
    split: int  # row[:split] is the model's, row[split:] its user's
    fields: list[str]
    user_model: type[models.Model]
    user_fields: list[str]
    user_pk: int
    user_field: Any  # the ForeignKey, whose cache holds the loaded user


# Keyed by connection object: each thread has its own, and converters are bound to it.
_PLANS: WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[object, type[models.Model]], Any]]
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

    def first(self, manager: models.Manager[_M], *values: str, using: str) -> _M | None:
        """The row for *values* with its user loaded, in one query on database *using*, or
        None."""
        connection = connections[using]
        plan = self.plan(manager, connection)
        if plan is None:
            return next(iter(self.queryset(manager, *values).using(using)), None)
        row = self.row(plan, connection, values)
        if row is None:
            return None
        for position, converters, expression in plan.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        split = plan.split
        instance = manager.model.from_db(using, plan.fields, row[:split])
        user_row = row[split:]
        user = None
        if user_row[plan.user_pk] is not None:
            user = plan.user_model.from_db(using, plan.user_fields, user_row)
        # What select_related's populator does: fill the relation's cache, no descriptor.
        plan.user_field.set_cached_value(instance, user)
        return instance

    @staticmethod
    def row(
        plan: Plan, connection: BaseDatabaseWrapper, values: tuple[str, ...]
    ) -> list[Any] | None:
        """Run *plan* for *values*: the raw row, before any converter, or None."""
        params = list(plan.params)
        for slot, value in zip(plan.slots, values, strict=True):
            params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, bind(plan.names, params))
            row = cursor.fetchone()
        return None if row is None else list(row)

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
            return plans[self, model]  # type: ignore[no-any-return]
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
                    *named(sql, params, connection),
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


class UpdatePlan(NamedTuple):
    """One :class:`Update` compiled for one database connection."""

    sql: str
    params: list[Any]  # as compiled; the caller's values go in at the slots
    names: list[str] | None  # see named()
    slots: list[tuple[str, Any, list[int]]]  # name, its field, and its positions in params


class Update:
    """``where(queryset, values).update(**changes(values))``, compiled once per connection.

    The conditional ``UPDATE`` statements of the hot paths, whose row counts decide who wins,
    cost several times more to build and compile through the ORM than to run. *params* maps
    each value that changes from call to call to the model field it is compared with or
    written to; its type picks a sentinel no real value can equal, and the field adapts each
    call's value for the database as the ORM would. Everything else in *where* and
    *changes* (``F()`` expressions, constants) is compiled into the plan. The plain
    queryset runs when the compiled shape is not a single-table ``UPDATE``.
    """

    def __init__(
        self,
        where: Callable[[Any, dict[str, Any]], models.QuerySet[Any]],
        changes: Callable[[dict[str, Any]], dict[str, Any]],
        **params: str,
    ) -> None:
        self.where = where
        self.changes = changes
        self.params = params

    def run(self, manager: models.Manager[Any], *, using: str, **values: Any) -> int:
        """Run the update for *values* on database *using*; return the number of rows it
        matched."""
        connection = connections[using]
        plan = self.plan(manager, connection)
        if plan is None:
            return self.where(manager.using(using), values).update(**self.changes(values))
        params = list(plan.params)
        for name, field, positions in plan.slots:
            value = field.get_db_prep_value(values[name], connection, prepared=False)
            for position in positions:
                params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, bind(plan.names, params))
            return int(cursor.rowcount)

    def plan(
        self, manager: models.Manager[Any], connection: BaseDatabaseWrapper
    ) -> UpdatePlan | None:
        """This update compiled for *connection*, once; None means "use the queryset"."""
        model = manager.model
        plans = _PLANS.setdefault(connection, {})
        if (self, model) in plans:
            return plans[self, model]  # type: ignore[no-any-return]
        fields = {name: model._meta.get_field(field) for name, field in self.params.items()}
        sentinels = {name: _sentinel(field, n) for n, (name, field) in enumerate(fields.items())}
        query = cast(UpdateQuery, self.where(manager.all(), sentinels).query.chain(UpdateQuery))
        query.add_update_values(self.changes(sentinels))
        sql, compiled = query.get_compiler(connection=connection).as_sql()
        params = list(compiled)
        slots = []
        for name, field in fields.items():
            adapted = field.get_db_prep_value(sentinels[name], connection, prepared=False)
            slots.append((name, field, [i for i, p in enumerate(params) if p == adapted]))
        plan = None
        # A single table, and every value found where it goes: the fast path's shape. The
        # fallback guards against a future Django compiling it otherwise.
        if len(query.alias_map) == 1 and all(  # pragma: no branch
            positions for _, _, positions in slots
        ):
            plan = UpdatePlan(*named(sql, params, connection), slots=slots)
        plans[self, model] = plan
        return plan


def _sentinel(field: Any, n: int) -> Any:
    """A value of *field*'s type that no real call passes: a far-past instant, a number
    near the top of a positive integer column's range (Django refuses to compile a
    comparison with a value outside it), or a string with NUL bytes."""
    if isinstance(field, models.DateTimeField):
        return datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=n + 1)
    if isinstance(field, models.IntegerField):  # AutoField and the counters
        return 2_000_000_000 + n
    return f"\0{field.name}\0"


# Django's pattern for a "%s" placeholder, which its SQLite cursor rewrites to "?" with this
# regular expression on every execute: for a statement of this module, that costs as long as
# SQLite takes to run it. Given a mapping of parameters, the cursor only %-formats their
# names in, so on SQLite a plan names its placeholders once, when it is compiled.
_PLACEHOLDER = re.compile(r"(?<!%)%s")


def named(
    sql: str, params: list[Any], connection: BaseDatabaseWrapper
) -> tuple[str, list[Any], list[str] | None]:
    """``(sql, params, names)``: on SQLite *sql* with ``%(p0)s``-style placeholders and
    their *names*, in order; elsewhere, or when the named statement would not reach SQLite
    as the positional one does, *sql* as it is and names None."""
    pieces = _PLACEHOLDER.split(sql)
    if connection.vendor != "sqlite" or len(pieces) != len(params) + 1:
        return sql, params, None
    names = [f"p{n}" for n in range(len(params))]
    placeholders = [f"%({name})s" for name in names] + [""]
    named_sql = "".join(p + h for p, h in zip(pieces, placeholders, strict=True))
    # The cursor %-formats a named statement but only rewrites "%s" and "%%" in a positional
    # one, and the ORM leaves a "%" in a quoted name unescaped: the two must send one text.
    try:
        same = named_sql % dict.fromkeys(names, "?") == _PLACEHOLDER.sub("?", sql).replace(
            "%%", "%"
        )
    except (ValueError, TypeError, KeyError):
        same = False
    return (named_sql, params, names) if same else (sql, params, None)


def bind(names: list[str] | None, params: list[Any]) -> list[Any] | dict[str, Any]:
    """*params* as the plan's statement takes them: by name when it names them."""
    return params if names is None else dict(zip(names, params, strict=True))
