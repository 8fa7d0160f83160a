"""Commands. Importing this package registers every command on `registry`."""

from core.commands import budgets, costs, help  # noqa: F401  (registration side effect)
from core.commands.context import CommandContext, CoreConfig, Requester
from core.commands.parser import ParsedCommand, parse
from core.commands.registry import registry

__all__ = ["CommandContext", "CoreConfig", "ParsedCommand", "Requester", "parse", "registry"]
