"""The command line as released: `--version`, `serve --host/--port`, shell completion."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

CLI = str(Path(sys.executable).parent / "cloudoptima")


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cloudoptima {version('cloudoptima')}"


def test_shell_completion_is_offered_for_the_common_shells():
    result = CliRunner().invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output
    shown = subprocess.run(
        [CLI, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "complete" in shown.stdout and "cloudoptima" in shown.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_listens_where_the_options_say(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "CLOUDOPTIMA_DEMO": "true",
        "CLOUDOPTIMA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "CLOUDOPTIMA_SCHEDULER_ENABLED": "false",
        "CLOUDOPTIMA_HOST": "0.0.0.0",
        "CLOUDOPTIMA_PORT": "1",  # the options win over the settings
    }
    server = subprocess.Popen(
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(30)
