"""Budget evaluation: spend and forecast per budget, thresholds crossed, alerts claimed once.

`evaluate_budgets(engine, clock)` is what the composition root calls after each ingestion and on a
schedule. One pass:

1. takes every budget (cached in the process, reloaded when the budget set changed) and works out
   each one's current period (and the previous one during its grace days, see
   `core.budgets.periods.GRACE_DAYS`);
2. reads the cost rows summed per cost group and bucket (`core.budgets.spend`: a query per month
   before the forecast history and one for the days, whatever the number of budgets), sums the
   groups of each budget's scope, and computes spend to date and the forecast; budgets sharing a
   scope and period share the arithmetic (with `ForecastProvider.AZURE`, budgets over exactly one
   ingested scope take Azure's stored forecast instead, see `core.budgets.provider_forecast`);
3. drops thresholds already claimed (one indexed read), builds a card for each new alert that will
   be sent (the highest threshold of its kind crossed: crossing 50% and 80% at once sends one
   message) with the top contributors (from the same per-group sums, no query);
4. claims the alerts with `INSERT … ON CONFLICT (budget_id, period_start, threshold, kind) DO
   NOTHING RETURNING id` and, in the same transaction, puts one outbox message per target
   (`enqueue_many`, key `alert:<alert id>:<target>`). The unique key decides the
   winner under any concurrency; a message exists if and only if its alert committed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from core.budgets.assessment import Assessment
from core.budgets.model import OUTBOX_SOURCE, BudgetPeriod, BudgetRecord, ThresholdKind
from core.budgets.presenters import Contributors, alert_card
from core.budgets.provider_forecast import ProviderForecasts
from core.budgets.spend import (
    DataRange,
    Shape,
    Span,
    SpendRequest,
    SpendSnapshot,
    last_complete_day,
    load_spend,
    shape_of,
)
from core.budgets.store import BudgetCache, budget_cache_for, chunks, load_budgets
from core.budgets.tables import Alert, Budget
from core.budgets.windows import GRACE_DAYS, BudgetWindow, previous_window, window_containing
from core.costs.forecasting import (
    Forecast,
    forecast,
    history_range,
    series_figures,
)
from core.costs.model import CostType, ForecastProvider
from core.delivery.outbox import NewMessage, enqueue_many
from core.delivery.targets import Target
from core.kernel.cards import Card
from core.kernel.cards_json import card_to_dict
from core.kernel.clock import Clock
from core.kernel.db.engine import is_sqlite, write_transaction
from core.kernel.db.upsert import insert_for, insert_many
from core.kernel.money import from_storage_units

log = logging.getLogger(__name__)

ALERTS = Alert.__table__  # type: ignore[attr-defined]
BUDGETS = Budget.__table__  # type: ignore[attr-defined]
CLAIM_KEY = ("budget_id", "period_start", "threshold", "kind")
_CLAIMS_PER_TRANSACTION = 500
_OUTBOX_KEY_MAX = 255


def budget_windows(budget: BudgetRecord, today: date) -> list[tuple[BudgetWindow, bool]]:
    """The current window, plus the previous one while it is within its grace days."""
    current = window_containing(budget.start_date, budget.period, today)
    if current is None:
        return []
    windows = [(current, True)]
    previous = previous_window(current, budget.period)
    if previous.start >= budget.start_date and (today - previous.end).days <= GRACE_DAYS:
        windows.append((previous, False))
    return windows


Windows = list[tuple[BudgetWindow, bool]]


def _windows_by_budget(budgets: list[BudgetRecord], today: date) -> dict[int, Windows]:
    """Each budget's windows; budgets with the same start and period share the computation."""
    memo: dict[tuple[date, BudgetPeriod], Windows] = {}
    windows: dict[int, Windows] = {}
    for b in budgets:
        found = memo.get((b.start_date, b.period))
        if found is None:
            found = memo[b.start_date, b.period] = budget_windows(b, today)
        windows[b.id] = found
    return windows


