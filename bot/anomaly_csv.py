"""`cloudoptima anomalies scan --csv FILE`: the detector over any daily series.

The file has a header with `date` and `cost` columns (others are ignored) and one row per day,
consecutive and ascending. Each flagged day prints as one JSON line:
`{"date", "actual", "expected", "low", "high", "score", "direction"}` (amounts as decimal text).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.anomalies.detect import DetectorConfig, score_series
from core.kernel.errors import UserInputError
from core.kernel.money import from_storage_units, to_storage_units

MAX_ROWS = 20_000


def read_series(path: Path) -> tuple[date, list[int]]:
    """The first day and the daily costs (storage units); a specific error for a bad file."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserInputError(f"Cannot read {path}: {exc.strerror}.") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "date" not in fields or "cost" not in fields:
            raise UserInputError(
                f"{path} needs a header with `date` and `cost` columns.",
                accepted=["date,cost", "2026-01-01,123.45"],
            )
        reader.fieldnames = fields
        first: date | None = None
        values: list[int] = []
        for line, row in enumerate(reader, start=2):
            day, cost = _parse_row(row, line)
            expected = first + timedelta(days=len(values)) if first else day
            if day != expected:
                raise UserInputError(
                    f"Line {line}: {day} should be {expected}; give one row per day, in order."
                )
            first = first or day
            values.append(to_storage_units(cost))
            if len(values) > MAX_ROWS:
                raise UserInputError(f"{path} has more than {MAX_ROWS:,} days.")
    if first is None:
        raise UserInputError(f"{path} has no rows after its header.")
    return first, values


def _parse_row(row: dict[str, str | None], line: int) -> tuple[date, Decimal]:
    try:
        day = date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        raise UserInputError(
            f"Line {line}: '{(row.get('date') or '')[:20]}' is not a date (YYYY-MM-DD)."
        ) from None
    text = (row.get("cost") or "").strip().replace(",", "")
    try:
        cost = Decimal(text)
    except InvalidOperation:
        raise UserInputError(f"Line {line}: '{text[:20]}' is not an amount.") from None
    if not cost.is_finite() or cost < 0:
        raise UserInputError(f"Line {line}: '{text[:20]}' is not a cost (0 or more).")
    return day, cost


def scan_csv(path: Path, config: DetectorConfig) -> Iterator[str]:
    """One JSON line per flagged day of the file's series."""
    first, values = read_series(path)
    for score in score_series(values, start=0, first_scored=0, config=config):
        if score.direction is None:
            continue
        yield json.dumps(
            {
                "date": (first + timedelta(days=score.index)).isoformat(),
                "actual": str(from_storage_units(score.actual).normalize()),
                "expected": str(from_storage_units(score.expected).normalize()),
                "low": str(from_storage_units(score.low).normalize()),
                "high": str(from_storage_units(score.high).normalize()),
                "score": round(score.score, 2),
                "direction": str(score.direction),
            }
        )
