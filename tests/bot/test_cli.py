"""The `cloudoptima` command as a user runs it: a real process, real files."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO

CLI = [sys.executable, "-m", "bot.cli"]
ROOT = REPO


def run(args, cwd, *, columns: str | None = "120", **env):
    """The CLI in a real process; `columns=None`: no COLUMNS, as without a terminal."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CLOUDOPTIMA_") and k not in ("COLUMNS", "LINES")
    }
    environment.update(env, PYTHONPATH=str(ROOT))
    if columns is not None:
        environment["COLUMNS"] = columns
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=240
    )


def test_a_bad_configuration_exits_with_every_problem_and_no_traceback(tmp_path):
    result = run(["chat", "-c", "help"], tmp_path, CLOUDOPTIMA_PORT="x", CLOUDOPTIMA_SCOPES="bad")
    assert result.returncode == 2
    assert "Invalid configuration (2 problem(s))" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_demo_ingests_restates_and_answers_then_chat_answers_one_shot(tmp_path):
    demo = run(["demo"], tmp_path, columns=None, CLOUDOPTIMA_BACKFILL_DAYS="20")
    assert demo.returncode == 0, demo.stderr[-2000:]
    out = demo.stdout
    # Readable without a terminal: 80 columns, scopes never wrapped, both cost types ingested.
    too_wide = [line for line in out.splitlines() if len(line) > 80]
    assert too_wide == []
    assert "ActualCost" in out and "AmortizedCost" in out
    # 4 subscriptions × 2 cost types × 2 pulls, each scope whole on its line.
    assert len(re.findall(r"^ ?sub [0-9a-f]{8} ", out, flags=re.MULTILINE)) == 16
    assert "1. Ingesting the simulated Azure tenant" in out
    assert "Costs by service — last 30 days" in out
    assert "Costs by tag team" in out
    assert "Drill-down requested by" in out
    assert "Budget production — " in out and "100% forecast" in out
    assert "forecast: Azure Cost Management forecast" in out  # the simulated Forecast API
    assert "6. Recommendations" in out and "Savings recommendations" in out
    assert "effective × (1 − " in out  # one rightsizing card with its formula
    assert "Traceback" not in out + demo.stderr
    assert (tmp_path / "cloudoptima.db").exists()

    ok = run(["chat", "--demo", "-c", "costs 7d by location"], tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "Costs by location — last 7 days" in ok.stdout

    refused = run(["chat", "--demo", "-c", "costs 7d by colour"], tmp_path)
    assert refused.returncode == 1
    assert "not a dimension I can group by" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr

    # Amortized costs were ingested by default: the answer has data, and no purchase spike.
    amortized = run(["chat", "--demo", "-c", "costs 90d amortized by charge-type"], tmp_path)
    assert amortized.returncode == 0 and "No amortized costs" not in amortized.stdout

    # Over budget is news, not an error: exit status 0.
    run(["chat", "--demo", "-c", "budget set production amount 100"], tmp_path)
    over = run(["chat", "--demo", "-c", "budget show production"], tmp_path)
    assert over.returncode == 0, over.stdout[-2000:]
    assert "Over budget by" in over.stdout

    # `budgets evaluate` prints its summary once (not also as log lines).
    evaluated = run(["budgets", "evaluate"], tmp_path, CLOUDOPTIMA_DEMO="true")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert (evaluated.stdout + evaluated.stderr).count("budget(s)") == 1


def test_recs_refresh_reads_every_source_and_chat_lists_the_result(tmp_path):
    refreshed = run(["recs", "refresh", "--demo"], tmp_path)
    assert refreshed.returncode == 0, refreshed.stderr[-2000:]
    assert "Recommendations: " in refreshed.stdout and "unattached-disk:" in refreshed.stdout
    listed = run(["chat", "--demo", "-c", "recs storage"], tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "Savings recommendations" in listed.stdout and "unattached disk" in listed.stdout
