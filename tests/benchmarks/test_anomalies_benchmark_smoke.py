"""The anomaly benchmark runs end to end on tiny sizes and reports consistent figures (untimed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "anomalies.py"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_benchmark_script_runs_and_ends_with_a_consistent_json_line(database):
    if database == "postgres":
        require_postgres()
    done = subprocess.run(
        [
            sys.executable, str(SCRIPT),
            "--series", "20", "--rows", "6000", "--days", "120",
            "--databases", database, "--postgres-url", POSTGRES_ADMIN_URL,
        ],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    rows = report["evaluation"]
    assert [r["sensitivity"] for r in rows] == sorted(r["sensitivity"] for r in rows)
    assert sum(r["default"] for r in rows) == 1
    # A higher sensitivity never raises more incidents on the same series.
    assert [r["incidents"] for r in rows] == sorted((r["incidents"] for r in rows), reverse=True)
    timing = report["timing"][database]
    assert timing["rows"] > 5000
    assert timing["second_pass"]["series"] == timing["first_pass"]["series"] > 10
    assert timing["second_pass"]["new_incidents"] == 0  # the first pass claimed them all
    assert "Scoring every series" in done.stdout
