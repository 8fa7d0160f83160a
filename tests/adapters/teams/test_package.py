"""`cloudoptima teams-app` (what `make teams-app` runs): the upload-ready Teams app package."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app
from core.app import FeatureConfigs, build_router
from tests.support.teams import APP_ID, TENANT_ID

ENV = {
    "CLOUDOPTIMA_DEMO": "true",
    "CLOUDOPTIMA_TEAMS_APP_ID": APP_ID,
    "CLOUDOPTIMA_TEAMS_TENANT_ID": TENANT_ID,
    "CLOUDOPTIMA_TEAMS_CLIENT_SECRET": "s3cret",
    "CLOUDOPTIMA_TEAMS_BOT_DOMAIN": "cloudoptima.contoso.com",
}


def build(tmp_path: Path, **env: str) -> tuple[int, str, Path]:
    output = tmp_path / "cloudoptima-teams.zip"
    result = CliRunner().invoke(app, ["teams-app", "--output", str(output)], env=ENV | env)
    return result.exit_code, result.output, output


def test_the_package_holds_the_filled_manifest_and_both_icons(tmp_path):
    code, output, path = build(tmp_path)

    assert code == 0, output
    assert f"written to {path}" in output
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        text = archive.read("manifest.json").decode()
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png"))).convert("RGBA")
    manifest = json.loads(text)
    assert "{{" not in text
    assert manifest["manifestVersion"] == "1.30"
    assert manifest["$schema"].endswith("/v1.30/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    assert manifest["version"] == version("cloudoptima")
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert manifest["validDomains"] == ["cloudoptima.contoso.com"]
    assert manifest["developer"]["websiteUrl"] == "https://cloudoptima.contoso.com/"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}

    assert color.size == (192, 192)
    assert outline.size == (32, 32)
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert {p for p in pixels if p[3]} == {(255, 255, 255, 255)}  # white ...
    assert sum(1 for p in pixels if p[3] == 0) > 512  # ... on transparent


def test_command_suggestions_mirror_the_core_commands(tmp_path):
    _code, _output, path = build(tmp_path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))

    [command_list] = manifest["bots"][0]["commandLists"]
    assert sorted(command_list["scopes"]) == ["groupChat", "personal", "team"]
    assert command_list["commands"] == [
        {"title": spec.name, "description": spec.summary}
        for spec in build_router(FeatureConfigs()).specs()
    ]
    assert all(
        len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in command_list["commands"]
    )


def test_missing_settings_are_named(tmp_path):
    code, output, path = build(tmp_path, CLOUDOPTIMA_TEAMS_BOT_DOMAIN="")

    assert code == 2
    assert "(CLOUDOPTIMA_TEAMS_BOT_DOMAIN): required to build the Teams app package" in output
    assert not path.exists()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"CLOUDOPTIMA_TEAMS_APP_ID": "my-bot"}, "must be a GUID"),
        ({"CLOUDOPTIMA_TEAMS_BOT_DOMAIN": "https://bot.contoso.com/api"}, "host name only"),
    ],
)
def test_bad_values_are_explained(tmp_path, env, problem):
    code, output, _path = build(tmp_path, **env)

    assert code == 2
    assert problem in output


def test_the_package_builds_without_any_runtime_setting(tmp_path, monkeypatch):
    """Only the app id and the domain, as options: no secret, database or Azure scope."""
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "release.zip"
    result = CliRunner().invoke(
        app,
        ["teams-app", "--app-id", APP_ID, "--domain", "bot.contoso.com", "--output", str(output)],
        env={"CLOUDOPTIMA_TEAMS_APP_ID": "", "CLOUDOPTIMA_DEMO": ""},
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(output) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["validDomains"] == ["bot.contoso.com"]


def test_the_installed_command_builds_the_package(tmp_path):
    output = tmp_path / "pkg.zip"
    cli = Path(sys.executable).parent / "cloudoptima"
    result = subprocess.run(
        [str(cli), "teams-app", "--output", str(output)],
        env=ENV | {"PATH": str(cli.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(output)
