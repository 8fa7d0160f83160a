"""Benchmark: a recommendations refresh over a large simulated estate, through the real SDKs.

Shape (defaults): 5,000 VMs, 10,000 managed disks, 2,000 public IPs and 200 App Service plans
over 4 subscriptions and 4 regions, 30 days of hourly metrics (Percentage CPU, Available Memory
Bytes, Network Out Total), 30 days of amortized cost for every resource in the cost store, and
the simulated Advisor, savings plan, reservation, Resource SKUs and Retail Prices APIs. Every
call goes through the real Azure SDK clients to the simulated tenant's in-process transport, so
the figures are CloudOptima's (and the SDKs') work, not a network's.

Measured side by side in one run:
- the refresh's wall time, split into fetch (all Azure calls), rules (summaries, rules, merge,
  exclusions) and write (one transaction);
- Azure calls made per API against the minimum the batch limits allow (Resource Graph: 1,000
  rows a page per query; metrics: 50 VMs of one subscription and region per call; the other
  APIs: the pages the service answers with);
- rows written by the first refresh and by a second one a day later (updates, no duplicates);
- the rules alone over the fetched facts (median of several runs) against the 2 s target: the
  rules, Advisor's merge and the exclusions over the VMs' utilization summaries (the hourly
  series are turned into percentiles as each chunk of metrics arrives, timed separately as part
  of the fetch).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text

from adapters.azure import build_recommendation_sources
from adapters.azure.simulated import SimulatedTenant
from adapters.azure.simulated.estate import reservation_of, synthetic
from adapters.azure.simulated.prices import rows_for
from adapters.azure.simulated.resource_graph import _TABLES
from core.costs.ingest import ensure_scope
from core.costs.model import CostType
from core.costs.ports import CostRow
from core.costs.store import GroupIds, write_day
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine, write_transaction
from core.kernel.db.migrate import upgrade
from core.kernel.scopes import parse_scope
from core.recommendations.model import RecommendationsConfig
from core.recommendations.refresh import RecommendationRefresher
from core.recommendations.tables import RecommendationRow

TODAY = date(2026, 11, 27)
SUBSCRIPTIONS = (
    "8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a",
    "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    "4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a",
)
RULES_TARGET_SECONDS = 2.0


def cost_rows(estate: Any, day: date) -> list[CostRow]:
    """One day of amortized cost for every resource of the estate (deterministic)."""
    rows = []
    for kind, resources, low in (
        ("Virtual Machines", estate.vms, 2.0),
        ("Storage", estate.disks, 0.4),
        ("Virtual Network", estate.public_ips, 0.1),
        ("Azure App Service", estate.plans, 3.0),
    ):
        for n, r in enumerate(resources):
            if kind == "Virtual Machines" and r.power_state == "PowerState/deallocated":
                continue
            amount = Decimal(low) + Decimal(n % 97) / 10 + Decimal(day.day % 5) / 100
            rows.append(
                CostRow(
                    usage_date=day,
                    subscription_id=r.subscription_id,
                    subscription_name=r.subscription_id[:8],
                    resource_group=r.resource_group.lower(),
                    resource_id=r.id.lower(),
                    service_name=kind,
                    meter_category=kind,
                    location=r.location,
                    charge_type="Usage",
                    currency="EUR",
                    cost=amount,
                    tags={},
                )
            )
    return rows


def load_costs(engine: Any, estate: Any, days: int) -> int:
    groups = GroupIds()
    written = 0
    now = datetime.now(UTC)
    by_sub: dict[str, int] = {s: ensure_scope(engine, parse_scope(s)) for s in SUBSCRIPTIONS}
    for offset in range(days, 0, -1):
        day = TODAY - timedelta(days=offset)
        rows = cost_rows(estate, day)
        for sub, scope_id in by_sub.items():
            mine = [r for r in rows if r.subscription_id == sub]
            with write_transaction(engine) as conn:
                counts = write_day(
                    conn,
                    scope_id=scope_id,
                    cost_type=str(CostType.AMORTIZED),
                    usage_date=day,
                    rows=mine,
                    now=now,
                    groups=groups,
                )
            groups.commit()
            written += counts.inserted
    return written


def minimum_calls(estate: Any, look_back_days: int) -> dict[str, int]:
    """What the batch limits allow at best, per API (the simulator's page sizes for pages)."""
    groups = Counter(
        (vm.subscription_id, vm.location)
        for vm in estate.vms
        if vm.power_state == "PowerState/running"
    )
    regions = sorted({vm.location for vm in estate.vms})
    advisor = sum(max(1, math.ceil(len(estate.advisor_items(s)) / 25)) for s in SUBSCRIPTIONS)
    document = dict(estate.catalog_document)
    prices = sum(max(1, math.ceil(len(rows_for(document, r)) / 100)) for r in regions)
    graph = sum(
        max(1, math.ceil(len(getattr(estate, attribute)) / 1000))
        for attribute, _shape in _TABLES.values()
    )
    return {
        "resource_graph": graph,
        "metrics": sum(math.ceil(n / 50) for n in groups.values()),
        "advisor": advisor,
        "benefits": len(SUBSCRIPTIONS),
        "reservations": 1,
        "resource_skus": len(regions),
        "retail_prices": prices,
    }


def calls_by_api(counter: Any) -> dict[str, int]:
    made: Counter[str] = Counter()
    for url in counter.urls:
        made[api_of(url)] += 1
    return dict(made)


def api_of(url: str) -> str:
    for needle, name in (
        ("ResourceGraph", "resource_graph"),
        ("metrics:getBatch", "metrics"),
        ("Microsoft.Advisor", "advisor"),
        ("benefitRecommendations", "benefits"),
        ("Microsoft.Capacity", "reservations"),
        ("Microsoft.Compute/skus", "resource_skus"),
        ("prices.azure.com", "retail_prices"),
    ):
        if needle in url:
            return name
    return "other"


async def refresh_once(engine: Any, tenant: Any, clock: FixedClock, config: Any) -> dict[str, Any]:
    transport = tenant.transport()
    sources = build_recommendation_sources(
        credential=tenant.credential(),
        subscription_ids=list(SUBSCRIPTIONS),
        transport=transport,
        sleep=transport.sleep,
    )
    counter = sources.counter  # every client of the bundle counts its requests here
    refresher = RecommendationRefresher(engine, clock, config)
    began = time.perf_counter()
    async with sources:
        fetched = await refresher.fetch(sources.sources, list(SUBSCRIPTIONS))
        fetch_s = time.perf_counter() - began
        rules: list[float] = []
        for _ in range(3):
            start = time.perf_counter()
            kept, excluded = refresher.evaluate(fetched)
            rules.append(time.perf_counter() - start)
        start = time.perf_counter()
        counts = await asyncio.to_thread(
            refresher.write, fetched, kept, excluded, clock.now(), counter.count
        )
        write_s = time.perf_counter() - start
    wall = time.perf_counter() - began - sum(rules[1:])  # one evaluation counts in the refresh
    return {
        "wall_s": round(wall, 2),
        "fetch_s": round(fetch_s, 2),
        "summaries_s": round(fetched.summary_seconds, 2),
        "rules_s": round(rules[0], 3),
        "rules_median_s": round(statistics.median(rules), 3),
        "write_s": round(write_s, 3),
        "recommendations": len(kept),
        "rows_written": counts.rows_written,
        "opened": counts.opened,
        "updated": counts.updated,
        "resolved": counts.resolved,
        "azure_calls": counter.count,
        "calls_by_api": calls_by_api(counter),
        "by_rule": dict(Counter(r.rule for r in kept)),
    }


def database_url(kind: str, admin_url: str) -> tuple[str, Any]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="recs-bench-")
        return f"sqlite:///{folder}/bench.db", None
    name = f"recs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def drop(created: Any) -> None:
    if created is None:
        return
    admin, name = created
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    estate = synthetic(
        TODAY,
        subscriptions=SUBSCRIPTIONS,
        vms=args.vms,
        disks=args.disks,
        public_ips=args.ips,
        plans=args.plans,
    )
    estate.reservations = (reservation_of("bench", "westeurope", 10),)
    estate.savings_plan_subscriptions = (SUBSCRIPTIONS[0],)
    tenant = SimulatedTenant(seed=5, today=TODAY, estate=estate)
    url, created = database_url(args.database, args.postgres_url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        began = time.perf_counter()
        cost_rows_written = load_costs(engine, estate, args.days)
        load_s = time.perf_counter() - began
        clock = FixedClock(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
        config = RecommendationsConfig(look_back_days=args.days)
        first = asyncio.run(refresh_once(engine, tenant, clock, config))
        clock.current += timedelta(days=1)
        second = asyncio.run(refresh_once(engine, tenant, clock, config))
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(RecommendationRow)).scalar()
    finally:
        engine.dispose()
        drop(created)
    minimum = minimum_calls(estate, args.days)
    return {
        "shape": {
            "vms": args.vms,
            "disks": args.disks,
            "public_ips": args.ips,
            "plans": args.plans,
            "metric_days": args.days,
            "metric_points": 3
            * args.days
            * 24
            * sum(1 for vm in estate.vms if vm.power_state == "PowerState/running"),
        },
        "cost_rows": cost_rows_written,
        "cost_load_s": round(load_s, 2),
        "first_refresh": first,
        "second_refresh": second,
        "stored_rows": stored,
        "minimum_calls": minimum,
        "minimum_calls_total": sum(minimum.values()),
        "calls_vs_minimum": round(first["azure_calls"] / sum(minimum.values()), 3),
        "rules_target_s": RULES_TARGET_SECONDS,
        "rules_pass": first["rules_median_s"] < RULES_TARGET_SECONDS,
    }


def print_table(database: str, r: dict[str, Any]) -> None:
    first, second = r["first_refresh"], r["second_refresh"]
    print(f"recommendations refresh benchmark ({database}): {r['shape']}")
    print(f"  cost store: {r['cost_rows']:,} amortized rows loaded in {r['cost_load_s']} s")
    for label, x in (("first refresh ", first), ("second refresh", second)):
        print(
            f"  {label}: wall {x['wall_s']} s (fetch {x['fetch_s']} s of which percentiles "
            f"{x['summaries_s']} s, rules {x['rules_s']} s, "
            f"write {x['write_s']} s), {x['recommendations']:,} recommendations, "
            f"{x['rows_written']:,} rows written ({x['opened']:,} new, {x['updated']:,} updated, "
            f"{x['resolved']:,} resolved), {x['azure_calls']} Azure calls"
        )
    print("  Azure calls made / minimum the batch limits allow:")
    for api, minimum in r["minimum_calls"].items():
        print(f"    {api:15} {first['calls_by_api'].get(api, 0):5} / {minimum}")
    verdict = "PASS" if r["rules_pass"] else "MISS"
    print(
        f"  rules (median of 3): {first['rules_median_s']} s vs target {RULES_TARGET_SECONDS} s"
        f": {verdict}"
    )
    print(f"  stored recommendation rows after two refreshes: {r['stored_rows']:,} (no duplicates)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--disks", type=int, default=10000)
    parser.add_argument("--ips", type=int, default=2000)
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    result = run(args)
    print_table(args.database, result)
    print(json.dumps({"benchmark": "recommendations", "database": args.database, **result}))


if __name__ == "__main__":
    main()
