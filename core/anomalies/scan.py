"""The scoring pass: every series scored on its final days, incidents claimed once, messages
queued (a first post, then updates of it).

`scan_anomalies(engine, clock, config)` runs after each ingestion and on a schedule:

1. loads every series in one snapshot (`core.anomalies.series`) and the feedback (`tunings`);
2. scores each series' last `lookback_days` final days (plus a week before, for the detector's
   hysteresis) — a day Azure restated is simply scored again — and groups anomalous days into
   runs;
3. reconciles the runs with the stored incidents of those days: a run overlapping (or touching) a
   stored incident of the same direction is that incident (figures updated, `revision` + 1); a
   run without one is a new incident; a stored incident whose days were all re-scored and are no
   longer anomalous is withdrawn;
4. claims new incidents with `INSERT … ON CONFLICT (series, cost type, first day) DO NOTHING
   RETURNING id` and changes with `UPDATE … WHERE revision = <read>`; in the same transaction it
   queues one message per matching route: the first post (`anomaly:<id>:<target>`) or, once that
   exists, an update of it (`…:r<revision>`, `updates_key` = the first post's key). Whoever wins
   a claim queues its messages; every other replica queues nothing.

Subscription-level incidents whose impact is mostly explained by a service-level incident of the
same days are stored (and listed) but not posted: one spike, one message.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from core.anomalies.detect import (
    REBASELINE_DAYS,
    WINDOW_DAYS,
    DayScore,
    Direction,
    Run,
    median_units,
    runs,
    score_series,
)
from core.anomalies.model import (
    CHART_DAYS,
    OUTBOX_SOURCE,
    AnomaliesConfig,
    Status,
    last_final_day,
)
from core.anomalies.presenters import Driver, incident_card
from core.anomalies.series import SeriesKey, SeriesSnapshot, has_rows, load_series
from core.anomalies.store import (
    INCIDENTS,
    Incident,
    Tuning,
    incident_from_row,
    load_routes,
    recent_incidents,
    tunings,
)
from core.costs.model import CostType
from core.delivery.outbox import NewMessage, enqueue_many
from core.delivery.tables import OutboxMessage
from core.delivery.targets import Target
from core.kernel.cards import Chart, ChartBand, ChartPoint
from core.kernel.cards_json import card_to_dict
from core.kernel.clock import Clock
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for
from core.kernel.money import from_storage_units

log = logging.getLogger(__name__)

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
#: Days scored before the look-back, so that hysteresis knows the day before.
WARM_UP_DAYS = 7
TOP_DRIVERS = 3
_KEY_MAX = 255
#: A subscription incident is not posted when service incidents explain this share of it.
COVERED_SHARE = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Figures:
    """What an incident says, from its run (amounts in currency units)."""

    first_day: date
    last_day: date
    days: int
    direction: Direction
    impact: Decimal
    actual: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    peak_score: float
    peak_deviation: Decimal
    status: Status

    def values(self) -> dict[str, Any]:
        return {
            "last_day": self.last_day,
            "days": self.days,
            "direction": str(self.direction),
            "impact": self.impact,
            "actual": self.actual,
            "expected": self.expected,
            "low": self.low,
            "high": self.high,
            "peak_score": self.peak_score,
            "peak_deviation": self.peak_deviation,
            "status": str(self.status),
        }


def figures_of(run: Run, snapshot: SeriesSnapshot, last_index: int) -> Figures:
    last = run.days[-1]
    peak = max(run.days, key=lambda d: abs(d.deviation))
    money = from_storage_units
    return Figures(
        first_day=snapshot.day(run.first),
        last_day=snapshot.day(run.last),
        days=len(run.days),
        direction=run.direction,
        impact=money(run.impact),
        actual=money(last.actual),
        expected=money(last.expected),
        low=money(last.low),
        high=money(last.high),
        peak_score=round(max(abs(d.score) for d in run.days), 2),
        peak_deviation=money(abs(peak.deviation)),
        status=Status.OPEN if run.last == last_index else Status.CLOSED,
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """A new incident (`incident` None) or a change of a stored one."""

    key: SeriesKey
    figures: Figures
    run: Run | None
    incident: Incident | None = None


def reconcile(
    key: SeriesKey,
    found: Sequence[Run],
    stored: Sequence[Incident],
    snapshot: SeriesSnapshot,
    first_scored: date,
    last_index: int,
) -> list[Plan]:
    """What to write for one series (see the module docstring, step 3)."""
    plans: list[Plan] = []
    matched: set[int] = set()
    for run in found:
        figures = figures_of(run, snapshot, last_index)
        same = next(
            (
                i
                for i in stored
                if i.direction is run.direction
                and i.first_day <= figures.last_day
                and i.last_day >= figures.first_day - timedelta(days=1)
            ),
            None,
        )
        if same is None:
            plans.append(Plan(key, figures, run))
            continue
        matched.add(same.id)
        if same.status in (Status.EXPECTED, Status.TOO_SMALL):
            continue  # feedback settled it: its figures and message stay as they were
        figures = replace(figures, first_day=same.first_day)
        if _changed(same, figures):
            plans.append(Plan(key, figures, run, same))
    for incident in stored:
        if (
            incident.id not in matched
            and incident.status in (Status.OPEN, Status.CLOSED)
            and incident.first_day >= first_scored
        ):
            withdrawn = _figures_from(incident, Status.WITHDRAWN)
            plans.append(Plan(key, withdrawn, None, incident))
    return plans


def _changed(incident: Incident, figures: Figures) -> bool:
    return (
        incident.last_day,
        incident.days,
        incident.impact,
        incident.actual,
        incident.expected,
        incident.status,
    ) != (
        figures.last_day,
        figures.days,
        figures.impact,
        figures.actual,
        figures.expected,
        figures.status,
    )


def _figures_from(incident: Incident, status: Status) -> Figures:
    return Figures(
        incident.first_day,
        incident.last_day,
        incident.days,
        incident.direction,
        incident.impact,
        incident.actual,
        incident.expected,
        incident.low,
        incident.high,
        incident.peak_score,
        incident.peak_deviation,
        status,
    )


# -- the card's chart and drivers ---------------------------------------------------------------


def chart_of(
    snapshot: SeriesSnapshot, key: SeriesKey, run: Run, scores: Sequence[DayScore], title: str
) -> Chart:
    """The series over the `CHART_DAYS` days up to the run's last day, with the band."""
    values = snapshot.values[key]
    first = max(run.last - CHART_DAYS + 1, snapshot.starts[key], 0)
    money = from_storage_units
    points = tuple(
        ChartPoint(snapshot.day(i), money(values[i])) for i in range(first, run.last + 1)
    )
    band = tuple(
        ChartBand(snapshot.day(s.index), money(s.low), money(s.high))
        for s in scores
        if first <= s.index <= run.last
    )
    return Chart(title, points, key.currency, band)


