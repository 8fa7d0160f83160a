"""Budget evaluation benchmark: full passes of many budgets over a large cost store.

For each database (SQLite file, throwaway PostgreSQL database) it loads a synthetic tenant
(`--rows` cost rows over `--days` days, bulk-inserted straight into `cost_group`, one group per
meter, and `cost_record`), creates
`--budgets` budgets spread over subscriptions (by name and by id), resource groups, tags, services,
management-group scopes and their combinations, monthly / quarterly / yearly, with amounts chosen
so that roughly one budget in ten crosses a threshold, and then times `evaluate_budgets`:

1. first pass, cold process (budgets and cost groups not loaded yet); alerts are claimed and
   their outbox messages written (cards with contributors and burn charts built);
2. second pass: nothing new (every crossed threshold is already claimed);
3. after an ingestion: the last 3 days re-pulled (5% of their rows restated) and today's first
   costs arrived, pushing more budgets over thresholds: the pass an ingestion triggers, with
   alerts.

Every pass reads the cost rows it needs (nothing is cached between passes but the budgets and
the cost groups, each reloaded when its table changed): "days read" is the same in each.

The actual-spend thresholds crossed are also computed independently in Python from the generated
rows and compared with the alert rows written (`verified`). Figures are printed side by side; the
last line is one JSON object. Target: under 2 s per pass.

    .venv/bin/python benchmarks/budgets.py                      # 1M rows, 10,000 budgets
    .venv/bin/python benchmarks/budgets.py --rows 100000 --budgets 1000 --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.budgets.evaluate import evaluate_budgets
from core.budgets.model import BudgetPeriod
from core.budgets.store import BudgetCache
from core.budgets.tables import Alert, Budget, BudgetTarget, BudgetThreshold
from core.budgets.windows import BudgetWindow, window_containing
from core.costs.tables import CostScope
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 2.0
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SERVICES = (
    ("Virtual Machines", ("Virtual Machines", "Bandwidth"), 40.0),
    ("Storage", ("Storage", "Bandwidth"), 6.0),
    ("Azure Kubernetes Service", ("Virtual Machines", "Storage", "Bandwidth"), 90.0),
    ("SQL Database", ("SQL Database", "Storage"), 25.0),
    ("Azure Database for PostgreSQL", ("Azure Database for PostgreSQL", "Storage"), 18.0),
    ("Azure App Service", ("Azure App Service",), 12.0),
    ("Functions", ("Functions", "Storage"), 1.5),
    ("Azure Cosmos DB", ("Azure Cosmos DB", "Bandwidth"), 30.0),
    ("Log Analytics", ("Log Analytics",), 8.0),
    ("Key Vault", ("Key Vault",), 0.3),
    ("Virtual Network", ("Virtual Network", "Bandwidth"), 2.0),
    ("Load Balancer", ("Load Balancer",), 1.2),
    ("Azure Cache for Redis", ("Redis Cache",), 7.0),
    ("Container Registry", ("Container Registry", "Bandwidth"), 0.6),
)
LOCATIONS = ("westeurope", "northeurope", "swedencentral", "uksouth", "eastus")
TAGS = {
    "env": ("prod", "staging", "dev", "shared"),
    "team": ("payments", "search", "platform", "data", "mobile", "identity", "web", "ml"),
    "costcenter": ("cc-1001", "cc-1002", "cc-2001", "cc-3005", "cc-4100"),
}
SUBSCRIPTIONS = 16
RESOURCE_GROUPS_PER_SUB = 12
MANAGEMENT_GROUPS = ("mg-prod", "mg-nonprod")
WEEKDAY_FACTOR = (1.0, 1.02, 1.03, 1.02, 0.97, 0.55, 0.5)
#: (filter dimensions, share of budgets)
SHAPES: tuple[tuple[tuple[str, ...], float], ...] = (
    ((), 0.01),
    (("sub",), 0.12),
    (("sub", "rg"), 0.25),
    (("rg",), 0.12),
    (("tag:team",), 0.08),
    (("tag:env",), 0.04),
    (("tag:costcenter",), 0.04),
    (("service",), 0.06),
    (("sub", "service"), 0.14),
    (("scope",), 0.02),
    (("scope", "tag:env"), 0.04),
    (("rg", "tag:team"), 0.08),
)
THRESHOLD_SETS = ((50, 80, 100), (80, 100), (90, 100, 120), (75, 100))


@dataclass(frozen=True, slots=True)
class Meter:
    """One (resource, meter category): one cost row a day."""

    key: int
    scope: int
    sub: int
    rg: str
    resource_id: str
    service: str
    meter: str
    location: str
    tags: dict[str, str]
    base: float


def sub_id(n: int) -> str:
    return f"{n:08x}-4d3a-4e6b-9a7c-{n:012x}"


def sub_name(n: int) -> str:
    return f"Subscription {n:02d}"


def scope_of(sub: int) -> int:
    """Scope ids 1 and 2: the two management groups the subscriptions are ingested through."""
    return 1 if sub % 2 == 0 else 2


def build_tenant(rows_per_day: int, rng: random.Random) -> list[Meter]:
    meters: list[Meter] = []
    resource = 0
    while len(meters) < rows_per_day:
        sub = rng.randrange(SUBSCRIPTIONS)
        rg = f"rg-{sub:02d}-{rng.randrange(RESOURCE_GROUPS_PER_SUB):02d}"
        service, categories, base = rng.choice(SERVICES)
        rg_rng = random.Random(rg)
        tags = {key: rg_rng.choice(values) for key, values in TAGS.items()}
        location = rg_rng.choice(LOCATIONS)
        resource += 1
        resource_id = (
            f"/subscriptions/{sub_id(sub)}/resourcegroups/{rg}/providers/p/{service}-{resource}"
        )
        for category in categories:
            if len(meters) >= rows_per_day:
                break
            meters.append(
                Meter(
                    key=len(meters),
                    scope=scope_of(sub),
                    sub=sub,
                    rg=rg,
                    resource_id=resource_id.lower(),
                    service=service,
                    meter=category,
                    location=location,
                    tags=tags,
                    base=base * rng.uniform(0.2, 2.0) / len(categories),
                )
            )
    return meters


def cost_units(meter: Meter, day: date, first: date) -> int:
    growth = 1 + 0.0005 * (day - first).days
    noise = 1 + ((meter.key * 7919 + day.toordinal() * 104729) % 1000 - 500) / 5000
    value = meter.base * WEEKDAY_FACTOR[day.weekday()] * growth * noise
    return max(1, round(value * 1e8))


def days_of(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# -- loading ---------------------------------------------------------------------------------------

GROUP_COLUMNS = (
    "id, scope_id, group_key, subscription_id, subscription_name, resource_group, resource_id, "
    "service_name, meter_category, location, charge_type, currency, tags, revision, created_at, "
    "updated_at"
)
COLUMNS = "cost_type, usage_date, scope_id, group_id, cost, cost_usd, quantity, updated_at"


def group_values(m: Meter, sqlite: bool) -> tuple[Any, ...]:
    """The meter's `cost_group` row (group id = meter key + 1)."""
    stamp = "2026-11-27 06:00:00.000000" if sqlite else NOW
    return (
        m.key + 1,
        m.scope,
        m.key,
        sub_id(m.sub),
        sub_name(m.sub),
        m.rg,
        m.resource_id,
        m.service,
        m.meter,
        m.location,
        "Usage",
        "EUR",
        json.dumps(m.tags),
        1,
        stamp,
        stamp,
    )


