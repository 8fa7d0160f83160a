"""Dependencies are declared exactly as imported: every third-party package the product imports
is a declared dependency, and every declared dependency is imported (the PostgreSQL driver,
loaded by SQLAlchemy from the database URL, is the one named exception). Tests and benchmarks
(and scripts) import only what the product or the `dev` extra declares."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.support.paths import REPO

#: Declared, never imported by name.
LOADED_BY_NAME = {"psycopg"}
FIRST_PARTY = {"bot", "core", "adapters", "tests", "benchmarks"}


def declared(group: str | None = None) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {_normal(re.split(r"[\[=<>!~ ;]", spec, maxsplit=1)[0]) for spec in specs}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions(*folders: str) -> dict[str, set[str]]:
    """Distribution → the files importing it, for every non-stdlib, non-local import."""
    owners = packages_distributions()
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            for module in _imports(path):
                top = module.split(".")[0]
                local = (path.parent / f"{top}.py").exists()  # a script's sibling module
                if top in sys.stdlib_module_names or top in FIRST_PARTY or not top or local:
                    continue
                for dist in _owners(owners, module):
                    found.setdefault(_normal(dist), set()).add(str(path.relative_to(REPO)))
    return found


def _owners(owners: dict[str, list[str]], module: str) -> list[str]:
    """`azure.mgmt.compute` belongs to azure-mgmt-compute, not to every azure-* package."""
    top = module.split(".")[0]
    candidates = owners.get(top, [top])
    if len(candidates) == 1:
        return candidates
    dotted = _normal(module.replace(".", "-"))
    matching = [c for c in candidates if dotted.startswith(_normal(c))]
    return [max(matching, key=len)] if matching else [top]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_product_declares_exactly_what_it_imports():
    used = imported_distributions("bot", "core", "adapters")
    runtime = declared()
    assert set(used) - runtime == set(), {d: sorted(used[d])[:3] for d in set(used) - runtime}
    assert runtime - set(used) - LOADED_BY_NAME == set()


def test_tests_and_benchmarks_import_only_declared_packages():
    used = imported_distributions("tests", "benchmarks", "scripts")
    allowed = declared() | declared("dev")
    assert set(used) - allowed == set(), {d: sorted(used[d])[:3] for d in set(used) - allowed}
