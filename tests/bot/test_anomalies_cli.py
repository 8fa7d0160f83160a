"""`cloudoptima anomalies scan --csv` and the demo's anomaly, as a user runs them."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

from adapters.azure.simulated.tenant import SPIKE_DAYS_AGO, SPIKE_RESOURCE
from tests.bot.test_cli import run


def write_csv(path, spike_day: int | None = 70) -> None:
    rng = random.Random(3)
    first = date(2026, 1, 5)
    lines = ["date,cost"]
    for t in range(90):
        cost = 500 * (0.5 if t % 7 in (5, 6) else 1) * rng.uniform(0.97, 1.03)
        if t == spike_day:
            cost *= 3
        lines.append(f"{(first + timedelta(days=t)).isoformat()},{cost:.2f}")
    path.write_text("\n".join(lines) + "\n")


def test_scan_csv_prints_one_json_line_per_flagged_day(tmp_path):
    write_csv(tmp_path / "costs.csv")

    done = run(["anomalies", "scan", "--csv", "costs.csv"], tmp_path)

    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.strip().splitlines()
    flagged = json.loads(line)
    assert flagged["date"] == (date(2026, 1, 5) + timedelta(days=70)).isoformat()
    assert {"actual", "expected", "low", "high", "score"} <= flagged.keys()
    assert float(flagged["actual"]) > float(flagged["high"]) > float(flagged["expected"])


def test_a_lower_sensitivity_flags_at_least_as_much(tmp_path):
    write_csv(tmp_path / "costs.csv")
    strict = run(["anomalies", "scan", "--csv", "costs.csv", "--sensitivity", "12"], tmp_path)
    loose = run(["anomalies", "scan", "--csv", "costs.csv", "--sensitivity", "2"], tmp_path)
    assert strict.returncode == loose.returncode == 0
    assert len(loose.stdout.splitlines()) >= len(strict.stdout.splitlines())


def test_a_bad_csv_gets_a_specific_message_and_no_traceback(tmp_path):
    (tmp_path / "bad.csv").write_text("day,amount\n2026-01-01,3\n")
    (tmp_path / "gap.csv").write_text("date,cost\n2026-01-01,3\n2026-01-03,4\n")

    bad = run(["anomalies", "scan", "--csv", "bad.csv"], tmp_path)
    gap = run(["anomalies", "scan", "--csv", "gap.csv"], tmp_path)

    assert bad.returncode == gap.returncode == 2
    assert "needs a header with `date` and `cost` columns" in bad.stderr
    assert "Line 3: 2026-01-03 should be 2026-01-02" in gap.stderr
    assert "Traceback" not in bad.stderr + gap.stderr


@pytest.mark.slow
def test_the_demo_finds_the_simulated_tenants_spike(tmp_path):
    demo = run(["demo"], tmp_path)

    assert demo.returncode == 0, demo.stderr[-2000:]
    out = demo.stdout
    assert "5. Cost anomalies" in out
    assert "Cost spike: Azure Databricks in rg-data-analytics" in out
    assert SPIKE_RESOURCE in out  # the driver
    assert SPIKE_DAYS_AGO == 9 and "AmortizedCost" in out
