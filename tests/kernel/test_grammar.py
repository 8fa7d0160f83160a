"""Vocabularies: each word declared once, and everything a person sees generated from it."""

from __future__ import annotations

import pytest

from core.kernel.errors import UserInputError
from core.kernel.grammar import HELP_WIDTH, Term, Vocabulary, help_text

COLOURS = Vocabulary(
    "colour",
    [
        Term("red", 1, ("crimson",)),
        Term("green", 2, help="go"),
        Term("hex", 3, form="hex:<rrggbb>"),
    ],
    default=2,
)


def test_words_and_aliases_are_found_whatever_their_case():
    assert COLOURS.get("RED") == 1 and COLOURS.get("Crimson") == 1
    assert COLOURS.get("hex") == 3 and COLOURS.get("blue") is None
    assert "green" in COLOURS and "blue" not in COLOURS


def test_accepted_lists_and_help_listings_come_from_the_terms():
    assert COLOURS.accepted() == ("red", "green (go)", "hex:<rrggbb>")
    assert COLOURS.listing() == "red, green (go) (default), hex:<rrggbb>"


def test_a_word_declared_twice_is_refused():
    with pytest.raises(ValueError, match="'crimson' declared twice"):
        Vocabulary("colour", [Term("red", 1, ("crimson",)), Term("crimson", 2)])


def test_resolve_refuses_with_the_accepted_words_and_suggests_close_ones():
    with pytest.raises(UserInputError) as refused:
        COLOURS.resolve("gren")
    assert refused.value.message == "'gren' is not a colour I know."
    assert refused.value.accepted == ("red", "green (go)", "hex:<rrggbb>")
    suggestion = COLOURS.suggestion("gren")
    assert suggestion is not None and suggestion.word == "green"


def test_help_paragraphs_are_wrapped_and_keep_their_indent():
    text = help_text("word " * 40, "", "  indented " + "more " * 30)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= HELP_WIDTH
    assert "" in lines
    indented = lines[lines.index("") + 1 :]
    assert len(indented) > 1 and all(line.startswith("  ") for line in indented)
