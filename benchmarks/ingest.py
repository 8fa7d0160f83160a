"""Ingestion benchmark: the real ingestion path against a naive ORM loop and the raw floor.

For each database (SQLite file, throwaway PostgreSQL database) and each size it measures, in the
same run and on the same synthetic tenant (benchmarks/synthetic.py):

- first load: `CostIngestor.run` (core.costs.ingest) over an empty store. Rows/s of the ingestion
  path: the time the synthetic source spends building its `CostRow`s (a real source spends it
  parsing Azure's JSON) is measured in the same run and taken out; the end-to-end rate is shown
  as well;
- re-ingest of the same window with 5% of the rows restated (rows/s, counts checked);
- (a) naive: a SQLModel session, one SELECT per row, add or update, commit per day, on a sample
  of the same shape (its rows are built before the clock starts, as for the floor);
- (b) floor: plain executemany INSERT into an empty unindexed table with the same columns on
  SQLite (raw sqlite3), COPY on PostgreSQL (raw psycopg; text and binary, the faster counts);
  pre-built rows, only the database work is timed;
- peak RSS growth of the first load and of the re-ingest;
- `costs 30d by <dimension>` latency: `core.costs.breakdown.cost_breakdown`, median (and p95 for
  service) over N runs, for every dimension; targets for service, resource-group and tag:team;
- bytes per row: the floor's wide table against the store's narrow `cost_record` plus its
  `cost_group` dimension table.

Every scenario runs in a fresh subprocess so that memory and caches of one never colour another.
The table ends with PASS/MISS per target (a miss never fails the run) and the last line printed is
one JSON object with every figure.

    .venv/bin/python benchmarks/ingest.py --rows 100000,1000000 --databases sqlite,postgres
    make bench BENCH_ARGS="--quick"
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, make_url, text
from sqlmodel import Session, col, select
from synthetic import SCOPE, Shape, SyntheticCostSource

from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.grammar import parse_dimension
from core.costs.ingest import CostIngestor, Window, ensure_scope
from core.costs.model import CostType
from core.costs.periods import parse_period
from core.costs.ports import CostDay, CostRow
from core.costs.store import group_key
from core.costs.tables import CostGroup, CostRecord
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from core.kernel.money import to_storage_units
from core.kernel.scopes import Scope

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_ROWS = (100_000, 1_000_000)
TARGETS = {
    "upsert_vs_floor": {"sqlite": 0.45, "postgres": 0.33},
    "upsert_vs_naive": 25.0,
    "rss_growth_mb": 100.0,
    "query_median_ms": 100.0,
    "query_rg_median_ms": 100.0,
    "query_tag_median_ms": 100.0,
}

# -- measuring helpers -----------------------------------------------------------------------


def _reset_peak_rss() -> None:
    """Linux: make VmHWM restart from the current RSS, so the peak is this scenario's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextmanager
def rss_growth() -> Iterator[dict[str, float]]:
    """Peak RSS above the RSS at entry, in MB, filled in on exit."""
    out: dict[str, float] = {}
    gc.collect()
    _reset_peak_rss()
    before = psutil.Process().memory_info().rss
    yield out
    out["rss_growth_mb"] = round(max(0, _peak_rss_bytes() - before) / 2**20, 1)


