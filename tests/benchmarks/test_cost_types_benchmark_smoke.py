"""The cost-types benchmark runs end to end on a tiny size and ends with its JSON summary.

Nothing here is timed: the figures are only checked to be there and consistent with each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "cost_types.py"


def test_the_benchmark_compares_one_cost_type_with_both():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--days", "3", "--repeats", "1", "--databases", "sqlite"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    *table, last = done.stdout.strip().splitlines()
    summary = json.loads(last)
    result = summary["results"]["sqlite"]
    for step in ("backfill", "repull"):
        one, both = result["actual"][step], result["both"][step]
        assert one["failed"] == both["failed"] == 0
        assert both["runs"] == 2 * one["runs"] == 8  # four subscriptions, one run per type
        # Three days without the purchase day: each actual row has its amortized twin.
        assert both["rows"] == 2 * one["rows"] > 0
        assert result["ratio"][step]["rows"] == 2.0
    assert any("both/actual" in line for line in table)
