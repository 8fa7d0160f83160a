"""What ingesting the second cost type costs: ActualCost alone against ActualCost + AmortizedCost.

Both cost types are ingested by default (`CLOUDOPTIMA_COST_TYPES`), so every scheduled pull
runs twice per scope. This measures what that adds, end to end through the real path: the
pipeline `cloudoptima ingest` runs (`bot.jobs.run_pipeline`), the real Azure SDK client asking
the simulated tenant's Cost Management endpoint (JSON on the wire, pages, parsing), the
ingestion's diff and writes, on SQLite and PostgreSQL, first a backfill of `--days` days and
then the daily re-pull of the re-ingest window.

Each scenario runs in a fresh subprocess (no cache of one colours another) on a fresh database,
`--repeats` times; the table shows medians side by side and the ratio of both to one. Wall
seconds move with the load of this shared machine; CPU seconds are this process's (PostgreSQL's
server-side work is in the wall time only). The last line printed is one JSON object.

    .venv/bin/python benchmarks/cost_types.py --days 90 --databases sqlite,postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
MODES = {"actual": "ActualCost", "both": "ActualCost,AmortizedCost"}


def scenario(url: str, cost_types: str, days: int) -> dict[str, Any]:
    """One backfill and one re-pull on a fresh database; seconds and rows of each."""
    from bot.container import build
    from bot.jobs import run_pipeline
    from bot.settings import load_settings
    from core.kernel.clock import FixedClock
    from core.kernel.db.migrate import upgrade

    settings = load_settings(
        demo=True,
        database_url=url,
        backfill_days=days,
        cost_types=cost_types,
        forecast_source="data",
        log_level="WARNING",
    )
    container = build(settings, clock=FixedClock(NOW))
    upgrade(container.engine)
    _ = container.tenant.lines  # the tenant is generated before the clock starts
    out: dict[str, Any] = {}
    for step in ("backfill", "repull"):
        started, cpu = time.perf_counter(), time.process_time()
        result = asyncio.run(run_pipeline(container))
        out[step] = {
            "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "rows": sum(run.counts.rows_seen for run in result.done),
            "runs": len(result.done),
            "failed": len(result.failed),
        }
    container.close()
    return out


def _run_scenario(url: str, mode: str, days: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--scenario", mode, "--url", url, "--days", str(days)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class Database:
    """A fresh database per scenario: a SQLite file, or a throwaway PostgreSQL database."""

    def __init__(self, kind: str, admin_url: str, directory: Path) -> None:
        self.kind, self.admin_url, self.directory = kind, admin_url, directory
        self.names: list[str] = []

    def fresh(self) -> str:
        name = f"cloudoptima_bench_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.directory / (name + '.db')}"
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.names.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.kind != "postgres" or not self.names:
            return
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _median(results: list[dict[str, Any]], step: str, field: str) -> float:
    return round(statistics.median(r[step][field] for r in results), 3)


def measure(kind: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    database = Database(kind, args.postgres_admin_url, directory)
    try:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeats):
            for mode in MODES:  # interleaved: the machine's load falls on both alike
                runs[mode].append(_run_scenario(database.fresh(), mode, args.days))
    finally:
        database.drop_all()
    out: dict[str, Any] = {}
    for mode, results in runs.items():
        out[mode] = {
            step: {
                "seconds": _median(results, step, "seconds"),
                "cpu_seconds": _median(results, step, "cpu_seconds"),
                "rows": results[0][step]["rows"],
                "runs": results[0][step]["runs"],
                "failed": max(r[step]["failed"] for r in results),
            }
            for step in ("backfill", "repull")
        }
    for step in ("backfill", "repull"):
        one, both = out["actual"][step], out["both"][step]
        out.setdefault("ratio", {})[step] = {
            "seconds": round(both["seconds"] / one["seconds"], 2) if one["seconds"] else None,
            "cpu_seconds": round(both["cpu_seconds"] / one["cpu_seconds"], 2)
            if one["cpu_seconds"]
            else None,
            "rows": round(both["rows"] / one["rows"], 2) if one["rows"] else None,
        }
    return out


def print_table(results: dict[str, dict[str, Any]], days: int) -> None:
    print(f"Ingesting the simulated tenant ({days} days backfilled, then the re-pull window)")
    print(f"{'database':<9} {'step':<9} {'cost types':<13} {'rows':>8} {'wall s':>8} "
          f"{'CPU s':>7} {'rows/s':>8}")  # fmt: skip
    for kind, result in results.items():
        for step in ("backfill", "repull"):
            for mode in MODES:
                figures = result[mode][step]
                rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
                print(
                    f"{kind:<9} {step:<9} {mode:<13} {figures['rows']:>8,} "
                    f"{figures['seconds']:>8.2f} {figures['cpu_seconds']:>7.2f} {rate:>8,.0f}"
                )
            ratio = result["ratio"][step]
            print(
                f"{kind:<9} {step:<9} {'both/actual':<13} {ratio['rows']:>8} "
                f"{ratio['seconds']:>8} {ratio['cpu_seconds']:>7}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--scenario", choices=sorted(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.url, MODES[args.scenario], args.days)))
        return
    with tempfile.TemporaryDirectory() as directory:
        results = {kind: measure(kind, args, Path(directory)) for kind in args.databases.split(",")}
    print_table(results, args.days)
    print(json.dumps({"days": args.days, "repeats": args.repeats, "results": results}))


if __name__ == "__main__":
    main()
