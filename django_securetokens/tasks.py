"""Run mail jobs off the request path.

A password-reset request must take as long for an unknown address as for a known one
(R-36). Its step (:func:`django_securetokens.flows.password_reset.request`) therefore does
no per-account work at all: it hands a *job* — the dotted
path of a function marked with :func:`task` and JSON-serialisable keyword arguments — to
the sender named by ``SECURETOKENS['EMAIL_SENDER']``, and answers at once. Looking the
account up, issuing the token, rendering and sending the mail all happen in the job. Every
other mail of the flows (verification, change of address, the notices) goes the same way.

The job's arguments hold no secret (the token is issued inside the job), so a task-queue
broker that carries them learns an email address at most, never a reset link. They also
carry the request's active language, so the mail is written in it wherever the job runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import close_old_connections, router, transaction
from django.utils import translation
from django.utils.module_loading import import_string

from .conf import setting

logger = logging.getLogger("django_securetokens")

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_pending: set[Future[None]] = set()


def task(func: F) -> F:
    """Mark *func* as a job that :func:`run_job` may run.

    Only marked functions run, so a forged queue message cannot name an arbitrary callable.
    """
    func.securetokens_task = True  # type: ignore[attr-defined]
    return func


def name_of(func: Callable[..., Any]) -> str:
    """The dotted path that :func:`run_job` resolves back to *func*."""
    return f"{func.__module__}.{func.__qualname__}"


def run_job(name: str, kwargs: dict[str, Any]) -> None:
    """Run the job *name* with *kwargs*. Call this from your task-queue worker.

    :raises ValueError: when *name* is not a function marked with :func:`task`.
    """
    func = import_string(name)
    if not getattr(func, "securetokens_task", False):
        raise ValueError(f"{name} is not a django-securetokens task")
    kwargs = dict(kwargs)
    # A worker thread or process does not inherit the request's language: restore it, so a
    # French visitor gets a French mail. Jobs queued without one use LANGUAGE_CODE.
    language = kwargs.pop("language", None)
    with translation.override(language) if language else nullcontext():
        func(**kwargs)


def enqueue(func: Callable[..., Any], *, language: str | None = None, **kwargs: Any) -> None:
    """Hand the job ``func(**kwargs)`` to ``SECURETOKENS['EMAIL_SENDER']``, with *language*
    (default: the active language) under the ``language`` key."""
    sender: Callable[[str, dict[str, Any]], None] = import_string(setting("EMAIL_SENDER"))
    sender(name_of(func), {**kwargs, "language": language or translation.get_language()})


def after_commit(job: Callable[[], object]) -> None:
    """Run *job* once the current transaction on the users' database commits (at once
    outside one). The job looks up the rows the request wrote, a new account or address,
    and the app's tables live with the users (check E030), which need not be ``default``."""
    transaction.on_commit(job, using=router.db_for_write(get_user_model()))


def run_now(name: str, kwargs: dict[str, Any]) -> None:
    """A sender that runs the job in the request, after commit.

    For tests and debugging only: the response then waits for the mail server, and its
    timing tells whether an account exists (R-36).
    """
    after_commit(lambda: run_job(name, kwargs))


def run_in_thread(name: str, kwargs: dict[str, Any]) -> None:
    """The default sender: run the job in a background thread once the transaction commits.

    Jobs run one at a time in a single background thread of the web process, so a slow mail
    server delays mail, never responses. Python finishes queued jobs before a normal exit,
    but a killed process loses them; use a task queue when that matters.
    """
    after_commit(lambda: _submit(name, kwargs))


def _submit(name: str, kwargs: dict[str, Any]) -> None:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="securetokens")
        future = _executor.submit(_run_in_worker, name, kwargs)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def _run_in_worker(name: str, kwargs: dict[str, Any]) -> None:
    # The thread outlives requests, so it manages its database connection as a request
    # would; a failure is logged without its arguments, which may hold an email address.
    close_old_connections()
    try:
        run_job(name, kwargs)
    except Exception:
        logger.exception("Background job %s failed", name)
    finally:
        close_old_connections()


def join(timeout: float | None = None) -> bool:
    """Wait for the background jobs queued so far; return whether all of them finished.

    For tests, benchmarks and a graceful shutdown.
    """
    with _lock:
        pending = set(_pending)
    return not wait(pending, timeout=timeout).not_done