class CpuMeter:
    """CPU seconds of this process plus, on PostgreSQL, of the server backends of its database.

    This machine is shared (other sessions run their tests on its 2 cores), so wall-clock rates
    move with their load; CPU seconds show the work each path does, whatever else runs.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.database = parsed.database if parsed.get_backend_name() == "postgresql" else None

    def _backends(self) -> dict[int, float]:
        if self.database is None:
            return {}
        found = {}
        for proc in psutil.process_iter(["cmdline", "cpu_times"]):
            title = " ".join(proc.info["cmdline"] or ())
            if title.startswith("postgres: ") and f" {self.database} " in title:
                times = proc.info["cpu_times"]
                found[proc.pid] = times.user + times.system
        return found

    def snapshot(self) -> tuple[float, dict[int, float]]:
        return time.process_time(), self._backends()

    def since(self, start: tuple[float, dict[int, float]]) -> tuple[float, float]:
        """(client, server) CPU seconds since `start`."""
        client = time.process_time() - start[0]
        server = sum(cpu - start[1].get(pid, 0.0) for pid, cpu in self._backends().items())
        return client, server


def _cpu_rate(rows: int, client: float, server: float) -> dict[str, Any]:
    return {
        "cpu_seconds": round(client + server, 3),
        "server_cpu_seconds": round(server, 3),
        "rows_per_cpu_s": round(rows / (client + server)),
    }


def _pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- scenarios (each runs in its own subprocess) ---------------------------------------------


def _clock(shape: Shape, hours: int = 6) -> FixedClock:
    day_after = shape.end + timedelta(days=1)
    return FixedClock(datetime.combine(day_after, dtime(hours), tzinfo=UTC))


class TimedSource:
    """Wraps the synthetic source and adds up the time spent building its days."""

    def __init__(self, inner: SyntheticCostSource) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    async def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        days = self.inner.iter_days(start, end)
        while True:
            started, cpu = time.perf_counter(), time.process_time()
            day = next(days, None)
            self.seconds += time.perf_counter() - started
            self.cpu_seconds += time.process_time() - cpu
            if day is None:
                return
            yield day


def scenario_ingest(url: str, shape: Shape, restated: bool) -> dict[str, Any]:
    engine = make_engine(url)
    source = TimedSource(SyntheticCostSource(shape, restated=restated))
    ingestor = CostIngestor(engine, _clock(shape, 12 if restated else 6))
    window = Window(shape.start, shape.end)
    meter = CpuMeter(url)
    with rss_growth() as mem:
        cpu = meter.snapshot()
        started = time.perf_counter()
        summary = asyncio.run(ingestor.run(source, SCOPE, CostType.ACTUAL, window, resume=False))
        elapsed = time.perf_counter() - started
        client, server = meter.since(cpu)
    engine.dispose()
    c = summary.counts
    store_seconds = elapsed - source.seconds
    return {
        "seconds": round(elapsed, 3),
        "source_seconds": round(source.seconds, 3),
        # The ingestion path alone: the time the source spent building CostRows taken out.
        "rows_per_s": round(c.rows_seen / store_seconds),
        "end_to_end_rows_per_s": round(c.rows_seen / elapsed),
        "inserted": c.inserted,
        "updated": c.updated,
        "unchanged": c.unchanged,
        "removed": c.removed,
        **_cpu_rate(c.rows_seen, client - source.cpu_seconds, server),
        **mem,
    }


#: Dimensions timed by the query scenario; the first three have targets.
QUERY_DIMENSIONS = (
    "service",
    "resource-group",
    "tag:team",
    "subscription",
    "location",
    "meter",
    "resource",
)


def _timed_runs(engine: Any, query: BreakdownQuery, runs: int) -> tuple[list[float], Any]:
    result = cost_breakdown(engine, query)  # warm-up (and sanity)
    cost_breakdown(engine, query)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        cost_breakdown(engine, query)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings, result


def _p95(timings: list[float]) -> float:
    return timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)]


def _store_bytes(engine: Any) -> dict[str, int]:
    """Bytes the cost tables take (with their indexes)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            sizes = {
                table: conn.exec_driver_sql(f"SELECT pg_total_relation_size('{table}')").scalar()
                for table in ("cost_record", "cost_group")
            }
        else:
            sizes = dict(
                conn.exec_driver_sql(
                    "SELECT m.tbl_name, sum(d.pgsize) FROM dbstat AS d "
                    "JOIN sqlite_master AS m ON m.name = d.name "
                    "WHERE m.tbl_name IN ('cost_record', 'cost_group') GROUP BY m.tbl_name"
                ).all()
            )
    return {table: int(size or 0) for table, size in sizes.items()}


