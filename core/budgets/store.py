"""Reading and writing budgets. Records leave this module detached (frozen dataclasses)."""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import fields, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from core.budgets.grammar import name_key
from core.budgets.model import (
    BudgetPeriod,
    BudgetRecord,
    BudgetScope,
    NewBudget,
    Threshold,
    ThresholdKind,
)
from core.budgets.tables import Budget, BudgetTarget, BudgetThreshold
from core.costs.model import CostType
from core.costs.tables import CostGroup, CostRecord, CostScope
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for
from core.kernel.errors import NotFoundError, UserInputError

BUDGETS = Budget.__table__  # type: ignore[attr-defined]
THRESHOLDS = BudgetThreshold.__table__  # type: ignore[attr-defined]
TARGETS = BudgetTarget.__table__  # type: ignore[attr-defined]
COSTS = CostRecord.__table__  # type: ignore[attr-defined]
GROUPS = CostGroup.__table__  # type: ignore[attr-defined]
SCOPES = CostScope.__table__  # type: ignore[attr-defined]
_IN_CHUNK = 900  # ids per IN list: far below SQLite's and psycopg's parameter limits


_COLUMNS = tuple(
    BUDGETS.c[name]
    for name in (
        "id",
        "name",
        "amount",
        "currency",
        "period",
        "start_date",
        "cost_type",
        "filter_scope",
        "filter_subscription",
        "filter_resource_group",
        "filter_service",
        "filter_location",
        "filter_meter",
        "filter_tags",
        "owner_principal",
        "owner_name",
    )
)
# Enum members by value: a dict lookup is several times cheaper than the enum call, and a pass
# reads every budget with its thresholds and targets.
_PERIODS = {str(p): p for p in BudgetPeriod}
_COST_TYPES = {str(c): c for c in CostType}
_THRESHOLD_KINDS = {str(k): k for k in ThresholdKind}
_TARGET_KINDS = {str(k): k for k in TargetKind}
_BY_KIND_AND_PERCENT = attrgetter("kind", "percent")
_BY_KIND_AND_ADDRESS = attrgetter("kind", "address")


def _record(
    row: Any,
    thresholds: list[Threshold],
    targets: list[Target],
    shared: dict[Any, Any],
) -> BudgetRecord:
    (budget_id, name, amount, currency, period, start_date, cost_type, scope, sub, rg, service,
     location, meter, tags, owner_principal, owner_name) = row  # fmt: skip
    thresholds.sort(key=_BY_KIND_AND_PERCENT)
    targets.sort(key=_BY_KIND_AND_ADDRESS)
    budget_scope = BudgetScope(
        scope, sub, rg, service, location, meter, tuple(sorted(tags.items())) if tags else ()
    )
    return BudgetRecord(
        id=int(budget_id),
        name=name,
        amount=amount,
        currency=currency,
        period=_PERIODS[period],
        start_date=start_date,
        cost_type=_COST_TYPES[cost_type],
        scope=shared.setdefault(budget_scope, budget_scope),
        thresholds=_shared(shared, tuple(thresholds)),
        targets=_shared(shared, tuple(targets)),
        owner_principal=owner_principal,
        owner_name=owner_name,
    )


def _shared(shared: dict[Any, Any], value: Any) -> Any:
    """One object per distinct (immutable) value: budgets repeat scopes, thresholds and targets,
    and thousands of duplicates only give the garbage collector more to walk."""
    return shared.setdefault(value, value)


