"""Doing a thing once per key, across retries, double clicks, processes and replicas.

Two kinds of claim, both decided by a unique key with `INSERT … ON CONFLICT DO NOTHING RETURNING`:

- `claim_once(key)`: the first caller with a key wins (a Slack redelivery, a double click, a
  Teams invoke retried); `forget_before` drops claims older than any retry.
- `claim_slot(job, slot)`: one replica runs each scheduled slot, under a lease its owner renews
  while the job runs (`renew_slot`); a slot whose lease ran out (its replica died) is taken
  over (`expired_slots`, `claim_slot` again). A shared APScheduler job store
  does not stop several processes from running the same job (its FAQ: "You can't"; seen here:
  3 replicas ran each job 3 times), so every replica schedules every job and each run first claims
  its slot — the job name and the fire time truncated to the job's interval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
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


def was_claimed(engine: Engine, key: str) -> bool:
    """Has `key` been claimed (and not released)?"""
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(select(table.c.key).where(table.c.key == key)).first() is not None


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
#: How long a slot claim holds without a heartbeat (the scheduler renews it while running).
DEFAULT_LEASE = timedelta(seconds=60)


def slot_for(moment: datetime, interval: timedelta) -> datetime:
    """The start of the `interval`-long slot (counted from `EPOCH`) that contains `moment`."""
    if interval <= timedelta(0):
        raise ValueError("a job's interval must be positive")
    if moment.tzinfo is None:
        raise ValueError("naive datetime; use an aware UTC datetime")
    elapsed = moment - EPOCH
    return EPOCH + (elapsed // interval) * interval


def claim_slot(
    engine: Engine,
    job: str,
    slot: datetime,
    owner: str,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
) -> bool:
    """True for the one caller that gets to run `job` for `slot`; False for every other.

    The claim holds until `now + lease`; its owner renews it while the job runs
    (`renew_slot`). A slot still `running` whose lease ran out (its replica died) is taken over
    by the next claim of it.
    """
    values = {
        "status": JobRunStatus.RUNNING,
        "owner": owner,
        "started_at": now,
        "lease_until": now + lease,
    }
    with write_transaction(engine) as conn:
        claimed = conn.execute(
            insert_for(engine, JOB_RUN)
            .values(job=job, slot=slot, **values)
            .on_conflict_do_update(
                index_elements=["job", "slot"],
                set_={**values, "finished_at": None, "duration_ms": None, "error": None},
                where=_expired(now),
            )
            .returning(JOB_RUN.c.job)
        ).first()
    return claimed is not None


def _expired(now: datetime) -> Any:
    return (JOB_RUN.c.status == JobRunStatus.RUNNING) & (
        JOB_RUN.c.lease_until.is_(None) | (JOB_RUN.c.lease_until <= now)
    )


def renew_slot(
    engine: Engine, job: str, slot: datetime, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Extend a running slot's lease (the heartbeat); False when it is no longer ours."""
    with write_transaction(engine) as conn:
        renewed = conn.execute(
            update(JOB_RUN)
            .where(
                JOB_RUN.c.job == job,
                JOB_RUN.c.slot == slot,
                JOB_RUN.c.owner == owner,
                JOB_RUN.c.status == JobRunStatus.RUNNING,
            )
            .values(lease_until=now + lease)
            .returning(JOB_RUN.c.job)
        ).first()
    return renewed is not None


def expired_slots(engine: Engine, now: datetime) -> list[tuple[str, datetime]]:
    """(job, slot) of the runs still `running` whose owner stopped renewing their lease."""
    with engine.connect() as conn:
        found = conn.execute(
            select(JOB_RUN.c.job, JOB_RUN.c.slot).where(_expired(now)).order_by(JOB_RUN.c.slot)
        ).all()
    return [(job, slot) for job, slot in found]


def superseded_slot(engine: Engine, job: str, slot: datetime, now: datetime) -> bool:
    """Mark an expired slot failed when a later slot of the same job finished since (nothing is
    left to catch up); True when it did."""
    with write_transaction(engine) as conn:
        later = conn.execute(
            select(JOB_RUN.c.slot)
            .where(
                JOB_RUN.c.job == job,
                JOB_RUN.c.slot > slot,
                JOB_RUN.c.status == JobRunStatus.FINISHED,
            )
            .limit(1)
        ).first()
        if later is None:
            return False
        conn.execute(
            update(JOB_RUN)
            .where(JOB_RUN.c.job == job, JOB_RUN.c.slot == slot, _expired(now))
            .values(
                status=JobRunStatus.FAILED,
                finished_at=now,
                lease_until=None,
                error="its replica stopped; a later run has finished since",
            )
        )
    return True


def release_slots(engine: Engine, owner: str, now: datetime) -> int:
    """Give up the running slots of `owner` (a replica shutting down): their leases end now,
    so another replica takes them over at once. Returns how many."""
    with write_transaction(engine) as conn:
        released = conn.execute(
            update(JOB_RUN)
            .where(JOB_RUN.c.owner == owner, JOB_RUN.c.status == JobRunStatus.RUNNING)
            .values(lease_until=now)
            .returning(JOB_RUN.c.job)
        ).all()
    return len(released)


def finish_slot(
    engine: Engine,
    job: str,
    slot: datetime,
    *,
    started_at: datetime,
    now: datetime,
    error: str | None = None,
    owner: str | None = None,
) -> bool:
    """Record how the run of a claimed slot ended (finished, or failed with `error`); with
    `owner`, only while the slot is still that owner's (not taken over). True when recorded."""
    duration_ms = max(int((now - started_at).total_seconds() * 1000), 0)
    conditions = [JOB_RUN.c.job == job, JOB_RUN.c.slot == slot]
    if owner is not None:
        conditions.append(JOB_RUN.c.owner == owner)
    with write_transaction(engine) as conn:
        written = conn.execute(
            update(JOB_RUN)
            .where(*conditions)
            .values(
                status=JobRunStatus.FAILED if error is not None else JobRunStatus.FINISHED,
                finished_at=now,
                duration_ms=duration_ms,
                error=None if error is None else error[:ERROR_MAX],
                lease_until=None,
            )
            .returning(JOB_RUN.c.job)
        ).first()
    return written is not None


def forget_runs_before(engine: Engine, cutoff: datetime) -> int:
    """Drop run records that started before `cutoff`; returns how many."""
    with write_transaction(engine) as conn:
        deleted = conn.execute(
            delete(JOB_RUN).where(JOB_RUN.c.started_at < cutoff).returning(JOB_RUN.c.job)
        ).all()
    return len(deleted)