def drivers_of(snapshot: SeriesSnapshot, key: SeriesKey, run: Run) -> list[Driver]:
    """The groups (resource × meter) whose change from their own same-weekday median explains
    the run, largest first, in the run's direction."""
    changes: list[tuple[int, int]] = []
    for group_id in snapshot.members[key]:
        vector = snapshot.group_values[group_id]
        change = 0
        for day in run.days:
            t = day.index
            before = [vector[t - 7 * k] for k in range(1, 5) if t - 7 * k >= 0]
            change += vector[t] - (median_units(before) if before else 0)
        changes.append((group_id, change))
    sign = 1 if run.direction is Direction.SPIKE else -1
    ranked = sorted((c for c in changes if c[1] * sign > 0), key=lambda c: -abs(c[1]))
    impact = run.impact or 1
    out = []
    for group_id, change in ranked[:TOP_DRIVERS]:
        group = snapshot.groups.by_id[group_id]
        resource = group.resource_id.rsplit("/", 1)[-1] or "(no resource)"
        out.append(
            Driver(
                resource,
                group.meter_category or "(none)",
                from_storage_units(change),
                Decimal(round(100 * change / impact)),
            )
        )
    return out


# -- the pass --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanSummary:
    cost_type: CostType
    last_final_day: date | None
    series: int
    scored_days: int
    new_incidents: int
    updated_incidents: int
    withdrawn: int
    messages: int
    seconds: float
    note: str = ""
    #: Seconds per phase: load, score, write.
    phases: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        text = (
            f"{self.series} series, {self.scored_days} day(s) scored on {self.cost_type} "
            f"(final through {self.last_final_day}): {self.new_incidents} new incident(s), "
            f"{self.updated_incidents} updated, {self.withdrawn} withdrawn, {self.messages} "
            f"message(s) queued in {self.seconds:.2f} s"
        )
        return f"{text}; {self.note}" if self.note else text


def choose_cost_type(engine: Engine, wanted: CostType) -> tuple[CostType, str]:
    """`wanted`, or the other cost type when only that one is stored (with a note saying so)."""
    if has_rows(engine, wanted):
        return wanted, ""
    other = CostType.ACTUAL if wanted is CostType.AMORTIZED else CostType.AMORTIZED
    if has_rows(engine, other):
        return other, f"no {wanted} ingested, scored {other} instead"
    return wanted, ""


