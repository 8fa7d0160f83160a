"""Command registry: one small function per command; its docstring is its help."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import UserInputError

if TYPE_CHECKING:
    from core.commands.context import CommandContext
    from core.commands.parser import ParsedCommand
    from core.views import Reply

Handler = Callable[["ParsedCommand", "CommandContext"], "Reply"]
#: A button handler: (the button's value, context) → the reply that replaces the message.
ActionHandler = Callable[[str, "CommandContext"], "Reply"]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str
    summary: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    #: Flags beyond the global ones (`--public`).
    flags: frozenset[str] = frozenset()

    @property
    def help_text(self) -> str:
        return inspect.cleandoc(self.handler.__doc__ or self.summary)


class CommandRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._by_word: dict[str, CommandSpec] = {}
        self._actions: dict[str, ActionHandler] = {}

    def command(
        self,
        name: str,
        *,
        usage: str,
        summary: str,
        aliases: tuple[str, ...] = (),
        flags: frozenset[str] = frozenset(),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            spec = CommandSpec(name, usage, summary, handler, aliases, flags)
            self._specs[name] = spec
            for word in (name, *aliases):
                if word in self._by_word:
                    raise ValueError(f"command word {word!r} registered twice")
                self._by_word[word] = spec
            return handler

        return register

    def action(self, action_id: str) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            if action_id in self._actions:
                raise ValueError(f"action {action_id!r} registered twice")
            self._actions[action_id] = handler
            return handler

        return register

    def resolve_action(self, action_id: str) -> ActionHandler:
        handler = self._actions.get(action_id)
        if handler is None:
            raise UserInputError(
                "That button belongs to an older version of this message and no longer works.",
                hint="Run the command again to get a fresh message.",
            )
        return handler

    def specs(self) -> list[CommandSpec]:
        return list(self._specs.values())

    def resolve(self, word: str) -> CommandSpec:
        spec = self._by_word.get(word)
        if spec is not None:
            return spec
        close = difflib.get_close_matches(word, list(self._by_word), n=1, cutoff=0.6)
        hint = f"Did you mean `{self._by_word[close[0]].name}`? " if close else ""
        raise UserInputError(
            f"I don't know the command '{word[:40]}'.",
            accepted=[s.name for s in self.specs()],
            hint=f"{hint}Type `help` to see what each command does.",
        )


#: The product's commands register here (see core.commands.__init__).
registry = CommandRegistry()
