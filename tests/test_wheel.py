"""The release as a user installs it: the wheel is built, installed into a fresh virtual
environment (no editable install, no checkout on the path) and its commands run — `--version`,
`teams-app` from the packaged template, and the whole `demo`. Takes a minute or two."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from importlib.metadata import version

import pytest

from tests.support.paths import REPO
from tests.support.teams import APP_ID

pytestmark = pytest.mark.slow


def run(*args: str, cwd, env=None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO),
        cwd=tmp_path)  # fmt: skip
    [wheel] = dist.glob("cloudoptima-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "adapters/teams/app_package/manifest.json" in names
    assert any(n.startswith("core/migrations/versions/") for n in names)
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    run(str(venv / "bin" / "pip"), "install", "-q", str(wheel), cwd=tmp_path)

    elsewhere = tmp_path / "work"  # not the checkout: only the installed package can be found
    elsewhere.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CLOUDOPTIMA_DATABASE_URL": f"sqlite:///{elsewhere / 'demo.db'}",
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
    }
    cli = str(venv / "bin" / "cloudoptima")
    shown = run(cli, "--version", cwd=elsewhere, env=env).stdout
    assert shown.strip() == f"cloudoptima {version('cloudoptima')}"
    where = run(str(venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)",
                cwd=elsewhere, env=env).stdout  # fmt: skip
    assert str(venv) in where and str(REPO) not in where

    package = elsewhere / "teams.zip"
    run(cli, "teams-app", "--app-id", APP_ID, "--domain", "bot.contoso.com",
        "--output", str(package), cwd=elsewhere, env=env)  # fmt: skip
    assert zipfile.is_zipfile(package)

    demo = run(cli, "demo", cwd=elsewhere, env={**env, "COLUMNS": "100"}, timeout=900).stdout
    assert "Costs by service" in demo and "Recommendations" in demo
    assert os.path.exists(elsewhere / "demo.db")