def load_budgets(conn: Connection, ids: Collection[int] | None = None) -> list[BudgetRecord]:
    """Every budget (or those with `ids`) with thresholds and targets: three queries in all.

    Rows are consumed as they come, and equal scopes, thresholds and targets share one object.
    """
    if ids is not None and not ids:
        return []
    th_query = select(THRESHOLDS.c.budget_id, THRESHOLDS.c.percent, THRESHOLDS.c.kind)
    tg_query = select(TARGETS.c.budget_id, TARGETS.c.kind, TARGETS.c.address)
    query = select(*_COLUMNS).order_by(BUDGETS.c.id)
    if ids is not None:
        th_query = th_query.where(THRESHOLDS.c.budget_id.in_(list(ids)))
        tg_query = tg_query.where(TARGETS.c.budget_id.in_(list(ids)))
        query = query.where(BUDGETS.c.id.in_(list(ids)))
    shared: dict[Any, Any] = {}
    thresholds: dict[int, list[Threshold]] = defaultdict(list)
    targets: dict[int, list[Target]] = defaultdict(list)
    kinds, target_kinds = _THRESHOLD_KINDS, _TARGET_KINDS
    for budget_id, percent, kind in conn.execute(th_query):
        thresholds[int(budget_id)].append(_shared(shared, Threshold(int(percent), kinds[kind])))
    for budget_id, kind, address in conn.execute(tg_query):
        targets[int(budget_id)].append(_shared(shared, Target(target_kinds[kind], address)))
    return [
        _record(r, thresholds.pop(int(r[0]), []), targets.pop(int(r[0]), []), shared)
        for r in conn.execute(query)
    ]


class BudgetCache:
    """Every budget, reloaded only when the budget set changed.

    The set's version is (count, sum of ids, sum of revisions): creating or deleting a budget
    moves the first two, any change to one (thresholds and targets too) bumps its revision.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[int, int, int] | None = None
        self._budgets: list[BudgetRecord] = []

    def all(self, conn: Connection) -> list[BudgetRecord]:
        c = BUDGETS.c
        count, ids, revisions = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(c.id), 0),
                func.coalesce(func.sum(c.revision), 0),
            )
        ).one()
        version = (int(count), int(ids), int(revisions))
        with self._lock:
            if version == self._version:
                return self._budgets
        budgets = load_budgets(conn)
        with self._lock:
            self._version, self._budgets = version, budgets
        return budgets


_CACHES: weakref.WeakKeyDictionary[Engine, BudgetCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def budget_cache_for(engine: Engine) -> BudgetCache:
    """The process-wide budget cache of one engine."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = BudgetCache()
        return cache


def find_budget(engine: Engine, name: str) -> BudgetRecord:
    """The budget called `name` (any case), or a NotFoundError that says what exists."""
    with engine.connect() as conn:
        budget_id = conn.execute(
            select(BUDGETS.c.id).where(BUDGETS.c.name_key == name_key(name))
        ).scalar()
        records = load_budgets(conn, [int(budget_id)]) if budget_id is not None else []
    if not records:
        raise NotFoundError(
            f"There is no budget named '{name[:64]}'.",
            hint="`budget list` shows the budgets; `budget create <name> <amount>` adds one.",
        )
    return records[0]


def get_budget(conn: Connection, budget_id: int) -> BudgetRecord | None:
    records = load_budgets(conn, [budget_id])
    return records[0] if records else None


def list_budgets(engine: Engine) -> list[BudgetRecord]:
    with engine.connect() as conn:
        return load_budgets(conn)


def _scope_columns(scope: BudgetScope) -> dict[str, Any]:
    return {
        "filter_scope": scope.scope_path,
        "filter_subscription": scope.subscription,
        "filter_resource_group": scope.resource_group,
        "filter_service": scope.service,
        "filter_location": scope.location,
        "filter_meter": scope.meter,
        "filter_tags": dict(scope.tags),
    }


def create_budget(engine: Engine, new: NewBudget, now: datetime) -> BudgetRecord:
    """Insert a budget with its thresholds and targets; a taken name is a UserInputError."""
    with write_transaction(engine) as conn:
        budget_id = conn.execute(
            insert_for(engine, BUDGETS)
            .values(
                name=new.name,
                name_key=name_key(new.name),
                amount=new.amount,
                currency=new.currency,
                period=str(new.period),
                start_date=new.start_date,
                cost_type=str(new.cost_type),
                owner_principal=new.owner_principal[:300],
                owner_name=new.owner_name[:256],
                created_at=now,
                updated_at=now,
                revision=1,
                **_scope_columns(new.scope),
            )
            .on_conflict_do_nothing(index_elements=["name_key"])
            .returning(BUDGETS.c.id)
        ).scalar()
        if budget_id is None:
            raise UserInputError(
                f"A budget named '{new.name}' exists already (names ignore case).",
                hint=f"Pick another name, or change it with `budget set {new.name} …`.",
            )
        _write_thresholds(conn, int(budget_id), new.thresholds)
        _write_targets(conn, int(budget_id), new.targets)
    return BudgetRecord(id=int(budget_id), **{f.name: getattr(new, f.name) for f in fields(new)})


