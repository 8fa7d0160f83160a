"""`help [command]`: what the router knows, listed or explained."""

from __future__ import annotations

from core.kernel.authz import Role
from core.kernel.cards import Align, Column, Context, Header, Reply, Table, Text, Visibility, card
from core.kernel.context import CommandContext
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import CommandSpec, Router


def register(router: Router) -> None:
    def help_command(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
        if cmd.args:
            spec = router.resolve(cmd.args[0].lower())
            view = card(
                f"help {spec.name}",
                f"{spec.name}: {spec.summary}",
                Header(f"{spec.name} — {spec.summary}"),
                Text("Usage: " + "\n".join(usage for usage, _ in spec.syntax_lines())),
                Text(spec.help),
            )
            return Reply(view, visibility)
        specs = router.specs()
        rows = tuple(line for spec in specs for line in spec.syntax_lines())
        view = card(
            "CloudOptima help",
            "Commands: " + ", ".join(spec.name for spec in specs),
            Header("CloudOptima — your Azure bill, in chat"),
            Table(columns=(Column("Command"), Column("What it does", Align.LEFT)), rows=rows),
            Context(
                "Add --public to share an answer with the channel. `help <command>` for details."
            ),
        )
        return Reply(view, visibility)

    router.add_command(
        CommandSpec(
            name="help",
            usage="help [command]",
            summary="What I can do",
            help="List the commands, or explain one: `help costs`.",
            role=Role.ANYONE,
            purpose="ask for help",
            handler=help_command,
            aliases=("?", "hi"),
        )
    )
