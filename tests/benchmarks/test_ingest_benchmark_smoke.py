"""The ingestion benchmark runs end to end on a tiny size and ends with its JSON summary.

Nothing here is timed: the figures are only checked to be there and consistent with each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "ingest.py"
TARGETS = {
    "upsert_vs_floor",
    "upsert_vs_naive",
    "rss_growth_mb",
    "query_median_ms",
    "query_rg_median_ms",
    "query_tag_median_ms",
}


def run_benchmark(databases: str) -> tuple[str, dict]:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--rows",
            "2000",
            "--days",
            "20",
            "--naive-rows",
            "200",
            "--query-runs",
            "3",
            "--databases",
            databases,
            "--postgres-admin-url",
            POSTGRES_ADMIN_URL,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


def check_database(summary: dict, database: str) -> None:
    result = summary["results"][database]["2000"]
    shape = result["shape"]
    assert (shape["rows"], shape["days"], shape["rows_per_day"]) == (2000, 20, 100)
    assert result["first_load"]["inserted"] == 2000
    reingest = result["reingest"]
    assert reingest["inserted"] == reingest["removed"] == 0
    assert reingest["updated"] + reingest["unchanged"] == 2000
    assert reingest["updated"] == 100  # 5% restated, exactly those rows rewritten
    for scenario in ("first_load", "reingest", "naive", "floor"):
        assert result[scenario]["rows_per_s"] > 0, scenario
    assert result["naive"]["rows"] == 200
    assert result["query"]["runs"] == 3 and result["query"]["groups"] > 0
    assert result["query"]["median_ms"] <= result["query"]["p95_ms"]
    by_dimension = result["query"]["by_dimension"]
    assert {"service", "resource-group", "tag:team", "resource"} <= set(by_dimension)
    assert by_dimension["service"]["median_ms"] == result["query"]["median_ms"]
    # The store writes the narrow layout: fewer bytes per row than the wide floor table.
    assert 0 < sum(result["query"]["store_bytes"].values()) < result["floor"]["table_bytes"]
    assert set(summary["ratios"][database]["2000"]) == TARGETS | {
        "upsert_vs_floor_cpu",
        "upsert_vs_naive_cpu",
    }
    for scenario in ("first_load", "reingest", "naive", "floor"):
        assert result[scenario]["rows_per_cpu_s"] > 0, scenario
    assert {t["target"] for t in summary["targets"] if t["database"] == database} == TARGETS


def test_benchmark_on_sqlite_prints_a_table_and_ends_with_its_json_summary():
    table, summary = run_benchmark("sqlite")

    assert summary["benchmark"] == "ingest"
    assert set(summary["results"]) == {"sqlite"}
    check_database(summary, "sqlite")
    assert "upsert / floor" in table and ("PASS" in table or "MISS" in table)


@pytest.mark.postgres
def test_benchmark_on_postgres_measures_the_same_figures():
    require_postgres()
    _, summary = run_benchmark("postgres")

    assert set(summary["results"]) == {"postgres"}
    check_database(summary, "postgres")
    result = summary["results"]["postgres"]["2000"]
    assert result["floor"]["method"] == "COPY"
    assert result["first_load"]["server_cpu_seconds"] > 0  # the backend's share is counted
