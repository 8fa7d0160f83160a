"""The Teams app package: app_package/manifest.json filled in, zipped with its two icons.

The template ships inside the Python package (`TEMPLATE_DIR`), so an installed CloudOptima —
a wheel, a container image — builds the package as a checkout does; building it needs the
bot's app id and public domain only, no runtime secret.

The manifest template carries placeholders (`{{BOT_ID}}`, `{{BOT_DOMAIN}}`, `{{APP_VERSION}}`);
the bot's command list is filled from the core's command registry, so the suggestions Teams shows
always match what the bot understands.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.kernel.errors import ConfigurationError
from core.kernel.routing import CommandSpec

ICONS = ("color.png", "outline.png")
#: manifest.json and the icons (package data).
TEMPLATE_DIR = Path(__file__).resolve().parent / "app_package"
#: Teams limits (manifest schema): commands per list, title and description lengths.
MAX_COMMANDS = 12
MAX_TITLE = 32
MAX_DESCRIPTION = 128
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def command_lists(specs: Iterable[CommandSpec]) -> list[dict[str, Any]]:
    """The bot's `commandLists`: every core command, in every scope the bot supports."""
    commands = [
        {"title": spec.name[:MAX_TITLE], "description": spec.summary[:MAX_DESCRIPTION]}
        for spec in specs
    ][:MAX_COMMANDS]
    return [{"scopes": ["personal", "team", "groupChat"], "commands": commands}]


def build_manifest(
    template: dict[str, Any],
    *,
    bot_id: str,
    domain: str,
    version: str,
    specs: Iterable[CommandSpec],
) -> dict[str, Any]:
    """The template with its placeholders filled; raises ConfigurationError on bad values."""
    problems = []
    try:
        bot_id = str(uuid.UUID(bot_id))
    except ValueError:
        problems.append(
            "CLOUDOPTIMA_TEAMS_APP_ID: the bot's Microsoft App ID must be a GUID "
            "(Azure Bot resource → Configuration)."
        )
    domain = domain.strip().lower()
    if not _HOSTNAME.match(domain):
        problems.append(
            "CLOUDOPTIMA_TEAMS_BOT_DOMAIN: give the public host name only, e.g. "
            "bot.example.com (no https://, no path)."
        )
    if not _SEMVER.match(version):
        problems.append(f"app version {version!r} is not MAJOR.MINOR.PATCH")
    if problems:
        raise ConfigurationError(problems)
    values = {"BOT_ID": bot_id, "BOT_DOMAIN": domain, "APP_VERSION": version}

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(item) for key, item in node.items()}
        return node

    manifest: dict[str, Any] = fill(template)
    for bot in manifest.get("bots", []):
        bot["commandLists"] = command_lists(specs)
    return manifest


def build_package(
    template_dir: Path,
    output: Path,
    *,
    bot_id: str,
    domain: str,
    version: str,
    specs: Iterable[CommandSpec],
) -> Path:
    """Write the upload-ready zip (manifest.json + icons at its root) to `output`."""
    template = json.loads((template_dir / "manifest.json").read_text(encoding="utf-8"))
    unknown = set(_PLACEHOLDER.findall(json.dumps(template))) - {
        "BOT_ID",
        "BOT_DOMAIN",
        "APP_VERSION",
    }
    if unknown:
        raise ConfigurationError([f"manifest template has unknown placeholders: {sorted(unknown)}"])
    manifest = build_manifest(template, bot_id=bot_id, domain=domain, version=version, specs=specs)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in ICONS:
            archive.write(template_dir / icon, arcname=icon)
    return output
