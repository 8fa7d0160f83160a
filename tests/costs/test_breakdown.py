"""`costs` on real SQLite and PostgreSQL, checked against sums computed straight from the rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.app import create_core
from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.grammar import parse_dimension, parse_filter
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.costs.periods import parse_period
from core.kernel.cards import Actions, Facts, Severity, Table
from core.kernel.context import CoreConfig, Requester
from core.kernel.scopes import parse_scope
from tests.support.fakes import FakeCostSource, make_row

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")
TODAY = date(2026, 11, 27)


def rows_for(day: date) -> list:
    rows = []
    for n in range(9):
        tags = {"team": ["web", "data", "ml"][n % 3]} if n % 4 else {}
        cost = Decimal(n + 1) * Decimal("1.12345678") + Decimal(day.toordinal() % 7)
        rows.append(make_row(day, n, cost=str(cost), tags=tags))
    rows.append(make_row(day, 99, cost="5.00", currency="USD", service_name="Marketplace"))
    return rows


@pytest.fixture
async def loaded(engine, clock):
    source = FakeCostSource(rows_for)
    await CostIngestor(engine, clock).run(
        source, SCOPE, CostType.ACTUAL, Window(date(2026, 8, 1), TODAY)
    )
    return engine


def expected(period, key_of) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    day = period.start
    while day <= period.end:
        for row in rows_for(day):
            if row.currency == "EUR":
                sums[key_of(row)] += row.cost
        day += timedelta(days=1)
    return dict(sums)


@pytest.mark.parametrize(
    ("dimension", "key_of"),
    [
        ("service", lambda r: r.service_name),
        ("resource-group", lambda r: r.resource_group),
        ("tag:team", lambda r: r.tags.get("team", "(untagged)")),
        ("resource", lambda r: r.resource_id),
        ("subscription", lambda r: r.subscription_id),
        ("location", lambda r: r.location),
        ("meter", lambda r: r.meter_category),
    ],
)
async def test_breakdown_matches_an_independent_sum_to_the_cent(loaded, dimension, key_of):
    periods = parse_period("30d", TODAY)
    result = cost_breakdown(
        loaded, BreakdownQuery(periods, parse_dimension(dimension), CostType.ACTUAL, top_n=50)
    )
    want = expected(periods.current, key_of)
    want_previous = expected(periods.previous, key_of)
    assert result.currency == "EUR"
    assert {r.key: r.cost for r in result.rows} == want
    assert {r.key: r.previous for r in result.rows} == {k: want_previous[k] for k in want}
    assert result.total == sum(want.values())
    assert result.other_currencies == {"USD": Decimal("150.00")}
    assert sum(v for _, v in result.daily) == result.total
    assert len(result.daily) == 30


async def test_top_n_folds_the_rest_into_one_line(loaded):
    periods = parse_period("7d", TODAY)
    result = cost_breakdown(
        loaded, BreakdownQuery(periods, parse_dimension("resource"), CostType.ACTUAL, top_n=3)
    )
    assert len(result.rows) == 3
    count, rest, _ = result.rest
    assert count == 6
    assert sum(r.cost for r in result.rows) + rest == result.total
    assert result.rows[0].label.startswith("vm-8 (rg-2)")


async def test_filters_narrow_the_rows(loaded):
    periods = parse_period("7d", TODAY)
    query = BreakdownQuery(
        periods,
        parse_dimension("service"),
        CostType.ACTUAL,
        filters=(parse_filter("rg:RG-1"), parse_filter("tag:team=data")),
    )
    result = cost_breakdown(loaded, query)
    want = expected(
        periods.current,
        lambda r: (
            r.service_name if (r.resource_group, r.tags.get("team")) == ("rg-1", "data") else None
        ),
    )
    want.pop(None, None)
    assert {r.key: r.cost for r in result.rows} == want
    assert sum(v for _, v in result.daily) == result.total == sum(want.values())


@pytest.mark.parametrize(
    ("token", "matches"),
    [
        ("sub:PRODUCTION", lambda r: True),
        ("sub:00000000-0000-0000-0000-000000000001", lambda r: True),
        ("sub:staging", lambda r: False),
        ("location:WestEurope", lambda r: True),
        ("meter:storage", lambda r: r.meter_category == "Storage"),
        ("service:virtual machines", lambda r: r.service_name == "Virtual Machines"),
        ("tag:team=Web", lambda r: False),  # tag values are exact
        ("tag:team=web", lambda r: r.tags.get("team") == "web"),
    ],
)
async def test_each_filter_keeps_exactly_the_matching_rows(loaded, token, matches):
    periods = parse_period("30d", TODAY)
    query = BreakdownQuery(
        periods, parse_dimension("rg"), CostType.ACTUAL, filters=(parse_filter(token),)
    )
    result = cost_breakdown(loaded, query)
    want = expected(periods.current, lambda r: r.resource_group if matches(r) else None)
    want_previous = expected(periods.previous, lambda r: r.resource_group if matches(r) else None)
    want.pop(None, None)
    want_previous.pop(None, None)
    assert {r.key: r.cost for r in result.rows} == want
    assert result.total == sum(want.values(), Decimal(0))
    assert result.previous_total == sum(want_previous.values(), Decimal(0))
    assert sum(v for _, v in result.daily) == result.total
    assert result.has_data is bool(want or want_previous)


async def test_a_period_with_data_only_before_it_takes_that_currency_and_zero_costs(loaded):
    later = parse_period("30d", date(2027, 1, 26))  # only the previous period's first day has data
    assert later.previous.start == TODAY
    result = cost_breakdown(
        loaded, BreakdownQuery(later, parse_dimension("service"), CostType.ACTUAL)
    )
    assert result.currency == "EUR" and result.total == 0 and result.rows == ()
    assert result.previous_total == sum(r.cost for r in rows_for(TODAY) if r.currency == "EUR")
    assert result.other_currencies == {"USD": Decimal("5.00")}  # one day of it, in that period
    assert all(v == 0 for _, v in result.daily)


async def test_costs_command_renders_total_table_chart_and_drilldowns(loaded, clock):
    app = create_core(loaded, clock)
    reply = app.handle_text("costs 30d by service", Requester("slack", "U1"))
    assert reply.card.severity is Severity.INFO
    facts = next(b for b in reply.card.blocks if isinstance(b, Facts)).facts
    want_total = sum(expected(parse_period("30d", TODAY).current, lambda r: "all").values())
    assert facts[0].value == f"€{want_total.quantize(Decimal('0.01')):,}"
    table = next(b for b in reply.card.blocks if isinstance(b, Table))
    assert [c.title for c in table.columns] == ["Service", "Cost", "Share", "Change"]
    buttons = next(b for b in reply.card.blocks if isinstance(b, Actions)).buttons
    assert buttons[0].value == "costs 30d asof:2026-11-27 by resource-group actual"

    drilled = app.handle_action(buttons[0].action_id, buttons[0].value, Requester("slack", "U2"))
    assert drilled.replace_original
    assert drilled.card.title == "Costs by resource-group — last 30 days"
    assert "Drill-down requested by U2" in drilled.card.blocks[-2].text  # above the buttons


async def test_no_data_says_so_and_how_to_get_it(engine, clock):
    reply = create_core(engine, clock).handle_text("costs 7d", Requester("console", "u"))
    assert "No actual costs recorded" in reply.card.summary
    assert "cloudoptima ingest" in reply.card.blocks[-1].text


async def test_viewers_list_refuses_others(loaded, clock):
    app = create_core(loaded, clock, CoreConfig(viewers=frozenset({"slack:U1"})))
    assert app.handle_text("costs", Requester("slack", "U1")).card.severity is Severity.INFO
    refused = app.handle_text("costs", Requester("slack", "U2"))
    assert refused.card.severity is Severity.ERROR
    assert "not allowed to see costs" in refused.card.summary


# -- honest periods, end to end ----------------------------------------------------------------


def facts_of(reply) -> dict[str, str]:
    return {f.label: f.value for b in reply.card.blocks if isinstance(b, Facts) for f in b.facts}


def notes_of(reply) -> str:
    from core.kernel.cards import Context

    return " | ".join(b.text for b in reply.card.blocks if isinstance(b, Context))


def eur(amount: Decimal) -> str:
    return f"€{amount.quantize(Decimal('0.01')):,}"


def total_of(first: date, last: date) -> Decimal:
    from core.costs.periods import Period

    return sum(expected(Period(first, last, ""), lambda r: "all").values(), Decimal(0))


async def test_mtd_leaves_todays_partial_day_apart_and_compares_the_same_days(loaded, clock):
    app = create_core(loaded, clock)
    reply = app.handle_text("costs this month", Requester("slack", "U1"))
    facts = facts_of(reply)
    nov = total_of(date(2026, 11, 1), date(2026, 11, 26))
    octo = total_of(date(2026, 10, 1), date(2026, 10, 26))
    today = total_of(TODAY, TODAY)
    assert facts["Total"] == eur(nov)
    assert facts["vs same days of October"].startswith(eur(octo))
    assert facts["Today (2026-11-27), so far"] == (
        f"{eur(today)} (still being reported; not compared)"
    )
    assert facts["Period"] == "2026-11-01 – 2026-11-26"
    assert "Compared with the same days of the month before (Oct 1 – Oct 26, 2026)" in (
        notes_of(reply)
    )
    # The previous period is overlaid on the chart, day by day.
    from core.kernel.cards import Chart

    [chart] = [b for b in reply.card.blocks if isinstance(b, Chart)]
    [overlay] = chart.series
    assert [p.day for p in overlay.points] == [p.day for p in chart.points]
    assert sum(p.value for p in overlay.points) == octo


async def test_a_range_past_the_last_day_is_clipped_and_the_card_says_so(loaded, clock):
    app = create_core(loaded, clock)
    reply = app.handle_text("costs 2026-11-15..2026-12-31", Requester("slack", "U1"))
    facts = facts_of(reply)
    assert facts["Total"] == eur(total_of(date(2026, 11, 15), date(2026, 11, 26)))
    assert facts["vs previous 12 days"].startswith(
        eur(total_of(date(2026, 11, 3), date(2026, 11, 14)))
    )
    assert "Clipped to the data: data through 2026-11-26" in notes_of(reply)


async def test_ytd_says_where_the_data_starts_instead_of_comparing_with_nothing(loaded, clock):
    app = create_core(loaded, clock)
    reply = app.handle_text("costs ytd", Requester("slack", "U1"))
    facts = facts_of(reply)
    assert facts["Total"] == eur(total_of(date(2026, 8, 1), date(2026, 11, 26)))
    assert facts["Compared with"] == "nothing comparable (see below)"
    assert "Clipped to the data: data starts 2026-08-01" in notes_of(reply)
    assert "No comparison: the period before (2025-08-01 – 2025-11-26)" in notes_of(reply)
    assert "n/a" not in str(reply.card.blocks)


async def test_a_future_range_is_refused_with_a_hint(loaded, clock):
    reply = create_core(loaded, clock).handle_text("costs 2027-01", Requester("slack", "U1"))
    assert reply.card.severity is Severity.ERROR and reply.failed
    assert "lies in the future" in reply.card.summary


async def test_data_through_means_the_same_in_cost_answers_and_budgets(loaded, clock):
    app = create_core(loaded, clock)
    costs = app.handle_text("costs 7d", Requester("console", "u"))
    app.handle_text("budget create all 100000 EUR", Requester("console", "u"))
    budget = app.handle_text("budget show all", Requester("console", "u"))
    assert "Data through 2026-11-26" in notes_of(costs)
    assert "Data through 2026-11-26" in notes_of(budget)


async def test_the_month_forecast_is_the_budgets_forecast(loaded, clock):
    """One method: `costs this month` projects the month as a monthly budget over the same
    costs does."""
    app = create_core(loaded, clock)
    costs = facts_of(app.handle_text("costs this month", Requester("console", "u")))
    app.handle_text("budget create all 100000 EUR", Requester("console", "u"))
    budget = facts_of(app.handle_text("budget show all", Requester("console", "u")))
    cost_forecast = costs["Forecast to Nov 30"]
    budget_forecast = budget["Forecast to Nov 30"]
    assert cost_forecast.split(" ")[0] == budget_forecast.split(" ")[0]
    assert "weekday run rate over the last 28 days" in cost_forecast


async def test_this_quarter_forecasts_the_quarter_end_and_other_periods_do_not(loaded, clock):
    app = create_core(loaded, clock)
    quarter = facts_of(app.handle_text("costs this quarter", Requester("console", "u")))
    assert "Forecast to Dec 31" in quarter
    rolling = facts_of(app.handle_text("costs 30d", Requester("console", "u")))
    assert not any(label.startswith("Forecast") for label in rolling)


def test_ranges_are_read_as_the_fewest_contiguous_spans():
    from core.costs.breakdown import merged

    oct1, oct26, oct31 = date(2026, 10, 1), date(2026, 10, 26), date(2026, 10, 31)
    nov1, nov26, nov27 = date(2026, 11, 1), date(2026, 11, 26), date(2026, 11, 27)
    # 30d and the 30 days before, and today: one span.
    assert merged([(oct26, nov26), (oct1, oct26 - timedelta(days=1)), (nov27, nov27), None]) == [
        (oct1, nov27)
    ]
    # mtd against the same days of October: two spans (Oct 27-31 are not read).
    assert merged([(nov1, nov26), (oct1, oct26), (nov27, nov27)]) == [(oct1, oct26), (nov1, nov27)]
    assert merged([(oct1, oct31), (oct26, nov1)]) == [(oct1, nov1)]  # overlapping
