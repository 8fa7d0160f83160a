"""Anomaly detection: precision, recall and false incidents per sensitivity, and the time to
score every series of a large store.

1. Evaluation (`benchmarks/anomaly_series.py`): generated daily series with weekly seasonality,
   growth, holidays, amortized month-end purchases and noise, with injected spikes, drops and
   level shifts of known size and place. For each sensitivity: incident-level precision and
   recall, false incidents per 30 series-days, and the incidents raised on the same series
   without the injected anomalies (clean) and on plain seasonal series.
2. Scoring time: a store of `--rows` cost rows over `--days` days (the budget benchmark's tenant:
   4 subscriptions, resource groups, services, meters), then `scan_anomalies` — load every
   series in one snapshot, score the look-back of every series, write incidents — timed on a
   first pass (claims) and a second pass (nothing new), side by side per database.

The last line of output is one JSON document with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import budgets as tenant  # the budget benchmark's tenant and bulk loader
from benchmarks.anomaly_series import evaluate, generate_set
from core.anomalies.detect import DetectorConfig
from core.anomalies.model import AnomaliesConfig
from core.anomalies.scan import scan_anomalies
from core.costs.model import CostType
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade

SENSITIVITIES = (3.0, 3.5, 4.0, 5.0, 6.0)


def evaluation(series: int) -> list[dict[str, Any]]:
    injected = generate_set(series)
    clean = generate_set(series, clean=True)
    seasonal = generate_set(series, seed=21, seasonal_only=True)
    out = []
    for k in SENSITIVITIES:
        config = replace(DetectorConfig(), sensitivity=k)
        e = evaluate(injected, config)
        out.append(
            {
                "sensitivity": k,
                "default": k == DetectorConfig().sensitivity,
                "precision": round(e.precision, 3),
                "recall": round(e.recall, 3),
                "incidents": e.incidents,
                "events": e.events,
                "false_per_30_series_days": round(e.false_per_30_series_days, 4),
                "clean_incidents": evaluate(clean, config).incidents,
                "seasonal_incidents": evaluate(seasonal, config).incidents,
                "series": series,
            }
        )
    return out


def bench_database(url: str, rows: int, days: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    first = tenant.TODAY - timedelta(days=days)
    meters = tenant.build_tenant(max(rows // days, 1), random.Random(7))
    started = time.perf_counter()
    tenant.load_costs(engine, meters, first, tenant.TODAY - timedelta(days=1))
    loaded = time.perf_counter() - started
    clock = FixedClock(tenant.NOW)
    config = AnomaliesConfig(cost_type=CostType.ACTUAL)  # the tenant's rows are actual cost
    passes = []
    for _ in range(2):
        cpu = time.process_time()
        summary = scan_anomalies(engine, clock, config)
        passes.append(
            {
                "seconds": round(summary.seconds, 3),
                # This process's CPU (SQLite's work included, PostgreSQL's server not): what a
                # shared, busy machine distorts least.
                "cpu_seconds": round(time.process_time() - cpu, 3),
                "phases": summary.phases,
                "series": summary.series,
                "scored_days": summary.scored_days,
                "new_incidents": summary.new_incidents,
                "updated_incidents": summary.updated_incidents,
            }
        )
    engine.dispose()
    return {
        "rows": len(meters) * days,
        "load_seconds": round(loaded, 2),
        "first_pass": passes[0],
        "second_pass": passes[1],
        "target_seconds": 2.0,
    }


def timings(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for database in args.databases:
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
                results["sqlite"] = bench_database(url, args.rows, args.days)
        elif database == "postgres":
            pg = tenant.ThrowawayPostgres(args.postgres_url)
            try:
                results["postgres"] = bench_database(pg.url, args.rows, args.days)
            finally:
                pg.drop()
        else:
            raise SystemExit(f"unknown database {database!r} (sqlite, postgres)")
    return results


def print_tables(report: dict[str, Any]) -> None:
    print("Detection on generated series (incident level)")
    print(
        f"{'sensitivity':>11} {'precision':>9} {'recall':>7} {'false/30 sd':>11} "
        f"{'clean':>6} {'seasonal':>8}"
    )
    for row in report["evaluation"]:
        mark = " (default)" if row["default"] else ""
        print(
            f"{row['sensitivity']:>11} {row['precision']:>9} {row['recall']:>7} "
            f"{row['false_per_30_series_days']:>11} {row['clean_incidents']:>6} "
            f"{row['seasonal_incidents']:>8}{mark}"
        )
    print("\nScoring every series of the store (seconds)")
    print(
        f"{'database':>9} {'rows':>9} {'series':>6} {'pass 1':>7} {'pass 2':>7} {'cpu 2':>6}"
        "  phases (pass 2)"
    )
    for database, r in report["timing"].items():
        second = r["second_pass"]
        print(
            f"{database:>9} {r['rows']:>9,} {second['series']:>6} "
            f"{r['first_pass']['seconds']:>7} {second['seconds']:>7} {second['cpu_seconds']:>6}"
            f"  {second['phases']}"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=tenant.DEFAULT_POSTGRES_ADMIN_URL)
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    report = {
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "evaluation": evaluation(args.series),
        "timing": timings(args),
    }
    print_tables(report)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
