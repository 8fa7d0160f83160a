"""`cloudoptima audit export --since … --format csv|jsonl`: the trail for compliance, streamed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TextIO

from core.audit.model import StoredAuditEntry

COLUMNS = (
    "id",
    "at",
    "request_id",
    "platform",
    "user_id",
    "principal",
    "user_name",
    "workspace_id",
    "channel_id",
    "action",
    "subject",
    "outcome",
    "reason",
    "previous_state",
    "new_state",
    "rec_id",
    "detail",
)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def record(stored: StoredAuditEntry) -> dict[str, Any]:
    e = stored.entry
    a = e.actor
    return {
        "id": stored.id,
        "at": e.at.isoformat(),
        "request_id": e.request_id,
        "platform": a.platform,
        "user_id": a.user_id,
        "principal": a.principal,
        "user_name": a.user_name,
        "workspace_id": a.workspace_id,
        "channel_id": a.channel_id,
        "action": str(e.action),
        "subject": e.subject,
        "outcome": str(e.outcome),
        "reason": e.reason,
        "previous_state": e.previous_state,
        "new_state": e.new_state,
        "rec_id": e.rec_id,
        "detail": dict(e.detail),
    }


def _csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading quote."""
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write(entries: Iterable[StoredAuditEntry], out: TextIO, fmt: ExportFormat) -> int:
    """Write every entry to `out`; how many."""
    written = 0
    if fmt is ExportFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for stored in entries:
            row = record(stored)
            writer.writerow([_csv_safe(row[c]) for c in COLUMNS])
            written += 1
        return written
    for stored in entries:
        out.write(json.dumps(record(stored), sort_keys=True, ensure_ascii=False) + "\n")
        written += 1
    return written
