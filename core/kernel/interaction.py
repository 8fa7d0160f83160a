"""One thing a person did in a channel, in neutral terms: a command line or a button press.

Each chat adapter's pure translate module turns its platform's payload into an `Interaction`;
the front door (`core.kernel.service`) runs every interaction through the same pipeline. Its
`delivery_ids` are the platform's identities of this delivery — a Slack trigger id, a rendered
button, a Teams activity id — and the kernel claims each one with one key scheme
(`claim_keys`), so a redelivery or a second press of the same button never runs twice, on any
platform, for commands and buttons alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from core.kernel.context import Requester


@dataclass(frozen=True, slots=True)
class Press:
    """A button press: the core's action id and the button's value."""

    action_id: str
    value: str
    #: What the button asked before it acted (`core.kernel.cards.Ask`): name → answer.
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Interaction:
    requester: Requester
    #: A command line (`costs 30d by service`), or None for a button press.
    text: str | None = None
    press: Press | None = None
    #: Identities of this delivery; it runs only if none of them was claimed before. Empty: never
    #: claimed (the terminal, where every line typed is meant).
    delivery_ids: tuple[str, ...] = ()
    #: Given by the caller (an inbound `X-Request-ID`), or made by the front door.
    request_id: str = ""

    def __post_init__(self) -> None:
        if (self.text is None) == (self.press is None):
            raise ValueError("an interaction is a command line or a button press, not both")

    @staticmethod
    def command(requester: Requester, text: str, *delivery_ids: str) -> Interaction:
        return Interaction(requester, text=text, delivery_ids=delivery_ids)

    @staticmethod
    def button(
        requester: Requester,
        action_id: str,
        value: str,
        *delivery_ids: str,
        inputs: Mapping[str, str] | None = None,
    ) -> Interaction:
        press = Press(action_id, value, tuple(sorted((inputs or {}).items())))
        return Interaction(requester, press=press, delivery_ids=delivery_ids)

    @property
    def kind(self) -> str:
        return "command" if self.text is not None else "action"

    @property
    def what(self) -> str:
        """For logs: the command's first words or the button's action id."""
        if self.text is not None:
            return f"command {self.text[:80]!r}"
        assert self.press is not None
        return f"action {self.press.action_id[:80]!r}"


def claim_keys(interaction: Interaction) -> list[str]:
    """The claim key of each delivery id: `<platform>:<command|action>:<digest>`.

    The digest covers the workspace (ids are unique only within one Slack team or Teams tenant)
    and keeps every key far below the claim table's 255 characters.
    """
    who = interaction.requester
    return [
        f"{who.platform}:{interaction.kind}:" + _digest(who.workspace_id, delivery_id)
        for delivery_id in interaction.delivery_ids
    ]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:48]
