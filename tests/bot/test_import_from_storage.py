"""Exports in Azure Storage, through the real `azure-storage-blob` client and the simulated
tenant's storage account: `cloudoptima import azblob://…`, and the scheduled job that imports
each new run once across replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from adapters.azure.export_storage import ExportContainer, parse_blob_url
from adapters.azure.simulated import SimulatedTenant
from adapters.azure.simulated.storage import DEMO_ACCOUNT, DEMO_CONTAINER, EXPORT_ROOT
from bot.container import build
from bot.imports import find_runs, import_new_runs
from bot.settings import load_settings
from core.costs.imports import export_run_status
from core.costs.model import CostType
from core.costs.tables import CostRecord
from core.kernel.clock import FixedClock
from core.kernel.errors import PermissionDeniedError, UserInputError

TODAY = date(2026, 11, 27)
URL = f"azblob://{DEMO_ACCOUNT}/{DEMO_CONTAINER}/{EXPORT_ROOT}"


@pytest.fixture
def tenant() -> SimulatedTenant:
    return SimulatedTenant(today=TODAY)


def container_of(tenant: SimulatedTenant, url: str = URL, **kw) -> ExportContainer:
    # Small chunks: every blob is read in several ranged GETs, as large ones are.
    return ExportContainer(
        parse_blob_url(url), tenant.credential(), transport=tenant.transport(),
        max_single_get_size=32 * 1024, max_chunk_get_size=32 * 1024, **kw,
    )  # fmt: skip


def stored(engine, cost_type: CostType) -> Decimal:
    with Session(engine) as s:
        return s.exec(
            select(func.sum(CostRecord.cost)).where(CostRecord.cost_type == str(cost_type))
        ).scalar() or Decimal(0)


def truth(tenant: SimulatedTenant, cost_type: CostType, start: date, end: date) -> Decimal:
    return sum((r.cost for r in tenant.rows(cost_type, start, end)), Decimal(0))


async def test_a_run_in_storage_imports_both_cost_types_to_the_cent(engine, clock, tenant):
    tenant.publish_export()
    start, end = date(2026, 11, 1), date(2026, 11, 26)
    async with container_of(tenant) as container:
        (run,) = await find_runs(container)
        done = await import_new_runs(engine, clock, container, owner="test")

    assert len(run.blobs) == 2 and run.manifest is not None and run.manifest.focus
    ((_, result),) = done
    assert {r.cost_type for r in result.runs} == {"ActualCost", "AmortizedCost"}
    for cost_type in CostType:
        assert stored(engine, cost_type) == truth(tenant, cost_type, start, end)
    assert tenant.router.calls("storage-get-blob") > 3  # ranged reads, not one GET per blob
    assert export_run_status(engine, run.key) == "succeeded"


async def test_each_run_is_imported_once_and_a_restated_run_updates_only_its_changes(
    engine, clock, tenant
):
    tenant.publish_export(submitted=datetime(2026, 11, 27, 5, tzinfo=UTC))
    async with container_of(tenant) as container:
        first = await import_new_runs(engine, clock, container, owner="a")
        again = await import_new_runs(engine, clock, container, owner="b")
    assert len(first) == 1 and again == []  # seen: not downloaded, not imported

    tenant.restate()  # Azure re-exports the month with recent days restated
    tenant.publish_export(submitted=datetime(2026, 11, 27, 11, tzinfo=UTC))
    async with container_of(tenant) as container:
        ((_, restated),) = await import_new_runs(engine, clock, container, owner="a")
    c = restated.counts
    assert c.updated > 0 and c.removed >= 1 and c.unchanged > 10 * c.updated
    start, end = date(2026, 11, 1), date(2026, 11, 26)
    assert stored(engine, CostType.ACTUAL) == truth(tenant, CostType.ACTUAL, start, end)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_replicas_looking_at_once_import_each_run_once(engine, database_url, tenant):
    tenant.publish_export(run_id="run-1", submitted=datetime(2026, 11, 26, 5, tzinfo=UTC))
    tenant.publish_export(run_id="run-2", submitted=datetime(2026, 11, 27, 5, tzinfo=UTC))
    clock = FixedClock(datetime(2026, 11, 27, 9, tzinfo=UTC))

    async def replica(name: str):
        async with container_of(tenant) as container:
            return await import_new_runs(engine, clock, container, owner=name)

    results = await asyncio.gather(*(replica(f"replica-{n}") for n in range(3)))

    imported = sorted(run.key.rsplit("#", 1)[1] for done in results for run, _ in done)
    assert imported == ["run-1", "run-2"]


async def test_a_failed_run_is_retried_by_the_next_look(engine, clock, tenant):
    from adapters.azure.simulated import Fault, arm_error

    tenant.publish_export()
    tenant.router.inject("storage-get-blob", Fault(response=arm_error(403, "AuthorizationFailure",
                         "This request is not authorized.")), times=1, after=1)  # fmt: skip
    async with container_of(tenant, retry_total=0) as container:
        with pytest.raises(PermissionDeniedError, match="Not allowed to read"):
            await import_new_runs(engine, clock, container, owner="a")
        (run,) = await find_runs(container)
        assert export_run_status(engine, run.key) == "failed"
        assert stored(engine, CostType.ACTUAL) == 0  # nothing of the run was written
        retried = await import_new_runs(engine, clock, container, owner="a")
    assert len(retried) == 1 and export_run_status(engine, run.key) == "succeeded"


async def test_a_missing_container_is_a_clear_error(engine, clock, tenant):
    tenant.publish_export()
    async with container_of(tenant, f"azblob://{DEMO_ACCOUNT}/nothing-here/x") as container:
        with pytest.raises(UserInputError, match="does not exist"):
            await import_new_runs(engine, clock, container, owner="a")


async def test_the_scheduled_job_imports_new_runs_then_checks_budgets(sqlite_engine, clock):
    clock.current = datetime(2026, 11, 27, 9, tzinfo=UTC)
    settings = load_settings(demo=True, exports=URL, database_url="sqlite://")
    container = build(settings, engine=sqlite_engine, clock=clock)
    try:
        scheduler = container.scheduler()
        assert "exports" in scheduler.jobs
        await scheduler.fire("exports")  # claims its slot, then each run
        assert stored(sqlite_engine, CostType.ACTUAL) > 0
        assert await container.import_new_exports() == []  # the run was imported once
    finally:
        await container.aclose()


def test_export_locations_are_checked_in_the_settings():
    from core.kernel.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="azblob://<account>/<container>/<prefix>"):
        load_settings(exports="https://x.blob.core.windows.net/c", database_url="sqlite://")
    only = load_settings(exports=URL, database_url="sqlite://")  # no scope needed
    assert only.exports == [URL] and only.scopes == []


def test_cloudoptima_import_reads_the_demo_storage_account(tmp_path):
    from tests.bot.test_cli import run

    env = {"CLOUDOPTIMA_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    done = run(["import", "--demo", URL], tmp_path, **env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "AmortizedCost" in done.stdout and "Imported:" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_simulated_tenant_serves_no_blob_it_does_not_have(tenant):
    tenant.publish_export()
    assert all(name.startswith(EXPORT_ROOT) for (_a, _c, name) in tenant.storage.blobs)
    assert timedelta(0) < TODAY - date(2026, 11, 1)
