"""Doing a thing once per key, across retries, double clicks, processes and replicas.

Two kinds of claim, both decided by a unique key with `INSERT … ON CONFLICT DO NOTHING RETURNING`:

- `claim_once(key)`: the first caller with a key wins (a Slack redelivery, a double click, a
  Teams invoke retried); `forget_before` drops claims older than any retry.
- `claim_slot(job, slot)`: one replica runs each scheduled slot. A shared APScheduler job store
  does not stop several processes from running the same job (its FAQ: "You can't"; seen here:
  3 replicas ran each job 3 times), so every replica schedules every job and each run first claims
  its slot — the job name and the fire time truncated to the job's interval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlmodel import col

from core.kernel.db.engine import write_transaction
from core.kernel.db.tables import JobRun, JobRunStatus, ProcessedEvent
from core.kernel.db.upsert import insert_for

MAX_KEY_LENGTH = 255


def claim_once(engine: Engine, key: str, now: datetime) -> bool:
    """True for the first caller with `key`; False for every later one (the unique key decides)."""
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key longer than {MAX_KEY_LENGTH} characters")
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    with write_transaction(engine) as conn:
        claimed = conn.execute(
            insert_for(engine, table)
            .values(key=key, created_at=now)
            .on_conflict_do_nothing()
            .returning(table.c.key)
        ).first()
        return claimed is not None


def release_claim(engine: Engine, key: str) -> None:
    """Give a claim back: what it guarded did not happen (the requester was refused), so the
    next caller with the key may run."""
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    with write_transaction(engine) as conn:
        conn.execute(delete(table).where(table.c.key == key))


def forget_before(engine: Engine, cutoff: datetime) -> int:
    """Drop claims older than `cutoff` (retries stop long before); returns how many."""
    with write_transaction(engine) as conn:
        result = conn.execute(delete(ProcessedEvent).where(col(ProcessedEvent.created_at) < cutoff))
        return result.rowcount


JOB_RUN = JobRun.__table__  # type: ignore[attr-defined]
#: Slots are counted from here; every replica therefore agrees on them.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
ERROR_MAX = 2000


def slot_for(moment: datetime, interval: timedelta) -> datetime:
    """The start of the `interval`-long slot (counted from `EPOCH`) that contains `moment`."""
    if interval <= timedelta(0):
        raise ValueError("a job's interval must be positive")
    if moment.tzinfo is None:
        raise ValueError("naive datetime; use an aware UTC datetime")
    elapsed = moment - EPOCH
    return EPOCH + (elapsed // interval) * interval


def claim_slot(engine: Engine, job: str, slot: datetime, owner: str, now: datetime) -> bool:
    """True for the one caller that gets to run `job` for `slot`; False for every other."""
    with write_transaction(engine) as conn:
        claimed = conn.execute(
            insert_for(engine, JOB_RUN)
            .values(job=job, slot=slot, status=JobRunStatus.RUNNING, owner=owner, started_at=now)
            .on_conflict_do_nothing(index_elements=["job", "slot"])
            .returning(JOB_RUN.c.job)
        ).first()
    return claimed is not None


def finish_slot(
    engine: Engine,
    job: str,
    slot: datetime,
    *,
    started_at: datetime,
    now: datetime,
    error: str | None = None,
) -> None:
    """Record how the run of a claimed slot ended (finished, or failed with `error`)."""
    duration_ms = max(int((now - started_at).total_seconds() * 1000), 0)
    with write_transaction(engine) as conn:
        conn.execute(
            update(JOB_RUN)
            .where(JOB_RUN.c.job == job, JOB_RUN.c.slot == slot)
            .values(
                status=JobRunStatus.FAILED if error is not None else JobRunStatus.FINISHED,
                finished_at=now,
                duration_ms=duration_ms,
                error=None if error is None else error[:ERROR_MAX],
            )
        )


def forget_runs_before(engine: Engine, cutoff: datetime) -> int:
    """Drop run records that started before `cutoff`; returns how many."""
    with write_transaction(engine) as conn:
        deleted = conn.execute(
            delete(JOB_RUN).where(JOB_RUN.c.started_at < cutoff).returning(JOB_RUN.c.job)
        ).all()
    return len(deleted)
