"""`help` lists each command's syntax — every form of `budget` too — in a sensible order (costs
first), in Slack, Teams and the terminal alike."""

from __future__ import annotations

import json

from adapters.console.render import render_text
from adapters.slack.blocks import render_card as slack_card
from adapters.teams.cards import render_card as teams_card
from core.app import create_core
from core.kernel.context import Requester

SYNTAX = [
    "costs [period] [by <dimension>] [filters] [top N] [actual|amortized]",
    "budget create <name> <amount>",
    "budget list",
    "budget show <name>",
    "budget set <name> amount|thresholds|forecast|targets …",
    "budget delete <name>",
    "alerts [budget]",
    "help [command]",
]


def positions(text: str) -> list[int]:
    found = [text.find(line) for line in SYNTAX]
    assert -1 not in found, [line for line, at in zip(SYNTAX, found, strict=True) if at < 0]
    return found


def test_help_lists_every_syntax_in_order_in_every_channel(sqlite_engine, clock):
    view = create_core(sqlite_engine, clock).handle_text("help", Requester("slack", "U1")).card
    slack = (
        json.dumps(slack_card(view), ensure_ascii=False).replace("&lt;", "<").replace("&gt;", ">")
    )
    teams = json.dumps(teams_card(view, draw_chart=None), ensure_ascii=False)
    terminal = " ".join(render_text(view, width=200).split())
    for rendered in (slack, teams.replace("\\\\", ""), terminal):
        found = positions(rendered)
        assert found == sorted(found), "costs first, then budgets, alerts, help"
