"""Importing Cost Management exports: local files and directories, or Azure Storage.

Every file of one import is parsed into one stage (`core.costs.imports.CostStage`) first, then
the stage is written day by day through the ingestion path; budgets and anomalies follow, as
after an ingestion. A file that fails to parse stops the import before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from adapters.exports.formats import ExportFormat
from adapters.exports.manifest import ExportManifest, local_files, local_manifests
from adapters.exports.parse import ExportReader
from core.costs.imports import CostStage, ImportResult, write_stage
from core.costs.ingest import Window
from core.costs.model import CostType
from core.kernel.clock import Clock
from core.kernel.errors import UserInputError
from core.kernel.scopes import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file to import: a name for messages, how to open it, and what its manifest says."""

    name: str
    open: Callable[[], AbstractContextManager[IO[bytes]]]
    manifest: ExportManifest | None = None


@dataclass(frozen=True, slots=True)
class ImportOptions:
    export_format: ExportFormat | None = None
    cost_type: CostType | None = None
    scope: Scope | None = None


def files_from_paths(paths: list[Path]) -> list[ExportFile]:
    """The data files under `paths`, each with the manifest of its run when there is one."""
    manifests = local_manifests(paths)
    out = []
    for path in local_files(paths):
        manifest = next(
            (m for at, m in manifests if path.resolve().is_relative_to(at.parent.resolve())),
            None,
        )
        out.append(ExportFile(str(path), lambda p=path: p.open("rb"), manifest))
    return out


def stage_files(stage: CostStage, files: list[ExportFile], options: ImportOptions) -> None:
    """Parse every file into the stage (raises on the first malformed value)."""
    for file in files:
        manifest = file.manifest
        cost_type = options.cost_type or (manifest.cost_type if manifest else None)
        if options.cost_type and manifest and manifest.cost_type not in (None, options.cost_type):
            raise UserInputError(
                f"{file.name}: --cost-type {options.cost_type} but its export's manifest says "
                f"{manifest.cost_type}."
            )
        with file.open() as stream:
            reader = ExportReader(
                stream,
                file.name,
                export_format=options.export_format,
                cost_type=cost_type,
                scope=options.scope,
            )
            stage.add_all(reader)
        stage.summary.lines += reader.rows_read
        log.info("staged %s: %s, %d row(s)", file.name, reader.format, reader.rows_read)


def manifest_window(files: list[ExportFile]) -> Window | None:
    """The days the import covers when every file comes from one run that says so."""
    manifests = {id(f.manifest): f.manifest for f in files}
    if len(manifests) != 1:
        return None
    (manifest,) = manifests.values()
    if manifest is None or manifest.start is None or manifest.end is None:
        return None
    return Window(manifest.start, manifest.end)


async def import_files(
    engine: Engine,
    clock: Clock,
    files: list[ExportFile],
    options: ImportOptions | None = None,
    *,
    progress: Any = None,
) -> ImportResult:
    """Stage every file, then write the stage; nothing is written when a file is malformed."""
    options = options or ImportOptions()
    with CostStage() as stage:
        await asyncio.to_thread(stage_files, stage, files, options)
        return await write_stage(
            engine, clock, stage, window=manifest_window(files), progress=progress
        )
