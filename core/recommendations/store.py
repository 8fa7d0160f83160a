"""Recommendations in the database: one refresh's findings applied in one transaction (upsert
by stable key, first and last seen, closed as "resolved by itself" when gone, never deleted),
reads for the commands, and the cached catalog."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from core.kernel.db.engine import read_snapshot
from core.recommendations.model import (
    Action,
    AdvisorNote,
    Category,
    Evidence,
    Recommendation,
    Resolution,
    Saving,
    Source,
    Status,
    StoredRecommendation,
)
from core.recommendations.ports import Catalog, SkuPrice, SkuSpec
from core.recommendations.tables import (
    CatalogPrice,
    CatalogSku,
    RecommendationRefresh,
    RecommendationRow,
)

RECS = RecommendationRow.__table__  # type: ignore[attr-defined]
REFRESHES = RecommendationRefresh.__table__  # type: ignore[attr-defined]
SKUS = CatalogSku.__table__  # type: ignore[attr-defined]
PRICES = CatalogPrice.__table__  # type: ignore[attr-defined]
_CHUNK = 500


# -- encoding ------------------------------------------------------------------------------------


def _evidence_document(e: Evidence) -> dict[str, Any]:
    advisor = None
    if e.advisor is not None:
        a = e.advisor
        advisor = {
            "id": a.recommendation_id,
            "problem": a.problem,
            "solution": a.solution,
            "link": a.link,
            "amount": None if a.amount is None else str(a.amount),
            "currency": a.currency,
            "details": [list(d) for d in a.details],
        }
    return {
        "facts": [list(f) for f in e.facts],
        "series": [[d.isoformat(), str(v)] for d, v in e.series],
        "series_title": e.series_title,
        "series_unit": e.series_unit,
        "prices": [list(p) for p in e.prices],
        "advisor": advisor,
    }


def _evidence(doc: dict[str, Any]) -> Evidence:
    a = doc.get("advisor")
    advisor = None
    if a:
        advisor = AdvisorNote(
            recommendation_id=a["id"],
            problem=a["problem"],
            solution=a["solution"],
            link=a.get("link"),
            amount=None if a.get("amount") is None else Decimal(a["amount"]),
            currency=a.get("currency"),
            details=tuple((k, v) for k, v in a.get("details", [])),
        )
    return Evidence(
        facts=tuple((k, v) for k, v in doc.get("facts", [])),
        series=tuple((date.fromisoformat(d), Decimal(v)) for d, v in doc.get("series", [])),
        series_title=doc.get("series_title", ""),
        series_unit=doc.get("series_unit", "%"),
        prices=tuple((p[0], p[1], p[2], p[3]) for p in doc.get("prices", [])),
        advisor=advisor,
    )


def _columns(rec: Recommendation) -> dict[str, Any]:
    saving = rec.saving
    return {
        "key": rec.key,
        "rule": rec.rule,
        "category": str(rec.category),
        "action": str(rec.action),
        "resource_id": rec.resource_id[:1100],
        "resource_name": rec.resource_name[:256],
        "subscription_id": rec.subscription_id[:64],
        "resource_group": rec.resource_group[:128],
        "location": rec.location[:64],
        "title": rec.title[:400],
        "saving": None if saving is None else saving.amount,
        "currency": None if saving is None else saving.currency,
        "formula": None if saving is None else saving.formula[:1000],
        "estimate": bool(saving and saving.estimate),
        "fit_score": rec.fit_score,
        "sources": [str(s) for s in rec.sources],
        "evidence": _evidence_document(rec.evidence),
        "tags": dict(rec.tags),
    }


def _stored(row: Any) -> StoredRecommendation:
    saving = None
    if row.saving is not None and row.currency:
        saving = Saving(row.saving, row.currency, row.formula or "", bool(row.estimate))
    rec = Recommendation(
        rule=row.rule,
        category=Category(row.category),
        action=Action(row.action),
        resource_id=row.resource_id,
        resource_name=row.resource_name,
        title=row.title,
        saving=saving,
        evidence=_evidence(getattr(row, "evidence", None) or {}),
        sources=tuple(Source(s) for s in row.sources or ()),
        subscription_id=row.subscription_id,
        resource_group=row.resource_group,
        location=row.location,
        tags=row.tags or {},
        fit_score=row.fit_score,
    )
    return StoredRecommendation(
        id=int(row.id),
        recommendation=rec,
        status=Status(row.status),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
    )


# -- applying a refresh --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshCounts:
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    resolved: int = 0

    @property
    def rows_written(self) -> int:
        return self.opened + self.updated + self.reopened + self.resolved

    def describe(self) -> str:
        return (
            f"{self.opened} new, {self.updated} updated, {self.reopened} reopened, "
            f"{self.resolved} resolved"
        )


def apply_findings(
    conn: Connection,
    found: Sequence[Recommendation],
    now: datetime,
    *,
    excluded_keys: Iterable[str] = (),
) -> RefreshCounts:
    """Make the stored recommendations match `found`, inside the caller's write transaction.

    New keys are inserted (first seen = last seen = now); known ones updated (last seen = now;
    a resolved one reopens); open ones not found are resolved — "excluded by configuration"
    when their key is in `excluded_keys`, otherwise "resolved by itself". Nothing is deleted.
    """
    existing = {
        row.key: (int(row.id), row.status)
        for row in conn.execute(select(RECS.c.key, RECS.c.id, RECS.c.status))
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    reopened = 0
    seen: set[str] = set()
    for rec in found:
        if rec.key in seen:
            continue  # rules and merge yield one per key; a duplicate would be a bug upstream
        seen.add(rec.key)
        values = _columns(rec)
        known = existing.get(rec.key)
        if known is None:
            inserts.append(
                {
                    **values,
                    "status": str(Status.OPEN),
                    "resolution": None,
                    "first_seen": now,
                    "last_seen": now,
                    "resolved_at": None,
                    "updated_at": now,
                }
            )
            continue
        if known[1] != Status.OPEN:
            reopened += 1
        values.pop("key")
        updates.append(
            {
                **values,
                "_id": known[0],
                "status": str(Status.OPEN),
                "resolution": None,
                "last_seen": now,
                "resolved_at": None,
                "updated_at": now,
            }
        )
    if inserts:
        conn.execute(RECS.insert(), inserts)
    if updates:
        statement = (
            update(RECS)
            .where(RECS.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in updates[0] if name != "_id"})
        )
        conn.execute(statement, updates)
    resolved = _resolve_missing(conn, existing, seen, set(excluded_keys), now)
    return RefreshCounts(len(inserts), len(updates) - reopened, reopened, resolved)


def _resolve_missing(
    conn: Connection,
    existing: dict[str, tuple[int, str]],
    seen: set[str],
    excluded: set[str],
    now: datetime,
) -> int:
    gone = [
        (key, rid)
        for key, (rid, status) in existing.items()
        if status == Status.OPEN and key not in seen
    ]
    for resolution in (Resolution.EXCLUDED, Resolution.BY_ITSELF):
        ids = [rid for key, rid in gone if (key in excluded) == (resolution is Resolution.EXCLUDED)]
        for start in range(0, len(ids), _CHUNK):
            conn.execute(
                update(RECS)
                .where(RECS.c.id.in_(ids[start : start + _CHUNK]))
                .values(
                    status=str(Status.RESOLVED),
                    resolution=str(resolution),
                    resolved_at=now,
                    updated_at=now,
                )
            )
    return len(gone)


def record_refresh(
    conn: Connection,
    *,
    started_at: datetime,
    finished_at: datetime,
    counts: RefreshCounts | None,
    azure_calls: int,
    error: str | None = None,
) -> int:
    counts = counts or RefreshCounts()
    return int(
        conn.execute(
            REFRESHES.insert()
            .values(
                started_at=started_at,
                finished_at=finished_at,
                status="failed" if error else "succeeded",
                opened=counts.opened,
                updated=counts.updated,
                reopened=counts.reopened,
                resolved=counts.resolved,
                azure_calls=azure_calls,
                error=None if error is None else error[:2000],
            )
            .returning(REFRESHES.c.id)
        ).scalar_one()
    )


# -- reading -------------------------------------------------------------------------------------


def open_recommendations(engine: Engine, *, evidence: bool = True) -> list[StoredRecommendation]:
    """Every open recommendation; without `evidence` (a list needs none) the heavy JSON column
    is not read."""
    columns = [c for c in RECS.c if evidence or c.name != "evidence"]
    with read_snapshot(engine) as conn:
        rows = conn.execute(select(*columns).where(RECS.c.status == str(Status.OPEN))).all()
    return [_stored(r) for r in rows]


def all_recommendations(engine: Engine) -> list[StoredRecommendation]:
    with read_snapshot(engine) as conn:
        return [_stored(r) for r in conn.execute(select(RECS).order_by(RECS.c.id)).all()]


def get_recommendation(engine: Engine, rec_id: int) -> StoredRecommendation | None:
    with engine.connect() as conn:
        row = conn.execute(select(RECS).where(RECS.c.id == rec_id)).first()
    return None if row is None else _stored(row)


@dataclass(frozen=True, slots=True)
class RefreshInfo:
    started_at: datetime
    status: str
    error: str | None


def last_refresh(engine: Engine) -> tuple[RefreshInfo | None, RefreshInfo | None]:
    """(the last refresh, the last successful one)."""
    with engine.connect() as conn:
        last = conn.execute(select(REFRESHES).order_by(REFRESHES.c.id.desc()).limit(1)).first()
        ok = conn.execute(
            select(REFRESHES)
            .where(REFRESHES.c.status == "succeeded")
            .order_by(REFRESHES.c.id.desc())
            .limit(1)
        ).first()

    def info(row: Any) -> RefreshInfo | None:
        return None if row is None else RefreshInfo(row.started_at, row.status, row.error)

    return info(last), info(ok)


# -- the catalog cache ---------------------------------------------------------------------------


def save_catalog(conn: Connection, catalog: Catalog, regions: Iterable[str], now: datetime) -> None:
    """Replace the cached SKUs, and the prices of `regions`, with `catalog`'s."""
    fetched = catalog.fetched_at or now
    source = (catalog.source or "azure")[:32]
    names = [s.name for s in catalog.skus]
    for start in range(0, len(names), _CHUNK):
        conn.execute(delete(SKUS).where(SKUS.c.name.in_(names[start : start + _CHUNK])))
    if catalog.skus:
        conn.execute(
            SKUS.insert(),
            [
                {
                    "name": s.name,
                    "family": s.family,
                    "vcpus": s.vcpus,
                    "memory_gb": s.memory_gb,
                    "max_data_disks": s.max_data_disks,
                    "max_nics": s.max_nics,
                    "architecture": s.architecture,
                    "source": source,
                    "fetched_at": fetched,
                }
                for s in catalog.skus
            ],
        )
    lowered = sorted({r.lower() for r in regions})
    if lowered:
        conn.execute(delete(PRICES).where(func.lower(PRICES.c.region).in_(lowered)))
    unique = {(p.sku, p.region.lower(), p.os, p.currency): p for p in catalog.prices}
    if unique:
        conn.execute(
            PRICES.insert(),
            [
                {
                    "sku": p.sku,
                    "region": p.region.lower(),
                    "os": p.os,
                    "currency": p.currency,
                    "hourly": p.hourly,
                    "reservation_1y_total": p.reservation_1y_total,
                    "reservation_3y_total": p.reservation_3y_total,
                    "source": source,
                    "fetched_at": fetched,
                }
                for p in unique.values()
            ],
        )


def cached_catalog(
    engine: Engine, regions: Iterable[str], currency: str, *, max_age: timedelta, now: datetime
) -> Catalog | None:
    """The cached catalog when every region has prices in `currency` fetched within `max_age`;
    None when something must be fetched again."""
    wanted = {r.lower() for r in regions}
    with read_snapshot(engine) as conn:
        prices = conn.execute(select(PRICES).where(PRICES.c.currency == currency)).all()
        skus = conn.execute(select(SKUS)).all()
    fresh = [p for p in prices if now - p.fetched_at <= max_age]
    if not skus or not wanted <= {p.region for p in fresh}:
        return None
    return Catalog(
        skus=tuple(
            SkuSpec(
                s.name, s.family, s.vcpus, s.memory_gb, s.max_data_disks, s.max_nics, s.architecture
            )
            for s in skus
        ),
        prices=tuple(
            SkuPrice(
                p.sku,
                p.region,
                p.os,
                p.currency,
                p.hourly,
                p.reservation_1y_total,
                p.reservation_3y_total,
            )
            for p in fresh
        ),
        fetched_at=min(p.fetched_at for p in fresh),
        source=f"cached {fresh[0].source}",
    )
