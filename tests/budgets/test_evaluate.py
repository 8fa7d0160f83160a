"""Budget evaluation on SQLite and PostgreSQL: spend, forecast, exactly-once alerts, outbox rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.budgets.evaluate import ack_value, assess, evaluate_budgets
from core.budgets.grammar import parse_scope_tokens
from core.budgets.model import BudgetPeriod, BudgetScope, NewBudget, Threshold, ThresholdKind
from core.budgets.store import BudgetCache, create_budget, delete_budget, list_budgets, set_amount
from core.budgets.tables import Alert
from core.costs.model import CostType
from core.delivery.tables import OutboxMessage, OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Actions, Chart, Table
from core.kernel.cards_json import card_from_dict
from core.kernel.scopes import parse_scope
from tests.support.cost_rows import put_day, put_days

ACTUAL, FORECAST = ThresholdKind.ACTUAL, ThresholdKind.FORECAST
SLACK = Target(TargetKind.SLACK, "C0BUDGETS")
EMAIL = Target(TargetKind.EMAIL, "finops@example.com")
NOV1 = date(2026, 11, 1)


def make_budget(
    engine,
    clock,
    name: str = "web",
    amount: str = "1000",
    thresholds=((80, ACTUAL),),
    targets=(SLACK, EMAIL),
    scope: BudgetScope | None = None,
    period: BudgetPeriod = BudgetPeriod.MONTHLY,
    start: date = NOV1,
):
    return create_budget(
        engine,
        NewBudget(
            name=name,
            amount=Decimal(amount),
            currency="EUR",
            period=period,
            start_date=start,
            cost_type=CostType.ACTUAL,
            scope=scope or BudgetScope(),
            thresholds=tuple(Threshold(p, k) for p, k in thresholds),
            targets=tuple(targets),
            owner_principal="slack:UOWNER",
            owner_name="Owen",
        ),
        clock.now(),
    )


def count(engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar()


def alerts(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(Alert.__table__).order_by(Alert.__table__.c.id)  # type: ignore[attr-defined]
        ).all()


def outbox(engine) -> list:
    with engine.connect() as conn:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        return conn.execute(select(table).order_by(table.c.id)).all()


def test_spend_79_81_79_81_percent_raises_exactly_one_alert(engine, clock):
    budget = make_budget(engine, clock)
    claimed = []
    for spend in ("790", "810", "790", "810"):
        # Restated in place, at the same clock time: the day's updated_at does not move.
        put_day(engine, clock, date(2026, 11, 10), spend)
        claimed.append(evaluate_budgets(engine, clock).alerts_claimed)

    assert claimed == [0, 1, 0, 0]
    [alert] = alerts(engine)
    assert (alert.budget_id, alert.period_start, alert.threshold, alert.kind) == (
        budget.id,
        NOV1,
        80,
        "actual",
    )
    assert alert.spent == Decimal("810") and alert.notified
    messages = outbox(engine)
    assert sorted((m.target_kind, m.target_address) for m in messages) == [
        ("email", EMAIL.address),
        ("slack", SLACK.address),
    ]
    assert {m.idempotency_key for m in messages} == {
        f"alert:{alert.id}:slack:{SLACK.address}",
        f"alert:{alert.id}:email:{EMAIL.address}",
    }
    assert all(m.source == "budget_alert" and m.source_id == str(alert.id) for m in messages)
    assert all(m.status == OutboxStatus.PENDING for m in messages)


def test_thresholds_rearm_when_the_next_period_starts(engine, clock):
    make_budget(engine, clock)
    put_day(engine, clock, date(2026, 11, 10), "810")
    assert evaluate_budgets(engine, clock).alerts_claimed == 1

    clock.current = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    put_day(engine, clock, date(2026, 12, 2), "805")
    summary = evaluate_budgets(engine, clock)

    assert summary.alerts_claimed == 1
    assert [(a.period_start, a.threshold) for a in alerts(engine)] == [
        (NOV1, 80),
        (date(2026, 12, 1), 80),
    ]
    assert len(outbox(engine)) == 4
    assert evaluate_budgets(engine, clock).alerts_claimed == 0


def test_forecast_threshold_fires_before_actual_spend_crosses(engine, clock):
    make_budget(engine, clock, thresholds=((100, ACTUAL), (100, FORECAST)), targets=(SLACK,))
    put_days(engine, clock, date(2026, 10, 1), date(2026, 11, 26), "35")

    first = evaluate_budgets(engine, clock)

    assert first.alerts_claimed == 1
    [alert] = alerts(engine)
    assert (alert.kind, alert.threshold) == ("forecast", 100)
    assert alert.spent == Decimal(26 * 35)  # 91%: the actual threshold is not crossed
    assert alert.forecast == Decimal(26 * 35 + 4 * 35)  # 105%
    card = card_from_dict(outbox(engine)[0].card)
    assert "forecast to reach 100%" in card.title

    # Three days later actual spend crosses too: that alert comes now, the forecast one not again.
    clock.current += timedelta(days=3)
    put_days(engine, clock, date(2026, 11, 27), date(2026, 11, 29), "35")
    second = evaluate_budgets(engine, clock)
    assert second.alerts_claimed == 1
    assert [(a.kind, a.threshold) for a in alerts(engine)] == [("forecast", 100), ("actual", 100)]


def test_crossing_several_thresholds_at_once_sends_one_message_for_the_highest(engine, clock):
    make_budget(engine, clock, thresholds=((50, ACTUAL), (80, ACTUAL), (100, ACTUAL)))
    put_day(engine, clock, date(2026, 11, 3), "850")

    summary = evaluate_budgets(engine, clock)

    assert (summary.alerts_claimed, summary.alerts_notified, summary.messages_enqueued) == (2, 1, 2)
    by_threshold = {a.threshold: a for a in alerts(engine)}
    assert by_threshold[80].notified and by_threshold[80].card is not None
    assert not by_threshold[50].notified and by_threshold[50].card is None
    assert {m.source_id for m in outbox(engine)} == {str(by_threshold[80].id)}

    # 100% later: one more message; 50% and 80% stay quiet for the rest of the period.
    put_day(engine, clock, date(2026, 11, 4), "200")
    later = evaluate_budgets(engine, clock)
    assert (later.alerts_claimed, later.messages_enqueued) == (1, 2)
    assert sorted(a.threshold for a in alerts(engine)) == [50, 80, 100]


def test_the_alert_card_names_top_contributors_and_has_a_burn_chart_and_ack_button(engine, clock):
    budget = make_budget(engine, clock, amount="500")
    put_day(
        engine,
        clock,
        date(2026, 11, 2),
        [("rg-data", "SQL Database", "300"), ("rg-web", "Virtual Machines", "150")],
    )
    put_day(engine, clock, date(2026, 11, 3), [("rg-web", "Storage", "20")])

    evaluate_budgets(engine, clock)

    [alert] = alerts(engine)
    card = card_from_dict(alert.card)
    tables = [b for b in card.blocks if isinstance(b, Table)]
    assert tables[0].columns[0].title == "Resource group"
    assert [row[0] for row in tables[0].rows] == ["rg-data", "rg-web"]
    assert tables[0].rows[0][1] == "€300.00"
    assert [row[0] for row in tables[1].rows] == ["SQL Database", "Virtual Machines", "Storage"]
    [chart] = [b for b in card.blocks if isinstance(b, Chart)]
    assert chart.points[-1].value == Decimal("470") and chart.points[-1].day == date(2026, 11, 27)
    assert chart.points[1].value == Decimal("450")
    [actions] = [b for b in card.blocks if isinstance(b, Actions)]
    assert actions.buttons[0].action_id == "alert.ack"
    assert actions.buttons[0].value == ack_value(budget.id, NOV1, 80, ACTUAL)
    assert "€470.00" in card.summary and "94.0%" in card.summary


def test_scope_filters_count_exactly_the_matching_costs(engine, clock):
    other_sub = "00000000-0000-0000-0000-000000000002"
    day = date(2026, 11, 5)
    put_day(
        engine,
        clock,
        day,
        [("RG-Web", "Virtual Machines", "100"), ("rg-data", "Storage", "40")],
        tags={"env": "prod"},
    )
    put_day(
        engine,
        clock,
        day,
        [("rg-web", "Virtual Machines", "7")],
        scope=parse_scope(other_sub),
        subscription_id=other_sub,
        subscription_name="Staging",
        tags={"env": "dev"},
    )
    budgets = {
        "all": BudgetScope(),
        "by_sub_name": parse_scope_tokens(["sub:production"]),
        "by_sub_id": parse_scope_tokens(["sub:00000000-0000-0000-0000-000000000001"]),
        "by_rg_any_case": parse_scope_tokens(["rg:rg-web"]),
        "by_tag": parse_scope_tokens(["tag:env=dev"]),
        "by_service": parse_scope_tokens(["service:storage"]),
        "combined": parse_scope_tokens(["sub:Staging", "rg:RG-WEB", "tag:env=dev"]),
        "by_ingested_scope": parse_scope_tokens([f"scope:/subscriptions/{other_sub}"]),
        "matches_nothing": parse_scope_tokens(["tag:env=test"]),
    }
    expected = {
        "all": "147",
        "by_sub_name": "140",
        "by_sub_id": "140",
        "by_rg_any_case": "107",
        "by_tag": "7",
        "by_service": "40",
        "combined": "7",
        "by_ingested_scope": "7",
        "matches_nothing": "0",
    }
    for name, scope in budgets.items():
        make_budget(engine, clock, name=name, scope=scope, targets=())

    assessments, _snapshot = assess(engine, clock.today(), list_budgets(engine))

    assert {a.budget.name: a.spent for a in assessments} == {
        k: Decimal(v) for k, v in expected.items()
    }


def test_a_pass_reads_costs_with_the_same_queries_whatever_the_budgets_and_sees_restatements(
    engine, clock
):
    make_budget(engine, clock, name="year", amount="100000", period=BudgetPeriod.YEARLY,
                start=date(2026, 1, 1))  # fmt: skip
    put_days(engine, clock, date(2026, 6, 1), date(2026, 11, 27), "10")

    first = evaluate_budgets(engine, clock)
    for n, tokens in enumerate(
        (["rg:rg-0"], ["service:storage"], ["sub:production", "tag:env=prod"], ["location:x"])
    ):
        make_budget(engine, clock, name=f"b{n}", amount="100000", scope=parse_scope_tokens(tokens))
    second = evaluate_budgets(engine, clock)
    put_day(engine, clock, date(2026, 11, 20), "11")  # restated, clock unchanged
    third = evaluate_budgets(engine, clock)

    # One query per month before the forecast history (January to September), one for the days.
    assert first.shape_queries == second.shape_queries == third.shape_queries == 9 + 1
    assert (
        first.days_loaded == second.days_loaded == (date(2026, 11, 27) - date(2026, 1, 1)).days + 1
    )
    spent = {a.budget.name: a.spent for a in assess(engine, clock.today(), list_budgets(engine))[0]}
    june_to_nov = (date(2026, 11, 27) - date(2026, 6, 1)).days + 1
    assert spent == {
        "year": Decimal(10 * june_to_nov + 1),
        "b0": Decimal(27 * 10 + 1) / 2,
        "b1": Decimal(27 * 10 + 1) / 4,
        "b2": Decimal(27 * 10 + 1),
        "b3": Decimal(0),
    }


def test_late_data_for_a_closed_period_still_alerts_during_its_grace_days(engine, clock):
    make_budget(engine, clock, thresholds=((100, ACTUAL),), targets=(SLACK,))
    put_day(engine, clock, date(2026, 11, 29), "950")
    clock.current = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert evaluate_budgets(engine, clock).alerts_claimed == 0

    put_day(engine, clock, date(2026, 11, 30), "60")  # Azure restates the month's last day late
    summary = evaluate_budgets(engine, clock)

    assert summary.alerts_claimed == 1
    [alert] = alerts(engine)
    assert (alert.period_start, alert.period_end) == (NOV1, date(2026, 11, 30))
    assert "after the period closed" in str(card_from_dict(alert.card).blocks)


def test_a_deleted_budget_raises_nothing_and_takes_its_alerts_along(engine, clock):
    budget = make_budget(engine, clock)
    put_day(engine, clock, date(2026, 11, 10), "900")
    evaluate_budgets(engine, clock)
    assert count(engine, Alert) == 1

    assert delete_budget(engine, budget.id, "web") == "web"

    assert count(engine, Alert) == 0
    assert evaluate_budgets(engine, clock).alerts_claimed == 0
    assert len(outbox(engine)) == 2  # queued messages stay and are still delivered


def test_concurrent_evaluations_in_threads_claim_one_alert(engine, clock):
    make_budget(engine, clock)
    put_day(engine, clock, date(2026, 11, 10), "850")

    with ThreadPoolExecutor(max_workers=8) as pool:
        summaries = list(
            pool.map(lambda _: evaluate_budgets(engine, clock, cache=BudgetCache()), range(16))
        )

    assert sum(s.alerts_claimed for s in summaries) == 1
    assert count(engine, Alert) == 1
    assert len(outbox(engine)) == 2


@pytest.mark.parametrize("period", [BudgetPeriod.QUARTERLY, BudgetPeriod.YEARLY])
def test_quarterly_and_yearly_budgets_count_their_whole_window(engine, clock, period):
    start = date(2026, 1, 1)
    make_budget(engine, clock, amount="100000", period=period, start=start)
    put_days(engine, clock, date(2026, 9, 25), date(2026, 11, 27), "10")

    [a] = assess(engine, clock.today(), list_budgets(engine))[0]

    first = date(2026, 10, 1) if period is BudgetPeriod.QUARTERLY else date(2026, 9, 25)
    assert a.spent == Decimal(10 * ((date(2026, 11, 27) - first).days + 1))
    assert a.window.end == date(2026, 12, 31)


def test_cached_budgets_and_groups_follow_changes_without_moving_the_clock(engine, clock):
    """The process caches must never hide a change: an amount change, a day that vanished from a
    re-pull, a restated old month, and time moving into a new month."""
    budget = make_budget(engine, clock, amount="100000", period=BudgetPeriod.YEARLY,
                         start=date(2026, 1, 1), thresholds=((80, ACTUAL),))  # fmt: skip
    put_days(engine, clock, date(2026, 6, 1), date(2026, 11, 26), "10")
    cache = BudgetCache()

    def spent() -> Decimal:
        assessments, _ = assess(engine, clock.today(), list_budgets(engine))
        return assessments[0].spent

    evaluate_budgets(engine, clock, cache=cache)
    june_to_nov = (date(2026, 11, 26) - date(2026, 6, 1)).days + 1
    assert spent() == Decimal(10 * june_to_nov)

    set_amount(engine, budget, Decimal("500"), clock.now())  # same clock, same count of budgets
    assert evaluate_budgets(engine, clock, cache=cache).alerts_claimed == 1

    put_day(engine, clock, date(2026, 7, 14), [])  # a re-pulled day came back empty
    put_day(engine, clock, date(2026, 6, 30), "110")  # an old month restated
    assert spent() == Decimal(10 * june_to_nov - 10 + 100)

    clock.current = datetime(2027, 1, 2, 8, 0, tzinfo=UTC)  # a new year: a new window
    put_days(engine, clock, date(2026, 11, 27), date(2027, 1, 1), "10")
    assert spent() == Decimal(10)


def test_fast_money_formatting_matches_the_product_formatting():
    import random

    from core.budgets.presenters import money
    from core.kernel.money import format_money

    rng = random.Random(5)
    for currency in ("EUR", "USD", "JPY", "KWD", "CHF", "GBP", "INR", "BRL"):
        for _ in range(500):
            amount = Decimal(rng.randrange(0, 10**13)).scaleb(-rng.randrange(0, 9))
            assert money(amount, currency) == format_money(amount, currency)
        assert money(Decimal("-12.5"), currency) == format_money(Decimal("-12.5"), currency)


def test_an_amortized_budget_counts_amortized_cost_only(engine, clock):
    put_day(engine, clock, date(2026, 11, 3), "100")
    put_day(engine, clock, date(2026, 11, 3), "40", cost_type=CostType.AMORTIZED)
    create_budget(
        engine,
        NewBudget(
            name="amortized",
            amount=Decimal("50"),
            currency="EUR",
            period=BudgetPeriod.MONTHLY,
            start_date=NOV1,
            cost_type=CostType.AMORTIZED,
            scope=BudgetScope(),
            thresholds=(Threshold(80, ACTUAL),),
            targets=(SLACK,),
            owner_principal="slack:U1",
            owner_name="Ada",
        ),
        clock.now(),
    )
    make_budget(engine, clock, name="actual", amount="200")

    assessments, _ = assess(engine, clock.today(), list_budgets(engine))

    assert {a.budget.name: a.spent for a in assessments} == {
        "amortized": Decimal(40),
        "actual": Decimal(100),
    }
    assert evaluate_budgets(engine, clock).alerts_claimed == 1  # 80% of 50 = 40 reached


def test_a_renamed_subscription_moves_its_spend_to_budgets_on_the_new_name_at_once(engine, clock):
    make_budget(engine, clock, name="old", scope=parse_scope_tokens(["sub:production"]))
    make_budget(engine, clock, name="new", scope=parse_scope_tokens(["sub:prod eu"]))
    put_days(engine, clock, date(2026, 11, 1), date(2026, 11, 26), "10")

    def spent() -> dict[str, Decimal]:
        return {
            a.budget.name: a.spent for a in assess(engine, clock.today(), list_budgets(engine))[0]
        }

    assert spent() == {"old": Decimal(260), "new": Decimal(0)}
    # Azure now reports the new name (for the re-pulled day, and so for the groups): same clock.
    put_day(engine, clock, date(2026, 11, 26), "10", subscription_name="Prod EU")
    assert spent() == {"old": Decimal(0), "new": Decimal(260)}
