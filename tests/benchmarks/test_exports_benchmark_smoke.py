"""The export import benchmark runs end to end on a tiny size and ends with its JSON summary.

Nothing here is timed: the figures are only checked to be there and consistent with each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, require_postgres
from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "exports.py"


def run_benchmark(databases: str) -> tuple[str, dict]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "2000", "--days", "20", "--query-runs", "3",
         "--databases", databases, "--postgres-admin-url", POSTGRES_ADMIN_URL],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return done.stdout, json.loads(lines[-1])


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_export_benchmark_imports_reimports_and_compares_with_the_floor(database):
    if database == "postgres":
        require_postgres()
    out, summary = run_benchmark(database)
    (result,) = summary["results"].values()
    assert result["import"]["lines"] == result["import"]["rows"] == 2000
    assert result["import"]["inserted"] == 2000
    assert result["reimport"]["unchanged"] == 2000 and result["reimport"]["changed"] == 0
    assert result["import_vs_floor"] > 0 and result["floor"]["rows_per_s"] > 0
    assert set(result["query"]["by_dimension"]) >= {"service", "resource", "tag:team"}
    assert "import write / floor" in out and "peak RSS growth < 200 MB" in out
