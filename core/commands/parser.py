"""The `/optima`-style grammar shared by every channel: `<command> [args...] [--flags]`.

Tokens are split like a shell (quotes group words: `rg:"my group"`); flags start with `--`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from core.errors import UserInputError

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
