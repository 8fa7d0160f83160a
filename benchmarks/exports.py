"""Export import benchmark: `cloudoptima import` of an EA export against the raw floor.

For each database and size, on the synthetic tenant of benchmarks/synthetic.py written out as an
EA Cost Details export (CSV.gz, one line per resource × meter × day; 10M rows ≈ 27,400 lines a day
≈ 14,400 resources), in the same run:

- import: `bot.imports.import_files` over the file, timed in two phases: reading + staging the
  file (parsing, normalizing, exact Decimal to storage units), and writing the stage day by day
  through the ingestion path (`CostIngestor` → `write_day`). The write phase's rows/s is what
  is set against the floor (the same comparison benchmarks/ingest.py makes for the Query API's
  path); the end-to-end rate, with the parsing, is shown beside it;
- re-import of the same file (every row unchanged: nothing written);
- floor: benchmarks/ingest.py's raw floor on the same rows (executemany into an unindexed table
  on SQLite, COPY on PostgreSQL);
- peak RSS growth of the import (subprocess of its own);
- `costs 30d by <dimension>` after the import (benchmarks/ingest.py's query scenario).

    .venv/bin/python benchmarks/exports.py --rows 1000000 --databases sqlite,postgres
    make bench-exports EXPORT_BENCH_ARGS="--rows 100000"
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from ingest import (
    DEFAULT_POSTGRES_ADMIN_URL,
    CpuMeter,
    _migrate,
    rss_growth,
    scenario_floor,
    scenario_query,
    throwaway_database,
)
from synthetic import Shape, SyntheticCostSource

from bot.imports import ImportOptions, files_from_paths, import_files
from core.costs.imports import CostStage, write_stage
from core.costs.model import CostType
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine

TARGETS = {"import_vs_floor": 0.60, "rss_growth_mb": 200.0}

#: The columns written: those the importer reads plus the usual neighbours (an EA export has
#: ~55; the rest are constant text the CSV reader skips over at the same cost per byte).
HEADER = [
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "Date",
    "ProductName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "UnitOfMeasure",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "CostInUsd",
    "ConsumedService",
    "ResourceId",
    "Tags",
    "AdditionalInfo",
    "ChargeType",
    "PricingModel",
    "BillingAccountId",
    "BillingCurrencyCode",
]


def write_export(shape: Shape, path: Path) -> int:
    """The synthetic tenant's rows as an EA export (CSV.gz); how many lines."""
    source = SyntheticCostSource(shape)
    n = 0
    with gzip.open(path, "wt", newline="", compresslevel=1) as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for day in source.iter_days(shape.start, shape.end):
            when = day.usage_date.strftime("%m/%d/%Y")
            for r in day.rows:
                tags = ",".join(f'"{k}": "{v}"' for k, v in r.tags.items())
                writer.writerow(
                    (
                        "Engineering", "Platform", "owner@example.com",
                        r.subscription_id.upper(), r.subscription_name, r.resource_group,
                        r.location, when, r.meter_category, r.meter_category, "",
                        "11111111-2222-3333-4444-555555555555", "meter", "1 Hour",
                        r.quantity, "0.1", r.cost, r.cost_usd, "Microsoft.Compute",
                        r.resource_id, tags, '{"UsageType": "ComputeHR"}', r.charge_type,
                        "OnDemand", "12345678", r.currency,
                    )
                )  # fmt: skip
                n += 1
    return n


def _clock(shape: Shape) -> FixedClock:
    return FixedClock(datetime.combine(shape.end + timedelta(days=1), datetime.min.time(), UTC))


def scenario_import(url: str, shape: Shape, file: str) -> dict[str, Any]:
    engine = make_engine(url)
    files = files_from_paths([Path(file)])
    options = ImportOptions(cost_type=CostType.ACTUAL)
    meter = CpuMeter(url)
    clock = _clock(shape)
    with rss_growth() as mem:
        cpu = meter.snapshot()
        started = time.perf_counter()
        from bot.imports import stage_files

        with CostStage() as stage:
            stage_files(stage, files, options)
            staged = time.perf_counter()
            staged_cpu = time.process_time()
            result = asyncio.run(write_stage(engine, clock, stage))
        elapsed = time.perf_counter() - started
        client, server = meter.since(cpu)
    engine.dispose()
    write_seconds = elapsed - (staged - started)
    c = result.counts
    rows = c.rows_seen
    write_cpu = client - (staged_cpu - cpu[0]) + server
    return {
        "seconds": round(elapsed, 3),
        "stage_seconds": round(staged - started, 3),
        "write_seconds": round(write_seconds, 3),
        "lines": result.rows_read,
        "rows": rows,
        "inserted": c.inserted,
        "unchanged": c.unchanged,
        "rows_per_s": round(rows / write_seconds),
        "end_to_end_rows_per_s": round(result.rows_read / elapsed),
        "write_rows_per_cpu_s": round(rows / max(write_cpu, 1e-9)),
        "cpu_seconds": round(client + server, 3),
        **mem,
    }


def scenario_reimport(url: str, shape: Shape, file: str) -> dict[str, Any]:
    engine = make_engine(url)
    started = time.perf_counter()
    result = asyncio.run(
        import_files(
            engine,
            _clock(shape),
            files_from_paths([Path(file)]),
            ImportOptions(cost_type=CostType.ACTUAL),
        )
    )
    elapsed = time.perf_counter() - started
    engine.dispose()
    c = result.counts
    return {
        "seconds": round(elapsed, 3),
        "unchanged": c.unchanged,
        "changed": c.inserted + c.updated + c.removed,
        "end_to_end_rows_per_s": round(result.rows_read / elapsed),
    }


