"""Retrying a database step when the connection dropped under it (bounded, with backoff).

A PostgreSQL restart, a failover or an administrator terminating backends breaks the
connections in the pool: the statement in flight fails with an `OperationalError`, and the
pool invalidates the connection (the next checkout reconnects; `pool_pre_ping` catches the
idle ones). Every step wrapped here is one whole transaction that can run again — a day of
cost rows compared with what is stored, an outbox claim or mark conditioned on its claim token
— so running it again gives the exact result. Errors of the statement itself (a constraint, a
bug) are not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)

#: Attempts of one step, and the longest it keeps trying (a database restart takes seconds).
MAX_ATTEMPTS = 8
MAX_SECONDS = 30.0


def is_transient(exc: BaseException) -> bool:
    """A lost or reset connection, a server shutting down, a serialization failure or
    deadlock: the transaction can simply run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, InterfaceError):  # "the connection is closed"
        return True
    if not isinstance(exc, OperationalError):
        return False
    module = type(exc.orig).__module__
    if module.startswith("psycopg"):
        return True  # AdminShutdown, connection failures, TransactionRollbackError …
    return "locked" in str(exc.orig).lower()  # SQLite past its busy timeout


def _log_retry(state: RetryCallState) -> None:
    """One line per retry: the step, the attempt, the driver's first line (never the SQL or
    its parameters)."""
    exc = state.outcome.exception() if state.outcome else None
    orig = getattr(exc, "orig", exc)
    reason = str(orig).strip().splitlines()[0][:200] if orig else ""
    name = getattr(state.fn, "__qualname__", "a database step")
    log.warning(
        "database connection lost during %s (attempt %d: %s: %s); retrying in %.2f s",
        name,
        state.attempt_number,
        type(orig).__name__,
        reason,
        state.upcoming_sleep,
    )


def retrying[**P, T](
    step: Callable[P, T],
    *,
    attempts: int = MAX_ATTEMPTS,
    max_seconds: float = MAX_SECONDS,
    initial_wait: float = 0.05,
) -> Callable[P, T]:
    """`step`, run again after a transient database error (see `is_transient`)."""

    @wraps(step)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        retryer = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(attempts) | stop_after_delay(max_seconds),
            wait=wait_exponential_jitter(multiplier=initial_wait, max=2.0, jitter=initial_wait),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retryer(step, *args, **kwargs)

    return run
