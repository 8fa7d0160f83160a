"""`CLOUDOPTIMA_FORECAST_SOURCE`: the composition root and the command line fetch Azure's
forecasts after each ingestion (one call per scope and period end), and budgets use them."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from rich.console import Console
from sqlalchemy import select

from bot.cli import ingest_with_progress
from bot.container import build
from bot.jobs import run_pipeline
from bot.settings import load_settings
from core.budgets.grammar import parse_scope_tokens
from core.budgets.model import BudgetPeriod, NewBudget, Threshold, ThresholdKind
from core.budgets.provider_forecast import load_scope_catalog
from core.budgets.store import create_budget
from core.budgets.tables import Alert
from core.costs.forecasts import stored_forecasts
from core.costs.model import CostType, ForecastProvider
from core.kernel.cards_json import card_from_dict
from core.kernel.errors import ConfigurationError

NOV30, DEC31 = date(2026, 11, 30), date(2026, 12, 31)


def settings(**overrides):
    # One cost type ingested: the amortized budget below is over one that is not.
    values = {
        "demo": True,
        "database_url": "sqlite://",
        "backfill_days": 3,
        "cost_types": "ActualCost",
        "anomaly_cost_type": "ActualCost",
    }
    values.update(overrides)
    return load_settings(**values)


def add_budgets(container) -> None:
    """Budgets over the tenant's scopes: three (scope, period end) pairs need a forecast."""
    tenant = container.tenant
    prod, staging = tenant.subscription("Production"), tenant.subscription("Staging")
    clock = container.clock
    specs = [
        # name, scope filters, period, start, cost type, amount
        ("prod", [f"scope:{prod.scope}"], BudgetPeriod.MONTHLY, date(2026, 11, 1), "1000"),
        ("prod-by-name", ["sub:Production"], BudgetPeriod.MONTHLY, date(2026, 11, 1), "1e7"),
        ("prod-q", [f"scope:{prod.scope}"], BudgetPeriod.QUARTERLY, date(2026, 10, 1), "1e7"),
        ("stg-y", [f"scope:{staging.scope}"], BudgetPeriod.YEARLY, date(2026, 1, 1), "1e7"),
        ("stg-web", [f"scope:{staging.scope}", "rg:rg-stg-web"], BudgetPeriod.MONTHLY,
         date(2026, 11, 1), "1e7"),
    ]  # fmt: skip
    for name, tokens, period, start, amount in specs:
        create_budget(
            container.engine,
            NewBudget(
                name=name,
                amount=Decimal(amount),
                currency="EUR",
                period=period,
                start_date=start,
                cost_type=CostType.ACTUAL,
                scope=parse_scope_tokens(tokens),
                thresholds=(Threshold(100, ThresholdKind.FORECAST),),
                targets=(),
                owner_principal="console:ops",
                owner_name="ops",
            ),
            clock.now(),
        )
    # An amortized budget: that cost type is not ingested here, so it needs nothing.
    create_budget(
        container.engine,
        NewBudget(
            name="prod-amortized",
            amount=Decimal(1),
            currency="EUR",
            period=BudgetPeriod.MONTHLY,
            start_date=date(2026, 11, 1),
            cost_type=CostType.AMORTIZED,
            scope=parse_scope_tokens([f"scope:{prod.scope}"]),
            thresholds=(),
            targets=(),
            owner_principal="console:ops",
            owner_name="ops",
        ),
        clock.now(),
    )


def forecast_keys(container) -> list[tuple[str, date]]:
    """(scope path, period end) of every stored forecast."""
    with container.engine.connect() as conn:
        paths = load_scope_catalog(conn).paths
        return sorted((paths[r.scope_id], r.period_end) for r in stored_forecasts(conn))


def expected_keys(container) -> list[tuple[str, date]]:
    prod = container.tenant.subscription("Production").scope
    staging = container.tenant.subscription("Staging").scope
    return sorted([(prod, NOV30), (prod, DEC31), (staging, DEC31)])


async def test_the_scheduled_ingestion_fetches_one_forecast_per_scope_and_period_end(engine, clock):
    container = build(settings(forecast_source="azure"), engine=engine, clock=clock)
    try:
        add_budgets(container)

        result = await run_pipeline(container)

        assert (len(result.done), result.failed) == (4, [])
        assert container.tenant.forecasts.calls == 3
        assert forecast_keys(container) == expected_keys(container)
        # The evaluation that follows an ingestion uses them: `prod` alerts on Azure's figure.
        summary = result.budgets
        assert summary is not None and summary.alerts_claimed == 1
        with engine.connect() as conn:
            [alert] = conn.execute(select(Alert.__table__)).all()  # type: ignore[attr-defined]
        card = card_from_dict(alert.card)
        assert "Azure Cost Management forecasts that spend will reach" in str(card.blocks)
    finally:
        await container.aclose()


async def test_with_the_data_method_nothing_is_asked_of_azure(sqlite_engine, clock):
    container = build(settings(forecast_source="data"), engine=sqlite_engine, clock=clock)
    try:
        add_budgets(container)
        await run_pipeline(container)
        assert container.tenant.forecasts.calls == 0
        assert forecast_keys(container) == []
    finally:
        await container.aclose()


def test_the_ingest_command_fetches_the_forecasts_after_ingesting(sqlite_engine, clock):
    container = build(settings(forecast_source="azure"), engine=sqlite_engine, clock=clock)
    out = io.StringIO()
    try:
        add_budgets(container)

        result = ingest_with_progress(container, console=Console(file=out, width=120))

        assert (len(result.done), result.failed) == (4, [])
        assert container.tenant.forecasts.calls == 3
        assert forecast_keys(container) == expected_keys(container)
        assert "Azure forecasts: 3 forecast(s) asked, 3 stored, 0 unavailable, 0 failed" in (
            out.getvalue()
        )
    finally:
        container.close()


async def test_a_failed_forecast_fetch_never_fails_the_ingestion(sqlite_engine, clock):
    container = build(
        settings(forecast_source="azure", azure_max_retries=0), engine=sqlite_engine, clock=clock
    )
    try:
        add_budgets(container)
        container.tenant.forecasts.fail(500, times=3)

        result = await run_pipeline(container)

        assert (len(result.done), result.failed) == (4, [])
        assert forecast_keys(container) == []  # every call failed; nothing half-stored
        assert container.tenant.forecasts.calls == 3
    finally:
        await container.aclose()


def test_the_forecast_source_setting_accepts_data_or_azure():
    # The demo's simulated tenant answers the Forecast API: demo mode defaults to it.
    assert settings().forecast_source is ForecastProvider.AZURE
    assert settings(forecast_source="data").forecast_source is ForecastProvider.DATA
    assert load_settings(scopes="8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a").forecast_source is (
        ForecastProvider.DATA
    )
    configs = settings(forecast_source="azure").feature_configs()
    assert configs.budgets.forecast_provider is ForecastProvider.AZURE
    assert configs.costs.forecast_provider is ForecastProvider.AZURE  # one method
    with pytest.raises(ConfigurationError) as caught:
        settings(forecast_source="azur")
    assert "CLOUDOPTIMA_FORECAST_SOURCE" in "\n".join(caught.value.problems)