def scenario_query(url: str, shape: Shape, runs: int) -> dict[str, Any]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        # Autovacuum would have done this minutes after a bulk load; do it now, untimed.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cost_record")
            conn.exec_driver_sql("VACUUM ANALYZE cost_group")
    today = shape.end + timedelta(days=1)
    periods = parse_period("30d", today)
    by_dimension: dict[str, dict[str, float]] = {}
    groups = 0
    total = ""
    for dimension in QUERY_DIMENSIONS:
        query = BreakdownQuery(periods, parse_dimension(dimension), CostType.ACTUAL)
        # The targets get the full number of runs; the other dimensions a quarter.
        count = runs if dimension in QUERY_DIMENSIONS[:3] else max(3, runs // 4)
        timings, result = _timed_runs(engine, query, count)
        by_dimension[dimension] = {
            "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(_p95(timings), 2),
        }
        if dimension == "service":
            groups = len(result.rows) + (result.rest[0] if result.rest else 0)
            total = str(result.total)
        elif str(result.total) != total:
            raise RuntimeError(f"costs by {dimension} total {result.total}, by service {total}")
    sizes = _store_bytes(engine)
    engine.dispose()
    service = by_dimension["service"]
    return {
        "runs": runs,
        "median_ms": service["median_ms"],
        "p95_ms": service["p95_ms"],
        "by_dimension": by_dimension,
        "groups": groups,
        "total": total,
        "store_bytes": sizes,
    }


def scenario_naive(url: str, shape: Shape) -> dict[str, Any]:
    """Per row: SELECT by key, add or update; commit per day (SQLModel session)."""
    engine = make_engine(url)
    scope_id = ensure_scope(engine, SCOPE)
    source = SyntheticCostSource(shape)
    now = _clock(shape).now()
    n, elapsed, client = 0, 0.0, 0.0
    meter = CpuMeter(url)
    cpu = meter.snapshot()
    with Session(engine) as session:
        for day in source.iter_days(shape.start, shape.end):  # built before the clock starts
            started, day_cpu = time.perf_counter(), time.process_time()
            for row in day.rows:
                key = group_key(row)
                group = session.exec(
                    select(CostGroup).where(
                        col(CostGroup.scope_id) == scope_id, col(CostGroup.group_key) == key
                    )
                ).first()
                if group is None:
                    group = _naive_group(row, scope_id, key, now)
                    session.add(group)
                    session.flush()
                assert group.id is not None
                record = session.exec(
                    select(CostRecord).where(
                        col(CostRecord.cost_type) == str(CostType.ACTUAL),
                        col(CostRecord.usage_date) == row.usage_date,
                        col(CostRecord.scope_id) == scope_id,
                        col(CostRecord.group_id) == group.id,
                    )
                ).first()
                if record is None:
                    session.add(_naive_record(row, scope_id, group.id, now))
                else:
                    record.cost, record.cost_usd, record.quantity = (
                        row.cost,
                        row.cost_usd,
                        row.quantity,
                    )
                    record.updated_at = now
                n += 1
            session.commit()
            elapsed += time.perf_counter() - started
            client += time.process_time() - day_cpu
    _, server = meter.since(cpu)
    engine.dispose()
    return {
        "seconds": round(elapsed, 3),
        "rows": n,
        "rows_per_s": round(n / elapsed),
        **_cpu_rate(n, client, server),
    }


def _naive_group(row: CostRow, scope_id: int, key: int, now: datetime) -> CostGroup:
    return CostGroup(
        scope_id=scope_id,
        group_key=key,
        subscription_id=row.subscription_id,
        subscription_name=row.subscription_name,
        resource_group=row.resource_group,
        resource_id=row.resource_id,
        service_name=row.service_name,
        meter_category=row.meter_category,
        location=row.location,
        charge_type=row.charge_type,
        currency=row.currency,
        tags=dict(row.tags),
        revision=1,
        created_at=now,
        updated_at=now,
    )


def _naive_record(row: CostRow, scope_id: int, group_id: int, now: datetime) -> CostRecord:
    return CostRecord(
        cost_type=str(CostType.ACTUAL),
        usage_date=row.usage_date,
        scope_id=scope_id,
        group_id=group_id,
        cost=row.cost,
        cost_usd=row.cost_usd,
        quantity=row.quantity,
        updated_at=now,
    )


FLOOR_COLUMNS = (
    "cost_type varchar(16), usage_date date, scope_id integer, group_key bigint, "
    "subscription_id varchar(64), subscription_name varchar(256), resource_group varchar(128), "
    "resource_id varchar(1024), service_name varchar(128), meter_category varchar(128), "
    "location varchar(64), charge_type varchar(64), currency varchar(3), cost bigint, "
    "cost_usd bigint, quantity bigint, tags {json}, updated_at {ts}"
)


def _floor_tuple(row: CostRow, now: Any, day: Any) -> tuple[Any, ...]:
    return (
        "ActualCost",
        day,
        1,
        group_key(row),
        row.subscription_id,
        row.subscription_name,
        row.resource_group,
        row.resource_id,
        row.service_name,
        row.meter_category,
        row.location,
        row.charge_type,
        row.currency,
        to_storage_units(row.cost),
        None if row.cost_usd is None else to_storage_units(row.cost_usd),
        None if row.quantity is None else to_storage_units(row.quantity),
        json.dumps(dict(row.tags)),
        now,
    )


def scenario_floor(url: str, shape: Shape) -> dict[str, Any]:
    """Raw database work only: the rows are converted before the clock starts, day by day.

    The floor the issue defines: every input row with all its columns (the wide layout) into an
    empty unindexed table. The store itself writes a narrower layout (each group of dimensions
    once in `cost_group`, a narrow daily row in `cost_record`): the table sizes are reported
    side by side. One transaction per day, like the ingestion path; SQLite with the
    application's pragmas.
    """
    source = SyntheticCostSource(shape)
    now = _clock(shape).now()
    meter = CpuMeter(url)
    sqlite = make_url(url).get_backend_name() == "sqlite"
    write: Callable[[list[tuple[Any, ...]]], None]
    if sqlite:
        db: Any = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            f"CREATE TABLE cost_record_floor ({FLOOR_COLUMNS.format(json='TEXT', ts='TEXT')})"
        )
        sql = f"INSERT INTO cost_record_floor VALUES ({', '.join('?' * 18)})"
        now_value: Any = now.replace(tzinfo=None).isoformat(sep=" ")

        def write(rows: list[tuple[Any, ...]]) -> None:
            db.execute("BEGIN")
            db.executemany(sql, rows)
            db.execute("COMMIT")

    else:
        import psycopg

        db = psycopg.connect(_pg_conninfo(url))
        columns = FLOOR_COLUMNS.format(json="jsonb", ts="timestamptz")
        db.execute(f"CREATE TABLE cost_record_floor ({columns})")
        db.commit()
        now_value = now

        def write(rows: list[tuple[Any, ...]]) -> None:
            with db.cursor() as cur, cur.copy("COPY cost_record_floor FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            db.commit()

    n, elapsed, client = 0, 0.0, 0.0
    cpu = meter.snapshot()
    for day in source.iter_days(shape.start, shape.end):
        date_value = day.usage_date.isoformat() if sqlite else day.usage_date
        rows = [_floor_tuple(r, now_value, date_value) for r in day.rows]
        started, day_cpu = time.perf_counter(), time.process_time()
        write(rows)
        elapsed += time.perf_counter() - started
        client += time.process_time() - day_cpu
        n += len(rows)
    _, server = meter.since(cpu)
    size_query = (
        "SELECT sum(pgsize) FROM dbstat WHERE name = 'cost_record_floor'"
        if sqlite
        else "SELECT pg_total_relation_size('cost_record_floor')"
    )
    size = db.execute(size_query).fetchone()[0]
    db.close()
    return {
        "method": "executemany" if sqlite else "COPY",
        "seconds": round(elapsed, 3),
        "rows_per_s": round(n / elapsed),
        "table_bytes": int(size or 0),
        **_cpu_rate(n, client, server),
    }


def run_scenario(args: argparse.Namespace) -> dict[str, Any]:
    shape = Shape.for_rows(args.rows[0], days=args.days)
    match args.scenario:
        case "load":
            return scenario_ingest(args.url, shape, restated=False)
        case "reingest":
            return scenario_ingest(args.url, shape, restated=True)
        case "query":
            return scenario_query(args.url, shape, args.query_runs)
        case "naive":
            return scenario_naive(args.url, shape)
        case "floor":
            return scenario_floor(args.url, shape)
    raise SystemExit(f"unknown scenario {args.scenario}")


# -- orchestration ---------------------------------------------------------------------------


@contextmanager
def throwaway_database(kind: str, admin_url: str) -> Iterator[str]:
    """A temp SQLite file, or a PostgreSQL database created and dropped via the admin database."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="cloudoptima-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"cloudoptima_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def _child(scenario: str, rows: int, args: argparse.Namespace, url: str = "") -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--scenario",
        scenario,
        "--rows",
        str(rows),
        "--days",
        str(args.days),
        "--query-runs",
        str(args.query_runs),
        "--url",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {scenario} ({rows} rows) failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(kind: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    shape = Shape.for_rows(rows, days=args.days)
    naive_days = max(1, min(shape.days, args.naive_rows // shape.rows_per_day))
    naive_shape = Shape(shape.rows_per_day, naive_days, shape.end)
    out: dict[str, Any] = {"shape": shape.describe()}
    with throwaway_database(kind, args.postgres_admin_url) as url:
        _migrate(url)
        _log(f"[{kind} {rows:,}] first load …")
        out["first_load"] = _child("load", rows, args, url)
        _log(f"[{kind} {rows:,}] re-ingest with 5% restated …")
        out["reingest"] = _child("reingest", rows, args, url)
        _log(f"[{kind} {rows:,}] costs 30d by service …")
        out["query"] = _child("query", rows, args, url)
    with throwaway_database(kind, args.postgres_admin_url) as url:
        _migrate(url)
        _log(f"[{kind} {rows:,}] naive ORM loop on {naive_shape.total_rows:,} rows …")
        out["naive"] = _child("naive", naive_shape.total_rows, _with_days(args, naive_shape), url)
    with throwaway_database(kind, args.postgres_admin_url) as url:
        _log(f"[{kind} {rows:,}] raw floor …")
        out["floor"] = _child("floor", rows, args, url)
    load = out["first_load"]["rows_per_s"]
    out["upsert_vs_floor"] = round(load / out["floor"]["rows_per_s"], 3)
    out["upsert_vs_naive"] = round(load / out["naive"]["rows_per_s"], 1)
    load_cpu = out["first_load"]["rows_per_cpu_s"]
    out["upsert_vs_floor_cpu"] = round(load_cpu / out["floor"]["rows_per_cpu_s"], 3)
    out["upsert_vs_naive_cpu"] = round(load_cpu / out["naive"]["rows_per_cpu_s"], 1)
    return out


def _with_days(args: argparse.Namespace, shape: Shape) -> argparse.Namespace:
    copy = argparse.Namespace(**vars(args))
    copy.days = shape.days
    return copy


def evaluate(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """PASS/MISS per target, judged at the largest size measured for each database."""
    verdicts = []
    for kind, by_size in results.items():
        size = max(by_size)
        r = by_size[size]

        def add(
            name: str,
            value: float,
            target: float,
            higher_is_better: bool,
            kind: str = kind,
            size: int = size,
        ) -> None:
            ok = value >= target if higher_is_better else value < target
            verdicts.append(
                {
                    "target": name,
                    "database": kind,
                    "rows": size,
                    "value": value,
                    "threshold": target,
                    "pass": ok,
                }
            )

        add("upsert_vs_floor", r["upsert_vs_floor"], TARGETS["upsert_vs_floor"][kind], True)
        verdicts[-1]["cpu_value"] = r["upsert_vs_floor_cpu"]
        add("upsert_vs_naive", r["upsert_vs_naive"], TARGETS["upsert_vs_naive"], True)
        verdicts[-1]["cpu_value"] = r["upsert_vs_naive_cpu"]
        add("rss_growth_mb", r["first_load"]["rss_growth_mb"], TARGETS["rss_growth_mb"], False)
        by_dimension = r["query"]["by_dimension"]
        add("query_median_ms", r["query"]["median_ms"], TARGETS["query_median_ms"], False)
        for name, dimension in (("query_rg_median_ms", "resource-group"),
                                ("query_tag_median_ms", "tag:team")):  # fmt: skip
            add(name, by_dimension[dimension]["median_ms"], TARGETS[name], False)
    return verdicts


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _shape_cell(r: dict[str, Any]) -> str:
    shape = r["shape"]
    return f"{shape['rows']:,} ({shape['rows_per_day']}×{shape['days']})"


def _per_row(r: dict[str, Any], size: int) -> float:
    return round(size / r["shape"]["rows"], 1)


def _restated_cell(r: dict[str, Any]) -> str:
    return f"{r['reingest']['updated']:,} / {r['reingest']['unchanged']:,}"


def render_table(results: dict[str, dict[int, dict[str, Any]]], verdicts: list[Any]) -> str:
    columns = [(kind, size) for kind, by_size in results.items() for size in sorted(by_size)]
    lines: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("rows (rows/day × days)", _shape_cell),
        ("first load, rows/s", lambda r: r["first_load"]["rows_per_s"]),
        ("  end to end, with the source", lambda r: r["first_load"]["end_to_end_rows_per_s"]),
        ("re-ingest 5% restated, rows/s", lambda r: r["reingest"]["rows_per_s"]),
        ("  end to end, with the source", lambda r: r["reingest"]["end_to_end_rows_per_s"]),
        ("  updated / unchanged", _restated_cell),
        ("(a) naive ORM loop, rows/s", lambda r: r["naive"]["rows_per_s"]),
        ("    naive sample, rows", lambda r: r["naive"]["rows"]),
        ("(b) raw floor, rows/s", lambda r: r["floor"]["rows_per_s"]),
        ("    floor method", lambda r: r["floor"]["method"]),
        ("upsert / floor", lambda r: f"{r['upsert_vs_floor']:.0%}"),
        ("upsert / naive", lambda r: f"{r['upsert_vs_naive']:.1f}×"),
        ("CPU-s basis (client + server):", lambda r: ""),
        ("  first load, rows per CPU-s", lambda r: r["first_load"]["rows_per_cpu_s"]),
        ("  re-ingest, rows per CPU-s", lambda r: r["reingest"]["rows_per_cpu_s"]),
        ("  naive, rows per CPU-s", lambda r: r["naive"]["rows_per_cpu_s"]),
        ("  floor, rows per CPU-s", lambda r: r["floor"]["rows_per_cpu_s"]),
        ("  upsert / floor", lambda r: f"{r['upsert_vs_floor_cpu']:.0%}"),
        ("  upsert / naive", lambda r: f"{r['upsert_vs_naive_cpu']:.1f}×"),
        ("peak RSS growth, load (MB)", lambda r: float(r["first_load"]["rss_growth_mb"])),
        ("peak RSS growth, re-ingest (MB)", lambda r: float(r["reingest"]["rss_growth_mb"])),
        ("costs 30d by service, median ms", lambda r: float(r["query"]["median_ms"])),
        ("costs 30d by service, p95 ms", lambda r: float(r["query"]["p95_ms"])),
        *(
            (f"costs 30d by {d}, median ms",
             lambda r, d=d: float(r["query"]["by_dimension"][d]["median_ms"]))
            for d in QUERY_DIMENSIONS[1:]
        ),
        ("table bytes per row: floor (wide)", lambda r: _per_row(r, r["floor"]["table_bytes"])),
        ("  store: cost_record + cost_group",
         lambda r: _per_row(r, sum(r["query"]["store_bytes"].values()))),
    ]  # fmt: skip
    header = ["", *(f"{kind} {size:,}" for kind, size in columns)]
    body = [[label, *(_fmt(get(results[k][s])) for k, s in columns)] for label, get in lines]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = []
    for row in [header, *body]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells))
    out.insert(1, "-" * len(out[0]))
    out.append("")
    out.append("Targets (at the largest size measured per database):")
    names = {
        "upsert_vs_floor": "upsert ≥ {t:.0%} of the raw floor",
        "upsert_vs_naive": "upsert ≥ {t:.0f}× the naive loop",
        "rss_growth_mb": "peak RSS growth < {t:.0f} MB",
        "query_median_ms": "costs 30d by service median < {t:.0f} ms",
        "query_rg_median_ms": "costs 30d by resource-group median < {t:.0f} ms",
        "query_tag_median_ms": "costs 30d by tag:team median < {t:.0f} ms",
    }
    for v in verdicts:
        value = v["value"]
        shown = (
            f"{value:.0%}"
            if v["target"] == "upsert_vs_floor"
            else f"{value:.1f}×"
            if v["target"] == "upsert_vs_naive"
            else f"{value:.1f}"
        )
        if "cpu_value" in v:
            cpu = v["cpu_value"]
            basis = f"{cpu:.0%}" if v["target"] == "upsert_vs_floor" else f"{cpu:.1f}×"
            shown += f"  (CPU-s basis: {basis})"
        label = names[v["target"]].format(t=v["threshold"])
        status = "PASS" if v["pass"] else "MISS"
        out.append(f"  {status}  {v['database']:<8} {v['rows']:>9,} rows  {label:<40} {shown}")
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", default=None, help="sizes, comma-separated (100000,1000000)")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="100k rows, small naive sample")
    parser.add_argument("--days", type=int, default=365, help="days in the window (365)")
    parser.add_argument("--naive-rows", type=int, default=None, help="naive loop sample (20000)")
    parser.add_argument("--query-runs", type=int, default=20, help="timed query runs (20)")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--json-out", default=None, help="also write the JSON result here")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = "100000" if args.quick else ",".join(map(str, DEFAULT_ROWS))
    args.rows = [int(x.replace("_", "")) for x in str(args.rows).split(",") if x.strip()]
    if args.naive_rows is None:
        args.naive_rows = 5_000 if args.quick else 20_000
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}; use sqlite,postgres")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scenario:
        print(json.dumps(run_scenario(args)))
        return 0
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in psutil.getloadavg()]
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for kind in args.databases:
        for rows in args.rows:
            results.setdefault(kind, {})[rows] = measure(kind, rows, args)
    verdicts = evaluate(results)
    print(render_table(results, verdicts))
    print(
        f"Load average (1 min) at start {load_at_start[0]:.1f}, at end {psutil.getloadavg()[0]:.1f}"
        f" on {psutil.cpu_count()} CPUs: wall-clock rates move with other processes' load; the"
        " CPU-s basis does not."
    )
    summary = {
        "benchmark": "ingest",
        "machine": {
            "cpus": psutil.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in psutil.getloadavg()],
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        },
        "seconds": round(time.perf_counter() - started, 1),
        "results": {
            kind: {str(size): r for size, r in sorted(by_size.items())}
            for kind, by_size in results.items()
        },
        "ratios": {
            kind: {
                str(size): {
                    "upsert_vs_floor": r["upsert_vs_floor"],
                    "upsert_vs_naive": r["upsert_vs_naive"],
                    "upsert_vs_floor_cpu": r["upsert_vs_floor_cpu"],
                    "upsert_vs_naive_cpu": r["upsert_vs_naive_cpu"],
                    "rss_growth_mb": r["first_load"]["rss_growth_mb"],
                    "query_median_ms": r["query"]["median_ms"],
                    "query_rg_median_ms": r["query"]["by_dimension"]["resource-group"]["median_ms"],
                    "query_tag_median_ms": r["query"]["by_dimension"]["tag:team"]["median_ms"],
                }
                for size, r in sorted(by_size.items())
            }
            for kind, by_size in results.items()
        },
        "targets": verdicts,
    }
    line = json.dumps(summary, separators=(",", ":"))
    if args.json_out:
        Path(args.json_out).write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
