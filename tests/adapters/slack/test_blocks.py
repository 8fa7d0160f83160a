"""The Block Kit renderer: golden files per view type, and behaviour at Slack's limits.

The properties every renderer keeps on any card (Slack's limits included) are the renderer
contract: tests/contracts/test_renderers.py.

Regenerate the golden files after an intended change:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/adapters/slack/test_blocks.py
then review the diff of tests/adapters/slack/golden/.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from adapters.slack.blocks import (
    MAX_BLOCKS,
    ChartMode,
    core_action_id,
    escape,
    render_card,
)
from core.app import create_core
from core.kernel.cards import (
    Actions,
    Align,
    Button,
    Chart,
    Column,
    Header,
    Table,
    Text,
    card,
    channel_reference,
)
from core.kernel.context import CoreConfig, Requester
from core.kernel.service import CloudOptima
from tests.adapters.slack.conftest import seed_costs
from tests.support.cards import daily, every_block_slack, long_table
from tests.support.slack_blocks import assert_valid_message

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ADA = Requester(platform="slack", user_id="U111", user_name="ada", conversation_id="C111")


def check_golden(name: str, payload: dict) -> None:
    assert_valid_message(payload)
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8"), f"{path.name} changed (UPDATE_GOLDEN=1)"


# -- golden files: the core's own replies ------------------------------------------------------


@pytest.fixture
def core(sqlite_engine, clock) -> CloudOptima:
    return create_core(sqlite_engine, clock)


def test_help_reply(core):
    check_golden("help", render_card(core.handle_text("help", ADA).card))


def test_help_for_one_command(core):
    check_golden("help_costs", render_card(core.handle_text("help costs", ADA).card))


async def test_costs_breakdown(core, sqlite_engine, clock):
    await seed_costs(sqlite_engine, clock, first=date(2026, 10, 1), last=date(2026, 11, 26))
    reply = core.handle_text("costs 30d by resource", ADA)
    check_golden("costs_breakdown", render_card(reply.card, nonce="golden"))


async def test_costs_breakdown_with_an_uploaded_chart(core, sqlite_engine, clock):
    await seed_costs(sqlite_engine, clock, first=date(2026, 11, 1), last=date(2026, 11, 26))
    reply = core.handle_text("costs 7d by service", ADA)
    check_golden(
        "costs_chart_image",
        render_card(reply.card, chart_mode=ChartMode.IMAGE, nonce="golden"),
    )


def test_costs_without_data(core):
    check_golden("costs_no_data", render_card(core.handle_text("costs 7d", ADA).card))


def test_bad_input_error(core):
    check_golden("error_bad_input", render_card(core.handle_text("costs by planet", ADA).card))


def test_permission_refusal(sqlite_engine, clock):
    core = create_core(sqlite_engine, clock, CoreConfig(viewers=frozenset({"slack:U999"})))
    check_golden("error_not_allowed", render_card(core.handle_text("costs", ADA).card))


# -- golden files: every view block ------------------------------------------------------------


def test_every_block_type():
    check_golden("every_block", render_card(every_block_slack(), nonce="golden"))


def test_long_table_and_many_facts_are_split():
    check_golden("long_table", render_card(long_table()))


# -- behaviour and limits ----------------------------------------------------------------------


def test_a_channel_reference_is_a_real_mention_and_nothing_else_is():
    text = f"Alerts go to {channel_reference('C0FINOPS1')}; <#C0EVIL> stays text"
    section = render_card(card("t", "s", Text(text)))["blocks"][0]["text"]["text"]
    assert section == "Alerts go to <#C0FINOPS1>; &lt;#C0EVIL&gt; stays text"


def test_the_first_table_is_a_table_block_with_full_names_and_right_aligned_figures():
    long_name = "teams-data-platform-analytics-warehouse"
    view = card(
        "t",
        "s",
        Table((Column("Resource group"), Column("Cost", Align.RIGHT)), ((long_name, "€1.00"),)),
        Table((Column("Service"), Column("Cost", Align.RIGHT)), (("Storage", "€2.00"),)),
    )
    payload = render_card(view)
    assert_valid_message(payload)
    native, fallback = payload["blocks"]
    assert native["type"] == "table"
    assert native["rows"][1][0]["text"] == long_name  # not "teams-da…"
    assert native["column_settings"][1] == {"align": "right"}
    assert fallback["type"] == "section" and fallback["text"]["text"].startswith("```")


def test_a_table_too_long_for_a_table_block_falls_back_to_code_blocks():
    rows = tuple((f"rg-{i}", f"€{i}.00") for i in range(120))
    payload = render_card(card("t", "s", Table((Column("RG"), Column("Cost", Align.RIGHT)), rows)))
    assert [b["type"] for b in payload["blocks"]] == ["section"] * len(payload["blocks"])


def test_every_row_action_is_a_button_within_slacks_limits():
    rows = tuple((f"rg-{i}", f"€{i}.00") for i in range(50))
    actions = tuple(Button(f"rg-{i} ›", "costs.drilldown", f"costs rg:rg-{i}") for i in range(50))
    view = card("t", "s", Table((Column("RG"), Column("Cost", Align.RIGHT)), rows, None, actions))
    payload = render_card(view, nonce="n")
    assert_valid_message(payload)
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["value"] for e in buttons] == [a.value for a in actions]


def test_user_text_cannot_mention_or_link():
    payload = render_card(card("t", "<!channel> hi", Text("<!channel> <https://x.io|click> &")))
    section = payload["blocks"][0]["text"]["text"]
    assert section == "&lt;!channel&gt; &lt;https://x.io|click&gt; &amp;"
    assert payload["text"] == "&lt;!channel&gt; hi"


def test_buttons_get_unique_action_ids_that_route_back_to_the_core_id():
    buttons = tuple(Button(f"B{i}", "costs.drilldown", f"costs by {i}") for i in range(30))
    payload = render_card(card("t", "s", Actions(buttons), Actions(buttons[:2])), nonce="n")
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]

    assert [len(b["elements"]) for b in actions] == [25, 5, 2]
    ids = [e["action_id"] for b in actions for e in b["elements"]]
    assert len(set(ids)) == 32
    assert {core_action_id(i) for i in ids} == {"costs.drilldown"}
    assert len({b["block_id"] for b in actions}) == 3


def test_a_button_whose_value_does_not_fit_is_left_out_rather_than_cut():
    view = card(
        "t",
        "s",
        Actions((Button("ok", "a.b", "v"), Button("too long", "a.b", "x" * 2001))),
    )
    [block] = render_card(view)["blocks"]
    assert [e["text"]["text"] for e in block["elements"]] == ["ok"]


def test_too_many_blocks_end_with_a_more_line_and_keep_the_buttons():
    blocks = [Header("Many")] + [Text(f"paragraph {i}") for i in range(80)]
    view = card("t", "s", *blocks, Actions((Button("Again", "costs.drilldown", "costs"),)))
    payload = render_card(view)

    assert len(payload["blocks"]) == MAX_BLOCKS
    assert payload["blocks"][-1]["type"] == "actions"
    assert "33 more block(s)" in payload["blocks"][-2]["elements"][0]["text"]
    assert_valid_message(payload)


def test_long_series_sparkline_stays_on_one_short_line():
    payload = render_card(card("t", "s", Chart("Daily cost", daily(366), "EUR")))
    bars = payload["blocks"][0]["text"]["text"].split("`")[1]
    assert 0 < len(bars) <= 60


def test_long_text_is_split_into_sections_without_blank_ones():
    text = "x" * 2990 + "\n\n\n" + "y" * 10 + "\n" + "<" * 1500
    payload = render_card(card("t", "s", Text(text)))
    sections = [b["text"]["text"] for b in payload["blocks"]]
    # Split at line breaks; a line longer than a section is cut between characters.
    assert [len(t) for t in sections] == [2992, 10, 3000, 3000]
    assert sections[1] == "y" * 10 and sections[2] == "&lt;" * 750
    assert_valid_message(payload)


def test_escape_escapes_only_slack_control_characters():
    assert escape("a & <b> *c* _d_") == "a &amp; &lt;b&gt; *c* _d_"