def row_values(m: Meter, day: date, units: int, sqlite: bool) -> tuple[Any, ...]:
    updated = "2026-11-27 06:00:00.000000" if sqlite else NOW
    return ("ActualCost", day.isoformat() if sqlite else day, m.scope, m.key + 1, units, None,
            None, updated)  # fmt: skip


def load_costs(engine: Engine, meters: list[Meter], first: date, last: date) -> None:
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        for scope_id, name in enumerate(MANAGEMENT_GROUPS, start=1):
            conn.execute(
                CostScope.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "id": scope_id,
                    "path": f"/providers/microsoft.management/managementgroups/{name}",
                    "kind": "management group",
                },
            )
        raw = conn.connection.driver_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        groups = [group_values(m, sqlite) for m in meters]
        mark = "?" if sqlite else "%s"
        cursor.executemany(
            f"INSERT INTO cost_group ({GROUP_COLUMNS}) VALUES ({', '.join([mark] * 16)})", groups
        )
        if sqlite:
            batch: list[tuple[Any, ...]] = []
            sql = f"INSERT INTO cost_record ({COLUMNS}) VALUES ({', '.join('?' * 8)})"
            for day in days_of(first, last):
                batch.extend(row_values(m, day, cost_units(m, day, first), True) for m in meters)
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        else:
            with cursor.copy(f"COPY cost_record ({COLUMNS}) FROM STDIN") as copy:
                for day in days_of(first, last):
                    for m in meters:
                        copy.write_row(row_values(m, day, cost_units(m, day, first), False))
    if not sqlite:
        # A database that is ingested day by day has its pages vacuumed (hint bits set) by
        # autovacuum; without this the first scan after a bulk COPY pays for writing them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cost_record"))
            conn.execute(text("VACUUM ANALYZE cost_group"))


