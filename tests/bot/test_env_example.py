"""`.env.example` lists every setting of the one settings object, and nothing else."""

from __future__ import annotations

import re

from bot.settings import ENV_PREFIX, Settings
from tests.support.paths import REPO

LINE = re.compile(rf"^#?\s*({ENV_PREFIX}[A-Z0-9_]+)=")


def test_the_example_names_every_setting_once_and_nothing_else():
    lines = (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    named = [m.group(1) for line in lines if (m := LINE.match(line))]
    expected = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields]
    assert sorted(named) == sorted(expected)
    assert len(named) == len(set(named))


def test_every_secret_is_marked():
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        if "SecretStr" in str(field.annotation):
            assert f"# (secret)\n# {ENV_PREFIX}{name.upper()}=" in text, name
