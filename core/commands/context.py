"""What a command handler gets besides its arguments: who asked, and the engine's dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from core.models import CostType, ForecastProvider
from core.ports import Clock


@dataclass(frozen=True, slots=True)
class Requester:
    """The person (and conversation) a request comes from, in platform terms."""

    platform: str  # "slack" | "teams" | "console"
    user_id: str
    user_name: str = ""
    conversation_id: str = ""
    #: Slack team id / Teams tenant id: user ids are only unique within it.
    workspace_id: str = ""

    @property
    def display_name(self) -> str:
        return self.user_name or self.user_id

    @property
    def principal(self) -> str:
        """`platform:user_id`, the form used in permission lists."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """The settings the core reads (the bot's Settings object builds it)."""

    default_cost_type: CostType = CostType.ACTUAL
    top_n: int = 10
    #: Principals (`slack:U123`, `teams:<aad-object-id>`, `console:*`) allowed admin actions.
    admins: frozenset[str] = field(default_factory=frozenset)
    #: Principals allowed to read costs; None means everyone who can reach the bot.
    viewers: frozenset[str] | None = None
    #: Where budget forecasts come from (`CLOUDOPTIMA_FORECAST_SOURCE`).
    forecast_provider: ForecastProvider = ForecastProvider.DATA


@dataclass(frozen=True, slots=True)
class CommandContext:
    requester: Requester
    engine: Engine
    clock: Clock
    config: CoreConfig

    def today(self) -> date:
        return self.clock.now().date()
