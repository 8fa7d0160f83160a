"""Both cost types are ingested by default (configurable): `amortized` answers out of the box,
and a purchase in ActualCost is labelled, not mistaken for a spike."""

from __future__ import annotations

import pytest

from bot.container import build
from bot.jobs import run_pipeline
from bot.settings import load_settings
from core.costs.model import CostType
from core.kernel.cards import Table
from core.kernel.context import Requester

CONSOLE = Requester("console", "ops", "ops")


def settings(**overrides):
    values = {"demo": True, "database_url": "sqlite://", "backfill_days": 90}
    values.update(overrides)
    return load_settings(**values)


def table_of(reply) -> Table:
    return next(b for b in reply.card.blocks if isinstance(b, Table))


async def test_both_cost_types_are_ingested_and_answer(sqlite_engine, clock):
    container = build(settings(), engine=sqlite_engine, clock=clock)
    try:
        result = await run_pipeline(container)
        kinds = sorted({run.cost_type for run in result.done})
        assert kinds == [CostType.ACTUAL, CostType.AMORTIZED] and result.failed == []
        assert len(result.done) == 2 * len(container.scopes())

        core = container.core
        amortized = core.handle_text("costs 90d amortized by charge-type", CONSOLE)
        assert "No amortized costs" not in amortized.card.summary
        assert {row[0] for row in table_of(amortized).rows} == {"Usage"}  # spread, not bought
        actual = core.handle_text("costs 90d by charge-type", CONSOLE)
        assert {row[0] for row in table_of(actual).rows} == {"Usage", "Purchase (purchase)"}
        assert "of up-front purchases" in str(actual.card.blocks)
    finally:
        await container.aclose()


async def test_the_cost_types_ingested_are_configurable(sqlite_engine, clock):
    container = build(settings(cost_types="ActualCost"), engine=sqlite_engine, clock=clock)
    try:
        result = await run_pipeline(container)
        assert {run.cost_type for run in result.done} == {CostType.ACTUAL}
        answer = container.core.handle_text("costs 30d amortized", CONSOLE)
        assert "No amortized costs recorded" in answer.card.summary
    finally:
        await container.aclose()


def test_the_default_cost_type_must_be_ingested():
    from core.kernel.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="COST_TYPE: ActualCost is not in"):
        settings(cost_types="AmortizedCost")
    assert settings(cost_types="AmortizedCost", cost_type="AmortizedCost").cost_types == [
        CostType.AMORTIZED
    ]


def test_anomalies_score_the_cost_type_that_is_ingested():
    from core.kernel.errors import ConfigurationError

    assert settings().anomaly_cost_type is CostType.AMORTIZED
    assert settings(cost_types="ActualCost").anomaly_cost_type is CostType.ACTUAL
    with pytest.raises(ConfigurationError, match="ANOMALY_COST_TYPE: AmortizedCost is not in"):
        settings(cost_types="ActualCost", anomaly_cost_type="AmortizedCost")
