"""The digest benchmark runs end to end on a small size and reports consistent figures (untimed:
the ratio to the floor is the benchmark's to report, not a test's to assert)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO

SCRIPT = REPO / "benchmarks" / "digests.py"


def test_the_benchmark_delivers_every_digest_once_and_ends_with_a_json_line():
    done = subprocess.run(
        [
            sys.executable, str(SCRIPT),
            "--subscriptions", "12", "--channels", "3", "--interval", "0.2", "--timeout", "120",
        ],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["delivered"] == report["distinct_digests"] == 12
    assert report["every_digest_once"] is True and report["duplicates"] == 0
    assert report["messages_per_channel"] == {"4": 3}
    assert report["floor_seconds"] == 0.8  # 4 messages per channel × 0.2 s
    assert report["total_seconds"] > 0 and report["ratio_to_floor"] > 0
    assert report["uploads"] == 12  # every digest's chart uploaded and shown in its message
    assert report["distinct_builds"] >= 1 and report["tick"].startswith("12 due: 12 queued")
