"""Budgets and targets that can fire: scopes checked against the stored costs, `sub:` prefixes,
targets the deployment can deliver to, thresholds assessed at once, alerts that say what became
of them — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from rich.console import Console
from sqlalchemy import select

from adapters.console.chat import ConsoleChat
from core.app import FeatureConfigs, create_core
from core.budgets.model import BudgetsConfig
from core.budgets.store import find_budget, list_budgets
from core.delivery.conversations import ConversationRecord, save_reference
from core.delivery.tables import ConversationScope, OutboxMessage
from core.delivery.targets import TargetKind
from core.kernel.cards import Severity
from core.kernel.context import CoreConfig, Requester
from tests.budgets.test_commands import text_of
from tests.support.cost_rows import SCOPE, put_days

ALICE = Requester("slack", "UALICE", "Alice", conversation_id="C0TEAMWEB", workspace_id="T1")
TESS = Requester("teams", "aad-7", "Tess", conversation_id="19:costs@thread.tacv2")
CONSOLE = Requester("console", "ops", "ops")
SUB_ID = SCOPE.path.split("/")[-1]  # 00000000-0000-0000-0000-000000000001, "Production"


def make_app(engine, clock, **budgets):
    put_days(engine, clock, date(2026, 10, 1), date(2026, 11, 26), "30")
    config = FeatureConfigs(budgets=BudgetsConfig(**budgets))
    return create_core(engine, clock, CoreConfig(admins=frozenset({"slack:UADMIN"})), config)


@pytest.fixture
def app(engine, clock):
    return make_app(engine, clock)


def outbox(engine) -> list:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


def test_a_scope_matching_no_cost_is_created_with_a_warning_naming_the_closest(app, engine):
    reply = app.handle_text("budget create web 1000 rg:rg-O", ALICE)
    body = text_of(reply)
    assert reply.card.severity is Severity.WARNING
    assert "No stored cost has rg:rg-o: this budget counts nothing and cannot fire." in body
    assert "Did you mean " in body and "`rg:rg-0`" in body
    assert find_budget(engine, "web").scope.resource_group == "rg-o"  # created all the same
    assert "`rg:rg-0`" in text_of(app.handle_text("budget show web", ALICE))


def test_filters_that_each_match_but_never_together_are_warned_about(app):
    reply = app.handle_text("budget create web 1000 rg:rg-0 service:storage", ALICE)
    assert "No stored cost matches all of rg:rg-0, service:storage together" in text_of(reply)


def test_a_scope_that_matches_is_created_without_a_warning(app):
    reply = app.handle_text("budget create web 1000 rg:RG-0 tag:env=prod", ALICE)
    assert reply.card.severity is Severity.SUCCESS
    assert "No stored cost" not in text_of(reply)


@pytest.mark.parametrize("typed", ["prod", "PRODUCTION", "00000000-0000", SUB_ID.upper()])
def test_sub_takes_an_id_prefix_or_a_unique_name_prefix(app, engine, typed):
    reply = app.handle_text(f"budget create p 1000 sub:{typed}", ALICE)
    assert reply.card.severity is Severity.SUCCESS, text_of(reply)
    stored = find_budget(engine, "p").scope.subscription
    assert stored in ("production", SUB_ID)
    assert "€390.00" not in text_of(reply)  # all rgs: 26 days × €30 = €780
    assert "Spent so far: €780.00" in text_of(reply)


def test_a_target_whose_channel_is_not_configured_is_refused_with_the_setting(engine, clock):
    app = make_app(
        engine,
        clock,
        unconfigured_targets={
            TargetKind.EMAIL: "CLOUDOPTIMA_SMTP_HOST and CLOUDOPTIMA_SMTP_FROM",
            TargetKind.WEBHOOK: "CLOUDOPTIMA_WEBHOOK_SIGNING_SECRET",
        },
    )
    refused = app.handle_text("budget create web 1000 notify email:fin@example.com", ALICE)
    assert refused.failed
    assert "E-mail alerts are not configured in this deployment" in text_of(refused)
    assert "CLOUDOPTIMA_SMTP_HOST and CLOUDOPTIMA_SMTP_FROM" in text_of(refused)
    assert list_budgets(engine) == []

    app.handle_text("budget create web 1000", ALICE)
    admin = Requester("slack", "UADMIN", "admin", "C1")
    again = app.handle_text("budget set web targets add webhook:https://hooks.example.com/x", admin)
    assert "CLOUDOPTIMA_WEBHOOK_SIGNING_SECRET" in text_of(again)
    assert [t.kind for t in find_budget(engine, "web").targets] == [TargetKind.SLACK]


def test_a_conversation_on_an_unconfigured_platform_is_not_made_a_target(engine, clock):
    app = make_app(
        engine, clock, unconfigured_targets={TargetKind.SLACK: "CLOUDOPTIMA_SLACK_BOT_TOKEN"}
    )
    reply = app.handle_text("budget create web 1000", ALICE)
    assert find_budget(engine, "web").targets == ()
    assert "This conversation is not notified: slack alerts are not configured" in text_of(reply)


def test_a_crossed_threshold_is_queued_at_create_not_reported_as_not_reached(app, engine):
    reply = app.handle_text("budget create web 1000 rg:rg-0 thresholds 30,80", ALICE)
    body = text_of(reply)
    assert "30% actual | crossed 2026-11-27 — alert queued" in body
    assert "80% actual | not reached (at 39.0%)" in body
    [message] = outbox(engine)  # no evaluation pass ran: the create assessed it
    assert message.target_address == "C0TEAMWEB"


def test_a_budget_nobody_hears_says_so_in_show_and_alerts(app, engine):
    reply = app.handle_text("budget create web 500 thresholds 50,100", CONSOLE)
    body = text_of(reply)
    assert "100% actual | crossed 2026-11-27 — nobody to notify (no targets)" in body
    assert "50% actual | crossed — with the 100% alert: nobody to notify (no targets)" in body
    assert outbox(engine) == []
    alerts = text_of(app.handle_text("alerts", CONSOLE))
    assert "web | 100% actual | €780.00 (156.0%) | not sent: no targets" in alerts
    assert "web | 50% actual | €780.00 (156.0%) | with the 100% alert: not sent: no targets" in (
        alerts
    )
    assert " sent |" not in alerts and "| sent" not in alerts


def test_lowering_the_amount_assesses_at_once(app, engine):
    app.handle_text("budget create web 10000 thresholds 50", ALICE)
    assert outbox(engine) == []
    reply = app.handle_text("budget set web amount 1000", ALICE)
    assert "50% actual | crossed 2026-11-27 — alert queued" in text_of(reply)
    assert len(outbox(engine)) == 1


def test_a_forecast_alert_shows_the_forecast_that_triggered_it(app):
    # €780 spent by Nov 26, €30 a day to Nov 30: forecast €900 ≥ 100% of €850, spend 91.8%.
    app.handle_text("budget create web 850 thresholds 95 forecast", ALICE)
    alerts = text_of(app.handle_text("alerts", ALICE))
    assert "web | 100% forecast | forecast €900.00 (105.9%), spent €780.00 (91.8%)" in alerts


def test_a_teams_target_is_named_after_its_conversation(app, engine, clock):
    save_reference(
        engine,
        ConversationRecord(
            platform="teams",
            conversation_id=TESS.conversation_id,
            service_url="https://smba.trafficmanager.net/emea/",
            tenant_id="tenant",
            scope=ConversationScope.CHANNEL,
            reference={"conversation": {"id": TESS.conversation_id, "name": "costs in FinOps"}},
        ),
        clock.now(),
    )
    reply = app.handle_text("budget create web 10000", TESS)
    assert "Notifies: Teams: costs in FinOps" in text_of(reply)


def test_an_alert_is_acknowledged_from_the_terminal(app, engine, clock):
    app.handle_text("budget create web 500 thresholds 80", ALICE)  # queued for Slack
    console = Console(record=True, width=120, color_system=None)
    lines = iter(["y"])
    chat = ConsoleChat(app, console=console, requester=CONSOLE, read_line=lambda _: next(lines))
    listed = chat.ask("alerts")
    assert "[1]" in console.export_text()
    acked = chat.ask("1")
    assert acked is not None and acked.replace_original
    assert "ops 11-27 09:30" in text_of(acked)  # the list again, now acknowledged
    again = text_of(app.handle_text("alerts", ALICE))
    assert "| ops 11-27 09:30" in again
    assert listed.card.title == "Recent budget alerts"


def test_an_acknowledged_alert_offers_no_button_any_more(app):
    app.handle_text("budget create web 500 thresholds 80", ALICE)
    chat = ConsoleChat(app, console=Console(record=True, width=120), requester=CONSOLE)
    chat.ask("alerts")
    acked = chat.ask("1")
    assert acked is not None and "note" not in acked.extra
    table = next(b for b in acked.card.blocks if hasattr(b, "row_actions"))
    assert table.row_actions == (None,)


def test_the_burn_chart_has_the_budget_line_and_the_forecast_to_the_period_end(app):
    from core.kernel.cards import Chart, ChartTick
    from core.kernel.charts import tick_of

    app.handle_text("budget create web 1000 rg:rg-0", ALICE)
    shown = app.handle_text("budget show web", ALICE)
    [chart] = [b for b in shown.card.blocks if isinstance(b, Chart)]
    assert [(line.name, line.value) for line in chart.lines] == [("budget", 1000)]
    [forecast] = chart.series
    start, end = forecast.points  # a straight line …
    assert start == chart.points[-1]  # … from today's spend …
    assert (end.day, end.value) == (date(2026, 11, 30), 450)  # … to the forecast at the end
    assert chart.until == date(2026, 11, 30)
    assert tick_of(chart) is ChartTick.DAY  # a month: one tick per day
