"""One forecast method per deployment, whatever the entry point: `cloudoptima demo`,
`chat --demo`, `ingest --demo` and `serve` (CLOUDOPTIMA_DEMO=true) read it from the same
settings, and budgets and cost answers use it alike."""

from __future__ import annotations

import asyncio

import pytest

from bot import cli
from bot.container import build
from bot.jobs import run_pipeline
from core.kernel.cards import Facts
from core.kernel.context import Requester
from core.kernel.db.migrate import upgrade

CONSOLE = Requester("console", "ops", "ops")
BUDGET = "budget create production 55000 sub:Production thresholds 50,80,100 forecast"


@pytest.fixture
def demo_database(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("CLOUDOPTIMA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("CLOUDOPTIMA_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("CLOUDOPTIMA_BACKFILL_DAYS", "40")
    monkeypatch.setenv("CLOUDOPTIMA_COST_TYPES", "ActualCost")


def forecast_of(core, command: str) -> str:
    reply = core.handle_text(command, CONSOLE)
    assert not reply.failed, reply.card.summary
    facts = {f.label: f.value for b in reply.card.blocks if isinstance(b, Facts) for f in b.facts}
    [value] = [v for label, v in facts.items() if label.startswith("Forecast to")]
    return value


def test_the_same_budget_shows_one_forecast_whichever_way_it_is_opened(
    demo_database, monkeypatch, clock
):
    # `cloudoptima demo` / `chat --demo` / `ingest --demo`: demo mode asked for on the command.
    demo = build(cli.settings_or_exit(demo=True), clock=clock)
    upgrade(demo.engine)
    asyncio.run(run_pipeline(demo))
    demo.core.handle_text(BUDGET, CONSOLE)
    asyncio.run(run_pipeline(demo))  # the next ingestion fetches the forecast the budget needs

    # `cloudoptima serve` in demo mode: demo mode from the environment.
    monkeypatch.setenv("CLOUDOPTIMA_DEMO", "true")
    serve = build(cli.settings_or_exit(), clock=clock)

    shown = {
        "demo, chat --demo, ingest --demo": forecast_of(demo.core, "budget show production"),
        "serve": forecast_of(serve.core, "budget show production"),
    }
    assert len(set(shown.values())) == 1, shown
    assert demo.settings.forecast_source == serve.settings.forecast_source == "azure"
    with demo.engine.connect() as conn:
        from core.costs.forecasts import stored_forecasts

        assert stored_forecasts(conn), "the Forecast API was asked"

    # And the cost answer over the same costs projects the month the same way.
    month = forecast_of(serve.core, "costs this month sub:Production")
    budget = shown["serve"]
    assert month.split(" ")[0] == budget.split(" ")[0], (month, budget)
    assert "Azure Cost Management forecast" in month
    demo.close()
    serve.close()
