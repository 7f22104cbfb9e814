"""Database routers for ``make test-multidb`` (``tests.settings_multidb``) and the checks."""

from __future__ import annotations

#: The databases that hold the same data in production: the primary and its replica.
PRIMARY_AND_REPLICA = {"default", "replica"}


class PrimaryReplicaRouter:
    """Reads go to ``replica``, writes to ``default``, as Django's documentation shows.

    In the tests the replica is a database of its own that nothing replicates to, so a
    statement sent there finds nothing the test wrote: the replica of a busy primary, whose
    lag never ends. ``other`` holds only what is sent there by name, with ``db_manager()``.
    """

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= PRIMARY_AND_REPLICA:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        return True


class TokensElsewhereRouter:
    """Writes this app's tables to a database of their own, away from the user model."""

    def db_for_write(self, model, **hints):
        return "tokens" if model._meta.app_label == "django_securetokens" else None


class ElsewhereRouter:
    """Reads and writes everything in ``other``: a site whose primary is not ``default``."""

    def db_for_read(self, model, **hints):
        return "other"

    def db_for_write(self, model, **hints):
        return "other"
