"""Cards as terminal text: aligned tables, a sparkline for charts, buttons as numbered choices.

`render_card` is pure (card in, rich renderables out); `render_text` turns them into plain text
for tests, pipes and one-shot commands. Every string is shown as written (never read as rich
markup: `[period]` in a usage line is text). Buttons are numbered across the card, a table's
row actions first where the table is (its rows carry their number), so typing a number presses
what a click would in Slack or Teams.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText

from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    Context,
    Divider,
    Facts,
    Header,
    Severity,
    Table,
    Text,
    plain_references,
)
from core.kernel.cards_text import chart_lines

_BORDER = {
    Severity.INFO: "blue",
    Severity.SUCCESS: "green",
    Severity.WARNING: "yellow",
    Severity.ERROR: "red",
}
#: Sparklines are averaged down to this many bars (they fit an 80-column panel).
SPARKLINE_WIDTH = 56


def _text(text: str, style: str = "") -> RichText:
    return RichText(plain_references(text), style=style)


def buttons_of(card: Card) -> list[Button]:
    """Every button of the card, in order (row actions where their table is): choice 1 is the
    first."""
    found: list[Button] = []
    for block in card.blocks:
        if isinstance(block, Table):
            found.extend(b for b in block.row_actions if b is not None)
        elif isinstance(block, Actions):
            found.extend(block.buttons)
    return found


def render_card(card: Card) -> RenderableType:
    parts: list[RenderableType] = []
    choice = 0  # buttons are numbered across the whole card
    title: str | None = None  # the first header is the panel's title, later ones are lines
    for block in card.blocks:
        match block:
            case Header(text) if title is None:
                title = text
            case Header(text):
                parts.append(_text(text, style="bold"))
            case Actions(buttons):
                labels = [f"[{choice + n}] {b.label}" for n, b in enumerate(buttons, start=1)]
                choice += len(buttons)
                parts.append(_text("   ".join(labels), style="bold magenta"))
            case Table():
                parts.extend(_table(block, choice))
                choice += sum(1 for b in block.row_actions if b is not None)
            case _:
                parts.extend(_render_block(block))
    return Panel(
        Group(*parts),
        title=_text(card.title if title is None else title, style="bold"),
        title_align="left",
        border_style=_BORDER[card.severity],
        expand=False,
    )


def _render_block(block: Block) -> list[RenderableType]:
    match block:
        case Text(text):
            return [_text(text)]
        case Facts(facts):
            grid = RichTable.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column()
            for fact in facts:
                grid.add_row(_text(fact.label), _text(fact.value))
            return [grid]
        case Chart() as chart:
            if not chart.points:
                return []
            *bars, caption = chart_lines(chart, width=SPARKLINE_WIDTH)
            return [*(_text(line, style="cyan") for line in bars), _text(caption, style="dim")]
        case Context(text):
            return [_text(text, style="dim")]
        case Divider():
            return [RichText("─" * 40, style="dim")]
    return []


def _table(block: Table, numbered_from: int) -> list[RenderableType]:
    # Cells are Text, never str: rich reads `[...]` in a str as markup (and `[/]` raises).
    table = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    numbered = any(b is not None for b in block.row_actions)
    if numbered:
        table.add_column(_text("#"), justify="right", style="bold magenta")
    for column in block.columns:
        table.add_column(
            _text(column.title),
            justify="right" if column.align is Align.RIGHT else "left",
            overflow="fold",
        )
    choice = numbered_from
    for index, row in enumerate(block.rows):
        cells = [_text(cell) for cell in row]
        if numbered:
            action = block.row_actions[index] if index < len(block.row_actions) else None
            if action is not None:
                choice += 1
            cells.insert(0, _text(f"[{choice}]" if action is not None else ""))
        table.add_row(*cells)
    parts: list[RenderableType] = [table]
    if block.footer:
        parts.append(_text(block.footer, style="dim"))
    first = next((b for b in block.row_actions if b is not None), None)
    if first is not None:
        example = f"[{numbered_from + 1}] {first.label}"
        parts.append(_text(f"Type a row's number to press it, e.g. {example}.", style="dim"))
    return parts


def render_text(card: Card, *, width: int = 100) -> str:
    """The card as plain text (no colour codes), `width` columns wide at most."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, legacy_windows=False)
    console.print(render_card(card))
    return buffer.getvalue()