def scan_anomalies(engine: Engine, clock: Clock, config: AnomaliesConfig) -> ScanSummary:
    """Score every series and claim, update or withdraw incidents (see the module docstring)."""
    started = time.perf_counter()
    now = clock.now()
    cost_type, note = choose_cost_type(engine, config.cost_type)
    last = last_final_day(now, config)
    first_scored = last - timedelta(days=config.lookback_days - 1)
    warm_up = first_scored - timedelta(days=WARM_UP_DAYS)
    load_first = warm_up - timedelta(days=CHART_DAYS + WINDOW_DAYS + REBASELINE_DAYS)
    snapshot = load_series(engine, cost_type, load_first, last)
    with engine.connect() as conn:
        tuned = tunings(conn, cost_type)
        stored = recent_incidents(conn, cost_type, warm_up - timedelta(days=1))
    loaded = time.perf_counter()
    plans, charts, scored = _plan_all(snapshot, tuned, stored, config, first_scored, last)
    scoring = time.perf_counter()
    covered = _covered_subscription_plans(plans)
    written = write_plans(engine, snapshot, cost_type, plans, charts, covered, now)
    done = time.perf_counter()
    summary = ScanSummary(
        cost_type=cost_type,
        last_final_day=last,
        series=len(snapshot.values),
        scored_days=scored,
        new_incidents=written.new,
        updated_incidents=written.updated,
        withdrawn=written.withdrawn,
        messages=written.messages,
        seconds=done - started,
        note=note,
        phases={
            "load": round(loaded - started, 4),
            "score": round(scoring - loaded, 4),
            "write": round(done - scoring, 4),
        },
    )
    log.info("anomaly scan: %s", summary.describe())
    return summary


def _plan_all(
    snapshot: SeriesSnapshot,
    tuned: dict[str, Tuning],
    stored: Sequence[Incident],
    config: AnomaliesConfig,
    first_scored: date,
    last: date,
) -> tuple[list[Plan], dict[tuple[str, date], tuple[Chart, list[Driver]]], int]:
    """Score every series' window and reconcile it: the plans, their cards' charts and
    drivers, and how many final days were scored."""
    warm_up = first_scored - timedelta(days=WARM_UP_DAYS)
    by_series: dict[str, list[Incident]] = defaultdict(list)
    for incident in stored:
        by_series[incident.series_key].append(incident)
    plans: list[Plan] = []
    scored = 0
    charts: dict[tuple[str, date], tuple[Chart, list[Driver]]] = {}
    last_index = snapshot.index(last)
    for key, values in snapshot.values.items():
        tuning = tuned.get(key.key, Tuning()).for_series(snapshot.first)
        start = snapshot.starts[key]
        window = score_series(
            values,
            start=start,
            first_scored=snapshot.index(warm_up),
            config=config.detector,
            tuning=tuning,
        )
        scored += sum(1 for s in window if s.index >= snapshot.index(first_scored))
        found = [r for r in runs(window) if r.last >= snapshot.index(first_scored)]
        series_plans = reconcile(
            key, found, by_series.get(key.key, ()), snapshot, first_scored, last_index
        )
        for plan in series_plans:
            if plan.run is not None:  # the card's chart: the band over 60 days
                history = score_series(
                    values[: plan.run.last + 1],
                    start=start,
                    first_scored=plan.run.last - CHART_DAYS + 1,
                    config=config.detector,
                    tuning=tuning,
                )
                charts[key.key, plan.figures.first_day] = (
                    chart_of(snapshot, key, plan.run, history, f"Daily cost, {CHART_DAYS} days"),
                    drivers_of(snapshot, key, plan.run),
                )
        plans += series_plans
    return plans, charts, scored


def _covered_subscription_plans(plans: Sequence[Plan]) -> set[tuple[str, date]]:
    """Subscription-level plans whose impact service-level plans of overlapping days explain."""
    by_subscription: dict[tuple[int, str, Direction], list[Plan]] = defaultdict(list)
    for plan in plans:
        if not plan.key.is_subscription:
            by_subscription[
                plan.key.scope_id, plan.key.subscription_id, plan.figures.direction
            ].append(plan)
    covered: set[tuple[str, date]] = set()
    for plan in plans:
        if not plan.key.is_subscription:
            continue
        f = plan.figures
        parts = by_subscription.get((plan.key.scope_id, plan.key.subscription_id, f.direction), [])
        explained = sum(
            (
                p.figures.impact
                for p in parts
                if p.figures.first_day <= f.last_day and p.figures.last_day >= f.first_day
            ),
            Decimal(0),
        )
        if f.impact and explained / f.impact >= COVERED_SHARE:
            covered.add((plan.key.key, f.first_day))
    return covered


# -- writing ------------------------------------------------------------------------------------


@dataclass
class Written:
    new: int = 0
    updated: int = 0
    withdrawn: int = 0
    messages: int = 0


