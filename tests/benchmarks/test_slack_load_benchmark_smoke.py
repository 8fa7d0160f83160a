"""The Slack load benchmark runs end to end at a small size (figures are its job, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow


def test_the_slack_load_benchmark_runs_both_phases_and_prints_json_last():
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/slack_load.py",
            "--commands",
            "20",
            "--rounds",
            "1",
            "--days",
            "5",
            "--resources",
            "10",
            "--answer-timeout",
            "60",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures["phases"]) == {"normal", "slack-down"}
    for phase in figures["phases"].values():
        assert phase["errors"] == 0
        assert phase["answered"] == 20  # every command answered, also while Slack is down
        assert phase["healthz_p99_ms"] > 0
    assert figures["phases"]["slack-down"]["failed_posts_total"] > 0  # Slack really was down
    assert figures["exit_status"] == 0  # the server stopped gracefully
    assert "GET /healthz" in result.stdout and "ack p50 / p99 ms" in result.stdout
