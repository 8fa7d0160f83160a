"""View model → Adaptive Card 1.5 (the version Teams renders, and the one Universal Actions need).

`render_card` is a pure function of the view model (the chart drawer is injectable, so tests pin
its output). Buttons become `Action.Execute` (verb = the core action id, data = the button's
value) with an `Action.Submit` fallback for clients older than 1.4; a button with a confirmation
question becomes an `Action.ShowCard` that asks first. Tables are ColumnSets, one per row with
weighted column widths, so columns line up on every Teams client. The chart is a PNG data URI;
when the card would exceed `MAX_CARD_BYTES` the chart shrinks, then falls back to a Unicode
sparkline, then the longest tables lose rows. A table's row actions make its rows clickable
(`selectAction`: pressing a row runs what its button would).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from core.kernel.cards import (
    ASK_CHOICE,
    ASK_TEXT,
    Actions,
    Align,
    Ask,
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
from core.kernel.charts import chart_caption, render_png, sparklines

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
#: Teams refuses bot messages over ~100 KB (413 MessageSizeTooBig); keep a margin for the envelope.
MAX_CARD_BYTES = 80_000
#: PNG sizes tried in turn before the sparkline fallback.
CHART_SIZES: tuple[tuple[int, int], ...] = ((800, 300), (600, 225), (400, 150))

#: (chart, width px, height px) → PNG bytes.
ChartDrawer = Callable[[Chart, int, int], bytes]
Element = dict[str, Any]

_STYLES = {"primary": "positive", "danger": "destructive"}
_HEADER_COLORS = {
    Severity.ERROR: "attention",
    Severity.WARNING: "warning",
    Severity.SUCCESS: "good",
}
_MARKDOWN_SPECIAL = re.compile(r"([\\*_\[\]])")
_ORDERED_LIST_START = re.compile(r"^(\d+)\.(\s)", re.MULTILINE)


def draw_png(chart: Chart, width: int, height: int) -> bytes:
    """The default chart drawer (matplotlib off-screen; thread-safe)."""
    return render_png(chart, width_px=width, height_px=height)


def render_card(
    view: Card, *, draw_chart: ChartDrawer | None = draw_png, max_bytes: int = MAX_CARD_BYTES
) -> Element:
    """The Adaptive Card for `view`, at most `max_bytes` of compact JSON whenever possible."""
    has_chart = any(isinstance(block, Chart) and block.points for block in view.blocks)
    if has_chart and draw_chart is not None:
        for width, height in CHART_SIZES:
            image = partial(_chart_image, draw=draw_chart, width=width, height=height)
            card = _card(view, image)
            if card_bytes(card) <= max_bytes:
                return card
    card = _card(view, _chart_sparkline)
    while card_bytes(card) > max_bytes:
        smaller = _trim_longest_table(view)
        if smaller is view:
            break
        view = smaller
        card = _card(view, _chart_sparkline)
    return card


def card_bytes(card: Element) -> int:
    """Size of the card as sent (compact JSON, UTF-8)."""
    return len(json.dumps(card, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def escape_markdown(text: str) -> str:
    """Plain text for a TextBlock: TextBlocks are markdown, and resource names love `_`.

    A single newline is a soft break in markdown; the view model means a line break.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", plain_references(text))
    escaped = _ORDERED_LIST_START.sub(r"\1\\.\2", escaped)
    return escaped.replace("\r\n", "\n").replace("\n", "\n\n")


# -- assembly -------------------------------------------------------------------------------------


def _card(view: Card, chart: Callable[[Chart], list[Element]]) -> Element:
    body: list[Element] = []
    separate_next = False
    for block in view.blocks:
        if isinstance(block, Divider):
            separate_next = True
            continue
        elements = _elements(block, view.severity, chart)
        if elements and separate_next:
            elements[0] = {**elements[0], "separator": True}
            separate_next = False
        body.extend(elements)
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "fallbackText": view.summary,
        "body": body,
    }


def _elements(
    block: Block, severity: Severity, chart: Callable[[Chart], list[Element]]
) -> list[Element]:
    if isinstance(block, Header):
        header: Element = {
            "type": "TextBlock",
            "text": escape_markdown(block.text),
            "size": "large",
            "weight": "bolder",
            "style": "heading",
            "wrap": True,
        }
        if severity in _HEADER_COLORS:
            header["color"] = _HEADER_COLORS[severity]
        return [header]
    if isinstance(block, Text):
        return [_text(block.text)]
    if isinstance(block, Facts):
        facts = [
            {"title": escape_markdown(f.label), "value": escape_markdown(f.value)}
            for f in block.facts
        ]
        return [{"type": "FactSet", "facts": facts}] if facts else []
    if isinstance(block, Table):
        return [_table(block)]
    if isinstance(block, Chart):
        return chart(block) if block.points else []
    if isinstance(block, Actions):
        actions = [_action(button) for button in block.buttons]
        return [{"type": "ActionSet", "actions": actions}] if actions else []
    if isinstance(block, Context):
        return [_small(block.text)]
    return []


def _text(text: str) -> Element:
    return {"type": "TextBlock", "text": escape_markdown(text), "wrap": True}


