"""Importing cost exports: stage every row of an import, then write it day by day.

An export (Cost Management exports, Cost Details reports, FOCUS) is parsed by an adapter
(`adapters.exports`) into `CostRow`s, each with the scope and cost type it belongs to. Exports are
not sorted by day and an export run is split into several files, so a day is only complete once
every file of the import has been read. The `CostStage` therefore takes every row first, in
compact form (a group index and three integers of storage units per row, in `array`s, spilled to
a temporary file beyond a bound), and only then are the days written, each through the ingestion
path every other source uses (`core.costs.ingest.CostIngestor` → `core.costs.store.write_day`):
one transaction per day, the same diff, the same counts, the same runs. Importing a file twice
changes nothing; a re-exported month with restated rows updates exactly those rows; a row that
fails to parse stops the import before anything of it is written.

Memory is bounded by the stage's buffer, the distinct groups of the import (a group is one
combination of dimensions and tags, shared by every day), and one day while writing.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import Engine, and_, or_, select, update

from core.costs.ingest import CostIngestor, RunSummary, Window
from core.costs.model import CostType, RunStatus
from core.costs.ports import CostDay, CostRow
from core.costs.store import DIMENSION_COLUMNS, DayCounts
from core.costs.tables import ExportRun
from core.kernel.clock import Clock
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for
from core.kernel.money import to_storage_units
from core.kernel.scopes import Scope

#: Stored in place of an amount that is absent (cost in USD, quantity).
_NONE = -(2**63)
_PER_ONE = Decimal(10**8)
#: Entries (4 integers each) held in memory across all days before they go to the spill file.
DEFAULT_BUFFER_ROWS = 262_144


def _units(amount: Decimal) -> int:
    scaled = amount * _PER_ONE
    units = int(scaled)
    return units if units == scaled else to_storage_units(amount)


@dataclass(frozen=True, slots=True)
class _Group:
    dimensions: tuple[str, ...]
    subscription_name: str
    tags: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class StageSummary:
    """What the stage holds: rows per cost type, currencies, and the file lines they came from
    (a FOCUS line gives a row of each cost type)."""

    rows: int = 0
    lines: int = 0
    by_cost_type: dict[str, int] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)


class CostStage:
    """Every row of one import, by (scope, cost type, day), in compact form.

    Rows of one group on one day add up when written (as they do from the Query API). Use as a
    context manager (or call `close()`): the spill file is removed on close.
    """

    def __init__(self, *, buffer_rows: int = DEFAULT_BUFFER_ROWS) -> None:
        self._buffer_rows = buffer_rows
        self._groups: dict[_Group, int] = {}
        self._group_list: list[_Group] = []
        self._scopes: dict[Scope, int] = {}
        self._scope_list: list[Scope] = []
        #: (scope index, cost type, day ordinal) → entries not yet spilled.
        self._buffers: dict[tuple[int, str, int], array[int]] = {}
        #: (scope index, cost type, day ordinal) → (offset, entries) segments of the spill file.
        self._segments: dict[tuple[int, str, int], list[tuple[int, int]]] = {}
        #: (scope index, cost type) → first and last day ordinal seen.
        self._spans: dict[tuple[int, str], list[int]] = {}
        self._buffered = 0
        self._spill: IO[bytes] | None = None
        self.summary = StageSummary()

    def __enter__(self) -> CostStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._buffers.clear()
        self._segments.clear()

    # -- taking rows -----------------------------------------------------------------------

    def add(self, scope: Scope, cost_type: CostType | str, row: CostRow) -> None:
        """Stage one row (amounts are kept in storage units, exact to 1e-8)."""
        index = self._group_index(row)
        scope_index = self._scopes.get(scope)
        if scope_index is None:
            scope_index = self._scopes[scope] = len(self._scope_list)
            self._scope_list.append(scope)
        kind = str(cost_type)
        ordinal = row.usage_date.toordinal()
        key = (scope_index, kind, ordinal)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = array("q")
        buffer.extend(
            (
                index,
                _units(row.cost),
                _NONE if row.cost_usd is None else _units(row.cost_usd),
                _NONE if row.quantity is None else _units(row.quantity),
            )
        )
        span = self._spans.get((scope_index, kind))
        if span is None:
            self._spans[scope_index, kind] = [ordinal, ordinal]
        elif ordinal < span[0]:
            span[0] = ordinal
        elif ordinal > span[1]:
            span[1] = ordinal
        summary = self.summary
        summary.rows += 1
        summary.by_cost_type[kind] = summary.by_cost_type.get(kind, 0) + 1
        self._buffered += 1
        if self._buffered >= self._buffer_rows:
            self._flush()

    def _group_index(self, row: CostRow) -> int:
        group = _Group(
            tuple(getattr(row, name) for name in DIMENSION_COLUMNS),
            row.subscription_name,
            tuple(sorted(row.tags.items())) if row.tags else (),
        )
        index = self._groups.get(group)
        if index is None:
            index = self._groups[group] = len(self._group_list)
            self._group_list.append(group)
            self.summary.currencies.add(row.currency)
        return index

    def add_all(self, records: Iterable[tuple[Scope, CostType | str, CostRow]]) -> None:
        for scope, cost_type, row in records:
            self.add(scope, cost_type, row)

    def _flush(self) -> None:
        if self._spill is None:
            # Closed (and so removed) by close().
            self._spill = tempfile.TemporaryFile(prefix="cloudoptima-import-")  # noqa: SIM115
        spill = self._spill
        spill.seek(0, 2)
        for key, buffer in self._buffers.items():
            offset = spill.tell()
            buffer.tofile(spill)
            self._segments.setdefault(key, []).append((offset, len(buffer)))
        self._buffers.clear()
        self._buffered = 0

    # -- what it holds -----------------------------------------------------------------------

    def plans(self) -> list[tuple[Scope, CostType, Window]]:
        """(scope, cost type, first..last day) of everything staged, in a stable order."""
        out = []
        for (scope_index, kind), (first, last) in sorted(
            self._spans.items(), key=lambda item: (self._scope_list[item[0][0]].path, item[0][1])
        ):
            out.append(
                (
                    self._scope_list[scope_index],
                    CostType(kind),
                    Window(date.fromordinal(first), date.fromordinal(last)),
                )
            )
        return out

    def entries(self, scope: Scope, cost_type: CostType | str, day: date) -> array[int]:
        """The day's staged entries (group, cost, cost USD, quantity), flat."""
        key = (self._scopes[scope], str(cost_type), day.toordinal())
        out: array[int] = array("q")
        spill = self._spill
        for offset, count in self._segments.get(key, ()):
            assert spill is not None
            spill.seek(offset)
            out.fromfile(spill, count)
        out.extend(self._buffers.get(key, ()))
        return out

    def day(self, scope: Scope, cost_type: CostType | str, day: date) -> list[CostRow]:
        """The day's rows, one per group (rows of one group added up)."""
        entries = self.entries(scope, cost_type, day)
        sums: dict[int, list[int]] = {}
        get = sums.get
        for at in range(0, len(entries), 4):
            index, cost, usd, qty = entries[at : at + 4]
            seen = get(index)
            if seen is None:
                sums[index] = [cost, usd, qty]
                continue
            seen[0] += cost
            seen[1] = usd if seen[1] == _NONE else seen[1] if usd == _NONE else seen[1] + usd
            seen[2] = qty if seen[2] == _NONE else seen[2] if qty == _NONE else seen[2] + qty
        groups = self._group_list
        return [
            _row(groups[index], day, cost, usd, qty) for index, (cost, usd, qty) in sums.items()
        ]


