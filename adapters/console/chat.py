"""Talk to CloudOptima in a terminal: the same commands and cards as Slack and Teams.

A number typed after a card presses that card's button, as a click would in a chat app.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

from rich.console import Console

from adapters.console.render import buttons_of, render_card
from core.kernel.cards import Button, Reply, Severity
from core.kernel.context import Platform, Requester
from core.kernel.service import CloudOptima

PROMPT = "optima> "
_QUIT = {"quit", "exit", "q", ":q"}


def console_requester() -> Requester:
    """The person at the terminal (admin rights come from CLOUDOPTIMA_ADMINS, e.g. console:*)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "terminal"
    return Requester(
        platform=Platform.CONSOLE, user_id=user, user_name=user, conversation_id="terminal"
    )


class ConsoleChat:
    def __init__(
        self,
        core: CloudOptima,
        *,
        console: Console | None = None,
        requester: Requester | None = None,
        read_line: Callable[[str], str] = input,
    ) -> None:
        self._core = core
        self._console = console or Console()
        self._requester = requester or console_requester()
        self._read_line = read_line
        self._buttons: list[Button] = []

    def ask(self, text: str) -> Reply:
        """Run one line: a command, or the number of a button of the last card."""
        stripped = text.strip()
        if stripped.isdigit() and self._buttons:
            index = int(stripped) - 1
            if 0 <= index < len(self._buttons):
                button = self._buttons[index]
                return self._show(
                    self._core.handle_action(button.action_id, button.value, self._requester)
                )
        return self._show(self._core.handle_text(stripped, self._requester))

    def _show(self, reply: Reply) -> Reply:
        self._console.print(render_card(reply.card))
        self._buttons = buttons_of(reply.card)
        return reply

    def run(self) -> None:
        """The interactive loop; ends on quit/exit, Ctrl-D or Ctrl-C."""
        self._console.print(
            "[bold]CloudOptima[/] — type [cyan]help[/], a command such as "
            "[cyan]costs 30d by service[/], a button's number, or [cyan]quit[/]."
        )
        while True:
            try:
                line = self._read_line(PROMPT)
            except (EOFError, KeyboardInterrupt):
                self._console.print()
                return
            if line.strip().lower() in _QUIT:
                return
            if line.strip():
                self.ask(line)


def is_error(reply: Reply) -> bool:
    return reply.card.severity is Severity.ERROR
