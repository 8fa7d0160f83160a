"""What a digest says, figure by figure, against the stored data: spend against the period
before, top movers and the resources behind them, budgets' projections, open anomalies, the top
recommendations with their decision buttons, realized savings when wired, freshness, chart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.anomalies.model import Status
from core.budgets.evaluate import assess
from core.budgets.store import list_budgets
from core.costs.model import CostType
from core.digests.model import DigestsConfig, RealizedSaving, RecDecision
from core.digests.run import DigestRunner
from core.kernel.cards import Actions, Chart
from core.kernel.clock import FixedClock
from core.kernel.db.engine import write_transaction
from core.kernel.money import format_money
from core.recommendations.actions import RecsAction
from core.recommendations.model import Action, Category, Evidence, Recommendation, Saving
from core.recommendations.store import apply_findings, open_recommendations
from tests.anomalies.support import FIRST, normal_cost, put_costs, scan
from tests.digests.support import ALICE, card_of, core_with_digests, digest_messages, text_of

TODAY = date(2026, 11, 27)  # a Friday; data through the 26th
SPIKE = date(2026, 11, 24)  # the last final day on the 27th: its incident is open
CONFIG = DigestsConfig(cost_type=CostType.AMORTIZED)


def web(day: date) -> Decimal:
    return normal_cost(day, 1000, "web") * (3 if day == SPIKE else 1)


def data(day: date) -> Decimal:
    return normal_cost(day, 400, "data")


def total(first: date, last: date, series=(web, data)) -> Decimal:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return sum((f(d) for d in days for f in series), Decimal(0))


def rec(name: str, saving: str, rg: str = "rg-web") -> Recommendation:
    return Recommendation(
        rule="idle-vm",
        category=Category.COMPUTE,
        action=Action.DEALLOCATE,
        resource_id=f"/subscriptions/s1/resourcegroups/{rg}/providers/microsoft.compute/vm/{name}",
        resource_name=name,
        title=f"Deallocate idle VM {name}",
        saving=Saving(Decimal(saving), "EUR", f"€{saving}/mo"),
        evidence=Evidence(),
        subscription_id="s1",
        resource_group=rg,
    )


@pytest.fixture
def store(engine):
    clock = FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {SPIKE: 3})
    scan(engine, clock)
    with write_transaction(engine) as conn:
        apply_findings(
            conn,
            [rec("vm-a", "50.00"), rec("vm-b", "120.00"), rec("vm-c", "80.00", "rg-data")],
            clock.now(),
        )
    return clock


def digest_for(engine, clock, text: str, config: DigestsConfig = CONFIG):
    app = core_with_digests(engine, clock, config)
    clock.current = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    app.handle_text(text, ALICE)
    app.handle_text("budget create web 40000 monthly rg:rg-web amortized", ALICE)
    clock.current = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    summary = DigestRunner(engine, clock, config).tick()
    assert summary.delivered == 1, summary.describe()
    [message] = digest_messages(engine)
    return card_of(message)


def money(amount: Decimal) -> str:
    return format_money(amount, "EUR")


def test_spend_figures_equal_the_stored_days(engine, store):
    view = digest_for(engine, store, "digest daily 09:00 UTC")
    text = text_of(view)

    yesterday = total(date(2026, 11, 26), date(2026, 11, 26))
    day_before = total(date(2026, 11, 25), date(2026, 11, 25))
    assert f"Yesterday: {money(yesterday)}" in text
    assert f"against {money(day_before)}" in text
    week = total(date(2026, 11, 23), date(2026, 11, 26))  # Monday to Thursday
    week_before = total(date(2026, 11, 16), date(2026, 11, 19))
    assert f"Week to date: {money(week)}" in text and f"against {money(week_before)}" in text
    month = total(date(2026, 11, 1), date(2026, 11, 26))
    month_before = total(date(2026, 10, 1), date(2026, 10, 26))
    assert f"Month to date: {money(month)}" in text and f"against {money(month_before)}" in text
    assert Decimal(view.data["spend"]["Month to date"]) == month
    assert "Data: costs through 2026-11-26" in text


def test_top_movers_name_the_group_and_the_resources_behind_it(engine, store):
    text = text_of(digest_for(engine, store, "digest daily 09:00 UTC"))

    grew = total(date(2026, 11, 20), date(2026, 11, 26), (web,)) - total(
        date(2026, 11, 13), date(2026, 11, 19), (web,)
    )
    [row] = [line for line in text.splitlines() if line.startswith("rg-web (resource group)")]
    assert f"+{money(grew)}" in row
    assert "Virtual Machines-0" in row  # the resource behind the move
    assert "Top movers, 2026-11-20 – 2026-11-26 against 2026-11-13 – 2026-11-19" in text


def test_budgets_in_scope_show_what_budgets_assess(engine, store):
    view = digest_for(engine, store, "digest daily 09:00 UTC")
    [assessment] = [a for a in assess(engine, TODAY, list_budgets(engine))[0] if a.current]
    [row] = [line for line in text_of(view).splitlines() if line.startswith("web |")]
    assert money(assessment.spent) in row
    assert assessment.spent == total(date(2026, 11, 1), date(2026, 11, 26), (web,))
    assert assessment.forecast.total is not None and money(assessment.forecast.total) in row


def test_a_budget_outside_the_digests_scope_is_left_out(engine, store):
    text = text_of(digest_for(engine, store, "digest daily 09:00 UTC rg:rg-data"))
    assert "web |" not in text and "Budgets in scope" not in text


def test_open_incidents_and_top_recommendations_with_their_decision_buttons(engine, store):
    view = digest_for(engine, store, "digest daily 09:00 UTC")
    text = text_of(view)

    assert "Open anomalies:" in text and "Virtual Machines in rg-web" in text
    assert "since 2026-11-24" in text
    stored = {s.recommendation.resource_name: s for s in open_recommendations(engine)}
    order = [name for name in ("vm-b", "vm-c", "vm-a") if f"— {name}:" in text]
    assert order == ["vm-b", "vm-c", "vm-a"]
    assert text.index("— vm-b:") < text.index("— vm-c:") < text.index("— vm-a:")
    assert "€120.00/mo" in text
    buttons = [b for block in view.blocks if isinstance(block, Actions) for b in block.buttons]
    b_id = stored["vm-b"].id
    version = "0"  # no decision reader wired: every open recommendation is undecided
    assert [(b.label, b.action_id, b.value) for b in buttons[:3]] == [
        ("Approve", RecsAction.APPROVE, f"{b_id}:{version}"),
        ("Dismiss", RecsAction.DISMISS, f"{b_id}:{version}"),
        ("Snooze", RecsAction.SNOOZE, f"{b_id}:{version}"),
    ]


def test_recommendations_follow_the_scope(engine, store):
    text = text_of(digest_for(engine, store, "digest daily 09:00 UTC rg:rg-data"))
    assert "— vm-c:" in text and "vm-a" not in text and "vm-b" not in text
    assert "Open anomalies: none." in text  # the incident is in rg-web


def test_decided_recommendations_are_left_out_and_buttons_carry_the_decisions_version(
    engine, store
):
    ids = {s.recommendation.resource_name: s.id for s in open_recommendations(engine)}

    def decisions(engine, rec_ids):
        assert sorted(rec_ids) == sorted(ids.values())
        return {ids["vm-b"]: RecDecision(3, open=False), ids["vm-c"]: RecDecision(2)}

    view = digest_for(
        engine, store, "digest daily 09:00 UTC", replace(CONFIG, rec_decisions=decisions)
    )
    text = text_of(view)
    assert "vm-b" not in text and "2 of 2 open" in text
    buttons = [b for block in view.blocks if isinstance(block, Actions) for b in block.buttons]
    assert [b.value for b in buttons] == [f"{ids['vm-c']}:2"] * 3 + [f"{ids['vm-a']}:0"] * 3


def test_realized_savings_show_when_a_reader_is_wired(engine, store):
    asked = []

    def realized(engine, filters):
        asked.append(tuple(f.describe() for f in filters))
        return [RealizedSaving("EUR", Decimal("75.50"), 2)]

    view = digest_for(
        engine,
        store,
        "digest daily 09:00 UTC rg:rg-web",
        replace(CONFIG, realized_savings=realized),
    )
    assert "Realized savings to date: €75.50/mo from 2 decisions" in text_of(view)
    assert asked == [("rg:rg-web",)]


def test_without_a_reader_there_is_no_realized_savings_section(engine, store):
    assert "Realized savings" not in text_of(digest_for(engine, store, "digest daily 09:00 UTC"))


def test_the_trend_chart_is_the_last_30_days_with_the_30_before(engine, store):
    view = digest_for(engine, store, "digest daily 09:00 UTC")
    [chart] = [b for b in view.blocks if isinstance(b, Chart)]
    assert [p.day for p in chart.points] == [
        date(2026, 10, 28) + timedelta(days=n) for n in range(30)
    ]
    assert [p.value for p in chart.points] == [total(p.day, p.day) for p in chart.points]
    assert chart.series and len(chart.series[0].points) == 30
    assert chart.unit == "EUR"


def test_incident_is_open_in_the_anomalies_store(engine, store):
    from core.anomalies.store import list_incidents

    assert any(
        i.status is Status.OPEN and i.resource_group == "rg-web"
        for i in list_incidents(engine, SPIKE, SPIKE)
    )
