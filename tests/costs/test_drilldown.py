"""Drill into any row: it filters by the row's value and regroups by the next natural dimension,
the period pinned with `asof:`, with a way back — on SQLite and PostgreSQL, and in every
channel's limits. Also: the charge type as a dimension, purchases labelled, "… N more" counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.slack.blocks import render_card as slack_card
from adapters.teams.cards import render_card as teams_card
from core.app import create_core
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.kernel.cards import Actions, Table
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from core.kernel.grammar import parse
from core.kernel.scopes import parse_scope
from tests.support.fakes import FakeCostSource, make_row
from tests.support.slack_blocks import assert_valid_message

SUB_ID = "00000000-0000-0000-0000-000000000001"
SCOPE = parse_scope(SUB_ID)
TODAY = date(2026, 11, 27)
ADA = Requester("slack", "U1", "Ada", conversation_id="C1")


def rows_for(day: date) -> list:
    rows = [
        make_row(
            day,
            n,
            cost=f"{10 + n}.00",
            location=["westeurope", "northeurope"][n % 2],
            meter_category=["Dsv5 Series", "General Block Blob v2", "Data Transfer Out"][n % 3],
            tags={"team": ["web", "data"][n % 2]} if n < 5 else {},
        )
        for n in range(6)
    ]
    if day == date(2026, 11, 20):  # a reservation bought that day
        rows.append(
            make_row(
                day, 50, cost="3650.00", charge_type="Purchase", resource_group="",
                resource_id="", service_name="Virtual Machines",
                meter_category="Reservation-Base VM", tags={},
            )
        )  # fmt: skip
    return rows


@pytest.fixture
async def app(engine, clock):
    await CostIngestor(engine, clock).run(
        FakeCostSource(rows_for), SCOPE, CostType.ACTUAL, Window(date(2026, 9, 1), TODAY)
    )
    return create_core(engine, clock)


def table_of(reply) -> Table:
    return next(b for b in reply.card.blocks if isinstance(b, Table))


def buttons_of(reply) -> list:
    return [b for block in reply.card.blocks if isinstance(block, Actions) for b in block.buttons]


@pytest.mark.parametrize(
    ("grouped", "row", "opens", "filter_word"),
    [
        ("subscription", "Production", "Costs by resource-group", f"sub:{SUB_ID}"),
        ("resource-group", "rg-1", "Costs by resource", "rg:rg-1"),
        ("service", "Storage", "Costs by meter", "service:Storage"),
        ("meter", "Dsv5 Series", "Costs by resource", "meter:Dsv5 Series"),
        ("location", "northeurope", "Costs by service", "location:northeurope"),
        ("tag:team", "web", "Costs by resource-group", "tag team=web"),
        ("charge-type", "Purchase", "Costs by service", "charge:Purchase"),
    ],
)
async def test_a_row_opens_the_next_natural_dimension_filtered_by_its_value(
    app, grouped, row, opens, filter_word
):
    reply = app.handle_text(f"costs 30d by {grouped}", ADA)
    table = table_of(reply)
    [index] = [i for i, cells in enumerate(table.rows) if cells[0].startswith(row)]
    button = table.row_actions[index]
    assert button is not None and "asof:2026-11-27" in button.value  # the period is pinned

    opened = app.handle_action(button.action_id, button.value, ADA)
    assert opened.replace_original and opened.card.title.startswith(opens)
    facts = str(opened.card.blocks)
    assert filter_word in facts
    back = buttons_of(opened)[0]
    assert back.label.startswith("‹ Back to all")
    returned = app.handle_action(back.action_id, back.value, ADA)
    assert returned.card.title == reply.card.title
    assert table_of(returned).rows == table.rows


async def test_resources_and_rows_without_a_value_open_nothing(app):
    by_resource = table_of(app.handle_text("costs 30d by resource", ADA))
    assert set(by_resource.row_actions) == {None}
    by_team = table_of(app.handle_text("costs 30d by tag:team", ADA))
    untagged = [i for i, cells in enumerate(by_team.rows) if cells[0].startswith("(untagged)")]
    assert untagged and all(by_team.row_actions[i] is None for i in untagged)


async def test_a_drill_down_pressed_days_later_shows_the_same_period(app, engine):
    button = table_of(app.handle_text("costs this month by service", ADA)).row_actions[0]
    later = create_core(engine, FixedClock(datetime(2026, 12, 9, 9, 0, tzinfo=UTC)))
    opened = later.handle_action(button.action_id, button.value, ADA)
    assert opened.card.title == "Costs by meter — November 2026 to date"
    period = next(
        f.value for b in opened.card.blocks if hasattr(b, "facts") for f in b.facts
        if f.label == "Period"
    )  # fmt: skip
    assert period == "2026-11-01 – 2026-11-27"  # now complete through the 27th


async def test_drilling_twice_keeps_both_filters_and_backs_out_one_at_a_time(app):
    first = table_of(app.handle_text("costs 30d by subscription", ADA)).row_actions[0]
    by_rg = app.handle_action(first.action_id, first.value, ADA)
    # The purchase has no resource group: its row, "(none)", opens nothing.
    second = next(a for a in table_of(by_rg).row_actions if a is not None)
    by_resource = app.handle_action(second.action_id, second.value, ADA)
    command = parse(second.value)
    assert command.args.count("by") == 1
    assert any(a.startswith("sub:") for a in command.args)
    assert any(a.startswith("rg:") for a in command.args)
    back = buttons_of(by_resource)[0]
    assert app.handle_action(back.action_id, back.value, ADA).card.title == by_rg.card.title


async def test_every_row_can_be_opened_within_slack_and_teams_limits(app):
    reply = app.handle_text("costs 90d by resource-group top 50", ADA)
    payload = slack_card(reply.card, nonce="n")
    assert_valid_message(payload)
    values = {e.get("value") for b in payload["blocks"] if b["type"] == "actions"
              for e in b["elements"]}  # fmt: skip
    assert {a.value for a in table_of(reply).row_actions if a} <= values
    card = teams_card(reply.card, draw_chart=None)
    [container] = [e for e in card["body"] if e["type"] == "Container"]
    clickable = [i for i in container["items"] if "selectAction" in i]
    assert len(clickable) == sum(1 for a in table_of(reply).row_actions if a)


async def test_purchases_are_labelled_and_the_charge_type_is_a_dimension(app):
    reply = app.handle_text("costs 30d by service", ADA)
    [vm] = [cells for cells in table_of(reply).rows if cells[0].startswith("Virtual Machines")]
    assert vm[0] == "Virtual Machines (incl. purchase)"
    notes = " ".join(getattr(b, "text", "") for b in reply.card.blocks)
    assert "Includes €3,650.00 of up-front purchases (Virtual Machines €3,650.00)" in notes
    assert "not a jump in usage" in notes
    charges = table_of(app.handle_text("costs 30d by charge-type", ADA))
    assert {cells[0] for cells in charges.rows} == {"Usage", "Purchase (purchase)"}
    usage_only = app.handle_text("costs 30d by service charge:usage", ADA)
    assert "purchase" not in str(table_of(usage_only).rows)


async def test_the_more_line_says_what_it_counts(app):
    reply = app.handle_text("costs 30d by resource top 2", ADA)
    assert table_of(reply).footer.startswith("… 5 more resources: €")
    by_team = app.handle_text("costs 30d by tag:team top 1", ADA)
    assert table_of(by_team).footer.startswith("… 2 more team tag values: €")


def test_a_month_of_daily_ticks_for_the_trend(app):
    from core.kernel.cards import Chart, ChartTick

    reply = app.handle_text("costs 30d", ADA)
    [chart] = [b for b in reply.card.blocks if isinstance(b, Chart)]
    assert chart.tick is ChartTick.DAY and len(chart.points) == 30
    assert chart.points[0].day == TODAY - timedelta(days=30)
    assert sum(p.value for p in chart.series[0].points) > Decimal(0)  # the 30 days before


async def test_a_filter_no_cost_has_says_so_with_the_closest_values(app):
    reply = app.handle_text("costs 30d rg:rg-11", ADA)
    notes = " ".join(getattr(b, "text", "") for b in reply.card.blocks)
    assert "No stored cost has rg:rg-11. Did you mean `rg-1`" in notes


@pytest.mark.parametrize("typed", ["prod", "PRODUCTION", "00000000-0000"])
async def test_sub_takes_a_unique_prefix_of_an_id_or_a_name(app, typed):
    reply = app.handle_text(f"costs 30d sub:{typed}", ADA)
    assert not reply.failed and "No actual costs" not in reply.card.summary
    scope = next(
        f.value for b in reply.card.blocks if hasattr(b, "facts") for f in b.facts
        if f.label == "Scope"
    )  # fmt: skip
    assert scope in ("sub:Production", f"sub:{SUB_ID}")
