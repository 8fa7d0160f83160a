"""Adaptive Card renderer: golden files, the Adaptive Cards 1.5 schema, and the size budget.

The properties every renderer keeps on any card are the renderer contract:
tests/contracts/test_renderers.py.

Regenerate the golden files after a deliberate change:
`UPDATE_GOLDEN=1 pytest tests/adapters/teams`.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from adapters.teams.cards import (
    MAX_CARD_BYTES,
    card_bytes,
    draw_png,
    escape_markdown,
    render_card,
)
from core.app import create_core
from core.kernel.cards import (
    Align,
    Column,
    Table,
    card,
)
from core.kernel.context import CoreConfig, Requester
from tests.support.cards import every_block_teams
from tests.support.teams import assert_valid_card, fake_drawer, seed_costs

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
ANN = Requester(platform="teams", user_id="aad-ann", user_name="Ann Admin", workspace_id="t")


def assert_golden(name: str, card_json: dict) -> None:
    assert_valid_card(card_json)
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(card_json, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8")


every_block = every_block_teams


# -- golden files ---------------------------------------------------------------------------------


async def test_costs_card_matches_its_golden_file(sqlite_engine, clock):
    await seed_costs(sqlite_engine, clock)
    reply = create_core(sqlite_engine, clock).handle_text("costs 30d", ANN)

    assert_golden("costs_breakdown", render_card(reply.card, draw_chart=fake_drawer))


def test_help_card_matches_its_golden_file(sqlite_engine, clock):
    reply = create_core(sqlite_engine, clock).handle_text("help", ANN)

    assert_golden("help", render_card(reply.card, draw_chart=fake_drawer))


def test_refusal_card_matches_its_golden_file(sqlite_engine, clock):
    core = create_core(sqlite_engine, clock, CoreConfig(viewers=frozenset({"teams:aad-bob"})))
    reply = core.handle_text("costs", ANN)

    assert_golden("not_allowed", render_card(reply.card, draw_chart=fake_drawer))


def test_every_block_type_matches_its_golden_file():
    assert_golden("every_block", render_card(every_block(), draw_chart=fake_drawer))


def test_an_oversized_chart_falls_back_to_a_sparkline_golden():
    def huge(_chart, width, height):
        return b"\x89PNG" + b"\0" * (width * height * 2)  # > 80 KB at every size

    assert_golden("sparkline_fallback", render_card(every_block(), draw_chart=huge))


# -- behaviour ------------------------------------------------------------------------------------


def test_buttons_are_execute_actions_with_a_submit_fallback():
    rendered = render_card(every_block(), draw_chart=None)
    [action_set] = [e for e in rendered["body"] if e["type"] == "ActionSet"]
    raise_budget, delete = action_set["actions"]

    assert raise_budget["type"] == "Action.Execute"
    assert raise_budget["verb"] == "budget.raise"
    assert raise_budget["data"] == {"verb": "budget.raise", "value": "b-1:1200"}
    assert raise_budget["style"] == "positive"
    assert raise_budget["fallback"] == {
        "type": "Action.Submit",
        "title": "Raise budget",
        "data": {"verb": "budget.raise", "value": "b-1:1200"},
        "style": "positive",
    }
    # A confirmation question becomes a card that asks first.
    assert delete["type"] == "Action.ShowCard"
    [confirm] = delete["card"]["actions"]
    assert (confirm["verb"], confirm["title"], confirm["style"]) == (
        "budget.delete",
        "Confirm",
        "destructive",
    )


async def test_a_real_chart_is_an_inline_png_within_the_budget(sqlite_engine, clock):
    await seed_costs(sqlite_engine, clock)
    reply = create_core(sqlite_engine, clock).handle_text("costs 30d", ANN)

    rendered = render_card(reply.card, draw_chart=draw_png)

    assert_valid_card(rendered)
    [image] = [e for e in rendered["body"] if e["type"] == "Image"]
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix)
    assert base64.b64decode(image["url"][len(prefix) :])[:4] == b"\x89PNG"
    assert image["altText"].startswith("Daily actual cost, ")
    assert card_bytes(rendered) <= MAX_CARD_BYTES


def test_the_chart_shrinks_before_it_is_dropped():
    sizes: list[tuple[int, int]] = []

    def drawer(_chart, width, height):
        sizes.append((width, height))
        return b"\x89PNG" + b"\0" * (width * height // 8)  # 800x300 → 30 KB, too big for 40 KB

    rendered = render_card(every_block(), draw_chart=drawer, max_bytes=40_000)

    assert sizes == [(800, 300), (600, 225)]
    assert any(e["type"] == "Image" for e in rendered["body"])
    assert card_bytes(rendered) <= 40_000


def test_a_huge_table_is_cut_to_fit_and_says_so():
    rows = tuple((f"resource-{i:05d}-" + "x" * 60, f"€{i}.00") for i in range(1200))
    view = card(
        "Costs",
        "many rows",
        Table(columns=(Column("Resource"), Column("Cost", Align.RIGHT)), rows=rows),
    )

    rendered = render_card(view, draw_chart=None)

    assert_valid_card(rendered)
    assert card_bytes(rendered) <= MAX_CARD_BYTES
    footer = rendered["body"][0]["items"][-1]["text"]
    assert "row(s) not shown: the message would be too large for Teams." in footer


def test_table_columns_line_up_with_weighted_widths():
    rendered = render_card(every_block(), draw_chart=None)
    [table] = [e for e in rendered["body"] if e["type"] == "Container"]
    rows = [item for item in table["items"] if item["type"] == "ColumnSet"]
    widths = {tuple(c["width"] for c in row["columns"]) for row in rows}

    assert widths == {(16, 7)}  # the same weights on every row


def test_a_rows_action_makes_the_row_clickable_and_rows_without_one_are_not():
    rendered = render_card(every_block(), draw_chart=None)
    [table] = [e for e in rendered["body"] if e["type"] == "Container"]
    header, first, second = (i for i in table["items"] if i["type"] == "ColumnSet")
    assert "selectAction" not in header and "selectAction" not in second
    action = first["selectAction"]
    assert action["type"] == "Action.Execute" and action["verb"] == "costs.drilldown"
    assert action["data"] == {"verb": "costs.drilldown", "value": "costs by meter"}
    assert table["items"][-1]["text"] == "Select a row to see what is behind it."


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("rg_prod_data", "rg\\_prod\\_data"),
        ("*bold* [link](x)", "\\*bold\\* \\[link\\](x)"),
        ("C:\\temp", "C:\\\\temp"),
        ("1. first\n2. second", "1\\. first\n\n2\\. second"),
        ("€1,234.56 (+12.0%)", "€1,234.56 (+12.0%)"),
    ],
)
def test_plain_text_is_escaped_for_markdown(text, escaped):
    assert escape_markdown(text) == escaped


def test_a_card_without_a_summary_becomes_an_activity_without_one():
    # The SDK's Activity refuses an empty summary: replies and notifications both build this.
    from adapters.teams.translate import card_activity

    view = card("Title only", "")
    activity = card_activity(view, render_card(view, draw_chart=None))

    assert activity.summary is None
    assert activity.attachments[0].content["type"] == "AdaptiveCard"