@dataclass(slots=True)
class _SpendPlan:
    """What a pass reads: one spend request per (cost type, shape), from the earliest day any
    budget of that shape needs (its windows, and the forecast history)."""

    budgets: list[BudgetRecord]
    windows: dict[int, Windows]
    today: date
    histories: dict[CostType, tuple[date, date] | None] = field(default_factory=dict)
    last_complete: dict[CostType, date] = field(default_factory=dict)

    def requests(
        self, scope_ids: dict[str, int], ranges: dict[CostType, DataRange]
    ) -> list[SpendRequest]:
        for cost_type, data in ranges.items():
            self.last_complete[cost_type] = last_complete_day(self.today, data)
            self.histories[cost_type] = history_range(self.last_complete[cost_type], data.first_day)
        requests: dict[tuple[CostType, Shape], SpendRequest] = {}
        for budget in self.budgets:
            if not self.windows[budget.id]:
                continue
            starts = [w.start for w, _ in self.windows[budget.id]]
            history = self.histories[budget.cost_type]
            if history is not None:
                starts.append(history[0])
            shape = shape_of(budget.scope)
            request = requests.get((budget.cost_type, shape))
            if request is None:
                request = requests[budget.cost_type, shape] = SpendRequest(
                    budget.cost_type, shape, min(starts)
                )
            request.start = min(request.start, *starts)
        return list(requests.values())

    def history_start(self, cost_type: CostType) -> date | None:
        history = self.histories.get(cost_type)
        return history[0] if history else None


def assess(
    engine: Engine,
    today: date,
    budgets: list[BudgetRecord],
    forecast_provider: ForecastProvider = ForecastProvider.DATA,
) -> tuple[list[Assessment], SpendSnapshot]:
    """Spend to date and forecast for each budget window, and the snapshot they come from.

    With `ForecastProvider.AZURE`, current windows of budgets over exactly one ingested scope
    take the stored Azure forecast when a fresh one exists (`core.budgets.provider_forecast`).
    """
    plan = _SpendPlan(budgets, _windows_by_budget(budgets, today), today)
    snapshot = load_spend(engine, plan.requests, today, history_start=plan.history_start)
    provided: ProviderForecasts | None = None
    if forecast_provider == ForecastProvider.AZURE:
        with engine.connect() as conn:
            provided = ProviderForecasts.load(conn, today)
    memo: dict[tuple[Any, ...], tuple[Decimal, Forecast]] = {}
    out: list[Assessment] = []
    for budget in budgets:
        if plan.windows[budget.id]:
            out.extend(_assess_budget(budget, plan, snapshot, provided, memo))
    return out, snapshot


def _assess_budget(
    budget: BudgetRecord,
    plan: _SpendPlan,
    snapshot: SpendSnapshot,
    provided: ProviderForecasts | None,
    memo: dict[tuple[Any, ...], tuple[Decimal, Forecast]],
) -> list[Assessment]:
    """One budget's assessments (current window, and the previous one in its grace days)."""
    today = plan.today
    budget_keys = snapshot.keys(budget.scope, budget.currency)
    shape = shape_of(budget.scope)
    series = snapshot.series(budget.cost_type, shape, budget_keys)
    buckets = snapshot.buckets.get(budget.cost_type)
    firsts = buckets.firsts if buckets else ()
    done = plan.last_complete.get(budget.cost_type, today)
    boundary = buckets.boundary if buckets else date.min
    out = []
    for window, is_current in plan.windows[budget.id]:
        # Budgets sharing a scope and window share their figures.
        memo_key = (budget.cost_type, shape, tuple(budget_keys), window)
        figured = memo.get(memo_key)
        if figured is None:
            history = plan.histories.get(budget.cost_type)
            figures = series_figures(series, firsts, window, today, done, history)
            projected = forecast(figures, window, done)
            if provided is not None and is_current:
                projected = (
                    provided.apply(budget, window, series, firsts, figures, done, projected)
                    or projected
                )
            figured = memo[memo_key] = (from_storage_units(figures.to_date), projected)
        out.append(
            Assessment(
                budget=budget,
                window=window,
                current=is_current,
                today=today,
                last_complete=done,
                spent=figured[0],
                forecast=figured[1],
                series=series,
                firsts=firsts,
                boundary=boundary,
            )
        )
    return out


