"""The contract every card renderer keeps, over one catalogue and one strategy of neutral cards.

Subclasses (tests/contracts/test_renderers.py) say how to render a card, what a reader sees of
the output, which buttons can be pressed, and what the medium's limits are; the tests here then
hold for every catalogue card (tests/support/cards.py) and for arbitrary ones:

- rendering never raises, and is pure (the same card renders the same);
- the output keeps the medium's limits;
- what the medium shows of the title and summary is there (`headline`);
- every header, text, fact, chart title, small print and table footer is there, and every table
  cell, unless its row is counted in a "… N more row(s) not shown" line;
- every button with a label and a value within core's limit keeps its label, action id and value,
  in order (media with buttons; the console numbers them);
- when a medium drops whole blocks to fit (Slack, beyond 50 blocks) it says how many, and no more
  parts are missing than it said.

Text is compared as a reader sees it: the medium's escaping undone, whitespace and control
characters ignored (they wrap, or are stripped by terminals). A medium that clips long text
(`clips_long_text`) may show a text's beginning followed by "…".
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings

from core.kernel.cards import (
    Actions,
    Block,
    Button,
    Card,
    Chart,
    Context,
    Facts,
    Header,
    Table,
    Text,
    plain_references,
)
from tests.support.cards import CATALOGUE, neutral_cards, presentable

ROWS_NOT_SHOWN = re.compile(r"(\d+) (?:more )?row(?:s|\(s\))? not shown")
BLOCKS_NOT_SHOWN = re.compile(r"(\d+) more block\(s\) not shown")
ELLIPSIS = "…"


def normalize(text: str) -> str:
    """Text without whitespace and control characters: what survives wrapping and terminals.
    Channel references count as the `#C…` every medium shows for them."""
    text = plain_references(text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cc")


@dataclass(frozen=True, slots=True)
class ShownButton:
    """A button as the medium lets people press it."""

    label: str
    action_id: str
    value: str


class Shown:
    """Everything a reader sees of one rendering."""

    def __init__(self, raw: str, *, clips: bool) -> None:
        self.raw = raw
        self.text = normalize(raw)
        self.clips = clips

    def has(self, text: str) -> bool:
        """`text` is shown whole, or (where the medium clips) its beginning then "…"."""
        wanted = normalize(text)
        if not wanted or wanted in self.text:
            return True
        return self.clips and self.has_clipped(wanted)

    def has_clipped(self, wanted: str) -> bool:
        """Some proper prefix of `wanted` (normalized) is shown, followed by "…"."""
        prefix_ends: dict[str, list[int]] = defaultdict(list)
        for length in range(1, len(wanted)):
            prefix_ends[wanted[length - 1]].append(length)
        at = self.text.find(ELLIPSIS)
        while at != -1:
            for length in prefix_ends.get(self.text[at - 1], ()) if at else ():
                if length <= at and self.text[at - length : at] == wanted[:length]:
                    return True
            at = self.text.find(ELLIPSIS, at + 1)
        return False

    def counted(self, pattern: re.Pattern[str]) -> int:
        return sum(int(n) for n in pattern.findall(self.raw))


def same_label(shown: str, wanted: str, *, clips: bool) -> bool:
    shown_n, wanted_n = normalize(shown), normalize(wanted)
    if shown_n == wanted_n:
        return True
    return clips and shown_n.endswith(ELLIPSIS) and wanted_n.startswith(shown_n[:-1])


class RendererContract:
    """Subclass, set the declarations, implement the four hooks; pytest collects subclasses."""

    #: The medium has buttons (Slack, Teams; the console numbers them). Plain text and e-mail
    #: leave them out: they need a chat client to be pressed.
    has_buttons: ClassVar[bool]
    #: The medium cuts text that does not fit and marks the cut with "…" (Slack's limits).
    clips_long_text: ClassVar[bool] = False

    # -- hooks -------------------------------------------------------------------------------

    def render(self, card: Card) -> Any:
        raise NotImplementedError

    def visible_text(self, output: Any) -> str:
        """Every text a reader sees, with the medium's escaping undone."""
        raise NotImplementedError

    def headline(self, card: Card) -> list[str]:
        """What the medium shows of the card's title and summary."""
        raise NotImplementedError

    def check_limits(self, output: Any) -> None:
        """Assert the medium's limits (schema, sizes, widths)."""
        raise NotImplementedError

    def buttons(self, card: Card, output: Any) -> list[ShownButton]:
        """The buttons people can press, in order (media with buttons)."""
        raise NotImplementedError

    def comparable(self, output: Any) -> Any:
        """The output in a form two renderings can be compared in."""
        return output

    # -- the contract ------------------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each subclass gets its own property test: hypothesis keys its example database by
        test function, and one function shared by several classes would mix their examples."""
        super().__init_subclass__(**kwargs)

        def test_any_card_keeps_the_contract(self: RendererContract, card: Card) -> None:
            self.check(card)

        test_any_card_keeps_the_contract.__qualname__ = (
            f"{cls.__qualname__}.test_any_card_keeps_the_contract"
        )
        cls.test_any_card_keeps_the_contract = settings(  # type: ignore[attr-defined]
            max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        )(given(card=neutral_cards())(test_any_card_keeps_the_contract))

    @pytest.mark.parametrize("name", list(CATALOGUE))
    def test_every_catalogue_card_keeps_the_contract(self, name: str) -> None:
        self.check(CATALOGUE[name])

    def test_rendering_is_pure(self) -> None:
        for card in CATALOGUE.values():
            first, second = self.render(card), self.render(card)
            assert self.comparable(first) == self.comparable(second)

    def test_buttons_are_kept_exactly_where_the_medium_has_them(self) -> None:
        card = CATALOGUE["many_buttons"]
        output = self.render(card)
        labels = [
            b.label for block in card.blocks if isinstance(block, Actions) for b in block.buttons
        ]
        if self.has_buttons:
            assert [b.label for b in self.buttons(card, output)] == labels
        else:
            shown = Shown(self.visible_text(output), clips=False)
            assert not [label for label in labels if normalize(label) in shown.text]

    # -- checks ------------------------------------------------------------------------------

    def check(self, card: Card) -> None:
        output = self.render(card)
        self.check_limits(output)
        shown = Shown(self.visible_text(output), clips=self.clips_long_text)
        for text in self.headline(card):
            assert shown.has(text), f"the headline {text[:80]!r} is not shown"
        pressable = self.buttons(card, output) if self.has_buttons else []
        problems = self.missing_parts(card, shown, pressable)
        dropped = shown.counted(BLOCKS_NOT_SHOWN)
        assert len(problems) <= dropped, (
            f"{len(problems)} block(s) lack content, {dropped} said to be dropped: "
            + "; ".join(f"block {i}: {', '.join(what)}" for i, what in problems.items())
        )
        if self.has_buttons and not dropped:
            self.check_button_order(card, pressable)

    def missing_parts(
        self, card: Card, shown: Shown, pressable: list[ShownButton]
    ) -> dict[int, list[str]]:
        """Block index → what of it is not shown (rows the output counted are not missing)."""
        problems: dict[int, list[str]] = defaultdict(list)
        rows_missing: dict[int, int] = {}
        for index, block in enumerate(card.blocks):
            for text in self.required_texts(block):
                if not shown.has(text):
                    problems[index].append(f"{type(block).__name__} text {text[:60]!r}")
            if isinstance(block, Table):
                rows_missing[index] = self.rows_not_shown(block, shown)
            if isinstance(block, Actions) and self.has_buttons:
                for button in block.buttons:
                    if presentable(button) and not self.find_button(button, pressable):
                        problems[index].append(f"button {button.label[:40]!r}")
        if sum(rows_missing.values()) > shown.counted(ROWS_NOT_SHOWN):
            for index, count in rows_missing.items():
                if count:
                    problems[index].append(f"{count} row(s) neither shown nor counted")
        return dict(problems)

    @staticmethod
    def required_texts(block: Block) -> list[str]:
        match block:
            case Header(text) | Text(text) | Context(text):
                return [text]
            case Facts(facts):
                return [t for fact in facts for t in (fact.label, fact.value)]
            case Table(footer=footer):
                return [footer] if footer else []
            case Chart(title, points):
                return [title] if points else []
        return []

    def rows_not_shown(self, table: Table, shown: Shown) -> int:
        """Rows of which some cell (in a column of the table) is not shown.

        Where the medium clips, a row may end at its first clipped cell (a list line cut short).
        """
        missing = 0
        for row in table.rows:
            cut = False
            for cell in row[: len(table.columns)]:
                wanted = normalize(cell)
                if not wanted or wanted in shown.text:
                    continue
                if self.clips_long_text and (cut or shown.has_clipped(wanted)):
                    cut = True
                    continue
                missing += 1
                break
        return missing

    def find_button(self, button: Button, pressable: list[ShownButton]) -> bool:
        return any(self.same_button(button, shown) for shown in pressable)

    def same_button(self, button: Button, shown: ShownButton) -> bool:
        return (
            shown.action_id == button.action_id
            and shown.value == button.value
            and same_label(shown.label, button.label, clips=self.clips_long_text)
        )

    def check_button_order(self, card: Card, pressable: list[ShownButton]) -> None:
        """The presentable buttons appear in the card's order."""
        wanted = [
            b
            for block in card.blocks
            if isinstance(block, Actions)
            for b in block.buttons
            if presentable(b)
        ]
        remaining = iter(pressable)
        for button in wanted:
            assert any(self.same_button(button, shown) for shown in remaining), (
                f"button {button.label[:40]!r} is missing or out of order"
            )
