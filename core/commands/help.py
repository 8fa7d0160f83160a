"""`help [command]`."""

from __future__ import annotations

from core.commands.context import CommandContext
from core.commands.parser import ParsedCommand
from core.commands.registry import registry
from core.views import Align, Column, Context, Header, Reply, Table, Text, Visibility, card


@registry.command("help", usage="help [command]", summary="What I can do", aliases=("?", "hi"))
def help_command(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    """List the commands, or explain one: `help costs`."""
    visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
    if cmd.args:
        spec = registry.resolve(cmd.args[0].lower())
        view = card(
            f"help {spec.name}",
            f"{spec.name}: {spec.summary}",
            Header(f"{spec.name} — {spec.summary}"),
            Text(f"Usage: {spec.usage}"),
            Text(spec.help_text),
        )
        return Reply(view, visibility)
    rows = tuple((spec.usage, spec.summary) for spec in registry.specs())
    view = card(
        "CloudOptima help",
        "Commands: " + ", ".join(spec.name for spec in registry.specs()),
        Header("CloudOptima — your Azure bill, in chat"),
        Table(columns=(Column("Command"), Column("What it does", Align.LEFT)), rows=rows),
        Context("Add --public to share an answer with the channel. `help <command>` for details."),
    )
    return Reply(view, visibility)