# -- top contributors ----------------------------------------------------------------------------


def top_contributors(
    snapshot: SpendSnapshot,
    assessments: list[Assessment],
    limit: int = 3,
) -> dict[tuple[int, date], Contributors]:
    """Top resource groups and services behind each assessment's spend in its window.

    Read from the units per group the pass already holds (resource group and service are group
    attributes), so alerts cost no extra query.
    """
    by_id = snapshot.groups.by_id
    span_units: dict[tuple[CostType, Span], dict[int, int]] = defaultdict(dict)
    out: dict[tuple[int, date], Contributors] = {}
    for a in assessments:
        cost_type = a.budget.cost_type
        buckets = snapshot.buckets.get(cost_type)
        if buckets is None:
            continue
        span = (a.window.start, min(a.window.end, snapshot.today))
        within = span_units[cost_type, span]
        indices: slice | None = None
        vectors = snapshot.vectors[cost_type]
        by_rg: dict[str, int] = defaultdict(int)
        by_service: dict[str, int] = defaultdict(int)
        shape = shape_of(a.budget.scope)
        for key in snapshot.keys(a.budget.scope, a.budget.currency):
            for group_id in snapshot.members(cost_type, shape, key):
                units = within.get(group_id)
                if units is None:
                    if indices is None:
                        indices = buckets.within(span)
                    vector = vectors[group_id]
                    units = within[group_id] = sum(vector[indices])
                group = by_id[group_id]
                by_rg[group.resource_group or "(none)"] += units
                by_service[group.service_name or "(none)"] += units
        out[a.budget.id, a.window.start] = Contributors(
            resource_groups=_top(by_rg, limit), services=_top(by_service, limit)
        )
    return out


def _top(totals: dict[str, int], limit: int) -> tuple[tuple[str, Decimal], ...]:
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return tuple((label, from_storage_units(units)) for label, units in ranked if units)


# -- claims --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertPlan:
    """An alert to claim; `card` and `targets` matter only when `notify` is set."""

    budget_id: int
    period_start: date
    period_end: date
    threshold: int
    kind: ThresholdKind
    amount: Decimal
    currency: str
    spent: Decimal
    forecast: Decimal | None
    notify: bool
    card: Card | None
    targets: tuple[Target, ...]

    @property
    def claim_key(self) -> tuple[int, date, int, str]:
        return (self.budget_id, self.period_start, self.threshold, str(self.kind))


@dataclass(frozen=True, slots=True)
class ClaimedAlert:
    alert_id: int
    plan: AlertPlan
    messages: int


def ack_value(budget_id: int, period_start: date, threshold: int, kind: ThresholdKind) -> str:
    """The Acknowledge button's value: the alert's natural key (known before it is claimed)."""
    return f"{budget_id}:{period_start.isoformat()}:{threshold}:{kind}"


def outbox_key(alert_id: int, target: Target) -> str:
    """`alert:<id>:<target>`; a target too long for the key column is named by its hash."""
    key = f"alert:{alert_id}:{target}"
    if len(key) <= _OUTBOX_KEY_MAX:
        return key
    digest = hashlib.sha256(target.address.encode()).hexdigest()[:40]
    return f"alert:{alert_id}:{target.kind}:sha256:{digest}"


def _live_budget_ids(conn: Connection, ids: set[int]) -> set[int]:
    """Budgets still there; on PostgreSQL locked against deletion until the claim commits."""
    live: set[int] = set()
    for chunk in chunks(sorted(ids)):
        query = select(BUDGETS.c.id).where(BUDGETS.c.id.in_(chunk))
        if not is_sqlite(conn):
            query = query.with_for_update(key_share=True)
        live.update(int(i) for i in conn.execute(query).scalars())
    return live


