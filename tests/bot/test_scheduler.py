"""Three replicas (three schedulers on three engines) fire the same jobs: each slot runs once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.scheduler import TAKEOVER_JOB, ReplicaScheduler, RunOutcome, cleanup_job
from core.kernel.claims import claim_once, claim_slot, slot_for
from core.kernel.clock import FixedClock, SystemClock
from core.kernel.db.engine import make_engine
from core.kernel.db.tables import JobRun, JobRunStatus, ProcessedEvent

HOUR = timedelta(hours=1)


@pytest.fixture
def replica_engines(engine):
    """Three engines (three connection pools) on the one migrated database."""
    engines = [make_engine(engine.url.render_as_string(hide_password=False)) for _ in range(3)]
    yield engines
    for other in engines:
        other.dispose()


def job_runs(engine) -> list[JobRun]:
    with engine.connect() as conn:
        return [
            JobRun(**row._asdict())
            for row in conn.execute(select(JobRun.__table__).order_by("job", "slot"))
        ]


def test_slots_are_the_interval_boundaries_counted_from_the_epoch():
    moment = datetime(2026, 11, 27, 9, 30, 12, tzinfo=UTC)
    assert slot_for(moment, HOUR) == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert slot_for(moment, timedelta(hours=6)) == datetime(2026, 11, 27, 6, tzinfo=UTC)
    assert slot_for(moment, timedelta(minutes=15)) == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        slot_for(moment.replace(tzinfo=None), HOUR)


def test_concurrent_claims_of_one_slot_have_one_winner(engine, clock):
    slot = slot_for(clock.now(), HOUR)
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(
            pool.map(lambda n: claim_slot(engine, "ingest", slot, f"r{n}", clock.now()), range(16))
        )
    assert won.count(True) == 1
    assert claim_slot(engine, "ingest", slot + HOUR, "r0", clock.now()) is True


async def test_three_replicas_run_each_slot_of_a_job_exactly_once(engine, replica_engines, clock):
    ran: list[tuple[str, datetime]] = []
    replicas = []
    for n, replica_engine in enumerate(replica_engines):
        replica = ReplicaScheduler(replica_engine, clock, owner=f"replica-{n}")

        async def ingest(owner=f"replica-{n}") -> None:
            ran.append((owner, clock.now()))
            await asyncio.sleep(0)

        replica.add_job("ingest", ingest, every=HOUR)
        replicas.append(replica)

    outcomes = []
    for _ in range(10):  # ten hourly slots, each fired by all three replicas at once
        outcomes += await asyncio.gather(*(r.fire("ingest") for r in replicas))
        clock.current += HOUR

    assert len(ran) == 10
    assert outcomes.count(RunOutcome.FINISHED) == 10
    assert outcomes.count(RunOutcome.SKIPPED) == 20
    runs = job_runs(engine)
    assert [r.slot for r in runs] == [
        datetime(2026, 11, 27, 9, tzinfo=UTC) + n * HOUR for n in range(10)
    ]
    assert {r.status for r in runs} == {JobRunStatus.FINISHED}
    assert all(r.duration_ms is not None and r.finished_at is not None for r in runs)
    assert {r.owner for r in runs} <= {"replica-0", "replica-1", "replica-2"}


async def test_a_failed_run_is_recorded_and_the_next_slot_runs_again(engine, clock):
    calls = []

    def evaluate() -> None:
        calls.append(clock.now())
        if len(calls) == 1:
            raise RuntimeError("cost store unavailable")

    replica = ReplicaScheduler(engine, clock, owner="r")
    replica.add_job("budgets", evaluate, every=HOUR)

    assert await replica.fire("budgets") == RunOutcome.FAILED
    assert await replica.fire("budgets") == RunOutcome.SKIPPED  # same slot: not retried
    clock.current += HOUR
    assert await replica.fire("budgets") == RunOutcome.FINISHED

    failed, finished = job_runs(engine)
    assert failed.status == JobRunStatus.FAILED
    assert failed.error == "RuntimeError: cost store unavailable"
    assert finished.status == JobRunStatus.FINISHED and finished.error is None


async def test_budgets_follow_each_ingestion_once_across_replicas(engine, replica_engines, clock):
    counts = {"ingest": 0, "budgets": 0}

    def job(name):
        async def run() -> None:
            counts[name] += 1

        return run

    replicas = []
    for replica_engine in replica_engines:
        replica = ReplicaScheduler(replica_engine, clock)
        replica.add_job("ingest", job("ingest"), every=timedelta(hours=6), then=("budgets",))
        replica.add_job("budgets", job("budgets"), every=HOUR)
        replicas.append(replica)

    await asyncio.gather(*(r.fire("ingest") for r in replicas))
    await asyncio.gather(*(r.fire("budgets") for r in replicas))

    assert counts == {"ingest": 1, "budgets": 2}  # once after ingestion, once on its schedule
    assert sorted(r.job for r in job_runs(engine)) == ["budgets", "budgets.after.ingest", "ingest"]


async def test_an_unclaimed_job_runs_on_every_replica(engine, replica_engines, clock):
    runs = []
    replicas = [ReplicaScheduler(e, clock) for e in replica_engines]
    for n, replica in enumerate(replicas):
        replica.add_job(
            "outbox", lambda n=n: runs.append(n), every=timedelta(seconds=5), claim=False
        )

    await asyncio.gather(*(r.fire("outbox") for r in replicas))

    assert sorted(runs) == [0, 1, 2]
    assert job_runs(engine) == []


async def test_cleanup_forgets_old_claims_and_runs(engine, clock):
    old = clock.now() - timedelta(days=40)
    claim_once(engine, "slack:old", old)
    claim_once(engine, "slack:new", clock.now())
    claim_slot(engine, "ingest", slot_for(old, HOUR), "r", old)
    claim_slot(engine, "ingest", slot_for(clock.now(), HOUR), "r", clock.now())

    cleanup_job(
        engine,
        clock,
        processed_event_retention=timedelta(days=7),
        job_run_retention=timedelta(days=30),
    )()

    with engine.connect() as conn:
        keys = [row.key for row in conn.execute(select(ProcessedEvent.__table__))]
    assert keys == ["slack:new"]
    assert [r.started_at for r in job_runs(engine)] == [clock.now()]


def test_job_registration_refuses_what_would_blur_slots(engine):
    replica = ReplicaScheduler(engine, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    with pytest.raises(ValueError, match="jitter"):
        replica.add_job("ingest", lambda: None, every=HOUR, jitter_seconds=1800)
    with pytest.raises(ValueError, match="once a second"):
        replica.add_job("ingest", lambda: None, every=timedelta(milliseconds=10))
    replica.add_job("ingest", lambda: None, every=HOUR, then=("budgets",))
    with pytest.raises(ValueError, match="unknown jobs"):
        replica.start()


async def test_a_daily_follow_up_runs_once_a_day_after_the_first_ingestion_on_one_replica(
    engine, replica_engines, clock
):
    refreshed: list[datetime] = []
    replicas = []
    for n, replica_engine in enumerate(replica_engines):
        scheduler = ReplicaScheduler(replica_engine, clock, owner=f"replica-{n}")

        async def ingest() -> None:
            await asyncio.sleep(0)

        async def refresh() -> None:
            refreshed.append(clock.now())

        scheduler.add_job("ingest", ingest, every=timedelta(hours=6), then=("recommendations",))
        scheduler.add_job("recommendations", refresh, every=timedelta(days=1), standalone=False)
        replicas.append(scheduler)

    for _ in range(3):  # three 6-hourly ingestions of one day, fired on every replica
        await asyncio.gather(*(r.fire("ingest") for r in replicas))
        clock.current += timedelta(hours=6)

    assert len(refreshed) == 1  # once that day, after the first successful ingestion
    runs = [r for r in job_runs(engine) if r.job == "recommendations.after.ingest"]
    assert [r.status for r in runs] == [JobRunStatus.FINISHED]
    clock.current += timedelta(hours=6)
    await asyncio.gather(*(r.fire("ingest") for r in replicas))
    assert len(refreshed) == 2  # the next day's first ingestion refreshes again


async def test_a_follow_up_only_job_is_not_scheduled_on_its_own(engine, clock):
    scheduler = ReplicaScheduler(engine, clock)
    scheduler.add_job("recommendations", lambda: None, every=timedelta(days=1), standalone=False)
    scheduler.add_job("ingest", lambda: None, every=timedelta(hours=6), then=("recommendations",))
    scheduler.start()
    try:
        # The ingestion, and the scheduler's own pass taking over slots of dead replicas.
        assert sorted(job.id for job in scheduler._scheduler.get_jobs()) == [
            TAKEOVER_JOB,
            "ingest",
        ]
    finally:
        scheduler.shutdown()


def two_replicas(engines, clock, ran, *, lease=timedelta(seconds=60), hang=("dead",)):
    """Replicas "dead" and "alive" with an ingestion followed by a daily refresh; the ingestion
    hangs on the replicas named in `hang` (their process is about to die)."""
    replicas = {}
    for replica_engine, who in zip(engines, ("dead", "alive"), strict=False):
        replica = ReplicaScheduler(replica_engine, clock, owner=who, lease=lease)

        async def ingest(who=who) -> None:
            ran.append(("ingest", who))
            if who in hang:
                await asyncio.Event().wait()

        async def refresh(who=who) -> None:
            ran.append(("refresh", who))

        replica.add_job("ingest", ingest, every=timedelta(hours=6), then=("refresh",))
        replica.add_job("refresh", refresh, every=timedelta(days=1), standalone=False)
        replicas[who] = replica
    return replicas["dead"], replicas["alive"]


async def started(ran, who: str) -> None:
    for _ in range(500):
        if ("ingest", who) in ran:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the ingestion of {who} never started")


async def kill_mid_job(replica, ran) -> None:
    """Fire the replica's ingestion and stop it mid-run as a SIGKILL would: nothing more of it
    reaches the database (no finish, no more heartbeats)."""
    task = asyncio.create_task(replica.fire("ingest"))
    await started(ran, replica.owner)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_slot_whose_replica_died_is_taken_over_after_its_lease_with_its_follow_ups(
    engine, replica_engines, clock
):
    ran: list[tuple[str, str]] = []
    dead, alive = two_replicas(replica_engines, clock, ran)
    await kill_mid_job(dead, ran)
    [stuck] = job_runs(engine)
    assert (stuck.status, stuck.owner) == (JobRunStatus.RUNNING, "dead")

    assert await alive.fire("ingest") == RunOutcome.SKIPPED  # its lease still holds
    assert await alive.take_over_expired() == []
    clock.current += timedelta(seconds=61)
    assert await alive.take_over_expired() == [("ingest", RunOutcome.FINISHED)]

    assert ran == [("ingest", "dead"), ("ingest", "alive"), ("refresh", "alive")]
    runs = {r.job: r for r in job_runs(engine)}
    assert set(runs) == {"ingest", "refresh.after.ingest"}
    assert (runs["ingest"].status, runs["ingest"].owner) == (JobRunStatus.FINISHED, "alive")
    assert runs["ingest"].slot == stuck.slot and runs["ingest"].lease_until is None
    assert runs["refresh.after.ingest"].status == JobRunStatus.FINISHED
    assert await alive.take_over_expired() == []  # nothing left


async def test_a_live_replica_keeps_its_slot_by_renewing_the_lease(engine, replica_engines):
    clock = SystemClock()
    ran: list[tuple[str, str]] = []
    lease = timedelta(seconds=0.6)
    busy, other = two_replicas(replica_engines, clock, ran, lease=lease, hang=())

    async def slow_ingest() -> None:
        ran.append(("ingest", "dead"))
        await asyncio.sleep(1.5)  # over two leases long: alive only through its heartbeats

    busy.add_job("ingest", slow_ingest, every=timedelta(hours=6), then=("refresh",))
    running = asyncio.create_task(busy.fire("ingest"))
    await asyncio.sleep(1.0)
    assert await other.take_over_expired() == []
    assert await running == RunOutcome.FINISHED
    assert ran == [("ingest", "dead"), ("refresh", "dead")]


async def test_a_dead_slot_overtaken_by_a_later_finished_run_is_only_marked_failed(
    engine, replica_engines, clock
):
    ran: list[tuple[str, str]] = []
    dead, alive = two_replicas(replica_engines, clock, ran)
    await kill_mid_job(dead, ran)
    clock.current += timedelta(hours=6)  # nobody took it over; the next slot ran since
    assert await alive.fire("ingest") == RunOutcome.FINISHED

    assert await alive.take_over_expired() == []
    old, new = sorted((r for r in job_runs(engine) if r.job == "ingest"), key=lambda r: r.slot)
    assert old.status == JobRunStatus.FAILED and "a later run has finished" in old.error
    assert new.status == JobRunStatus.FINISHED


async def test_stopping_lets_a_short_job_finish_and_releases_a_long_one(
    engine, replica_engines, clock
):
    ran: list[tuple[str, str]] = []
    dead, alive = two_replicas(replica_engines, clock, ran)
    running = asyncio.create_task(dead.fire("ingest"))
    await started(ran, "dead")

    await dead.stop(grace_seconds=0.2)  # the hanging ingestion outlasts the grace period

    assert running.cancelled() and not dead.running
    [released] = job_runs(engine)
    assert released.status == JobRunStatus.RUNNING and released.lease_until == clock.now()
    assert await dead.fire("ingest") == RunOutcome.SKIPPED  # a stopped replica fires nothing
    # Released, not expired: the other replica takes it over at once.
    assert await alive.take_over_expired() == [("ingest", RunOutcome.FINISHED)]