def _write_thresholds(conn: Connection, budget_id: int, thresholds: Iterable[Threshold]) -> None:
    rows = [{"budget_id": budget_id, "percent": t.percent, "kind": str(t.kind)} for t in thresholds]
    if rows:
        conn.execute(THRESHOLDS.insert(), rows)


def _write_targets(conn: Connection, budget_id: int, targets: Iterable[Target]) -> None:
    rows = [{"budget_id": budget_id, "kind": str(t.kind), "address": t.address} for t in targets]
    if rows:
        conn.execute(TARGETS.insert(), rows)


def _touch(conn: Connection, budget: BudgetRecord, now: datetime, **values: Any) -> None:
    result = conn.execute(
        update(BUDGETS)
        .where(BUDGETS.c.id == budget.id)
        .values(updated_at=now, revision=BUDGETS.c.revision + 1, **values)
    )
    if result.rowcount == 0:
        raise NotFoundError(f"The budget '{budget.name}' was deleted meanwhile.")


def set_amount(
    engine: Engine, budget: BudgetRecord, amount: Decimal, now: datetime
) -> BudgetRecord:
    with write_transaction(engine) as conn:
        _touch(conn, budget, now, amount=amount)
    return replace(budget, amount=amount)


def set_thresholds(
    engine: Engine,
    budget: BudgetRecord,
    kind: ThresholdKind,
    percents: Iterable[int],
    now: datetime,
) -> BudgetRecord:
    """Replace the thresholds of one kind (the other kind is kept)."""
    new = tuple(Threshold(p, kind) for p in percents)
    with write_transaction(engine) as conn:
        _touch(conn, budget, now)
        conn.execute(
            delete(THRESHOLDS).where(
                THRESHOLDS.c.budget_id == budget.id, THRESHOLDS.c.kind == str(kind)
            )
        )
        _write_thresholds(conn, budget.id, new)
    kept = tuple(t for t in budget.thresholds if t.kind is not kind)
    return replace(
        budget, thresholds=tuple(sorted((*kept, *new), key=lambda t: (t.kind, t.percent)))
    )


def set_targets(
    engine: Engine, budget: BudgetRecord, targets: Iterable[Target], now: datetime
) -> BudgetRecord:
    new = tuple(targets)
    with write_transaction(engine) as conn:
        _touch(conn, budget, now)
        conn.execute(delete(TARGETS).where(TARGETS.c.budget_id == budget.id))
        _write_targets(conn, budget.id, new)
    return replace(budget, targets=new)


def delete_budget(engine: Engine, budget_id: int, key: str) -> str | None:
    """Delete the budget with this id and name key; its name, or None if it was already gone."""
    with write_transaction(engine) as conn:
        name = conn.execute(
            delete(BUDGETS)
            .where(BUDGETS.c.id == budget_id, BUDGETS.c.name_key == key)
            .returning(BUDGETS.c.name)
        ).scalar()
    return None if name is None else str(name)


def billing_currencies(engine: Engine, cost_type: CostType | None = None) -> list[str]:
    """Currencies of the latest day of cost data (either cost type if none is given), the one
    with the most rows first."""
    c, g = COSTS.c, GROUPS.c
    with engine.connect() as conn:
        for kind in [cost_type] if cost_type else list(CostType):
            latest = conn.execute(
                select(func.max(c.usage_date)).where(c.cost_type == str(kind))
            ).scalar()
            if latest is None:
                continue
            currencies = conn.execute(
                select(g.currency)
                .select_from(COSTS.join(GROUPS, g.id == c.group_id))
                .where(c.cost_type == str(kind), c.usage_date == latest)
                .group_by(g.currency)
                .order_by(func.count().desc(), g.currency)
            ).scalars()
            return [str(x) for x in currencies]
    return []


def ingested_scopes(engine: Engine) -> dict[str, int]:
    """Ingested scope paths → their ids."""
    with engine.connect() as conn:
        return {str(p): int(i) for i, p in conn.execute(select(SCOPES.c.id, SCOPES.c.path))}


def chunks(values: list[Any], size: int = _IN_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
