"""Importing Cost Management exports: local files and directories, or Azure Storage.

Every file of one import is parsed into one stage (`core.costs.imports.CostStage`) first, then
the stage is written day by day through the ingestion path; budgets and anomalies follow, as
after an ingestion. A file that fails to parse stops the import before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from adapters.azure.export_storage import ExportContainer
from adapters.exports.formats import ExportFormat
from adapters.exports.manifest import (
    MANIFEST,
    ExportManifest,
    is_data_file,
    local_files,
    local_manifests,
    parse_manifest,
)
from adapters.exports.parse import ExportReader
from core.costs.imports import (
    CostStage,
    ImportResult,
    claim_export_run,
    finish_export_run,
    write_stage,
)
from core.costs.ingest import Window
from core.costs.model import CostType
from core.kernel.clock import Clock
from core.kernel.errors import CloudOptimaError, UserInputError
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


# -- Azure Storage --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlobRun:
    """One export run in a container: its key, manifest (None: loose files) and data blobs."""

    key: str
    manifest: ExportManifest | None
    blobs: tuple[str, ...]


async def find_runs(container: ExportContainer) -> list[BlobRun]:
    """The export runs under the container's prefix, oldest first; files without a manifest
    make one run of their own."""
    location = container.location
    items = await container.list()
    names = {item.name for item in items}
    runs = []
    claimed: set[str] = set()
    for item in items:
        if item.name.rsplit("/", 1)[-1] != MANIFEST:
            continue
        folder = item.name.rsplit("/", 1)[0] if "/" in item.name else ""
        manifest = parse_manifest(await container.read(item.name), f"{location.url}/{item.name}")
        blobs = []
        for blob in manifest.blobs:
            name = blob if blob in names else f"{folder}/{blob}".lstrip("/")
            if name not in names:
                raise UserInputError(
                    f"{location.url}/{item.name} names {blob}, which is not in the container."
                )
            blobs.append(name)
        if not blobs:
            blobs = [n for n in sorted(names) if n.startswith(folder + "/") and is_data_file(n)]
        claimed.update(blobs)
        key = f"azblob://{location.account}/{location.container}/{folder}#{manifest.run_id}"
        runs.append(BlobRun(key, manifest, tuple(blobs)))
    runs.sort(key=lambda r: (r.manifest.submitted if r.manifest else "", r.key))
    loose = tuple(n for n in sorted(names) if is_data_file(n) and n not in claimed)
    if loose:
        runs.append(BlobRun(f"{location.url}#loose", None, loose))
    return runs


async def import_blob_run(
    engine: Engine,
    clock: Clock,
    container: ExportContainer,
    run: BlobRun,
    options: ImportOptions,
) -> ImportResult:
    """Download a run's files (to a temporary folder, chunk by chunk), then import them."""
    with tempfile.TemporaryDirectory(prefix="cloudoptima-blobs-") as folder:
        files = []
        for n, name in enumerate(run.blobs):
            path = Path(folder) / f"{n:05d}-{name.rsplit('/', 1)[-1]}"
            with path.open("wb") as target:
                await container.download(name, target)
            url = f"azblob://{container.location.account}/{container.location.container}/{name}"
            files.append(ExportFile(url, lambda p=path: p.open("rb"), run.manifest))
        return await import_files(engine, clock, files, options)


async def import_new_runs(
    engine: Engine,
    clock: Clock,
    container: ExportContainer,
    options: ImportOptions | None = None,
    *,
    owner: str,
    only_new: bool = True,
) -> list[tuple[BlobRun, ImportResult]]:
    """Import the container's runs, oldest first; `only_new`: each run once across replicas
    (claimed in `export_run`; a failed run is retried by the next look)."""
    options = options or ImportOptions()
    done = []
    for run in await find_runs(container):
        if run.manifest is None and only_new:
            log.warning("%s: files without a manifest are imported by hand only", run.key)
            continue
        if only_new and not await asyncio.to_thread(
            claim_export_run, engine, run.key, owner, clock.now()
        ):
            continue
        try:
            result = await import_blob_run(engine, clock, container, run, options)
        except BaseException as exc:
            message = (
                exc.user_message() if isinstance(exc, CloudOptimaError) else type(exc).__name__
            )
            if only_new:
                await asyncio.to_thread(
                    finish_export_run, engine, run.key, clock.now(), error=message
                )
            raise
        if only_new:
            await asyncio.to_thread(
                finish_export_run, engine, run.key, clock.now(), rows=result.rows_read
            )
        done.append((run, result))
    return done
