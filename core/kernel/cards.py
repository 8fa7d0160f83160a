"""The channel-neutral view model every command returns.

Renderers (console text, Slack Block Kit, Teams Adaptive Cards) are pure functions of these
objects. Text is plain: no platform markup, emphasis is expressed by the block type. Values in
tables and facts are already formatted (money with its currency, percentages).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


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
    #: E.g. "… 12 more resources: €120.00" when rows were cut; renderers show it under the table.
    footer: str | None = None
    #: What pressing a row does, one per row (None: that row opens nothing), e.g. a drill-down.
    #: Teams rows are clickable; Slack and the terminal show a button per row.
    row_actions: tuple[Button | None, ...] = ()


@dataclass(frozen=True, slots=True)
class ChartPoint:
    day: date
    value: Decimal


class ChartTick(StrEnum):
    """One tick per day, week or month on the time axis (never finer than a day)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """A further series on a chart's days: the previous period overlaid, a forecast."""

    #: Legend name ("October 1–26", "forecast").
    name: str
    points: tuple[ChartPoint, ...]
    dashed: bool = True
    #: What the caption says of it ("previous period: total €3,120.00").
    summary: str = ""


@dataclass(frozen=True, slots=True)
class ChartLine:
    """A horizontal reference line: a budget."""

    name: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class ChartBand:
    """The expected range of one day (an anomaly card draws it behind the series)."""

    day: date
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class Chart:
    """A daily series (plus optional overlaid series, reference lines and an expected band);
    renderers draw a PNG or fall back to a Unicode sparkline and a caption.

    `band`, when given, is the expected range of some of the days: PNGs shade it, and every
    renderer's caption (`core.kernel.charts.chart_caption`) states it for the last day.
    """

    title: str
    points: tuple[ChartPoint, ...]
    unit: str  # currency code or "%"
    band: tuple[ChartBand, ...] = ()
    #: Legend name of `points` (when there is more than one series).
    name: str = ""
    series: tuple[ChartSeries, ...] = ()
    lines: tuple[ChartLine, ...] = ()
    #: None: by the span (days up to a month, weeks up to four months, then months).
    tick: ChartTick | None = None
    #: The time axis runs to this day (a budget period's end), even past the last point.
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str


#: The input names an `Ask` fills in (`CommandContext.inputs`, a press's inputs).
ASK_TEXT = "text"
ASK_CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Ask:
    """What a button asks before it acts: a free text (a reason) and/or one choice (a
    duration). Slack asks in a modal, Teams with inputs in the card, the terminal inline; the
    answers reach the handler as `CommandContext.inputs` (`ASK_TEXT`, `ASK_CHOICE`)."""

    title: str
    submit: str
    #: The free text's label ("" asks none) and whether it may be left empty.
    text_label: str = ""
    text_required: bool = False
    text_max: int = 500
    choice_label: str = ""
    choices: tuple[Choice, ...] = ()
    default_choice: str = ""


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
    #: Inputs to ask before acting (a reason, a duration); pressed with them.
    ask: Ask | None = None


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
    #: Machine-readable facts beside the card (JSON types; amounts as decimal strings), for
    #: receivers that are programs (webhooks). Renderers for people ignore it.
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Form:
    """A handler's answer to a press that needs inputs it did not carry: ask them (Slack: a
    modal; Teams: a card with the inputs; the terminal: prompts), then press `button` again with
    them. Nothing was done, so the press is not claimed."""

    button: Button


@dataclass(frozen=True, slots=True)
class Reply:
    card: Card
    visibility: Visibility = Visibility.PRIVATE
    #: When answering a button: replace the message that carried it.
    replace_original: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: The request failed (an error card): the terminal exits non-zero. A card's severity says
    #: how the news is (over budget), not whether the request worked.
    failed: bool = False
    #: Inputs still to ask before the press can act (see `Form`).
    form: Form | None = None


def card(
    title: str,
    summary: str,
    *blocks: Block,
    severity: Severity = Severity.INFO,
    data: Mapping[str, Any] | None = None,
) -> Card:
    return Card(
        title=title, summary=summary, blocks=tuple(blocks), severity=severity, data=data or {}
    )


# -- references inside plain text ----------------------------------------------------------------

#: A Slack channel named inside plain text: Slack draws it as a link to the channel, every other
#: renderer as `#C0123ABCD` (`plain_references`). Private-use characters delimit it, and only a
#: channel id fits inside, so no user text can become a mention of anything else.
CHANNEL_REFERENCE = re.compile("\ue000#([CGD][A-Z0-9]{4,30})\ue001")


def channel_reference(channel_id: str) -> str:
    """`channel_id` as a reference Slack draws as a channel link (`<#C0123ABCD>`)."""
    return f"\ue000#{channel_id}\ue001"


def plain_references(text: str) -> str:
    """Text with its channel references written as `#C0123ABCD` (renderers other than Slack)."""
    return CHANNEL_REFERENCE.sub(r"#\1", text) if "\ue000" in text else text
