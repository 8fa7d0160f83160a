"""`recs` and `rec <id>` through the front door, on both databases, and the same cards rendered
for Slack (Block Kit, validated by slack_sdk), Teams (Adaptive Cards 1.5 schema) and the
terminal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.console.render import render_text
from adapters.slack.blocks import render_card as slack_card
from adapters.teams.cards import render_card as teams_card
from core.app import create_core
from core.kernel.cards import Actions, Chart, Context, Severity, Table
from core.kernel.cards_text import render_text as plain_text
from core.kernel.context import CoreConfig, Requester
from core.recommendations.actions import RecsAction
from core.recommendations.presenters import APPROVALS_PLACE
from core.recommendations.store import open_recommendations
from tests.support.slack_blocks import assert_valid_message
from tests.support.teams import assert_valid_card, fake_drawer

ANN = Requester(platform="slack", user_id="U1", user_name="Ann", workspace_id="T1")


@pytest.fixture
async def core(engine, refresh):
    await refresh()
    return create_core(engine, refresh.clock)


def savings_column(card):
    table = next(b for b in card.blocks if isinstance(b, Table))
    return table, [row[2] for row in table.rows]


def money(text: str) -> Decimal:
    return Decimal(text.lstrip("~").lstrip("€$").replace(",", "")) if text != "—" else Decimal(-1)


async def test_recs_lists_the_largest_monthly_savings_first_with_totals_per_currency(core, engine):
    reply = core.handle_text("recs top 20", ANN)
    card = reply.card
    table, savings = savings_column(card)
    euros = [money(s) for s in savings if s.lstrip("~").startswith("€")]
    assert euros == sorted(euros, reverse=True) and len(table.rows) == 20
    total = dict((f.label, f.value) for b in card.blocks if hasattr(b, "facts") for f in b.facts)
    assert "€" in total["Monthly saving"] and "$" in total["Monthly saving"]  # never summed
    assert any(isinstance(b, Context) and "never added up" in b.text for b in card.blocks)
    [actions] = [b for b in card.blocks if isinstance(b, Actions)]
    assert {b.action_id for b in actions.buttons} == {RecsAction.SHOW}


async def test_recs_filters_by_category_minimum_and_resource_group(core):
    compute = core.handle_text("recs compute min 100 top 50", ANN).card
    table, savings = savings_column(compute)
    assert table.rows and all(money(s) >= 100 for s in savings)
    assert all("unattached disk" not in row[1].lower() for row in table.rows)
    sandbox = core.handle_text("recs rg:rg-sandbox-dev top 50", ANN).card
    assert all("sandbox" in row[1] or "Delete" in row[1] for row in savings_column(sandbox)[0].rows)


async def test_bad_recs_words_are_refused_with_what_is_accepted(core):
    reply = core.handle_text("recs colour", ANN)
    assert reply.card.severity is Severity.ERROR
    assert "compute" in plain_text(reply.card)
    assert core.handle_text("recs min lots", ANN).card.severity is Severity.ERROR


async def test_rec_shows_the_evidence_the_chart_the_prices_the_formula_and_advisor(core, engine):
    rightsize = next(
        s
        for s in open_recommendations(engine)
        if s.recommendation.rule == "rightsize-vm" and s.recommendation.evidence.advisor
    )
    card = core.handle_text(f"rec {rightsize.id}", ANN).card
    text = plain_text(card)
    assert "effective × (1 − " in text
    assert any(isinstance(b, Chart) and b.points and b.unit == "%" for b in card.blocks)
    assert any(isinstance(b, Table) and b.columns[0].title == "Size" for b in card.blocks)
    assert "Azure Advisor" in text and "aka.ms" in text
    assert "CloudOptima + Azure Advisor" in text
    assert APPROVALS_PLACE not in text and "Decision" in text  # the approvals feature is in
    [actions] = [b for b in card.blocks if isinstance(b, Actions)]
    assert [b.action_id for b in actions.buttons] == [
        RecsAction.APPROVE,
        RecsAction.DISMISS,
        RecsAction.SNOOZE,
    ]


async def test_the_details_button_opens_the_same_card(core, engine):
    first = open_recommendations(engine)[0]
    pressed = core.handle_action(RecsAction.SHOW, str(first.id), ANN).card
    typed = core.handle_text(f"rec {first.id}", ANN).card
    assert pressed == typed


async def test_an_unknown_or_malformed_id_is_explained(core):
    assert "no recommendation #99999" in plain_text(core.handle_text("rec 99999", ANN).card)
    assert "not a recommendation id" in plain_text(core.handle_text("rec abc", ANN).card)


async def test_reading_recommendations_needs_the_viewer_role(engine, refresh):
    await refresh()
    locked = create_core(engine, refresh.clock, CoreConfig(viewers=frozenset({"slack:U9"})))
    assert "not allowed to see recommendations" in plain_text(locked.handle_text("recs", ANN).card)


async def test_the_cards_render_for_slack_teams_and_the_terminal(core, engine):
    first = open_recommendations(engine)[0]
    for command, shown in (
        ("recs", "Savings recommendations"),
        (f"rec {first.id}", f"#{first.id} "),
    ):
        card = core.handle_text(command, ANN).card
        assert_valid_message(slack_card(card))
        assert_valid_card(teams_card(card, draw_chart=fake_drawer))
        assert shown in render_text(card)
