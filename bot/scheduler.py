"""Scheduled jobs that run once per slot however many replicas run them (APScheduler 3.11).

A shared APScheduler job store does not stop several processes from running one job (its FAQ:
"You can't"; seen here: 3 replicas ran each job 3 times). So every replica schedules every job
on the same epoch-aligned interval, and each firing first claims its slot — the job name and the
fire time truncated to the interval — in `job_run` (`core.kernel.claims.claim_slot`: INSERT … ON
CONFLICT DO NOTHING RETURNING). One replica wins and runs; the others skip. The run's end
(finished or failed, with its duration) is recorded on the claimed row.

Jobs are registered by name with any callable (sync callables run in a worker thread):

    scheduler = ReplicaScheduler(engine, clock)
    scheduler.add_job("ingest", ingest_all, every=timedelta(hours=6), then=("budgets",))
    scheduler.add_job("budgets", evaluate_budgets, every=timedelta(hours=1))
    scheduler.add_job("outbox", dispatcher.dispatch_until_idle, every=timedelta(seconds=5),
                      claim=False)  # every replica delivers: the outbox has its own claims
    scheduler.start()

`then` runs follow-up jobs right after a successful run, claimed under
`<follow-up>.after.<job>` for the follow-up's own slot (its interval): a follow-up with the
job's interval runs after each run, a daily one (recommendations) after the first successful
run of the day. `standalone=False` jobs run only as follow-ups.
A running slot holds a lease (`lease`, 60 s by default) that its replica renews every third of
it. A replica that dies mid-run stops renewing: once the lease has run out, another replica's
takeover pass (every half lease) claims the slot, runs the job and its follow-ups — unless a
later slot of that job finished meanwhile (nothing left to catch up). On shutdown a replica
stops firing, lets its running jobs finish within a grace period, and releases the slots of
those it had to stop, so another replica takes them over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter, Histogram
from sqlalchemy import Engine

from core.kernel.claims import (
    DEFAULT_LEASE,
    EPOCH,
    claim_slot,
    expired_slots,
    finish_slot,
    forget_before,
    forget_runs_before,
    release_slots,
    renew_slot,
    slot_for,
    superseded_slot,
)
from core.kernel.clock import Clock
from core.kernel.process import process_owner
from core.kernel.ratelimit import RateLimits, forget_full_buckets

log = logging.getLogger(__name__)

# The label is `job_name`: Prometheus sets `job` itself (the scrape job) and would rename ours
# to `exported_job`.
JOB_RUNS = Counter(
    "cloudoptima_job_runs_total",
    "Scheduled job firings by job and outcome",
    ["job_name", "outcome"],
)
JOB_SECONDS = Histogram(
    "cloudoptima_job_seconds",
    "Duration of scheduled job runs",
    ["job_name"],
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 2700, 3600, float("inf")),
)
SLOT_TAKEOVERS = Counter(
    "cloudoptima_job_slot_takeovers_total",
    "Slots taken over from a replica that stopped renewing their lease",
    ["job_name"],
)

JobFunc = Callable[[], Any]
#: `job_run.job` holds 64 characters: "<follow-up>.after.<job>" must fit.
NAME_MAX = 28
#: The scheduler's own pass that takes over slots of replicas that died.
TAKEOVER_JOB = "_takeover"


class RunOutcome(StrEnum):
    FINISHED = "finished"
    FAILED = "failed"
    #: Another replica claimed the slot (or the claim could not be made): nothing ran here.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    func: JobFunc
    every: timedelta
    #: Jobs to run right after a successful run of this one, for the same slot.
    then: tuple[str, ...] = ()
    #: False: every replica runs it each time (for work that claims its own items).
    claim: bool = True
    #: Up to this many seconds of random delay per firing (spreads load; < every / 2).
    jitter_seconds: float = 0.0
    #: False: never scheduled on its own, only run as a follow-up (`then`) of another job.
    standalone: bool = True


def replica_id() -> str:
    """host:pid — which replica ran a slot, in `job_run.owner` and the logs."""
    return process_owner()


class ReplicaScheduler:
    """An APScheduler AsyncIOScheduler whose job runs are claimed per slot in the database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        owner: str | None = None,
        scheduler: AsyncIOScheduler | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner or replica_id()
        self.lease = lease
        self.jobs: dict[str, JobSpec] = {}
        self._scheduler = scheduler or AsyncIOScheduler(timezone="UTC")
        #: Firings in progress on this replica (graceful shutdown waits for them).
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # -- registration --------------------------------------------------------------------------
    def add_job(
        self,
        name: str,
        func: JobFunc,
        *,
        every: timedelta,
        then: Sequence[str] = (),
        claim: bool = True,
        jitter_seconds: float = 0.0,
        standalone: bool = True,
    ) -> JobSpec:
        """Register `func` under `name` (replacing any job of that name)."""
        if not name or len(name) > NAME_MAX:
            raise ValueError(f"a job name has 1 to {NAME_MAX} characters")
        if every < timedelta(seconds=1):
            raise ValueError("a job runs at most once a second")
        if jitter_seconds < 0 or jitter_seconds >= every.total_seconds() / 2:
            raise ValueError("jitter must be under half the interval (slots would blur)")
        spec = JobSpec(name, func, every, tuple(then), claim, jitter_seconds, standalone)
        self.jobs[name] = spec
        return spec

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """Schedule every job on the running event loop (epoch-aligned, so replicas agree)."""
        for spec in self.jobs.values():
            missing = [name for name in spec.then if name not in self.jobs]
            if missing:
                raise ValueError(f"job {spec.name!r} is followed by unknown jobs: {missing}")
        for spec in self.jobs.values():
            if not spec.standalone:
                continue
            self._scheduler.add_job(
                self.fire,
                trigger=IntervalTrigger(
                    seconds=spec.every.total_seconds(),
                    start_date=EPOCH,
                    timezone="UTC",
                    jitter=spec.jitter_seconds or None,
                ),
                args=[spec.name],
                id=spec.name,
                name=spec.name,
                max_instances=1,  # a slow run is not overlapped by the next one
                coalesce=True,
                misfire_grace_time=max(int(spec.every.total_seconds() / 2), 1),
                replace_existing=True,
            )
        self._scheduler.add_job(
            self.take_over_expired,
            trigger=IntervalTrigger(seconds=max(self.lease.total_seconds() / 2, 1)),
            id=TAKEOVER_JOB,
            name=TAKEOVER_JOB,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
        self._scheduler.start()
        log.info("scheduler started on %s: %s", self.owner, ", ".join(sorted(self.jobs)))

    @property
    def running(self) -> bool:
        """Scheduling jobs (what /readyz checks)."""
        return bool(self._scheduler.running) and not self._stopping

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def stop(self, grace_seconds: float) -> None:
        """Stop firing; let running jobs finish within `grace_seconds`, cancel the rest, and
        release this replica's running slots (another replica takes them over at once)."""
        self._stopping = True
        self.shutdown()
        running = [task for task in self._running if not task.done()]
        if running:
            log.info("waiting up to %g s for %d running job(s)", grace_seconds, len(running))
            _done, pending = await asyncio.wait(running, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        try:
            released = await asyncio.to_thread(
                release_slots, self.engine, self.owner, self.clock.now()
            )
        except Exception:
            log.exception("could not release this replica's slots; their leases will run out")
            return
        if released:
            log.warning("released %d running slot(s) for another replica to take over", released)

    async def fire(self, name: str) -> RunOutcome:
        """What APScheduler calls: run `name` for the slot of this moment, if this replica wins."""
        spec = self.jobs[name]
        if self._stopping:
            return RunOutcome.SKIPPED
        with self._tracked():
            if not spec.claim:
                return await self._run(spec, spec.name, None)
            slot = slot_for(self.clock.now(), spec.every)
            outcome = await self.run_slot(name, slot)
            if outcome == RunOutcome.FINISHED:
                await self._follow_ups(spec)
            return outcome

    async def _follow_ups(self, spec: JobSpec) -> None:
        for follow_up in spec.then:
            # The follow-up's own interval decides its slot: a daily follow-up of a 6-hourly job
            # runs after the first successful run of each day only.
            follow_slot = slot_for(self.clock.now(), self.jobs[follow_up].every)
            await self.run_slot(follow_up, follow_slot, run_name=f"{follow_up}.after.{spec.name}")

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._running.discard(task)

    async def take_over_expired(self) -> list[tuple[str, RunOutcome]]:
        """Run the slots whose replica stopped renewing their lease (and their follow-ups)."""
        if self._stopping:
            return []
        with self._tracked():
            now = self.clock.now()
            try:
                expired = await asyncio.to_thread(expired_slots, self.engine, now)
            except Exception:
                log.exception("could not look for slots to take over")
                return []
            done: list[tuple[str, RunOutcome]] = []
            for run_name, slot in expired:
                name = run_name.partition(".after.")[0]
                spec = self.jobs.get(name)
                if spec is None:
                    continue  # a job this replica does not run
                if await asyncio.to_thread(superseded_slot, self.engine, run_name, slot, now):
                    log.info(
                        "%s for %s died with its replica; a later run finished", run_name, slot
                    )
                    continue
                outcome = await self.run_slot(name, slot, run_name=run_name, takeover=True)
                done.append((run_name, outcome))
                if outcome == RunOutcome.FINISHED and run_name == name:
                    await self._follow_ups(spec)
            return done

    async def run_slot(
        self, name: str, slot: datetime, *, run_name: str | None = None, takeover: bool = False
    ) -> RunOutcome:
        """Claim (`run_name` or `name`, `slot`) and run job `name` if the claim is ours."""
        spec = self.jobs[name]
        run_name = run_name or name
        started_at = self.clock.now()
        try:
            won = await asyncio.to_thread(
                claim_slot, self.engine, run_name, slot, self.owner, started_at, self.lease
            )
        except Exception:
            log.exception("could not claim %s for %s; skipping this run", run_name, slot)
            won = False
        if not won:
            JOB_RUNS.labels(run_name, RunOutcome.SKIPPED).inc()
            log.debug("%s for %s runs elsewhere", run_name, slot)
            return RunOutcome.SKIPPED
        if takeover:
            SLOT_TAKEOVERS.labels(run_name).inc()
            log.warning("took over %s for %s from a replica that stopped", run_name, slot)
        heartbeat = asyncio.create_task(self._heartbeat(run_name, slot))
        try:
            return await self._run(spec, run_name, slot, started_at=started_at)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, run_name: str, slot: datetime) -> None:
        """Renew the slot's lease every third of it while the job runs."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                ours = await asyncio.to_thread(
                    renew_slot,
                    self.engine,
                    run_name,
                    slot,
                    self.owner,
                    self.clock.now(),
                    self.lease,
                )
            except Exception:
                log.warning("could not renew the lease of %s for %s", run_name, slot)
                continue
            if not ours:
                log.warning("%s for %s was taken over by another replica", run_name, slot)
                return

    async def _run(
        self,
        spec: JobSpec,
        run_name: str,
        slot: datetime | None,
        *,
        started_at: datetime | None = None,
    ) -> RunOutcome:
        began = time.perf_counter()
        error: str | None = None
        try:
            await call(spec.func)
        except Exception as exc:
            log.exception("scheduled job %s (slot %s) failed", run_name, slot)
            error = f"{type(exc).__name__}: {exc}"
        outcome = RunOutcome.FAILED if error else RunOutcome.FINISHED
        JOB_RUNS.labels(run_name, outcome).inc()
        JOB_SECONDS.labels(run_name).observe(time.perf_counter() - began)
        if slot is not None and started_at is not None:
            try:
                await asyncio.to_thread(
                    finish_slot,
                    self.engine,
                    run_name,
                    slot,
                    started_at=started_at,
                    now=self.clock.now(),
                    error=error,
                    owner=self.owner,
                )
            except Exception:
                log.exception("could not record the end of %s (slot %s)", run_name, slot)
        return outcome


async def call(func: JobFunc) -> None:
    """Await an async callable; run a sync one in a worker thread (the loop keeps serving)."""
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 (async callable objects)
    ):
        await func()
        return
    result = await asyncio.to_thread(func)
    if inspect.isawaitable(result):
        await result


def cleanup_job(
    engine: Engine,
    clock: Clock,
    *,
    processed_event_retention: timedelta,
    job_run_retention: timedelta,
    rate_limits: RateLimits | None = None,
) -> Callable[[], None]:
    """Forget old processed-event claims, job-run records and refilled rate-limit buckets
    (sync: runs in a thread)."""

    def cleanup() -> None:
        now = clock.now()
        events = forget_before(engine, now - processed_event_retention)
        runs = forget_runs_before(engine, now - job_run_retention)
        buckets = forget_full_buckets(engine, now, rate_limits) if rate_limits else 0
        log.info(
            "cleanup: forgot %d processed events, %d job runs and %d rate buckets",
            events,
            runs,
            buckets,
        )

    return cleanup
