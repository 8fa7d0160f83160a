"""Export runs: the manifest Cost Management writes beside each run's files, and local paths.

A scheduled export writes every run to `<root>/<export>/<YYYYMMDD-YYYYMMDD>/<run id>/` with a
`manifest.json` naming its partition files, the cost type (`exportConfig.type`) and the days it
covers (`runInfo.startDate` / `endDate`). A Cost Details report's result has the same idea
(`manifest.requestContext.requestBody.metric` / `timePeriod`, blobs by link). Both are read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from adapters.exports.parse import MalformedExportError
from core.costs.model import CostType
from core.kernel.errors import UserInputError

MANIFEST = "manifest.json"
#: What the files of an export run may be called.
DATA_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet", ".snappy.parquet")


@dataclass(frozen=True, slots=True)
class ExportManifest:
    #: A key for the run, unique per export (the run id, else the manifest's path).
    run_id: str
    #: None for FOCUS (both cost types) or when the manifest does not say.
    cost_type: CostType | None
    focus: bool
    start: date | None
    end: date | None
    #: The files of the run, as the manifest names them (blob names or links).
    blobs: tuple[str, ...]
    rows: int | None = None
    #: When the run was submitted (runInfo.submittedTime), to import runs in order.
    submitted: str = ""


def _day(text: object) -> date | None:
    if not isinstance(text, str) or not text:
        return None
    return date.fromisoformat(text[:10])


def parse_manifest(raw: bytes | str, source: str) -> ExportManifest:
    """A manifest of a scheduled export (`exportConfig`, `runInfo`, `blobs[].blobName`) or of a
    Cost Details report (`manifest.requestContext`, `blobs[].blobLink`)."""
    try:
        doc: Any = json.loads(raw)
        if "manifest" in doc and isinstance(doc["manifest"], dict):  # Cost Details result
            doc = {**doc["manifest"], "_id": doc.get("name") or doc.get("id")}
        config = doc.get("exportConfig") or {}
        run = doc.get("runInfo") or {}
        body = (doc.get("requestContext") or {}).get("requestBody") or {}
        kind = str(config.get("type") or body.get("metric") or "")
        period = body.get("timePeriod") or {}
        blobs = tuple(str(b.get("blobName") or b.get("blobLink")) for b in doc.get("blobs") or ())
        run_id = str(run.get("runId") or doc.get("_id") or source)
        start = _day(run.get("startDate") or period.get("start"))
        end = _day(run.get("endDate") or period.get("end"))
        rows = doc.get("dataRowCount")
    except (ValueError, TypeError, AttributeError):
        raise MalformedExportError(source, None, None, "this is not an export manifest") from None
    focus = kind.lower().startswith("focus")
    cost_type = None
    if not focus and kind:
        try:
            cost_type = CostType(kind)
        except ValueError:
            raise UserInputError(
                f"{source}: the export's type {kind!r} is not a cost type CloudOptima stores.",
                hint="Export ActualCost, AmortizedCost or FocusCost.",
            ) from None
    submitted = str(run.get("submittedTime") or "")
    return ExportManifest(run_id, cost_type, focus, start, end, blobs, rows, submitted)


def is_data_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(DATA_SUFFIXES) and not lowered.endswith(".json")


def local_files(paths: list[Path]) -> list[Path]:
    """The data files of the paths given: files as they are, directories searched (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and is_data_file(p.name))
        elif path.exists():
            found.append(path)
        else:
            raise UserInputError(f"{path}: no such file or directory.")
    return found


def local_manifests(paths: list[Path]) -> list[tuple[Path, ExportManifest]]:
    """Manifests beside (or under) the paths given."""
    out = []
    seen: set[Path] = set()
    for path in paths:
        candidates = path.rglob(MANIFEST) if path.is_dir() else [path.parent / MANIFEST]
        for candidate in candidates:
            if candidate.is_file() and candidate not in seen:
                seen.add(candidate)
                out.append((candidate, parse_manifest(candidate.read_bytes(), str(candidate))))
    return out