def _small(text: str) -> Element:
    return {
        "type": "TextBlock",
        "text": escape_markdown(text),
        "size": "small",
        "isSubtle": True,
        "wrap": True,
    }


def _table(table: Table) -> Element:
    weights = _column_weights(table)

    def row(cells: tuple[str, ...], *, header: bool, action: Button | None = None) -> Element:
        columns = []
        for index, column in enumerate(table.columns):
            cell: Element = {
                "type": "TextBlock",
                "text": escape_markdown(cells[index] if index < len(cells) else ""),
                "wrap": True,
            }
            if header:
                cell["weight"] = "bolder"
            if column.align is Align.RIGHT:
                cell["horizontalAlignment"] = "right"
            columns.append({"type": "Column", "width": weights[index], "items": [cell]})
        element: Element = {"type": "ColumnSet", "columns": columns, "spacing": "small"}
        if action is not None:
            element["selectAction"] = _execute(action, action.label)
        return element

    actions = table.row_actions
    items = [row(tuple(c.title for c in table.columns), header=True)]
    for index, cells in enumerate(table.rows):
        element = row(cells, header=False, action=actions[index] if index < len(actions) else None)
        if index == 0:
            element["separator"] = True
        items.append(element)
    if table.footer:
        items.append(_small(table.footer))
    if any(a is not None for a in actions[: len(table.rows)]):
        items.append(_small("Select a row to see what is behind it."))
    return {"type": "Container", "items": items}


def _column_weights(table: Table) -> list[int]:
    """Relative widths from the longest text in each column, so that rows line up."""
    weights = []
    for index, column in enumerate(table.columns):
        longest = max([len(column.title), *(len(r[index]) for r in table.rows if index < len(r))])
        weights.append(min(max(longest, 4), 40))
    return weights


def _chart_image(chart: Chart, draw: ChartDrawer, width: int, height: int) -> list[Element]:
    png = draw(chart, width, height)
    caption = chart_caption(chart)
    return [
        {
            "type": "Image",
            "url": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            "altText": caption,
            "size": "stretch",
        },
        _small(caption),
    ]


def _chart_sparkline(chart: Chart) -> list[Element]:
    drawn = sparklines(chart)
    lines = [bars if len(drawn) == 1 else f"{bars}  {name}" for name, bars in drawn]
    return [
        {
            "type": "TextBlock",
            "text": escape_markdown("\n".join(lines)),
            "fontType": "monospace",
            "wrap": True,
        },
        _small(chart_caption(chart)),
    ]


def _inputs(ask: Ask) -> list[Element]:
    """What a button asks before it acts, as inputs in the card: their values arrive with the
    Action.Execute's data, under the core's input names."""
    body: list[Element] = []
    if ask.choices:
        body.append(
            {
                "type": "Input.ChoiceSet",
                "id": ASK_CHOICE,
                "label": ask.choice_label or "Choose",
                "style": "compact",
                "isRequired": True,
                "errorMessage": "Choose one",
                "value": ask.default_choice or ask.choices[0].value,
                "choices": [{"title": c.label, "value": c.value} for c in ask.choices],
            }
        )
    if ask.text_label:
        body.append(
            {
                "type": "Input.Text",
                "id": ASK_TEXT,
                "label": ask.text_label,
                "isMultiline": True,
                "isRequired": ask.text_required,
                "errorMessage": "Please say why",
                "maxLength": ask.text_max,
            }
        )
    return body


def _action(button: Button) -> Element:
    execute = _execute(button, button.label)
    if button.ask is not None:
        return {
            "type": "Action.ShowCard",
            "title": button.label,
            "card": {
                "type": "AdaptiveCard",
                "body": _inputs(button.ask),
                "actions": [_execute(button, button.ask.submit)],
            },
        }
    if not button.confirm:
        return execute
    show: Element = {
        "type": "Action.ShowCard",
        "title": button.label,
        "card": {
            "type": "AdaptiveCard",
            "body": [_text(button.confirm)],
            "actions": [_execute(button, "Confirm")],
        },
    }
    return show


def _execute(button: Button, title: str) -> Element:
    data = {"verb": button.action_id, "value": button.value}
    execute: Element = {
        "type": "Action.Execute",
        "title": title,
        "verb": button.action_id,
        "data": data,
        "fallback": {"type": "Action.Submit", "title": title, "data": data},
    }
    if button.style in _STYLES:
        execute["style"] = _STYLES[button.style]
        execute["fallback"]["style"] = _STYLES[button.style]
    return execute


def _trim_longest_table(view: Card) -> Card:
    """`view` with half the rows of its longest table (the same object when nothing is left)."""
    tables = [(len(b.rows), i) for i, b in enumerate(view.blocks) if isinstance(b, Table)]
    if not tables or max(tables)[0] <= 1:
        return view
    _, index = max(tables)
    table = view.blocks[index]
    assert isinstance(table, Table)
    keep = len(table.rows) // 2
    dropped = len(table.rows) - keep
    note = f"{dropped} row(s) not shown: the message would be too large for Teams."
    footer = f"{table.footer} · {note}" if table.footer else note
    trimmed = replace(table, rows=table.rows[:keep], footer=footer)
    return replace(view, blocks=(*view.blocks[:index], trimmed, *view.blocks[index + 1 :]))