def claim_alerts(engine: Engine, plans: list[AlertPlan], now: datetime) -> list[ClaimedAlert]:
    """Claim each alert once and enqueue its messages in the same transaction.

    Rows are inserted in key order (no deadlock between concurrent claimers on PostgreSQL);
    SQLite serializes the transactions with BEGIN IMMEDIATE. Plans whose budget was deleted
    meanwhile are skipped.
    """
    ordered = sorted(plans, key=lambda p: p.claim_key)
    claimed: list[ClaimedAlert] = []
    for batch in chunks(ordered, _CLAIMS_PER_TRANSACTION):
        with write_transaction(engine) as conn:
            live = _live_budget_ids(conn, {p.budget_id for p in batch})
            by_key = {p.claim_key: p for p in batch if p.budget_id in live}
            cards = {
                p.claim_key: card_to_dict(p.card)
                for p in by_key.values()
                if p.notify and p.card is not None
            }
            rows = [
                {
                    "budget_id": p.budget_id,
                    "period_start": p.period_start,
                    "period_end": p.period_end,
                    "threshold": p.threshold,
                    "kind": str(p.kind),
                    "amount": p.amount,
                    "currency": p.currency,
                    "spent": p.spent,
                    "forecast": p.forecast,
                    "notified": p.notify,
                    "card": cards.get(p.claim_key),
                    "created_at": now,
                }
                for p in by_key.values()
            ]
            claim = (
                insert_for(engine, ALERTS)
                .on_conflict_do_nothing(index_elements=list(CLAIM_KEY))
                .returning(
                    ALERTS.c.id,
                    ALERTS.c.budget_id,
                    ALERTS.c.period_start,
                    ALERTS.c.threshold,
                    ALERTS.c.kind,
                )
            )
            won = [
                (int(alert_id), by_key[int(budget_id), period_start, int(threshold), str(kind)])
                for alert_id, budget_id, period_start, threshold, kind in insert_many(
                    conn, claim, rows
                )
            ]
            messages = [
                NewMessage(
                    key=outbox_key(alert_id, target),
                    target=target,
                    card=cards[plan.claim_key],
                    source=OUTBOX_SOURCE,
                    source_id=str(alert_id),
                )
                for alert_id, plan in won
                if plan.claim_key in cards
                for target in plan.targets
            ]
            added = enqueue_many(conn, messages, now)
            per_alert: dict[str, int] = defaultdict(int)
            for message in messages:
                if message.key in added:
                    per_alert[message.source_id] += 1
            claimed.extend(
                ClaimedAlert(alert_id, plan, per_alert[str(alert_id)]) for alert_id, plan in won
            )
    return claimed


def existing_claims(
    engine: Engine, period_starts: Collection[date]
) -> set[tuple[int, date, int, str]]:
    """Alerts already claimed for these period starts (an optimization; the claim decides)."""
    out: set[tuple[int, date, int, str]] = set()
    if not period_starts:
        return out
    c = ALERTS.c
    with engine.connect() as conn:
        for chunk in chunks(sorted(period_starts)):
            query = select(c.budget_id, c.period_start, c.threshold, c.kind).where(
                c.period_start.in_(chunk)
            )
            out.update((int(b), p, int(t), str(k)) for b, p, t, k in conn.execute(query))
    return out


# -- the pass ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    budgets: int
    #: Budget periods evaluated (a budget in its previous period's grace days counts twice).
    windows: int
    #: Thresholds at or above their percentage, already alerted or not.
    thresholds_crossed: int
    #: Alerts this pass tried to claim (not yet claimed when it looked); at most one pass wins each.
    alerts_attempted: int
    alerts_claimed: int
    alerts_notified: int
    messages_enqueued: int
    shape_queries: int
    days_loaded: int
    seconds: float
    #: Seconds per phase: budgets, spend (queries and cache), assess, contributors, cards, claims.
    phases: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"{self.budgets} budget(s), {self.windows} period(s): {self.thresholds_crossed} "
            f"threshold(s) crossed, {self.alerts_claimed} new alert(s), "
            f"{self.messages_enqueued} message(s) queued in {self.seconds:.2f} s "
            f"({self.shape_queries} grouped queries, {self.days_loaded} day(s) loaded)"
        )


