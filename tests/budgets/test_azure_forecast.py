"""Budget forecasts from Azure Cost Management (`CLOUDOPTIMA_FORECAST_SOURCE=azure`): which
budgets use them, the figure they make, freshness, and what a failed or empty fetch leaves;
on SQLite and PostgreSQL, with the simulated tenant behind the real SDK client."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from adapters.azure import build_simulated_cost_source, build_simulated_forecast_source
from adapters.azure.forecast_source import forecast_body
from adapters.azure.simulated import SimulatedTenant, drop_column
from adapters.azure.simulated.forecast import parse_forecast
from core.app import FeatureConfigs, create_core
from core.budgets.evaluate import assess, evaluate_budgets
from core.budgets.grammar import parse_scope_tokens
from core.budgets.model import (
    BudgetPeriod,
    BudgetRecord,
    BudgetsConfig,
    BudgetScope,
    NewBudget,
    Threshold,
    ThresholdKind,
)
from core.budgets.provider_forecast import ScopeCatalog, exact_scope, needs_for, refresh_forecasts
from core.budgets.store import create_budget, list_budgets, set_amount
from core.budgets.tables import Alert
from core.costs.forecasts import ForecastNeed, store_forecast, stored_forecasts
from core.costs.ingest import CostIngestor, Window, ensure_scope
from core.costs.model import CostType, ForecastProvider
from core.costs.ports import ForecastFigure
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Context
from core.kernel.cards_json import card_from_dict
from core.kernel.context import Requester
from core.kernel.scopes import parse_scope
from tests.support.cost_rows import SCOPE, put_days

AZURE, DATA = ForecastProvider.AZURE, ForecastProvider.DATA
FORECAST_100 = (Threshold(100, ThresholdKind.FORECAST),)
SLACK = Target(TargetKind.SLACK, "C0BUDGETS")
OCT1, NOV1 = date(2026, 10, 1), date(2026, 11, 1)
NOV30, DEC31 = date(2026, 11, 30), date(2026, 12, 31)
CENT = Decimal("0.01")


def new_budget(engine, clock, name, scope_tokens, *, amount="1000", period=BudgetPeriod.MONTHLY,
               start=NOV1, cost_type=CostType.ACTUAL, currency="EUR"):  # fmt: skip
    return create_budget(
        engine,
        NewBudget(
            name=name,
            amount=Decimal(amount),
            currency=currency,
            period=period,
            start_date=start,
            cost_type=cost_type,
            scope=parse_scope_tokens(scope_tokens),
            thresholds=FORECAST_100,
            targets=(SLACK,),
            owner_principal="slack:UOWNER",
            owner_name="Owen",
        ),
        clock.now(),
    )


async def ingest(engine, clock, tenant, names, start):
    async with build_simulated_cost_source(tenant) as source:
        for name in names:
            scope = parse_scope(tenant.subscription(name).scope)
            await CostIngestor(engine, clock).run(
                source, scope, CostType.ACTUAL, Window(start, clock.today())
            )


async def refresh(engine, clock, tenant, names, **kw):
    ingested = {(tenant.subscription(n).scope, CostType.ACTUAL) for n in names}
    async with build_simulated_forecast_source(tenant, **kw) as source:
        return await refresh_forecasts(engine, clock, source, ingested)


def by_name(engine, clock, provider):
    assessments, _ = assess(engine, clock.today(), list_budgets(engine), provider)
    return {a.budget.name: a for a in assessments if a.current}


def alerts(engine):
    table = Alert.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


def stored(engine):
    with engine.connect() as conn:
        return stored_forecasts(conn)


# -- Azure's figure, and who uses it ---------------------------------------------------------------


async def test_a_budget_over_an_ingested_scope_fires_its_forecast_threshold_from_azures_figure(
    engine, clock
):
    tenant = SimulatedTenant(seed=7, today=clock.today())
    prod = tenant.subscription("Production")
    await ingest(engine, clock, tenant, ["Production"], OCT1)
    # Amounts far above the spend: only the budget placed between the two methods may fire.
    quarter = dict(period=BudgetPeriod.QUARTERLY, start=OCT1, amount="10000000")
    new_budget(engine, clock, "prod", [f"scope:{prod.scope}"], **quarter)
    new_budget(engine, clock, "prod-by-name", ["sub:Production"], **quarter)
    new_budget(engine, clock, "prod-web", [f"scope:{prod.scope}", "rg:rg-prod-web"], **quarter)

    summary = await refresh(engine, clock, tenant, ["Production"])

    # One call for the scope and the quarter's end, whatever the number of budgets.
    assert (summary.calls, summary.stored, tenant.forecasts.calls) == (1, 1, 1)
    [row] = stored(engine)
    asked = forecast_body(CostType.ACTUAL, clock.today() + timedelta(days=1), DEC31)
    azure_rows = tenant.forecast.daily(prod.id, None, parse_forecast(asked, clock.today()))
    assert (row.period_end, row.as_of, row.currency) == (DEC31, clock.today(), "EUR")
    assert row.amount == sum(cost for _d, cost, _s in azure_rows)

    data, azure = by_name(engine, clock, DATA), by_name(engine, clock, AZURE)

    # Azure's figure: our spend through yesterday + today at the weekday run rate (today's
    # costs are still being reported) + Azure's forecast from tomorrow to the quarter's end.
    totals = tenant.daily_totals(subscription_id=prod.id)
    yesterday = clock.today() - timedelta(days=1)
    spent_through_yesterday = sum(v for d, v in totals.items() if OCT1 <= d <= yesterday)
    fridays = [clock.today() - timedelta(days=7 * n) for n in range(1, 5)]  # today is a Friday
    today_at_run_rate = sum(totals[d] for d in fridays) / 4
    expected = (spent_through_yesterday + today_at_run_rate + row.amount).quantize(
        Decimal("0.00000001")
    )
    for name in ("prod", "prod-by-name"):
        assert azure[name].forecast.total == expected
        assert azure[name].forecast.provider is AZURE
        assert azure[name].forecast.method == "Azure Cost Management forecast of 2026-11-27"
        assert azure[name].spent == data[name].spent
    assert data["prod"].forecast.method == "weekday run rate over the last 28 days"
    # The filtered budget is a part of the scope: Azure's scope forecast cannot answer for it.
    assert azure["prod-web"].forecast == data["prod-web"].forecast
    assert azure["prod-web"].forecast.provider is DATA

    # The two methods disagree; put the budget between them.
    data_total, azure_total = data["prod"].forecast.total, azure["prod"].forecast.total
    assert azure_total > data_total * Decimal("1.005")
    budget = next(b for b in list_budgets(engine) if b.name == "prod")
    set_amount(engine, budget, ((data_total + azure_total) / 2).quantize(CENT), clock.now())

    assert evaluate_budgets(engine, clock, forecast_provider=DATA).alerts_claimed == 0
    summary = evaluate_budgets(engine, clock, forecast_provider=AZURE)

    [alert] = [a for a in alerts(engine) if a.budget_id == budget.id]
    assert (alert.kind, alert.threshold, alert.forecast) == ("forecast", 100, azure_total)
    card = card_from_dict(alert.card)
    assert "Azure Cost Management forecasts that spend will reach" in str(card.blocks)
    [context] = [b for b in card.blocks if isinstance(b, Context)]
    assert "forecast: Azure Cost Management forecast of 2026-11-27" in context.text
    assert summary.alerts_claimed == 1


async def test_budget_show_says_which_method_made_the_forecast(engine, clock):
    tenant = SimulatedTenant(seed=7, today=clock.today())
    prod, staging = tenant.subscription("Production"), tenant.subscription("Staging")
    await ingest(engine, clock, tenant, ["Production", "Staging"], NOV1 - timedelta(days=30))
    new_budget(engine, clock, "prod", [f"scope:{prod.scope}"], amount="100000")
    new_budget(engine, clock, "stg-web", [f"scope:{staging.scope}", "rg:rg-stg-web"])
    await refresh(engine, clock, tenant, ["Production", "Staging"])
    asker = Requester("slack", "U1", "Ada", conversation_id="C0FINOPS1")

    def show(name, provider):
        features = FeatureConfigs(budgets=BudgetsConfig(forecast_provider=provider))
        app = create_core(engine, clock, features=features)
        reply = app.handle_text(f"budget show {name}", asker)
        return [b.text for b in reply.card.blocks if isinstance(b, Context)][-1]

    assert "forecast: Azure Cost Management forecast of 2026-11-27" in show("prod", AZURE)
    assert "forecast: weekday run rate over the last 28 days" in show("prod", DATA)
    assert "forecast: weekday run rate over the last 28 days" in show("stg-web", AZURE)


# -- no forecast, a bad one, a throttled one -------------------------------------------------------


async def test_an_empty_forecast_stores_nothing_and_the_data_method_is_used(engine, clock):
    onboarded = clock.today() - timedelta(days=20)
    tenant = SimulatedTenant(seed=7, today=clock.today(), onboarded={"Sandbox": onboarded})
    sandbox = tenant.subscription("Sandbox")
    await ingest(engine, clock, tenant, ["Sandbox"], onboarded)
    new_budget(engine, clock, "sandbox", [f"scope:{sandbox.scope}"])
    # A forecast stored earlier: Azure now has none, so it must not linger.
    scope_id = ensure_scope(engine, parse_scope(sandbox.scope))
    need = ForecastNeed(sandbox.scope, scope_id, CostType.ACTUAL, NOV30)
    store_forecast(engine, need, clock.today(), ForecastFigure(Decimal(1), "EUR", 3), clock.now())

    summary = await refresh(engine, clock, tenant, ["Sandbox"])

    assert (summary.calls, summary.stored, summary.unavailable, summary.failed) == (1, 0, 1, 0)
    assert stored(engine) == []
    azure, data = by_name(engine, clock, AZURE), by_name(engine, clock, DATA)
    assert azure["sandbox"].forecast == data["sandbox"].forecast
    assert azure["sandbox"].forecast.method == "weekday run rate over the last 20 days"


async def test_a_malformed_forecast_stores_nothing_and_names_the_column(engine, clock):
    tenant = SimulatedTenant(seed=7, today=clock.today())
    staging = tenant.subscription("Staging")
    await ingest(engine, clock, tenant, ["Staging"], NOV1)
    new_budget(engine, clock, "stg", [f"scope:{staging.scope}"])
    tenant.forecasts.corrupt(drop_column("CostStatus"))

    summary = await refresh(engine, clock, tenant, ["Staging"])

    assert (summary.calls, summary.stored, summary.failed) == (1, 0, 1)
    assert "no column 'CostStatus'" in summary.errors[0]
    assert stored(engine) == []
    assert by_name(engine, clock, AZURE)["stg"].forecast.provider is DATA


async def test_a_throttled_forecast_is_retried_then_stored(sqlite_engine, clock):
    engine = sqlite_engine
    tenant = SimulatedTenant(seed=7, today=clock.today())
    staging = tenant.subscription("Staging")
    await ingest(engine, clock, tenant, ["Staging"], NOV1)
    new_budget(engine, clock, "stg", [f"scope:{staging.scope}"])
    tenant.forecasts.throttle(times=2)

    summary = await refresh(engine, clock, tenant, ["Staging"], max_retries=2)

    assert (summary.calls, summary.stored, summary.failed) == (1, 1, 0)
    assert tenant.forecasts.calls == 3
    tenant.forecasts.throttle(times=3)
    again = await refresh(engine, clock, tenant, ["Staging"], max_retries=2)
    assert (again.stored, again.failed) == (0, 1)
    assert "throttled" in again.errors[0]
    assert len(stored(engine)) == 1  # the earlier forecast stays (it expires on its own)


# -- the formula and freshness, on round numbers ---------------------------------------------------


def test_a_stored_forecast_is_used_while_fresh_and_in_the_budgets_currency(engine, clock):
    put_days(engine, clock, OCT1, date(2026, 11, 26), "35")  # Nov 27 (today) not reported yet
    new_budget(engine, clock, "all", [f"scope:{SCOPE.path}"], amount="1200")
    new_budget(engine, clock, "usd", [f"scope:{SCOPE.path}"], currency="USD")
    scope_id = ensure_scope(engine, SCOPE)
    need = ForecastNeed(SCOPE.path, scope_id, CostType.ACTUAL, NOV30)
    store_forecast(engine, need, clock.today(), ForecastFigure(Decimal(300), "EUR", 3), clock.now())

    def forecast(name="all"):
        return by_name(engine, clock, AZURE)[name].forecast

    # Spend through Nov 26 + Nov 27 at the run rate + Azure's Nov 28-30.
    assert forecast().total == 26 * 35 + 35 + 300
    assert forecast("usd").provider is DATA  # Azure answered in EUR
    assert evaluate_budgets(engine, clock, forecast_provider=AZURE).alerts_claimed == 1

    clock.current += timedelta(days=1)  # fetched yesterday: still used, Nov 27 at the run rate
    assert forecast().total == 26 * 35 + 35 + 300
    assert forecast().provider is AZURE
    clock.current += timedelta(days=1)  # two days old: the data method
    assert forecast().provider is DATA
    assert forecast().total == 26 * 35 + 4 * 35


def test_an_unfiltered_budget_uses_azure_only_while_one_scope_is_ingested(engine, clock):
    put_days(engine, clock, OCT1, date(2026, 11, 26), "35")
    new_budget(engine, clock, "everything", [])
    need = ForecastNeed(SCOPE.path, ensure_scope(engine, SCOPE), CostType.ACTUAL, NOV30)
    store_forecast(engine, need, clock.today(), ForecastFigure(Decimal(300), "EUR", 3), clock.now())
    assert by_name(engine, clock, AZURE)["everything"].forecast.provider is AZURE

    other = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000002")
    put_days(engine, clock, NOV1, date(2026, 11, 26), "5", scope=other,
             subscription_id="00000000-0000-0000-0000-000000000002")  # fmt: skip

    assert by_name(engine, clock, AZURE)["everything"].forecast.provider is DATA


# -- which budgets count a scope exactly, and what to fetch (pure) ---------------------------------

SUB_A, SUB_B, SUB_C = "aaaa", "bbbb", "cccc"
CATALOG = ScopeCatalog(
    ids={f"/subscriptions/{SUB_A}": 1, f"/subscriptions/{SUB_B}": 2, "/providers/mg/x": 3},
    homes={SUB_A: frozenset({1}), SUB_B: frozenset({2}), SUB_C: frozenset({3})},
    by_name={"prod": frozenset({SUB_A}), "dup": frozenset({SUB_A, SUB_B}), "c": frozenset({SUB_C})},
)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (BudgetScope(scope_path=f"/subscriptions/{SUB_A}"), 1),
        (BudgetScope(scope_path="/providers/mg/x"), 3),
        (BudgetScope(scope_path="/subscriptions/not-ingested"), None),
        (BudgetScope(scope_path=f"/subscriptions/{SUB_A}", resource_group="rg-web"), None),
        (BudgetScope(scope_path=f"/subscriptions/{SUB_A}", tags=(("env", "prod"),)), None),
        (BudgetScope(subscription="prod"), 1),
        (BudgetScope(subscription=SUB_B), 2),
        (BudgetScope(subscription="dup"), None),  # two subscriptions share the name
        (BudgetScope(subscription="c"), None),  # ingested through a management group only
        (BudgetScope(subscription="prod", service="storage"), None),
        (BudgetScope(), None),  # three scopes ingested
    ],
)
def test_only_a_budget_counting_exactly_one_ingested_scope_gets_it(scope, expected):
    assert exact_scope(scope, CATALOG) == expected


def test_an_unfiltered_budget_counts_the_scope_when_it_is_the_only_one():
    single = ScopeCatalog({f"/subscriptions/{SUB_A}": 1}, {SUB_A: frozenset({1})}, {})
    assert exact_scope(BudgetScope(), single) == 1


def test_needs_are_one_per_scope_cost_type_and_period_end_never_one_per_budget(clock):
    def record(n, scope, period=BudgetPeriod.MONTHLY, start=NOV1, cost_type=CostType.ACTUAL):
        return BudgetRecord(
            id=n,
            name=f"b{n}",
            amount=Decimal(1),
            currency="EUR",
            period=period,
            start_date=start,
            cost_type=cost_type,
            scope=scope,
            thresholds=FORECAST_100,
            targets=(),
            owner_principal="x",
            owner_name="x",
        )

    a = BudgetScope(scope_path=f"/subscriptions/{SUB_A}")
    budgets = [
        record(1, a),
        record(2, BudgetScope(subscription="prod")),  # the same scope and month end
        record(3, a, BudgetPeriod.QUARTERLY, OCT1),
        record(4, a, BudgetPeriod.YEARLY, date(2026, 1, 1)),  # ends Dec 31 too
        record(5, BudgetScope(scope_path=f"/subscriptions/{SUB_B}")),
        record(6, BudgetScope(scope_path=f"/subscriptions/{SUB_B}", resource_group="rg")),
        record(7, a, cost_type=CostType.AMORTIZED),  # that cost type was not ingested
        record(8, a, start=date(2027, 1, 1)),  # not started
    ]
    ingested = {
        (f"/subscriptions/{SUB_A}", CostType.ACTUAL),
        (f"/subscriptions/{SUB_B}", CostType.ACTUAL),
    }

    needs = needs_for(budgets, CATALOG, clock.today(), ingested)

    assert [(n.scope_id, n.period_end) for n in needs] == [(1, NOV30), (1, DEC31), (2, NOV30)]
    # On a period's last day nothing is left to forecast.
    assert needs_for(budgets[:1], CATALOG, NOV30, ingested) == []


class FakeSilentForecastSource:
    """A forecast source that must not be asked."""

    async def forecast(self, *args):
        raise AssertionError("no budget needs a forecast")


async def test_a_refresh_prunes_forecasts_of_ended_periods(sqlite_engine, clock):
    scope_id = ensure_scope(sqlite_engine, SCOPE)
    old = ForecastNeed(SCOPE.path, scope_id, CostType.ACTUAL, date(2026, 10, 31))
    store_forecast(sqlite_engine, old, date(2026, 10, 20), ForecastFigure(Decimal(1), "EUR", 11),
                   datetime(2026, 10, 20, tzinfo=UTC))  # fmt: skip

    summary = await refresh_forecasts(sqlite_engine, clock, FakeSilentForecastSource(), set())

    assert summary.calls == 0
    assert stored(sqlite_engine) == []
