"""The `/optima`-style grammar shared by every channel: `<command> [args...] [--flags]`.

Tokens are split like a shell (quotes group words: `rg:"my group"`); flags start with `--`.

A `Vocabulary` is the one declaration of a set of words a grammar accepts (commands, dimensions,
filters, periods …): each `Term` has its word, aliases and a short help. Lookups, the
"accepted: …" lists of refusals, "did you mean" suggestions and help listings all come from it,
so a word is never declared twice.
"""

from __future__ import annotations

import difflib
import re
import shlex
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from core.kernel.errors import UserInputError

MAX_INPUT_CHARS = 2_000
#: Flags every command understands; commands may accept more.
GLOBAL_FLAGS = frozenset({"public"})
_FLAG = re.compile(r"^--([a-z][a-z0-9-]{0,30})$")
# Slack, Teams and terminals all produce these; none means anything to us.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...] = ()
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def public(self) -> bool:
        return "public" in self.flags


def tokenize(text: str) -> list[str]:
    """Split `text` into words; smart quotes count as quotes, control characters as spaces."""
    if len(text) > MAX_INPUT_CHARS:
        raise UserInputError(
            f"That message is {len(text):,} characters long; commands are at most "
            f"{MAX_INPUT_CHARS:,}.",
            hint="Type `help` to see the commands.",
        )
    cleaned = text.translate(_INVISIBLE).translate(_QUOTES)
    cleaned = "".join(" " if (ch.isspace() or not ch.isprintable()) else ch for ch in cleaned)
    lexer = shlex.shlex(cleaned, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        raise UserInputError(
            "A quote is not closed.", hint='Close every quote, e.g. rg:"my group".'
        ) from None


def parse(text: str) -> ParsedCommand:
    """Parse one command line (the leading `/optima` or bot mention already removed)."""
    words = tokenize(text.strip())
    if words and words[0].lower() in ("/optima", "optima"):
        words = words[1:]
    if not words:
        return ParsedCommand(name="help")
    args: list[str] = []
    flags: set[str] = set()
    for word in words[1:]:
        if word.startswith("--"):
            match = _FLAG.match(word.lower())
            if not match:
                raise UserInputError(f"'{word}' is not a valid flag.", accepted=["--public"])
            flags.add(match.group(1))
        else:
            args.append(word)
    return ParsedCommand(name=words[0].lower(), args=tuple(args), flags=frozenset(flags))


# -- vocabularies --------------------------------------------------------------------------------

#: Help paragraphs are wrapped at this many columns: they fit an 80-column terminal panel (chat
#: clients wrap further on their own).
HELP_WIDTH = 76


@dataclass(frozen=True, slots=True)
class Term[V]:
    """One word of a vocabulary and what it means."""

    #: The canonical spelling, looked up case-insensitively (`resource-group`, `sub`).
    word: str
    value: V
    aliases: tuple[str, ...] = ()
    #: A short gloss, shown after the term: `<N>d (1-366)`.
    help: str = ""
    #: How the term is written in full, when more than the word (`sub:<name or id>`).
    form: str = ""

    @property
    def shown(self) -> str:
        written = self.form or self.word
        return f"{written} ({self.help})" if self.help else written


class Vocabulary[V]:
    """The words one part of a grammar accepts, looked up case-insensitively.

    `name` says what the words are ("dimension"), for refusals. Words and aliases must be unique.
    """

    def __init__(self, name: str, terms: Sequence[Term[V]], *, default: V | None = None) -> None:
        self.name = name
        self.terms = tuple(terms)
        self.default = default
        self._by_word: dict[str, Term[V]] = {}
        for term in self.terms:
            for word in (term.word, *term.aliases):
                key = word.lower()
                if key in self._by_word:
                    raise ValueError(f"{name} vocabulary: '{word}' declared twice")
                self._by_word[key] = term

    def __iter__(self) -> Iterator[Term[V]]:
        return iter(self.terms)

    def get(self, word: str) -> V | None:
        """What `word` (or an alias of it) means; None when it is not in the vocabulary."""
        term = self._by_word.get(word.lower())
        return term.value if term is not None else None

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._by_word

    def term_of(self, value: V) -> Term[V]:
        for term in self.terms:
            if term.value == value:
                return term
        raise KeyError(value)

    def accepted(self) -> tuple[str, ...]:
        """Every term as shown in a refusal's "accepted: …" list."""
        return tuple(term.shown for term in self.terms)

    def listing(self) -> str:
        """The terms for help text: `service (default), resource-group, …`."""
        return ", ".join(
            f"{term.shown} (default)"
            if self.default is not None and term.value == self.default
            else term.shown
            for term in self.terms
        )

    def suggestion(self, word: str) -> Term[V] | None:
        """The closest term to a mistyped `word`, if one is close enough."""
        close = difflib.get_close_matches(word.lower(), list(self._by_word), n=1, cutoff=0.6)
        return self._by_word[close[0]] if close else None

    def resolve(self, word: str, *, message: str | None = None, hint: str | None = None) -> V:
        """What `word` means, or a refusal listing the accepted words."""
        found = self.get(word)
        if found is not None:
            return found
        raise UserInputError(
            message or f"'{word[:40]}' is not a {self.name} I know.",
            accepted=self.accepted(),
            hint=hint,
        )


def help_text(*paragraphs: str) -> str:
    """Help from paragraphs: each wrapped at `HELP_WIDTH` (an indented paragraph keeps its
    indent on every line), blank lines kept."""

    def fill(paragraph: str) -> str:
        indent = paragraph[: len(paragraph) - len(paragraph.lstrip(" "))]
        return textwrap.fill(
            paragraph.strip(),
            HELP_WIDTH,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )

    return "\n".join(fill(p) if p else "" for p in paragraphs)
