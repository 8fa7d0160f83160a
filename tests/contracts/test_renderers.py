"""The renderer contract (renderer.py) for every renderer: Block Kit (both chart modes), Adaptive
Cards, the console, plain text and the e-mail HTML body."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText

from adapters.console.render import buttons_of
from adapters.console.render import render_card as console_card
from adapters.console.render import render_text as console_text
from adapters.notify.email import render_html
from adapters.slack.blocks import ChartMode, core_action_id
from adapters.slack.blocks import render_card as slack_payload
from adapters.teams.cards import card_bytes
from adapters.teams.cards import render_card as adaptive_card
from core.kernel.cards import Card, Header
from core.kernel.cards_text import render_text
from tests.contracts.renderer import RendererContract, ShownButton
from tests.support.slack_blocks import assert_valid_message
from tests.support.teams import assert_valid_card, fake_drawer, nodes

# -- Slack Block Kit ------------------------------------------------------------------------------

_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")


_SLACK_CHANNEL_LINK = re.compile(r"<#([CGD][A-Z0-9]{4,30})>")


def _slack_unescape(mrkdwn: str) -> str:
    """What a reader sees: entities undone, channel links drawn as `#C…`."""
    linked = _SLACK_CHANNEL_LINK.sub(r"#\1", mrkdwn)
    return _SLACK_ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], linked)


def _slack_texts(node: Any) -> list[str]:
    """Every text object's text (mrkdwn unescaped; plain_text is shown as written)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(_slack_unescape(node["text"]))
        elif node.get("type") in ("plain_text", "raw_text"):  # raw_text: table block cells
            found.append(node["text"])
        for value in node.values():
            found.extend(_slack_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_slack_texts(item))
    return found


class TestBlockKit(RendererContract):
    """Charts as sparklines (no files:write scope): what a message shows on its own."""

    chart_mode = ChartMode.SPARKLINE
    has_buttons = True
    #: Headers (150), buttons (75), facts, small print and table cells are cut to Slack's limits.
    clips_long_text = True

    def render(self, card: Card) -> dict[str, Any]:
        return slack_payload(card, chart_mode=self.chart_mode, nonce="n")

    def visible_text(self, output: dict[str, Any]) -> str:
        return "\n".join([_slack_unescape(output["text"]), *_slack_texts(output["blocks"])])

    def headline(self, card: Card) -> list[str]:
        """The summary is the message's text (notifications); the title only stands in for an
        empty summary: the card's Header block is what Slack shows as a title."""
        return [card.summary if card.summary.strip() else card.title]

    def check_limits(self, output: dict[str, Any]) -> None:
        assert_valid_message(output)

    def buttons(self, card: Card, output: dict[str, Any]) -> list[ShownButton]:
        return [
            ShownButton(e["text"]["text"], core_action_id(e["action_id"]), e.get("value", ""))
            for block in output["blocks"]
            if block["type"] == "actions"
            for e in block["elements"]
            if e["type"] == "button"
        ]


class TestBlockKitWithUploadedCharts(TestBlockKit):
    """Charts uploaded as PNGs next to the message (files:write): the blocks carry captions."""

    chart_mode = ChartMode.IMAGE


# -- Teams Adaptive Cards -------------------------------------------------------------------------

#: Teams refuses bot messages over about 100 KB; keep under 80 KB (/work/shared/chat/REFERENCE.md).
#: Written out rather than read from the renderer, whose budget it checks.
TEAMS_CARD_BUDGET = 80_000
_MARKDOWN_ESCAPE = re.compile(r"\\([\\*_\[\].])")


def _markdown_unescape(text: str) -> str:
    return _MARKDOWN_ESCAPE.sub(r"\1", text)


class TestAdaptiveCards(RendererContract):
    has_buttons = True

    def render(self, card: Card) -> dict[str, Any]:
        return adaptive_card(card, draw_chart=fake_drawer)

    def visible_text(self, output: dict[str, Any]) -> str:
        texts = [output.get("fallbackText", "")]
        for node in nodes(output["body"]):
            if node.get("type") == "TextBlock":
                texts.append(_markdown_unescape(node["text"]))
            elif node.get("type") == "FactSet":
                for fact in node["facts"]:
                    texts += [_markdown_unescape(fact["title"]), _markdown_unescape(fact["value"])]
        return "\n".join(texts)

    def headline(self, card: Card) -> list[str]:
        """The summary (fallback text, and the activity's summary in notifications); the card's
        Header block is its visible title."""
        return [card.summary]

    def check_limits(self, output: dict[str, Any]) -> None:
        assert_valid_card(output)
        if card_bytes(output) > TEAMS_CARD_BUDGET:
            # Over the budget only when nothing is left to shrink: no image, no table to halve.
            assert not [n for n in nodes(output) if n.get("type") == "Image"]
            for container in (n for n in nodes(output) if n.get("type") == "Container"):
                rows = [i for i in container["items"] if i["type"] == "ColumnSet"]
                assert len(rows) <= 2, f"{card_bytes(output)} bytes with a table left to trim"

    def buttons(self, card: Card, output: dict[str, Any]) -> list[ShownButton]:
        found = []
        for action_set in (n for n in nodes(output["body"]) if n.get("type") == "ActionSet"):
            for action in action_set["actions"]:
                # A button with a question opens a card whose Execute does what the button says.
                execute = action["card"]["actions"][0] if "card" in action else action
                found.append(
                    ShownButton(action["title"], execute["verb"], execute["data"]["value"])
                )
        return found


