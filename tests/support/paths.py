"""Where things are in the repository, for tests that run scripts or read shipped files."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
