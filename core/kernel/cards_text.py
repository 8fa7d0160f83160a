"""Cards as plain text: the fallback wherever blocks cannot be drawn (e-mail bodies, digests,
logs, pipes). Pure; one sparkline for every channel (`core.kernel.charts`)."""

from __future__ import annotations

from core.kernel.cards import (
    Align,
    Block,
    Card,
    Chart,
    Context,
    Divider,
    Facts,
    Header,
    Table,
    Text,
    plain_references,
)
from core.kernel.charts import chart_caption, sparklines

RULE_WIDTH = 60


def table_lines(table: Table) -> list[str]:
    """A table as aligned text lines: header, rule, rows, footer."""
    grid = [tuple(c.title for c in table.columns), *table.rows]
    widths = [max(len(row[i]) if i < len(row) else 0 for row in grid) for i in range(len(grid[0]))]
    lines = []
    for n, row in enumerate(grid):
        cells = []
        for i, column in enumerate(table.columns):
            cell = row[i] if i < len(row) else ""
            cells.append(
                cell.rjust(widths[i]) if column.align == Align.RIGHT else cell.ljust(widths[i])
            )
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if table.footer:
        lines.append(table.footer)
    return lines


def render_text(card: Card) -> str:
    """The card as plain text: title, summary, facts, table rows, chart summary and context."""
    lines = [card.title, "=" * min(len(card.title), RULE_WIDTH), "", card.summary, ""]
    for block in card.blocks:
        lines += _block_lines(block)
    return plain_references("\n".join(lines).rstrip() + "\n")


def chart_lines(chart: Chart, *, width: int = 60) -> list[str]:
    """A chart as text: one sparkline per series (one scale), then the caption."""
    if not chart.points:
        return []
    drawn = sparklines(chart, width=width)
    if len(drawn) == 1:
        return [f"{drawn[0][1]}", chart_caption(chart)]
    widest = max(len(name) for name, _ in drawn)
    return [f"{name.ljust(widest)}  {bars}" for name, bars in drawn] + [chart_caption(chart)]


def _block_lines(block: Block) -> list[str]:
    match block:
        case Header(text):
            return [text, "-" * min(len(text), RULE_WIDTH)]
        case Text(text) | Context(text):
            return [text, ""]
        case Facts(facts):
            width = max((len(f.label) for f in facts), default=0)
            return [f"{f.label.ljust(width)}  {f.value}" for f in facts] + [""]
        case Table():
            return [*table_lines(block), ""]
        case Chart():
            return [*chart_lines(block), ""] if block.points else []
        case Divider():
            return ["-" * RULE_WIDTH, ""]
    return []  # buttons need Slack or Teams
