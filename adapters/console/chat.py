"""Talk to CloudOptima in a terminal: the same commands and cards as Slack and Teams.

A number typed after a card presses that card's button, as a click would in a chat app.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

from rich.console import Console

from adapters.console.render import buttons_of, render_card
from core.kernel.cards import ASK_CHOICE, ASK_TEXT, Ask, Button, Reply
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

    def ask(self, text: str) -> Reply | None:
        """Run one line: a command, or the number of a button of the last card (None when a
        button that asks first was not confirmed)."""
        stripped = text.strip()
        if stripped.isdigit() and self._buttons:
            index = int(stripped) - 1
            if 0 <= index < len(self._buttons):
                return self.press(self._buttons[index])
        return self._show(self._core.handle_text(stripped, self._requester))

    def press(self, button: Button) -> Reply | None:
        """Press a button as a click in Slack or Teams would; one that asks a question first
        (`Button.confirm`) is pressed only after a yes, one that asks for inputs (`Button.ask`:
        a reason, a duration) after they are typed."""
        if button.confirm:
            answer = self._read_line(f"{button.confirm} [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self._console.print("Not pressed.")
                return None
        inputs = self._ask(button.ask) if button.ask is not None else {}
        if inputs is None:
            self._console.print("Not pressed.")
            return None
        reply = self._core.handle_action(button.action_id, button.value, self._requester, inputs)
        if reply.form is not None and button.ask is None and reply.form.button.ask is not None:
            return self.press(reply.form.button)  # the handler asks after all: ask inline
        return self._show(reply)

    def _ask(self, ask: Ask) -> dict[str, str] | None:
        """The inputs, asked inline; None when a required one is left empty."""
        inputs: dict[str, str] = {}
        if ask.choices:
            listing = ", ".join(f"{i}) {c.label}" for i, c in enumerate(ask.choices, 1))
            default = next(
                (i for i, c in enumerate(ask.choices, 1) if c.value == ask.default_choice), 1
            )
            typed = self._read_line(f"{ask.choice_label} — {listing} [{default}] ").strip()
            index = int(typed) if typed.isdigit() else default
            if not 1 <= index <= len(ask.choices):
                return None
            inputs[ASK_CHOICE] = ask.choices[index - 1].value
        if ask.text_label:
            text = self._read_line(f"{ask.text_label} ").strip()
            if ask.text_required and not text:
                return None
            if text:
                inputs[ASK_TEXT] = text[: ask.text_max]
        return inputs

    def _show(self, reply: Reply) -> Reply:
        self._console.print(render_card(reply.card))
        note = reply.extra.get("note")
        if note:
            self._console.print(note, markup=False)
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
    """Whether the request failed (an error card), not whether the news is bad (a budget over
    its amount is a successful answer)."""
    return reply.failed