def ingest_today(engine: Engine, meters: list[Meter], first: date) -> int:
    """Like this morning's ingestion: today's (partial) day arrives for every meter."""
    sqlite = engine.dialect.name == "sqlite"
    rows = [row_values(m, TODAY, cost_units(m, TODAY, first), sqlite) for m in meters]
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        if sqlite:
            marks = ", ".join("?" * 8)
            cursor.executemany(f"INSERT INTO cost_record ({COLUMNS}) VALUES ({marks})", rows)
        else:
            with cursor.copy(f"COPY cost_record ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    return len(rows)


def restate_days(engine: Engine, first: date, last: date) -> int:
    """Like a re-ingestion of [first, last]: 5% of the rows get a new cost and `updated_at`."""
    sqlite = engine.dialect.name == "sqlite"
    stamp = "2026-11-27 09:00:00.000000" if sqlite else NOW + timedelta(minutes=1)
    with engine.begin() as conn:
        result = conn.execute(
            text(
                "UPDATE cost_record SET cost = cost + cost / 20, updated_at = :stamp "
                "WHERE usage_date >= :first AND usage_date <= :last AND (group_id - 1) % 20 = 0"
            ),
            {"stamp": stamp, "first": first, "last": last},
        )
        return result.rowcount


# -- budgets --------------------------------------------------------------------------------------


def dim_value(m: Meter, dim: str, by_name: bool) -> Any:
    if dim == "scope":
        return f"/providers/microsoft.management/managementgroups/{MANAGEMENT_GROUPS[m.scope - 1]}"
    if dim == "sub":
        return sub_name(m.sub).lower() if by_name else sub_id(m.sub)
    if dim == "rg":
        return m.rg
    if dim == "service":
        return m.service.lower()
    return m.tags[dim[4:]]


def spend_by_key(
    meters: list[Meter], window: BudgetWindow, first: date, last: date
) -> dict[tuple[tuple[str, ...], bool, tuple[Any, ...]], int]:
    """Spend to date in `window` per (shape, by-name, filter values), straight from the rows."""
    per_meter = {
        m.key: sum(
            cost_units(m, d, first)
            for d in days_of(max(window.start, first), min(window.end, last))
        )
        for m in meters
    }
    out: dict[tuple[tuple[str, ...], bool, tuple[Any, ...]], int] = defaultdict(int)
    for shape, _share in SHAPES:
        for by_name in (False, True):
            for m in meters:
                key = tuple(dim_value(m, d, by_name) for d in shape)
                out[shape, by_name, key] += per_meter[m.key]
    return out


@dataclass(frozen=True, slots=True)
class PlannedBudget:
    row: dict[str, Any]
    thresholds: tuple[int, ...]
    forecast: bool
    email: bool
    expected_actual: int  # actual thresholds crossed, computed from the generated rows


def plan_budgets(
    count: int,
    meters: list[Meter],
    first: date,
    last: date,
    rng: random.Random,
    hot_share: float = 0.1,
) -> list[PlannedBudget]:
    periods = (
        (BudgetPeriod.MONTHLY, 0.8, date(2026, 1, 1)),
        (BudgetPeriod.QUARTERLY, 0.15, date(2026, 1, 1)),
        (BudgetPeriod.YEARLY, 0.05, date(2026, 1, 1)),
    )
    spend = {
        p: spend_by_key(meters, window_containing(start, p, TODAY), first, last)  # type: ignore[arg-type]
        for p, _share, start in periods
    }
    planned: list[PlannedBudget] = []
    shapes = [s for s, _ in SHAPES]
    weights = [w for _, w in SHAPES]
    for n in range(count):
        shape = rng.choices(shapes, weights)[0]
        period, _share, start = rng.choices(periods, [p[1] for p in periods])[0]
        by_name = rng.random() < 0.5
        meter = rng.choice(meters)
        values = tuple(dim_value(meter, d, by_name) for d in shape)
        spent = spend[period][shape, by_name, values]
        # A share of the budgets runs hot (60-130% used), the others cool (5-49%).
        used = rng.uniform(60, 130) if rng.random() < hot_share else rng.uniform(5, 49)
        amount = max(Decimal("1.00"), (Decimal(spent) / Decimal(10**8) * 100 / Decimal(used)))
        amount = amount.quantize(Decimal("0.01"))
        thresholds = rng.choice(THRESHOLD_SETS)
        amount_units = int(amount * 10**8)
        expected = sum(1 for t in thresholds if spent * 100 >= amount_units * t)
        dims = dict(zip(shape, values, strict=True))
        row = {
            "name": f"budget-{n:05d}",
            "name_key": f"budget-{n:05d}",
            "amount": amount,
            "currency": "EUR",
            "period": str(period),
            "start_date": start,
            "cost_type": "ActualCost",
            "filter_scope": dims.get("scope", ""),
            "filter_subscription": dims.get("sub", ""),
            "filter_resource_group": dims.get("rg", ""),
            "filter_service": dims.get("service", ""),
            "filter_location": "",
            "filter_meter": "",
            "filter_tags": {d[4:]: v for d, v in dims.items() if d.startswith("tag:")},
            "owner_principal": "slack:UBENCH",
            "owner_name": "bench",
            "created_at": NOW,
            "updated_at": NOW,
            "revision": 1,
        }
        planned.append(
            PlannedBudget(row, thresholds, rng.random() < 0.3, rng.random() < 0.3, expected)
        )
    return planned


def insert_budgets(engine: Engine, planned: list[PlannedBudget]) -> None:
    budgets = Budget.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for start in range(0, len(planned), 1000):
            conn.execute(budgets.insert(), [p.row for p in planned[start : start + 1000]])
        ids = dict(conn.execute(select(budgets.c.name, budgets.c.id)).all())
        thresholds, targets = [], []
        for p in planned:
            budget_id = ids[p.row["name"]]
            thresholds.extend(
                {"budget_id": budget_id, "percent": t, "kind": "actual"} for t in p.thresholds
            )
            if p.forecast:
                thresholds.append({"budget_id": budget_id, "percent": 100, "kind": "forecast"})
            targets.append(
                {"budget_id": budget_id, "kind": "slack", "address": f"C{budget_id % 97:08d}"}
            )
            if p.email:
                targets.append(
                    {"budget_id": budget_id, "kind": "email", "address": "finops@example.com"}
                )
        conn.execute(BudgetThreshold.__table__.insert(), thresholds)  # type: ignore[attr-defined]
        conn.execute(BudgetTarget.__table__.insert(), targets)  # type: ignore[attr-defined]


# -- one database ---------------------------------------------------------------------------------


def bench_database(
    url: str, rows: int, budgets: int, days: int, seed: int, hot_share: float
) -> dict[str, Any]:
    rng = random.Random(seed)
    last = TODAY - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    meters = build_tenant(max(1, rows // days), rng)
    engine = make_engine(url, pool_size=5)
    upgrade(engine)
    started = time.perf_counter()
    load_costs(engine, meters, first, last)
    load_seconds = time.perf_counter() - started
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM cost_record")).scalar()
    planned = plan_budgets(budgets, meters, first, last, rng, hot_share)
    insert_budgets(engine, planned)
    clock = FixedClock(NOW)
    cache = BudgetCache()

    def timed() -> tuple[float, Any]:
        t0 = time.perf_counter()
        summary = evaluate_budgets(engine, clock, cache=cache)
        return time.perf_counter() - t0, summary

    first_s, first_pass = timed()
    actual_alerts = _count_alerts(engine, "actual")
    second_s, second_pass = timed()
    restated = restate_days(engine, last - timedelta(days=2), last)
    arrived = ingest_today(engine, meters, first)
    third_s, third_pass = timed()
    with engine.connect() as conn:
        outbox_rows = conn.execute(text("SELECT count(*) FROM outbox_message")).scalar()
    expected = sum(p.expected_actual for p in planned)
    engine.dispose()
    return {
        "rows": int(stored or 0),
        "budgets": budgets,
        "days": days,
        "load_s": round(load_seconds, 2),
        "first_pass_s": round(first_s, 3),
        "second_pass_s": round(second_s, 3),
        "after_ingest_pass_s": round(third_s, 3),
        "first_pass": _summary(first_pass),
        "second_pass": _summary(second_pass),
        "after_ingest_pass": _summary(third_pass),
        "rows_restated": restated,
        "rows_arrived_today": arrived,
        "actual_alerts_after_first_pass": actual_alerts,
        "actual_thresholds_crossed_computed": expected,
        "outbox_rows": outbox_rows,
        "verified": actual_alerts == expected and second_pass.alerts_claimed == 0,
    }


def _count_alerts(engine: Engine, kind: str) -> int:
    alert_table = Alert.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).where(alert_table.c.kind == kind)).scalar()
    return int(n or 0)


PHASES = ("budgets", "spend_and_forecast", "thresholds", "contributors", "cards", "claims")


def _summary(s: Any) -> dict[str, Any]:
    return {
        "phases": {k: round(v, 3) for k, v in s.phases.items()},
        "thresholds_crossed": s.thresholds_crossed,
        "alerts_claimed": s.alerts_claimed,
        "alerts_notified": s.alerts_notified,
        "messages_enqueued": s.messages_enqueued,
        "shape_queries": s.shape_queries,
        "days_loaded": s.days_loaded,
    }


# -- databases ------------------------------------------------------------------------------------


class ThrowawayPostgres:
    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"cloudoptima_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for database in args.databases:
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                results["sqlite"] = bench_database(
                    url, args.rows, args.budgets, args.days, args.seed, args.hot_share
                )
        elif database == "postgres":
            pg = ThrowawayPostgres(args.postgres_url)
            try:
                results["postgres"] = bench_database(
                    pg.url, args.rows, args.budgets, args.days, args.seed, args.hot_share
                )
            finally:
                pg.drop()
        else:
            raise SystemExit(f"unknown database {database!r} (sqlite, postgres)")
    return results


def _pair(r: dict[str, Any], section: str, a: str, b: str) -> str:
    return f"{r[section][a]}/{r[section][b]}"


def print_table(results: dict[str, Any]) -> None:
    names = list(results)
    first = results[names[0]]
    print(
        f"\nBudget evaluation: {first['budgets']:,} budgets over {first['rows']:,} cost rows "
        f"({first['days']} days)"
    )
    header = f"{'':46}" + "".join(f"{n:>14}" for n in names)
    print(header)
    print("-" * len(header))
    lines: list[tuple[str, Any]] = [
        ("load (bulk insert, not a pass) s", lambda r: r["load_s"]),
        ("pass 1: first ever (cold process), alerts  s", lambda r: r["first_pass_s"]),
        ("  alerts claimed / messages queued",
         lambda r: _pair(r, "first_pass", "alerts_claimed", "messages_enqueued")),
        ("  queries over cost rows / days read",
         lambda r: _pair(r, "first_pass", "shape_queries", "days_loaded")),
        *(
            (f"  {phase} s", (lambda r, phase=phase: r["first_pass"]["phases"].get(phase, "")))
            for phase in PHASES
        ),
        ("pass 2: nothing new  s", lambda r: r["second_pass_s"]),
        ("  alerts claimed / days read",
         lambda r: _pair(r, "second_pass", "alerts_claimed", "days_loaded")),
        ("pass 3: after an ingestion, alerts  s", lambda r: r["after_ingest_pass_s"]),
        ("  alerts claimed / days read",
         lambda r: _pair(r, "after_ingest_pass", "alerts_claimed", "days_loaded")),
        *(
            (f"  {phase} s",
             (lambda r, phase=phase: r["after_ingest_pass"]["phases"].get(phase, "")))
            for phase in PHASES
        ),
        ("actual alerts == computed from the rows", lambda r: r["verified"]),
    ]  # fmt: skip
    for label, get in lines:
        print(f"{label:46}" + "".join(f"{get(results[n])!s:>14}" for n in names))
    for n in names:
        r = results[n]
        for key, label in (
            ("first_pass_s", "pass 1 (cold)"),
            ("second_pass_s", "pass 2"),
            ("after_ingest_pass_s", "pass 3"),
        ):
            verdict = "PASS" if r[key] < TARGET_SECONDS else "MISS"
            print(f"{n} {label}: {r[key]:.2f} s vs target < {TARGET_SECONDS:.0f} s: {verdict}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budgets", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--hot-share", type=float, default=0.1, help="share of budgets at 60-130%% used"
    )
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    results = run(args)
    print_table(results)
    report = {
        "benchmark": "budgets",
        "python": platform.python_version(),
        "target_seconds": TARGET_SECONDS,
        **results,
    }
    print(json.dumps(report, default=str))
    return report


if __name__ == "__main__":
    main()
