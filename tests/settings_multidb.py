"""The test settings with three databases and a primary/replica router (``make test-multidb``).

``default`` is the primary; ``replica`` is where :class:`tests.routers.PrimaryReplicaRouter`
sends reads, a database of its own rather than a ``TEST["MIRROR"]`` of the primary, so a read
sent there visibly misses what was just written; ``other`` receives only what
``db_manager("other")`` sends it. All three use the engine ``SECURETOKENS_TEST_DB`` names.
"""

from __future__ import annotations

from .settings import *  # noqa: F403
from .settings import DATABASES

_PRIMARY = DATABASES["default"]
DATABASES = {
    alias: {
        **_PRIMARY,
        # SQLite: an empty test name is an in-memory database per alias; servers: one
        # database per alias beside the run's own.
        "TEST": {
            **_PRIMARY["TEST"],
            "NAME": (
                ""
                if _PRIMARY["ENGINE"].endswith("sqlite3")
                else f"{_PRIMARY['TEST']['NAME']}{suffix}"
            ),
        },
    }
    for alias, suffix in (("default", ""), ("replica", "_replica"), ("other", "_other"))
}
DATABASE_ROUTERS = ["tests.routers.PrimaryReplicaRouter"]
# Sessions in the database would be read from the replica, which never has them.
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
