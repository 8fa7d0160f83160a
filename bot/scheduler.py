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
A replica that dies mid-run leaves its slot `running`: that slot is not retried, the next one
runs as usual.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter, Histogram
from sqlalchemy import Engine

from core.kernel.claims import (
    EPOCH,
    claim_slot,
    finish_slot,
    forget_before,
    forget_runs_before,
    slot_for,
)
from core.kernel.clock import Clock

log = logging.getLogger(__name__)

JOB_RUNS = Counter(
    "cloudoptima_job_runs_total", "Scheduled job firings by job and outcome", ["job", "outcome"]
)
JOB_SECONDS = Histogram("cloudoptima_job_seconds", "Duration of scheduled job runs", ["job"])

JobFunc = Callable[[], Any]
#: `job_run.job` holds 64 characters: "<follow-up>.after.<job>" must fit.
NAME_MAX = 28


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
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class ReplicaScheduler:
    """An APScheduler AsyncIOScheduler whose job runs are claimed per slot in the database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        owner: str | None = None,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner or replica_id()
        self.jobs: dict[str, JobSpec] = {}
        self._scheduler = scheduler or AsyncIOScheduler(timezone="UTC")

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
        self._scheduler.start()
        log.info("scheduler started on %s: %s", self.owner, ", ".join(sorted(self.jobs)))

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def fire(self, name: str) -> RunOutcome:
        """What APScheduler calls: run `name` for the slot of this moment, if this replica wins."""
        spec = self.jobs[name]
        if not spec.claim:
            return await self._run(spec, spec.name, None)
        slot = slot_for(self.clock.now(), spec.every)
        outcome = await self.run_slot(name, slot)
        if outcome == RunOutcome.FINISHED:
            for follow_up in spec.then:
                # The follow-up's own interval decides its slot: a daily follow-up of a 6-hourly
                # job runs after the first successful run of each day only.
                follow_slot = slot_for(self.clock.now(), self.jobs[follow_up].every)
                await self.run_slot(follow_up, follow_slot, run_name=f"{follow_up}.after.{name}")
        return outcome

    async def run_slot(
        self, name: str, slot: datetime, *, run_name: str | None = None
    ) -> RunOutcome:
        """Claim (`run_name` or `name`, `slot`) and run job `name` if the claim is ours."""
        spec = self.jobs[name]
        run_name = run_name or name
        started_at = self.clock.now()
        try:
            won = await asyncio.to_thread(
                claim_slot, self.engine, run_name, slot, self.owner, started_at
            )
        except Exception:
            log.exception("could not claim %s for %s; skipping this run", run_name, slot)
            won = False
        if not won:
            JOB_RUNS.labels(run_name, RunOutcome.SKIPPED).inc()
            log.debug("%s for %s runs elsewhere", run_name, slot)
            return RunOutcome.SKIPPED
        return await self._run(spec, run_name, slot, started_at=started_at)

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
) -> Callable[[], None]:
    """Forget old processed-event claims and job-run records (sync: runs in a thread)."""

    def cleanup() -> None:
        now = clock.now()
        events = forget_before(engine, now - processed_event_retention)
        runs = forget_runs_before(engine, now - job_run_retention)
        log.info("cleanup: forgot %d processed events and %d job runs", events, runs)

    return cleanup
