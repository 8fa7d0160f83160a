"""The router: which handler answers a command word or a button, and who may use it.

Features register into a `Router` instance explicitly (`core.app.create_core` calls each
feature's `register(router, …)`); nothing registers by being imported. Every command, subcommand
and button declares the role it needs; the front door (`core.kernel.service`) checks it before
the handler runs, at click time for buttons, so a handler never checks a role by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from core.kernel.authz import Role
from core.kernel.cards import Reply
from core.kernel.context import CommandContext
from core.kernel.errors import UserInputError
from core.kernel.grammar import ParsedCommand, Term, Vocabulary

#: A command handler: the parsed command (subcommand word removed), the context → the reply.
Handler = Callable[[ParsedCommand, CommandContext], Reply]
#: A button handler: (the button's value, context) → the reply that replaces the message.
ActionHandler = Callable[[str, CommandContext], Reply]


@dataclass(frozen=True, slots=True)
class Subcommand:
    """`budget create …`: one word after the command, its own handler and role."""

    word: str
    handler: Handler
    role: Role
    #: Completes "You are not allowed to …" (`create budgets`).
    purpose: str
    aliases: tuple[str, ...] = ()
    #: Its syntax and what it does, for help (`budget show <name>`, "One budget's …").
    usage: str = ""
    summary: str = ""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: its words, help, and either a handler or subcommands."""

    name: str
    #: One line for the help table (`costs [period] [by <dimension>] …`).
    usage: str
    summary: str
    #: What `help <name>` shows.
    help: str
    role: Role
    purpose: str
    handler: Handler | None = None
    aliases: tuple[str, ...] = ()
    #: Flags beyond the global ones (`--public`).
    flags: frozenset[str] = frozenset()
    subcommands: tuple[Subcommand, ...] = ()
    #: The subcommand run when none is given (`budget` → `budget list`).
    default_subcommand: str | None = None
    #: The full syntax, for refusals of a subcommand (defaults to `usage`).
    syntax: str = ""

    def __post_init__(self) -> None:
        if (self.handler is None) == (not self.subcommands):
            raise ValueError(f"command {self.name!r}: give a handler or subcommands, not both")

    def syntax_lines(self) -> tuple[tuple[str, str], ...]:
        """(syntax, what it does) per form of the command: each subcommand that declares its
        usage, or the command's own usage."""
        lines = tuple((s.usage, s.summary or self.summary) for s in self.subcommands if s.usage)
        return lines or ((self.usage, self.summary),)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A button: its action id (Slack `action_id`, Teams `verb`), handler and role."""

    action_id: str
    handler: ActionHandler
    role: Role
    purpose: str


@dataclass(frozen=True, slots=True)
class Route:
    """What runs for one request, and what it needs."""

    run: Callable[[CommandContext], Reply]
    role: Role
    purpose: str
    #: `costs`, `budget create`, `alert.ack`: names the request in logs, metrics and audit.
    name: str


class Router:
    """Commands and buttons of one CloudOptima instance."""

    def __init__(self) -> None:
        self._commands: list[CommandSpec] = []
        self._words: Vocabulary[CommandSpec] = Vocabulary("command", ())
        self._subcommands: dict[str, Vocabulary[Subcommand]] = {}
        self._actions: dict[str, ActionSpec] = {}

    # -- registration ------------------------------------------------------------------------

    def add_command(self, spec: CommandSpec) -> None:
        commands = [*self._commands, spec]
        # Rebuilt from every spec: the vocabulary refuses a word declared twice.
        self._words = Vocabulary("command", [Term(s.name, s, s.aliases) for s in commands])
        self._commands = commands
        if spec.subcommands:
            self._subcommands[spec.name] = Vocabulary(
                f"{spec.name} subcommand",
                [Term(sub.word, sub, sub.aliases) for sub in spec.subcommands],
            )

    def add_action(self, spec: ActionSpec) -> None:
        if spec.action_id in self._actions:
            raise ValueError(f"action {spec.action_id!r} registered twice")
        self._actions[spec.action_id] = spec

    # -- lookup ------------------------------------------------------------------------------

    def specs(self) -> Sequence[CommandSpec]:
        """Every command, in registration order (help lists them so)."""
        return tuple(self._commands)

    def resolve(self, word: str) -> CommandSpec:
        """The command for `word`; a refusal with a suggestion when there is none."""
        spec = self._words.get(word)
        if spec is not None:
            return spec
        close = self._words.suggestion(word)
        hint = f"Did you mean `{close.value.name}`? " if close else ""
        raise UserInputError(
            f"I don't know the command '{word[:40]}'.",
            accepted=[s.name for s in self._commands],
            hint=f"{hint}Type `help` to see what each command does.",
        )

    def route(self, command: ParsedCommand) -> Route:
        """The handler, role and arguments for a parsed command (subcommands resolved)."""
        spec = self.resolve(command.name)
        if spec.handler is not None:
            return Route(_bound(spec.handler, command), spec.role, spec.purpose, spec.name)
        words = self._subcommands[spec.name]
        args = command.args
        word = args[0] if args else spec.default_subcommand
        sub = words.get(word) if word else None
        if sub is None:
            raise UserInputError(
                f"I don't know `{spec.name} {(word or '')[:30]}`.",
                hint=f"Usage: {spec.syntax or spec.usage}",
            )
        rest = replace(command, args=args[1:] if args else ())
        return Route(_bound(sub.handler, rest), sub.role, sub.purpose, f"{spec.name} {sub.word}")

    def press(self, action_id: str, value: str) -> Route:
        """The handler and role of a button press."""
        spec = self._actions.get(action_id)
        if spec is None:
            raise UserInputError(
                "That button belongs to an older version of this message and no longer works.",
                hint="Run the command again to get a fresh message.",
            )
        handler = spec.handler
        return Route(lambda ctx: handler(value, ctx), spec.role, spec.purpose, spec.action_id)


def _bound(handler: Handler, command: ParsedCommand) -> Callable[[CommandContext], Reply]:
    return lambda ctx: handler(command, ctx)
