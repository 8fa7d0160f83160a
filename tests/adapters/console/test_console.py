"""Terminal rendering and the chat loop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console

from adapters.console.chat import ConsoleChat
from adapters.console.render import render_text
from core.app import create_core
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.kernel.cards import Actions, Button, card
from core.kernel.context import Requester
from core.kernel.scopes import parse_scope
from tests.support.cards import costs_by_service
from tests.support.fakes import FakeCostSource, make_row

GOLDEN = Path(__file__).parent / "golden"


sample_card = costs_by_service


def test_a_card_renders_as_aligned_text_with_numbered_buttons():
    text = render_text(sample_card(), width=80)
    golden = GOLDEN / "costs_card.txt"
    if not golden.exists():  # first run writes the golden file; review it, then commit it
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()
    assert "[1] By resource-group   [2] By location" in text
    assert "▁" in text and "█" in text  # the sparkline


async def test_typing_a_buttons_number_presses_it(sqlite_engine, clock):
    scope = parse_scope("00000000-0000-0000-0000-000000000001")
    await CostIngestor(sqlite_engine, clock).run(
        FakeCostSource(lambda d: [make_row(d, n) for n in range(6)]),
        scope,
        CostType.ACTUAL,
        Window(date(2026, 11, 1), date(2026, 11, 26)),
    )
    console = Console(record=True, width=100, color_system=None)
    chat = ConsoleChat(
        create_core(sqlite_engine, clock), console=console, requester=Requester("console", "me")
    )
    first = chat.ask("costs 7d by service")
    assert "Costs by service" in first.card.title
    assert "[1]   Bandwidth" in console.export_text()  # rows carry their button's number
    pressed = chat.ask("1")  # the first row: Bandwidth, by meter
    assert pressed.card.title.startswith("Costs by meter")
    shown = console.export_text()
    assert "service:Bandwidth" in shown and "Drill-down requested by me" in shown
    back = chat.ask("2")  # the way back
    assert back.card.title.startswith("Costs by service")
    regroup = chat.ask("4")  # the first regrouping button
    assert regroup.card.title.startswith("Costs by resource-group")

    lines = iter(["help costs", "quit"])
    chat._read_line = lambda prompt: next(lines)
    chat.run()
    assert "costs — Spend for a period" in console.export_text()


def test_a_button_that_asks_first_is_pressed_only_after_a_yes(sqlite_engine, clock):
    from core.kernel.authz import Role
    from core.kernel.cards import Reply
    from core.kernel.routing import ActionSpec, CommandSpec, Router
    from core.kernel.service import CloudOptima

    pressed: list[str] = []
    router = Router()

    def offer(cmd, ctx):
        button = Button("Delete", "thing.delete", "7", style="danger", confirm="Delete thing 7?")
        return Reply(card("Thing 7", "Thing 7", Actions((button,))))

    def delete(value, ctx):
        pressed.append(value)
        return Reply(card("Deleted", "Deleted"), replace_original=True)

    router.add_command(
        CommandSpec("thing", "thing", "A thing", "A thing.", Role.ANYONE, "see things", offer)
    )
    router.add_action(ActionSpec("thing.delete", delete, Role.ANYONE, "delete things"))
    answers = iter(["n", "y"])
    chat = ConsoleChat(
        CloudOptima(sqlite_engine, clock, router),
        console=Console(record=True, width=80, color_system=None),
        requester=Requester("console", "me"),
        read_line=lambda prompt: next(answers),
    )
    chat.ask("thing")
    assert chat.ask("1") is None and pressed == []
    assert chat.ask("1").card.title == "Deleted" and pressed == ["7"]