def outbox_key(incident_id: int, target: Target) -> str:
    """`anomaly:<id>:<target>` (a target too long for the key column is named by its hash)."""
    key = f"{OUTBOX_SOURCE}:{incident_id}:{target}"
    if len(key) <= _KEY_MAX - 12:  # room for an update's `:r<revision>`
        return key
    digest = hashlib.sha256(target.address.encode()).hexdigest()[:40]
    return f"{OUTBOX_SOURCE}:{incident_id}:{target.kind}:sha256:{digest}"


def write_plans(
    engine: Engine,
    snapshot: SeriesSnapshot,
    cost_type: CostType,
    plans: Sequence[Plan],
    charts: dict[tuple[str, date], tuple[Chart, list[Driver]]],
    covered: set[tuple[str, date]],
    now: datetime,
) -> Written:
    """Claim and change incidents, and queue their messages, in one transaction."""
    written = Written()
    if not plans:
        return written
    with write_transaction(engine) as conn:
        routes = load_routes(conn)
        for plan in sorted(plans, key=lambda p: (p.key.key, p.figures.first_day)):
            incident = (
                _claim(conn, snapshot, cost_type, plan, now)
                if plan.incident is None
                else _change(conn, plan, now)
            )
            if incident is None:
                continue  # another pass won the claim
            if plan.incident is None:
                written.new += 1
            elif plan.figures.status is Status.WITHDRAWN:
                written.withdrawn += 1
            else:
                written.updated += 1
            chart, drivers = charts.get((plan.key.key, incident.first_day), (None, []))
            view = incident_card(incident, chart, drivers, _note(incident))
            card = card_to_dict(view)
            conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident.id).values(card=card))
            if not incident.notifies and incident.status is not Status.WITHDRAWN:
                continue
            if (plan.key.key, incident.first_day) in covered:
                continue
            targets = [r.target for r in routes if r.matches(incident)]
            written.messages += _queue(conn, incident, card, targets, now)
    return written


def _note(incident: Incident) -> str:
    if incident.status is Status.WITHDRAWN:
        return "Azure restated these days: they are no longer anomalous."
    return ""


def _claim(
    conn: Connection,
    snapshot: SeriesSnapshot,
    cost_type: CostType,
    plan: Plan,
    now: datetime,
) -> Incident | None:
    key = plan.key
    statement = (
        insert_for(conn, INCIDENTS)
        .values(
            series_key=key.key,
            cost_type=str(cost_type),
            first_day=plan.figures.first_day,
            scope_id=key.scope_id,
            subscription_id=key.subscription_id,
            subscription_name=snapshot.subscription_names.get(key.subscription_id, ""),
            service_name=key.service_name,
            resource_group=key.resource_group,
            currency=key.currency,
            acknowledged_by=None,
            acknowledged_name=None,
            acknowledged_at=None,
            card=None,
            revision=1,
            created_at=now,
            updated_at=now,
            **plan.figures.values(),
        )
        .on_conflict_do_nothing(index_elements=["series_key", "cost_type", "first_day"])
        .returning(*INCIDENTS.c)
    )
    row = conn.execute(statement).first()
    return None if row is None else incident_from_row(row)


def _change(conn: Connection, plan: Plan, now: datetime) -> Incident | None:
    """The changed incident, if this pass changed it first (the revision decides)."""
    assert plan.incident is not None
    row = conn.execute(
        update(INCIDENTS)
        .where(
            INCIDENTS.c.id == plan.incident.id,
            INCIDENTS.c.revision == plan.incident.revision,
        )
        .values(revision=INCIDENTS.c.revision + 1, updated_at=now, **plan.figures.values())
        .returning(*INCIDENTS.c)
    ).first()
    return None if row is None else incident_from_row(row)


def _queue(
    conn: Connection, incident: Incident, card: dict[str, Any], targets: list[Target], now: datetime
) -> int:
    """The first post to each target not posted to yet; an update of it to the others."""
    if not targets:
        return 0
    firsts = {outbox_key(incident.id, t): t for t in targets}
    posted = {
        key
        for (key,) in conn.execute(
            select(OUTBOX.c.idempotency_key).where(OUTBOX.c.idempotency_key.in_(list(firsts)))
        )
    }
    if incident.status is Status.WITHDRAWN:
        firsts = {k: t for k, t in firsts.items() if k in posted}  # nothing to withdraw elsewhere
    messages = [
        NewMessage(
            key=f"{key}:r{incident.revision}" if key in posted else key,
            target=target,
            card=card,
            source=OUTBOX_SOURCE,
            source_id=str(incident.id),
            updates_key=key if key in posted else None,
        )
        for key, target in firsts.items()
    ]
    return len(enqueue_many(conn, messages, now))
