"""The budget benchmark runs end to end on tiny sizes and reports consistent figures (untimed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "budgets.py"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_benchmark_script_runs_and_ends_with_a_consistent_json_line(database):
    if database == "postgres":
        require_postgres()
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--rows", "4000",
            "--budgets", "60",
            "--databases", database,
            "--postgres-url", POSTGRES_ADMIN_URL,
            "--hot-share", "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    figures = report[database]
    assert figures["budgets"] == 60 and figures["rows"] > 3000
    assert figures["verified"] is True
    assert figures["first_pass"]["alerts_claimed"] > 0
    assert figures["second_pass"]["alerts_claimed"] == 0
    # No cache between passes: every pass reads the same days (through today), the same way.
    first, second, third = (figures[p] for p in ("first_pass", "second_pass", "after_ingest_pass"))
    assert first["days_loaded"] == second["days_loaded"] == third["days_loaded"] > 28
    assert first["shape_queries"] == second["shape_queries"] == third["shape_queries"]
    assert "pass 2" in done.stdout
