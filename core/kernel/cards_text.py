"""Cards as plain text: the fallback wherever blocks cannot be drawn (e-mail bodies, digests,
logs, pipes). Pure; one sparkline for every channel (`core.kernel.charts`)."""

from __future__ import annotations

from core.kernel.cards import (
    Actions,
    Align,
    Card,
    Chart,
    Context,
    Divider,
    Facts,
    Header,
    Table,
    Text,
)
from core.kernel.charts import chart_caption, sparkline

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
        match block:
            case Header(text):
                lines += [text, "-" * min(len(text), RULE_WIDTH)]
            case Text(text):
                lines += [text, ""]
            case Facts(facts):
                width = max((len(f.label) for f in facts), default=0)
                lines += [f"{f.label.ljust(width)}  {f.value}" for f in facts] + [""]
            case Table():
                lines += [*table_lines(block), ""]
            case Chart(title, points, unit, band):
                if points:
                    span = f"{points[0].day.isoformat()} to {points[-1].day.isoformat()}"
                    spark = sparkline([p.value for p in points])
                    lines += [f"{title} ({unit}, {span}): {spark}", ""]
                    if band:
                        lines += [chart_caption(block), ""]
            case Context(text):
                lines += [text, ""]
            case Divider():
                lines += ["-" * RULE_WIDTH, ""]
            case Actions():
                pass  # buttons need Slack or Teams
    return "\n".join(lines).rstrip() + "\n"
