"""One incident and one message per target when 4 processes (threads in each) score at once.

The claim is the unique key (series, cost type, first day) with INSERT … ON CONFLICT DO NOTHING
RETURNING, and the messages are written in the claim's transaction: no check-then-insert.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from core.anomalies.model import AnomaliesConfig
from core.anomalies.scan import scan_anomalies
from core.anomalies.store import Route, save_route
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.anomalies.support import FIRST, at, outbox, put_costs, service_incidents

PROCESSES = 4
THREADS = 5
NOW = at(date(2026, 11, 27))
TARGETS = (Target(TargetKind.SLACK, "C0RACE001"), Target(TargetKind.WEBHOOK, "https://x.example/h"))

pytestmark = pytest.mark.slow


def scan_in_threads(url: str, ready, results) -> None:
    engine = make_engine(url, pool_size=THREADS + 1, max_overflow=2)
    start = threading.Barrier(THREADS)
    new: list[int] = []
    errors: list[str] = []

    def one(_: int) -> None:
        start.wait()
        try:
            new.append(scan_anomalies(engine, NOW, AnomaliesConfig()).new_incidents)
        except BaseException:
            errors.append(traceback.format_exc())

    try:
        ready.wait(timeout=120)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(one, range(THREADS)))
    except BaseException:
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((sum(new), len(new), errors))


def race(url: str) -> list[tuple[int, int, list[str]]]:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    workers = [
        spawn.Process(target=scan_in_threads, args=(url, ready, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def prepare(engine) -> None:
    put_costs(engine, NOW, FIRST, date(2026, 11, 26), {date(2026, 11, 20): 3})
    for target in TARGETS:
        save_route(engine, Route(target), "slack:U1", NOW.now())


def check(engine, outcomes) -> None:
    errors = [e for _new, _n, errs in outcomes for e in errs]
    assert errors == [], errors[0]
    assert sum(n for _new, n, _e in outcomes) == PROCESSES * THREADS
    [incident] = service_incidents(engine)
    # Every incident (service and subscription level) was claimed by exactly one scan.
    assert sum(new for new, _n, _e in outcomes) == 2
    messages = outbox(engine)
    assert sorted((m.target_kind, m.target_address, m.source_id) for m in messages) == sorted(
        (str(t.kind), t.address, str(incident.id)) for t in TARGETS
    )


@pytest.mark.postgres
def test_20_scans_from_4_processes_claim_one_incident_on_postgres(postgres_url):
    engine = make_engine(postgres_url)
    upgrade(engine)
    prepare(engine)
    check(engine, race(postgres_url))
    engine.dispose()


def test_20_scans_from_4_processes_claim_one_incident_on_sqlite(sqlite_engine, sqlite_url):
    prepare(sqlite_engine)
    check(sqlite_engine, race(sqlite_url))
