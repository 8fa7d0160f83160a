"""The recommendations benchmark runs end to end on a tiny estate and reports consistent figures
(untimed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "recommendations.py"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_benchmark_runs_and_ends_with_a_consistent_json_line(database):
    if database == "postgres":
        require_postgres()
    done = subprocess.run(
        [
            sys.executable, str(SCRIPT),
            "--vms", "90", "--disks", "150", "--ips", "30", "--plans", "4", "--days", "14",
            "--database", database, "--postgres-url", POSTGRES_ADMIN_URL,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = report["first_refresh"], report["second_refresh"]
    assert report["benchmark"] == "recommendations" and report["database"] == database
    assert first["recommendations"] > 0 and first["opened"] == first["recommendations"]
    assert second["opened"] == 0 and second["updated"] == first["recommendations"]
    assert report["stored_rows"] == first["recommendations"]  # two refreshes, no duplicates
    assert first["calls_by_api"] == report["minimum_calls"]  # the fewest the limits allow
    assert first["azure_calls"] == report["minimum_calls_total"]
    assert set(first["by_rule"]) >= {"idle-vm", "rightsize-vm", "unattached-disk"}
    assert "Azure calls made / minimum" in done.stdout