def plan_alerts(
    assessments: list[Assessment], already: set[tuple[int, date, int, str]]
) -> tuple[list[tuple[Assessment, int, ThresholdKind, bool]], int]:
    """New alerts to claim, each marked whether it is the one to send; and the crossed count.

    Only the highest threshold crossed per (budget window, kind) is sent; lower ones crossed at
    the same time are claimed silently so they never fire later in the period.
    """
    out: list[tuple[Assessment, int, ThresholdKind, bool]] = []
    crossed_count = 0
    for a in assessments:
        crossed = a.crossed()
        crossed_count += len(crossed)
        highest: dict[ThresholdKind, int] = {}
        for percent, kind in crossed:
            highest[kind] = max(highest.get(kind, 0), percent)
        for percent, kind in crossed:
            if (a.budget.id, a.window.start, percent, str(kind)) in already:
                continue
            out.append((a, percent, kind, percent == highest[kind]))
    return out, crossed_count


def evaluate_budgets(
    engine: Engine,
    clock: Clock,
    *,
    budget_ids: Collection[int] | None = None,
    cache: BudgetCache | None = None,
    forecast_provider: ForecastProvider = ForecastProvider.DATA,
) -> EvaluationSummary:
    """Evaluate every budget (or those in `budget_ids`) and claim the alerts due; never raises
    for one bad budget (it is logged and skipped). `forecast_provider` as in `assess`."""
    laps = _Laps()
    now = clock.now()
    today = now.date()
    cache = cache or budget_cache_for(engine)
    with engine.connect() as conn:
        budgets = cache.all(conn) if budget_ids is None else load_budgets(conn, budget_ids)
    laps.lap("budgets")
    assessments, snapshot = assess(engine, today, budgets, forecast_provider)
    laps.lap("spend_and_forecast")
    stats = snapshot.stats
    already = existing_claims(engine, {a.window.start for a in assessments})
    new, crossed_count = plan_alerts(assessments, already)
    to_send = [a for a, _percent, _kind, notify in new if notify]
    laps.lap("thresholds")
    contributors = top_contributors(snapshot, to_send) if to_send else {}
    laps.lap("contributors")
    plans = _alert_plans(new, contributors)
    laps.lap("cards")
    claimed = claim_alerts(engine, plans, now) if plans else []
    laps.lap("claims")
    summary = EvaluationSummary(
        budgets=len(budgets),
        windows=len(assessments),
        thresholds_crossed=crossed_count,
        alerts_attempted=len(plans),
        alerts_claimed=len(claimed),
        alerts_notified=sum(1 for c in claimed if c.plan.notify),
        messages_enqueued=sum(c.messages for c in claimed),
        shape_queries=stats.shape_queries,
        days_loaded=stats.days_loaded,
        seconds=time.perf_counter() - laps.started,
        phases=laps.phases,
    )
    log.info("budget evaluation: %s", summary.describe())
    return summary


@dataclass(slots=True)
class _Laps:
    """Seconds per phase of a pass (the benchmark prints them)."""

    started: float = field(default_factory=time.perf_counter)
    phases: dict[str, float] = field(default_factory=dict)
    _mark: float = 0.0

    def lap(self, name: str) -> None:
        current = time.perf_counter()
        self.phases[name] = round(current - (self._mark or self.started), 4)
        self._mark = current


def _alert_plans(
    new: list[tuple[Assessment, int, ThresholdKind, bool]],
    contributors: dict[tuple[int, date], Contributors],
) -> list[AlertPlan]:
    """What to claim for each newly crossed threshold, with the card of those that notify."""
    plans: list[AlertPlan] = []
    for a, percent, kind, notify in new:
        card: Card | None = None
        if notify:
            try:
                card = alert_card(
                    a,
                    percent,
                    kind,
                    contributors.get((a.budget.id, a.window.start)),
                    ack_value(a.budget.id, a.window.start, percent, kind),
                )
            except Exception:
                log.exception("could not build the alert card of budget %s", a.budget.id)
                continue
        plans.append(
            AlertPlan(
                budget_id=a.budget.id,
                period_start=a.window.start,
                period_end=a.window.end,
                threshold=percent,
                kind=kind,
                amount=a.budget.amount,
                currency=a.budget.currency,
                spent=a.spent,
                forecast=a.forecast.total,
                notify=notify,
                card=card,
                targets=a.budget.targets,
            )
        )
    return plans
