"""The channel-neutral view model every command returns.

Renderers (console text, Slack Block Kit, Teams Adaptive Cards) are pure functions of these
objects. Text is plain: no platform markup, emphasis is expressed by the block type. Values in
tables and facts are already formatted (money with its currency, percentages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


class Visibility(StrEnum):
    #: Only the person who asked sees it (Slack ephemeral; Teams has no equivalent in channels).
    PRIVATE = "private"
    #: Everyone in the conversation sees it.
    PUBLIC = "public"


class Align(StrEnum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Header:
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Facts:
    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    align: Align = Align.LEFT


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    #: E.g. "… 12 more" when rows were cut; renderers show it under the table.
    footer: str | None = None


@dataclass(frozen=True, slots=True)
class ChartPoint:
    day: date
    value: Decimal


@dataclass(frozen=True, slots=True)
class ChartBand:
    """The expected range of one day (an anomaly card draws it behind the series)."""

    day: date
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class Chart:
    """A daily series; renderers draw a PNG or fall back to a Unicode sparkline.

    `band`, when given, is the expected range of some of the days: PNGs shade it, and every
    renderer's caption (`core.kernel.charts.chart_caption`) states it for the last day.
    """

    title: str
    points: tuple[ChartPoint, ...]
    unit: str  # currency code or "%"
    band: tuple[ChartBand, ...] = ()


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    #: One vocabulary for every channel (each feature's `actions` module): Slack `action_id`,
    #: Teams `verb`.
    action_id: str
    #: Compact payload the action needs (≤ 2000 characters, Slack's limit).
    value: str
    style: str | None = None  # "primary" | "danger" | None
    confirm: str | None = None  # a question to confirm before acting


@dataclass(frozen=True, slots=True)
class Actions:
    buttons: tuple[Button, ...]


@dataclass(frozen=True, slots=True)
class Context:
    """Small print: data freshness, who did what, hints."""

    text: str


@dataclass(frozen=True, slots=True)
class Divider:
    pass


Block = Header | Text | Facts | Table | Chart | Actions | Context | Divider


@dataclass(frozen=True, slots=True)
class Card:
    """A message: title, blocks, and a one-line plain summary (notifications, fallbacks)."""

    title: str
    summary: str
    blocks: tuple[Block, ...] = ()
    severity: Severity = Severity.INFO


@dataclass(frozen=True, slots=True)
class Reply:
    card: Card
    visibility: Visibility = Visibility.PRIVATE
    #: When answering a button: replace the message that carried it.
    replace_original: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def card(title: str, summary: str, *blocks: Block, severity: Severity = Severity.INFO) -> Card:
    return Card(title=title, summary=summary, blocks=tuple(blocks), severity=severity)
