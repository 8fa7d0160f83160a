"""Cards to plain JSON and back, so a message can wait in the outbox and be rendered later."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from core.kernel.cards import (
    Actions,
    Align,
    Ask,
    Block,
    Button,
    Card,
    Chart,
    ChartBand,
    ChartLine,
    ChartPoint,
    ChartSeries,
    ChartTick,
    Choice,
    Column,
    Context,
    Divider,
    Fact,
    Facts,
    Header,
    Severity,
    Table,
    Text,
)

SCHEMA_VERSION = 1


def card_to_dict(card: Card) -> dict[str, Any]:
    """The card as JSON types. Fields added since version 1 are optional, so documents written
    before them still read (and are written only when set)."""
    document: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "title": card.title,
        "summary": card.summary,
        "severity": str(card.severity),
        "blocks": [_block_to_dict(b) for b in card.blocks],
    }
    if card.data:
        document["data"] = dict(card.data)
    return document


def card_from_dict(data: dict[str, Any]) -> Card:
    if data.get("v") != SCHEMA_VERSION:
        raise ValueError(f"unknown card schema version {data.get('v')!r}")
    return Card(
        title=data["title"],
        summary=data["summary"],
        severity=Severity(data["severity"]),
        blocks=tuple(_block_from_dict(b) for b in data["blocks"]),
        data=data.get("data") or {},
    )


def _points(points: tuple[ChartPoint, ...]) -> list[list[str]]:
    return [[p.day.isoformat(), str(p.value)] for p in points]


def _points_from(data: list[list[str]]) -> tuple[ChartPoint, ...]:
    return tuple(ChartPoint(date.fromisoformat(d), Decimal(v)) for d, v in data)


def _button_to_dict(b: Button) -> dict[str, Any]:
    document: dict[str, Any] = {
        "label": b.label,
        "action_id": str(b.action_id),
        "value": b.value,
        "style": b.style,
        "confirm": b.confirm,
    }
    if b.ask is not None:
        a = b.ask
        document["ask"] = {
            "title": a.title,
            "submit": a.submit,
            "text_label": a.text_label,
            "text_required": a.text_required,
            "text_max": a.text_max,
            "choice_label": a.choice_label,
            "choices": [[c.label, c.value] for c in a.choices],
            "default_choice": a.default_choice,
        }
    return document


def _ask_from_dict(a: dict[str, Any] | None) -> Ask | None:
    if not a:
        return None
    return Ask(
        title=a["title"],
        submit=a["submit"],
        text_label=a.get("text_label", ""),
        text_required=bool(a.get("text_required", False)),
        text_max=int(a.get("text_max", 500)),
        choice_label=a.get("choice_label", ""),
        choices=tuple(Choice(label, value) for label, value in a.get("choices", [])),
        default_choice=a.get("default_choice", ""),
    )


def _button_from_dict(b: dict[str, Any]) -> Button:
    return Button(
        label=b["label"],
        action_id=b["action_id"],
        value=b["value"],
        style=b.get("style"),
        confirm=b.get("confirm"),
        ask=_ask_from_dict(b.get("ask")),
    )


def _chart_to_dict(chart: Chart) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Chart",
        "title": chart.title,
        "unit": chart.unit,
        "points": _points(chart.points),
    }
    if chart.name:
        out["name"] = chart.name
    if chart.series:
        out["series"] = [
            {"name": s.name, "points": _points(s.points), "dashed": s.dashed, "summary": s.summary}
            for s in chart.series
        ]
    if chart.lines:
        out["lines"] = [[line.name, str(line.value)] for line in chart.lines]
    if chart.tick is not None:
        out["tick"] = str(chart.tick)
    if chart.until is not None:
        out["until"] = chart.until.isoformat()
    if chart.band:
        out["band"] = [[b.day.isoformat(), str(b.low), str(b.high)] for b in chart.band]
    return out


def _chart_from_dict(data: dict[str, Any]) -> Chart:
    return Chart(
        title=data["title"],
        unit=data["unit"],
        points=_points_from(data["points"]),
        name=data.get("name", ""),
        series=tuple(
            ChartSeries(s["name"], _points_from(s["points"]), s["dashed"], s.get("summary", ""))
            for s in data.get("series", ())
        ),
        lines=tuple(ChartLine(name, Decimal(value)) for name, value in data.get("lines", ())),
        tick=ChartTick(data["tick"]) if data.get("tick") else None,
        until=date.fromisoformat(data["until"]) if data.get("until") else None,
        band=tuple(
            ChartBand(date.fromisoformat(d), Decimal(low), Decimal(high))
            for d, low, high in data.get("band", ())
        ),
    )


def _table_to_dict(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Table",
        "columns": [[c.title, str(c.align)] for c in table.columns],
        "rows": [list(r) for r in table.rows],
        "footer": table.footer,
    }
    if table.row_actions:
        out["row_actions"] = [None if b is None else _button_to_dict(b) for b in table.row_actions]
    return out


def _table_from_dict(data: dict[str, Any]) -> Table:
    return Table(
        columns=tuple(Column(title, Align(align)) for title, align in data["columns"]),
        rows=tuple(tuple(r) for r in data["rows"]),
        footer=data.get("footer"),
        row_actions=tuple(
            None if b is None else _button_from_dict(b) for b in data.get("row_actions", ())
        ),
    )


def _block_to_dict(block: Block) -> dict[str, Any]:
    match block:
        case Header(text) | Text(text) | Context(text):
            return {"type": type(block).__name__, "text": text}
        case Divider():
            return {"type": "Divider"}
        case Facts(facts):
            return {"type": "Facts", "facts": [[f.label, f.value] for f in facts]}
        case Table():
            return _table_to_dict(block)
        case Chart():
            return _chart_to_dict(block)
        case Actions(buttons):
            return {"type": "Actions", "buttons": [_button_to_dict(b) for b in buttons]}
    raise TypeError(f"unknown block {block!r}")


def _block_from_dict(data: dict[str, Any]) -> Block:
    kind = data["type"]
    if kind == "Header":
        return Header(data["text"])
    if kind == "Text":
        return Text(data["text"])
    if kind == "Context":
        return Context(data["text"])
    if kind == "Divider":
        return Divider()
    if kind == "Facts":
        return Facts(tuple(Fact(label, value) for label, value in data["facts"]))
    if kind == "Table":
        return _table_from_dict(data)
    if kind == "Chart":
        return _chart_from_dict(data)
    if kind == "Actions":
        return Actions(tuple(_button_from_dict(b) for b in data["buttons"]))
    raise ValueError(f"unknown block type {kind!r}")
