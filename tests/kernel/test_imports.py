"""Every module imports alone, in a fresh interpreter.

An import cycle hidden behind `TYPE_CHECKING` or import order shows up only when a module is the
first one imported (`python -c "import core.permissions"` once failed while every test passed);
import-linter's acyclic contracts keep the graph clean, this keeps each module loadable.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import REPO

#: Alembic's environment script runs only inside `alembic` (it reads `context.config`).
NOT_MODULES = {"core.migrations.env"}


def modules() -> list[str]:
    found = []
    for package in ("core", "adapters", "bot"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if "versions" in parts:
                continue  # migration scripts are loaded by alembic, by path
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name not in NOT_MODULES:
                found.append(name)
    return found


@pytest.mark.parametrize("module", modules())
def test_module_imports_alone_in_a_fresh_interpreter(module):
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_list_covers_the_packages():
    found = modules()
    assert {"core.kernel.service", "core.costs.commands", "adapters.slack.app", "bot.cli"} <= set(
        found
    )
