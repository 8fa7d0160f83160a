"""Daily cost series from the cost store, read in one snapshot.

One series per scope × subscription × service × resource group, and one per subscription (all its
services), each in its billing currency. The rows are read per group and day in SQL (the narrow
fact needs no JOIN) and the groups mapped to series in Python from the cached group catalogue,
as `core.costs.breakdown` does: every group's daily vector is kept too, for the drivers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import blake2b

from sqlalchemy import BigInteger, Engine, func, select, type_coerce

from core.costs.catalog import Group, Groups, catalog_for
from core.costs.model import CostType
from core.costs.tables import CostRecord
from core.kernel.db.engine import read_snapshot

T = CostRecord.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What one series sums: service and resource group '' for the subscription's total."""

    scope_id: int
    subscription_id: str
    service_name: str
    resource_group: str
    currency: str

    @property
    def key(self) -> str:
        """A short stable id (stored on incidents and feedback)."""
        text = "\x1f".join(
            (
                str(self.scope_id),
                self.subscription_id.lower(),
                self.service_name.lower(),
                self.resource_group.lower(),
                self.currency,
            )
        )
        return blake2b(text.encode(), digest_size=16).hexdigest()

    @property
    def is_subscription(self) -> bool:
        return not self.service_name and not self.resource_group


def keys_of(group: Group) -> tuple[SeriesKey, SeriesKey]:
    """The two series a group counts in: its service × resource group, and its subscription."""
    return (
        SeriesKey(
            group.scope_id,
            group.subscription_id,
            group.service_name or "(none)",
            group.resource_group or "(none)",
            group.currency,
        ),
        SeriesKey(group.scope_id, group.subscription_id, "", "", group.currency),
    )


@dataclass(slots=True)
class SeriesSnapshot:
    """Every series over [first, last]: daily units per day index, and the groups behind it."""

    cost_type: CostType
    first: date
    last: date
    groups: Groups
    #: Units per day index (0 where the group had no row).
    group_values: dict[int, list[int]]
    members: dict[SeriesKey, list[int]]
    values: dict[SeriesKey, list[int]]
    #: Index of the first day with a row (earlier days are not the series' history).
    starts: dict[SeriesKey, int]
    subscription_names: dict[str, str]

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def index(self, day: date) -> int:
        return (day - self.first).days

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)


def _rows(
    engine: Engine, cost_type: CostType, first: date, last: date
) -> tuple[list[tuple[int, date, int]], Groups]:
    with read_snapshot(engine) as conn:
        rows = [
            (int(g), d, int(u))
            for g, d, u in conn.execute(
                select(T.group_id, T.usage_date, type_coerce(T.cost, BigInteger)).where(
                    T.cost_type == str(cost_type), T.usage_date >= first, T.usage_date <= last
                )
            )
        ]
        groups = catalog_for(engine).groups(conn, {r[0] for r in rows})
    return rows, groups


def load_series(engine: Engine, cost_type: CostType, first: date, last: date) -> SeriesSnapshot:
    """Every series of `cost_type` over [first, last], in one snapshot of the store."""
    rows, groups = _rows(engine, cost_type, first, last)
    days = (last - first).days + 1
    index = {first + timedelta(days=i): i for i in range(days)}
    group_values: dict[int, list[int]] = {}
    group_start: dict[int, int] = {}
    for group_id, usage_date, units in rows:
        vector = group_values.get(group_id)
        if vector is None:
            vector = group_values[group_id] = [0] * days
        i = index[usage_date]
        vector[i] += int(units)
        if i < group_start.get(group_id, days):
            group_start[group_id] = i
    members: dict[SeriesKey, list[int]] = {}
    names: dict[str, str] = {}
    for group_id in group_values:
        group = groups.by_id[group_id]
        names[group.subscription_id] = group.subscription_name
        for key in keys_of(group):
            members.setdefault(key, []).append(group_id)
    values: dict[SeriesKey, list[int]] = {}
    starts: dict[SeriesKey, int] = {}
    for key, ids in members.items():
        values[key] = _sum_vectors(group_values[i] for i in ids)
        starts[key] = min(group_start[i] for i in ids)
    return SeriesSnapshot(
        cost_type, first, last, groups, group_values, members, values, starts, names
    )


def _sum_vectors(vectors: Iterable[list[int]]) -> list[int]:
    total: list[int] | None = None
    for vector in vectors:
        total = (
            list(vector) if total is None else [a + b for a, b in zip(total, vector, strict=True)]
        )
    return total or []


def has_rows(engine: Engine, cost_type: CostType) -> bool:
    """Whether any cost of `cost_type` is stored (anomalies fall back to another type if not)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(func.count()).select_from(
                select(T.group_id).where(T.cost_type == str(cost_type)).limit(1).subquery()
            )
        ).scalar()
    return bool(found)
