"""Cards to plain JSON and back, so a message can wait in the outbox and be rendered later."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartBand,
    ChartPoint,
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
    return {
        "v": SCHEMA_VERSION,
        "title": card.title,
        "summary": card.summary,
        "severity": str(card.severity),
        "blocks": [_block_to_dict(b) for b in card.blocks],
    }


def card_from_dict(data: dict[str, Any]) -> Card:
    if data.get("v") != SCHEMA_VERSION:
        raise ValueError(f"unknown card schema version {data.get('v')!r}")
    return Card(
        title=data["title"],
        summary=data["summary"],
        severity=Severity(data["severity"]),
        blocks=tuple(_block_from_dict(b) for b in data["blocks"]),
    )


def _block_to_dict(block: Block) -> dict[str, Any]:
    match block:
        case Header(text) | Text(text) | Context(text):
            return {"type": type(block).__name__, "text": text}
        case Divider():
            return {"type": "Divider"}
        case Facts(facts):
            return {"type": "Facts", "facts": [[f.label, f.value] for f in facts]}
        case Table(columns, rows, footer):
            return {
                "type": "Table",
                "columns": [[c.title, str(c.align)] for c in columns],
                "rows": [list(r) for r in rows],
                "footer": footer,
            }
        case Chart(title, points, unit, band):
            encoded: dict[str, Any] = {
                "type": "Chart",
                "title": title,
                "unit": unit,
                "points": [[p.day.isoformat(), str(p.value)] for p in points],
            }
            if band:
                encoded["band"] = [[b.day.isoformat(), str(b.low), str(b.high)] for b in band]
            return encoded
        case Actions(buttons):
            return {
                "type": "Actions",
                "buttons": [
                    {
                        "label": b.label,
                        "action_id": str(b.action_id),
                        "value": b.value,
                        "style": b.style,
                        "confirm": b.confirm,
                    }
                    for b in buttons
                ],
            }
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
        return Table(
            columns=tuple(Column(title, Align(align)) for title, align in data["columns"]),
            rows=tuple(tuple(r) for r in data["rows"]),
            footer=data.get("footer"),
        )
    if kind == "Chart":
        return Chart(
            title=data["title"],
            unit=data["unit"],
            points=tuple(ChartPoint(date.fromisoformat(d), Decimal(v)) for d, v in data["points"]),
            band=tuple(
                ChartBand(date.fromisoformat(d), Decimal(low), Decimal(high))
                for d, low, high in data.get("band", ())
            ),
        )
    if kind == "Actions":
        return Actions(
            tuple(
                Button(
                    label=b["label"],
                    action_id=b["action_id"],
                    value=b["value"],
                    style=b.get("style"),
                    confirm=b.get("confirm"),
                )
                for b in data["buttons"]
            )
        )
    raise ValueError(f"unknown block type {kind!r}")
