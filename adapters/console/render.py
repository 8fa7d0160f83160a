"""Cards as terminal text: aligned tables, a sparkline for charts, buttons as numbered choices.

`render_card` is pure (card in, rich renderables out); `render_text` turns them into plain text
for tests, pipes and one-shot commands.
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
)
from core.kernel.charts import chart_caption, sparkline

_BORDER = {
    Severity.INFO: "blue",
    Severity.SUCCESS: "green",
    Severity.WARNING: "yellow",
    Severity.ERROR: "red",
}


def buttons_of(card: Card) -> list[Button]:
    """Every button of the card, in order: choice 1 is the first."""
    return [
        button for block in card.blocks if isinstance(block, Actions) for button in block.buttons
    ]


def render_card(card: Card) -> RenderableType:
    parts: list[RenderableType] = []
    choice = 0  # buttons are numbered across the whole card
    title: str | None = None  # the first header is the panel's title, later ones are lines
    for block in card.blocks:
        match block:
            case Header(text) if title is None:
                title = text
            case Header(text):
                parts.append(RichText(text, style="bold"))
            case Actions(buttons):
                labels = [f"[{choice + n}] {b.label}" for n, b in enumerate(buttons, start=1)]
                choice += len(buttons)
                parts.append(RichText("   ".join(labels), style="bold magenta"))
            case _:
                parts.extend(_render_block(block))
    return Panel(
        Group(*parts),
        title=RichText(card.title if title is None else title, style="bold"),
        title_align="left",
        border_style=_BORDER[card.severity],
        expand=False,
    )


def _render_block(block: Block) -> list[RenderableType]:
    match block:
        case Text(text):
            return [RichText(text)]
        case Facts(facts):
            grid = RichTable.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column()
            for fact in facts:
                grid.add_row(RichText(fact.label), RichText(fact.value))
            return [grid]
        case Table():
            return _table(block)
        case Chart() as chart:
            return [
                RichText(sparkline([p.value for p in chart.points]), style="cyan"),
                RichText(chart_caption(chart), style="dim"),
            ]
        case Context(text):
            return [RichText(text, style="dim")]
        case Divider():
            return [RichText("─" * 40, style="dim")]
    return []


def _table(block: Table) -> list[RenderableType]:
    # Cells are Text, never str: rich reads `[...]` in a str as markup (and `[/]` raises).
    table = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in block.columns:
        table.add_column(
            RichText(column.title),
            justify="right" if column.align is Align.RIGHT else "left",
            overflow="fold",
        )
    for row in block.rows:
        table.add_row(*map(RichText, row))
    return [table, RichText(block.footer, style="dim")] if block.footer else [table]


def render_text(card: Card, *, width: int = 100) -> str:
    """The card as plain text (no colour codes), `width` columns wide at most."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, legacy_windows=False)
    console.print(render_card(card))
    return buffer.getvalue()