def _row(group: _Group, day: date, cost: int, usd: int, qty: int) -> CostRow:
    (sub, rg, resource, service, meter, location, charge, currency) = group.dimensions
    return CostRow(
        usage_date=day,
        subscription_id=sub,
        subscription_name=group.subscription_name,
        resource_group=rg,
        resource_id=resource,
        service_name=service,
        meter_category=meter,
        location=location,
        charge_type=charge,
        currency=currency,
        cost=Decimal(cost).scaleb(-8),
        cost_usd=None if usd == _NONE else Decimal(usd).scaleb(-8),
        quantity=None if qty == _NONE else Decimal(qty).scaleb(-8),
        tags=dict(group.tags),
    )


class StagedSource:
    """A `CostSource` over a stage: every day of the window, complete (days without rows too)."""

    def __init__(self, stage: CostStage) -> None:
        self._stage = stage

    async def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        day = start
        while day <= end:
            yield CostDay(day, self._stage.day(scope, cost_type, day))
            day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote: one ingestion run per scope and cost type."""

    runs: list[RunSummary]
    #: Lines of the files read (each gives a row per cost type it holds).
    rows_read: int
    currencies: tuple[str, ...]

    @property
    def counts(self) -> DayCounts:
        total = DayCounts()
        for run in self.runs:
            total += run.counts
        return total

    def describe(self) -> str:
        c = self.counts
        days = sum(run.days_done for run in self.runs)
        return (
            f"{self.rows_read:,} row(s) read; {len(self.runs)} scope/cost-type run(s), "
            f"{days} day(s): {c.inserted:,} new, {c.updated:,} changed, "
            f"{c.unchanged:,} unchanged, {c.removed:,} removed"
        )


async def write_stage(
    engine: Engine,
    clock: Clock,
    stage: CostStage,
    *,
    window: Window | None = None,
    progress: Any = None,
) -> ImportResult:
    """Write every staged (scope, cost type) day by day through the ingestion path.

    Each scope is written over the days it has rows for (first..last), widened to `window` when
    the export says which days it covers (its manifest): days of that window without rows are
    written empty, so a restated export that dropped rows removes them.
    """
    ingestor = CostIngestor(engine, clock)
    source = StagedSource(stage)
    runs = []
    for scope, cost_type, span in stage.plans():
        if window is not None:
            span = Window(min(span.start, window.start), max(span.end, window.end))
        runs.append(
            await ingestor.run(source, scope, cost_type, span, resume=False, progress=progress)
        )
    summary = stage.summary
    return ImportResult(runs, summary.lines or summary.rows, tuple(sorted(summary.currencies)))


# -- export runs found in storage: each imported once across replicas ---------------------------

#: A run claimed this long ago and still running is taken for abandoned (its importer died).
STALE_EXPORT_RUN = timedelta(hours=2)
_EXPORT_RUN = ExportRun.__table__  # type: ignore[attr-defined]


def claim_export_run(engine: Engine, key: str, owner: str, now: datetime) -> bool:
    """True for the one caller that gets to import run `key` now: the first, or the next one
    after a failure or an abandoned attempt; False once it succeeded or while another runs."""
    c = _EXPORT_RUN.c
    with write_transaction(engine) as conn:
        won = conn.execute(
            insert_for(engine, _EXPORT_RUN)
            .values(key=key, status=RunStatus.RUNNING, owner=owner, attempts=1, started_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(c.key)
        ).first()
        if won is not None:
            return True
        retried = conn.execute(
            update(_EXPORT_RUN)
            .where(
                c.key == key,
                or_(
                    c.status == RunStatus.FAILED,
                    and_(c.status == RunStatus.RUNNING, c.started_at < now - STALE_EXPORT_RUN),
                ),
            )
            .values(
                status=RunStatus.RUNNING,
                owner=owner,
                attempts=c.attempts + 1,
                started_at=now,
                finished_at=None,
                error=None,
            )
            .returning(c.key)
        ).first()
        return retried is not None


def finish_export_run(
    engine: Engine, key: str, now: datetime, *, rows: int | None = None, error: str | None = None
) -> None:
    """Record how a claimed run's import ended (a failure makes it claimable again)."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(_EXPORT_RUN)
            .where(_EXPORT_RUN.c.key == key)
            .values(
                status=RunStatus.FAILED if error is not None else RunStatus.SUCCEEDED,
                finished_at=now,
                rows=rows,
                error=None if error is None else error[:2000],
            )
        )


def export_run_status(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(select(_EXPORT_RUN.c.status).where(_EXPORT_RUN.c.key == key)).scalar()
    return None if found is None else str(found)
