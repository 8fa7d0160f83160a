"""Who asks, from where, and what every handler gets besides its arguments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import Engine

from core.kernel.clock import Clock


class Platform(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class Requester:
    """The person (and conversation) a request comes from, in platform terms."""

    platform: Platform
    user_id: str
    user_name: str = ""
    conversation_id: str = ""
    #: Slack team id / Teams tenant id: user ids are only unique within it.
    workspace_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform(self.platform))

    @property
    def display_name(self) -> str:
        return self.user_name or self.user_id

    @property
    def principal(self) -> str:
        """Who this is, across workspaces: `slack:T123:U456`, `teams:<tenant>:<aad object id>`
        (user ids are only unique within their workspace), or `console:<user>` without one."""
        if self.workspace_id:
            return f"{self.platform}:{self.workspace_id}:{self.user_id}"
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """What the kernel's policy reads (the bot's Settings object builds it)."""

    #: Principals (`slack:T123:U456`, `teams:<tenant>:<aad-object-id>`, `console:*`, or the
    #: short `slack:U456` with a single configured workspace) allowed admin actions.
    admins: frozenset[str] = field(default_factory=frozenset)
    #: Principals allowed to read costs; None means everyone who can reach the bot.
    viewers: frozenset[str] | None = None
    #: Internal webhook receivers allowed despite a non-public address (names, IPs, networks).
    webhook_allowed_hosts: tuple[str, ...] = ()
    #: Platform → the one workspace (Slack team id, Teams tenant id) this deployment serves,
    #: when exactly one is configured: the short principal form `slack:U456` means that
    #: workspace's user. Without one, a short form matches only requesters without a workspace.
    home_workspaces: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """One request being handled: who asked, its request id, and the engine's dependencies."""

    requester: Requester
    engine: Engine
    clock: Clock
    config: CoreConfig
    #: Names this request in logs, error cards and audit rows.
    request_id: str = ""
    #: What a pressed button asked before it acted (`core.kernel.cards.Ask`): name → answer.
    inputs: Mapping[str, str] = field(default_factory=dict)

    def today(self) -> date:
        return self.clock.now().date()
