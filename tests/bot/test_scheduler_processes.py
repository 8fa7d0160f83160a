"""Three processes, each with a real APScheduler firing the same 1-second job: one run per slot.

This is the situation in which a shared APScheduler job store ran every job three times.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from core.kernel.db.tables import JobRun, JobRunStatus
from tests.support.paths import REPO

REPO = REPO
FIRINGS = 4
pytestmark = pytest.mark.slow


async def test_three_replica_processes_run_each_slot_once(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    try:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.bot.replica_process",
                database_url,
                str(FIRINGS),
                cwd=REPO,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(3)
        ]
        for process in processes:
            assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
        for process in processes:
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        reports = []
        for process in processes:
            stdout, _ = await asyncio.wait_for(process.communicate(), 120)
            assert process.returncode == 0
            reports.append(json.loads(stdout.decode().splitlines()[-1]))

        with engine.connect() as conn:
            runs = conn.execute(select(JobRun.__table__)).all()
        executions = sum(len(report["ran"]) for report in reports)
        outcomes = Counter(o for report in reports for o in report["outcomes"])

        assert executions == len(runs)  # no run without its own slot
        assert outcomes["finished"] == executions
        assert outcomes["finished"] + outcomes["skipped"] == 3 * FIRINGS
        assert {run.status for run in runs} == {JobRunStatus.FINISHED}
        owners = Counter(run.owner for run in runs)
        assert set(owners) <= {report["owner"] for report in reports}
        print(f"{len(runs)} slots run, {outcomes['skipped']} firings skipped, by owner {owners}")
    finally:
        engine.dispose()
