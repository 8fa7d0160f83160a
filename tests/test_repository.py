"""The repository ships what its metadata declares, and no third-party artefacts."""

from __future__ import annotations

import subprocess
import tomllib

from tests.support.paths import REPO


def test_the_licence_the_metadata_declares_is_in_the_repository():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_no_package_archives_are_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "*.whl", "*.tar.gz", "*.zip"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked == []  # dependencies come from the package index, pinned in pyproject.toml