def _child(scenario: str, args: argparse.Namespace, url: str, rows: int) -> dict[str, Any]:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--rows",
        str(rows), "--days", str(args.days), "--url", url, "--file", args.file,
        "--query-runs", str(args.query_runs),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {scenario} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(kind: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    shape = Shape.for_rows(rows, days=args.days)
    out: dict[str, Any] = {"shape": shape.describe()}
    with throwaway_database(kind, args.postgres_admin_url) as url:
        _migrate(url)
        _log(f"[{kind} {rows:,}] import …")
        out["import"] = _child("import", args, url, rows)
        _log(f"[{kind} {rows:,}] re-import …")
        out["reimport"] = _child("reimport", args, url, rows)
        _log(f"[{kind} {rows:,}] costs 30d by each dimension …")
        out["query"] = _child("query", args, url, rows)
    with throwaway_database(kind, args.postgres_admin_url) as url:
        _log(f"[{kind} {rows:,}] raw floor …")
        out["floor"] = _child("floor", args, url, rows)
    out["import_vs_floor"] = round(out["import"]["rows_per_s"] / out["floor"]["rows_per_s"], 3)
    out["import_vs_floor_cpu"] = round(
        out["import"]["write_rows_per_cpu_s"] / out["floor"]["rows_per_cpu_s"], 3
    )
    return out


def render(results: dict[str, dict[str, Any]]) -> str:
    lines: list[tuple[str, Any]] = [
        ("rows (rows/day × days)", lambda r: f"{r['shape']['rows']:,} "
         f"({r['shape']['rows_per_day']:,}×{r['shape']['days']})"),
        ("resources", lambda r: f"{r['shape']['resources']:,}"),
        ("import: read + stage, s", lambda r: r["import"]["stage_seconds"]),
        ("import: write day by day, s", lambda r: r["import"]["write_seconds"]),
        ("import write, rows/s", lambda r: f"{r['import']['rows_per_s']:,}"),
        ("import end to end, lines/s", lambda r: f"{r['import']['end_to_end_rows_per_s']:,}"),
        ("raw floor, rows/s", lambda r: f"{r['floor']['rows_per_s']:,} ({r['floor']['method']})"),
        ("import write / floor", lambda r: f"{r['import_vs_floor']:.0%}"),
        ("  CPU-s basis", lambda r: f"{r['import_vs_floor_cpu']:.0%}"),
        ("re-import (all unchanged), s", lambda r: r["reimport"]["seconds"]),
        ("  rows changed by it", lambda r: r["reimport"]["changed"]),
        ("peak RSS growth, import (MB)", lambda r: r["import"]["rss_growth_mb"]),
        *(
            (f"costs 30d by {d}, median ms",
             lambda r, d=d: r["query"]["by_dimension"][d]["median_ms"])
            for d in ("service", "resource-group", "tag:team", "subscription", "location",
                      "meter", "resource")
        ),
    ]  # fmt: skip
    columns = list(results)
    header = ["", *columns]
    body = [[label, *(str(get(results[c])) for c in columns)] for label, get in lines]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(row, widths, strict=True)))
           for row in [header, *body]]  # fmt: skip
    out.insert(1, "-" * len(out[0]))
    out.append("")
    out.append("Targets:")
    for column, r in results.items():
        ratio = r["import_vs_floor"]
        ok = "PASS" if ratio >= TARGETS["import_vs_floor"] else "MISS"
        out.append(f"  {ok}  {column:<22} import write ≥ 60% of the floor: {ratio:.0%} "
                   f"(CPU-s basis {r['import_vs_floor_cpu']:.0%})")  # fmt: skip
        rss = r["import"]["rss_growth_mb"]
        ok = "PASS" if rss < TARGETS["rss_growth_mb"] else "MISS"
        out.append(f"  {ok}  {column:<22} peak RSS growth < 200 MB: {rss} MB")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", default="1000000", help="sizes, comma-separated")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--query-runs", type=int, default=10)
    parser.add_argument("--postgres-admin-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--file", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(x.replace("_", "")) for x in str(args.rows).split(",") if x.strip()]
    if args.scenario:
        shape = Shape.for_rows(sizes[0], days=args.days)
        match args.scenario:
            case "import":
                result = scenario_import(args.url, shape, args.file)
            case "reimport":
                result = scenario_reimport(args.url, shape, args.file)
            case "floor":
                result = scenario_floor(args.url, shape)
            case "query":
                result = scenario_query(args.url, shape, args.query_runs)
            case _:
                raise SystemExit(f"unknown scenario {args.scenario}")
        print(json.dumps(result))
        return 0
    started = time.perf_counter()
    load_at_start = psutil.getloadavg()[0]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="cloudoptima-exports-") as folder:
        for rows in sizes:
            shape = Shape.for_rows(rows, days=args.days)
            args.file = str(Path(folder) / f"export-{rows}.csv.gz")
            _log(f"writing a {shape.total_rows:,}-line EA export …")
            write_export(shape, Path(args.file))
            for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
                results[f"{kind} {rows:,}"] = measure(kind, rows, args)
    print(render(results))
    print(
        f"Load average (1 min) at start {load_at_start:.1f}, at end {psutil.getloadavg()[0]:.1f} "
        f"on {psutil.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s in all."
    )
    line = json.dumps({"benchmark": "exports", "results": results}, separators=(",", ":"))
    if args.json_out:
        Path(args.json_out).write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