# -- the console ----------------------------------------------------------------------------------

CONSOLE_WIDTH = 100
_RICH = Console(width=CONSOLE_WIDTH, color_system=None)


def _plain(renderable: Any) -> str:
    """The text rich prints for a cell or title (a str goes through rich's markup and emoji)."""
    if isinstance(renderable, str):
        return _RICH.render_str(renderable).plain
    assert isinstance(renderable, RichText), type(renderable)
    return renderable.plain


def _console_texts(renderable: Any) -> list[str]:
    if isinstance(renderable, Panel):
        title = [_plain(renderable.title)] if renderable.title is not None else []
        return title + _console_texts(renderable.renderable)
    if isinstance(renderable, Group):
        return [t for part in renderable.renderables for t in _console_texts(part)]
    if isinstance(renderable, RichTable):
        return [
            _plain(value)
            for column in renderable.columns
            for value in (column.header, *column.cells)
        ]
    return [_plain(renderable)]


class TestConsole(RendererContract):
    """What rich is handed (the panel title, texts, every cell), checked before rich wraps it to
    the terminal; the printed text is checked against the terminal's width."""

    has_buttons = True

    def render(self, card: Card) -> tuple[Any, str]:
        return console_card(card), console_text(card, width=CONSOLE_WIDTH)

    def visible_text(self, output: tuple[Any, str]) -> str:
        return "\n".join(_console_texts(output[0]))

    def headline(self, card: Card) -> list[str]:
        """The panel's title: the card's title, unless a Header block takes its place."""
        return [] if any(isinstance(b, Header) for b in card.blocks) else [card.title]

    def check_limits(self, output: tuple[Any, str]) -> None:
        lines = output[1].splitlines()
        assert lines, "the console printed nothing"
        too_wide = [line for line in lines if cell_len(line) > CONSOLE_WIDTH]
        assert not too_wide, f"{len(too_wide)} line(s) wider than {CONSOLE_WIDTH} columns"

    def buttons(self, card: Card, output: tuple[Any, str]) -> list[ShownButton]:
        """Buttons are numbered across the card; typing the number presses `buttons_of(card)`."""
        presses = buttons_of(card)
        lines = _console_texts(output[0])
        found: list[ShownButton] = []
        number = 1
        for line in lines:
            if line == f"[{number}]":  # a table row's number: it opens the row (drill down)
                number += 1
                continue
            while line.startswith(f"[{number}] "):
                line = line[len(f"[{number}] ") :]
                cut = line.find(f"   [{number + 1}] ")
                label, line = (line, "") if cut == -1 else (line[:cut], line[cut + 3 :])
                pressed = presses[number - 1]
                found.append(ShownButton(label, pressed.action_id, pressed.value))
                number += 1
        return found

    def comparable(self, output: tuple[Any, str]) -> str:
        return output[1]


# -- plain text and e-mail ------------------------------------------------------------------------


class TestPlainText(RendererContract):
    """core.kernel.cards_text: e-mail bodies, logs, pipes. Buttons need a chat client."""

    has_buttons = False

    def render(self, card: Card) -> str:
        return render_text(card)

    def visible_text(self, output: str) -> str:
        return output

    def headline(self, card: Card) -> list[str]:
        return [card.title, card.summary]

    def check_limits(self, output: str) -> None:
        assert output.endswith("\n") and not output.endswith("\n\n")


_EMAIL_TAGS = frozenset(
    {"html", "body", "h2", "h3", "p", "br", "table", "tr", "th", "td", "small", "hr"}
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


class TestEmailHtml(RendererContract):
    """The HTML alternative of an e-mail (adapters/notify/email.py). Buttons need a chat client."""

    has_buttons = False

    def render(self, card: Card) -> str:
        return render_html(card)

    def visible_text(self, output: str) -> str:
        return html.unescape(re.sub(r"<[^>]*>", " ", output))

    def headline(self, card: Card) -> list[str]:
        return [card.title, card.summary]

    def check_limits(self, output: str) -> None:
        # No text of the card ever becomes markup: only the renderer's own tags appear.
        parser = _Tags()
        parser.feed(output)
        parser.close()
        assert set(parser.tags) <= _EMAIL_TAGS, set(parser.tags) - _EMAIL_TAGS
