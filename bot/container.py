"""Composition root: the one place that builds adapters and wires them to the core.

Tests build a container with overrides (a fixed clock, a fake transport) instead of patching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from adapters.slack import SlackBot, SlackNotifier
from bot.settings import Settings
from core.app import CloudOptima
from core.db import make_engine
from core.ports import Clock, SystemClock


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    core: CloudOptima
    #: Objects built on demand (Azure clients, chat adapters), keyed by name; see `lazy`.
    _built: dict[str, Any] = field(default_factory=dict)

    def lazy(self, name: str, factory: Any) -> Any:
        if name not in self._built:
            self._built[name] = factory()
        return self._built[name]

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None
) -> Container:
    clock = clock or SystemClock()
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    core = CloudOptima(engine, clock, settings.core_config())
    return Container(settings=settings, engine=engine, clock=clock, core=core)


def slack_bot(container: Container) -> SlackBot | None:
    """The Slack front door (slash command, buttons), or None when Slack is not configured."""
    settings = container.settings
    if not settings.slack_enabled or settings.slack_bot_token is None:
        return None
    secret = settings.slack_signing_secret
    bot_token = settings.slack_bot_token.get_secret_value()
    bot: SlackBot = container.lazy(
        "slack_bot",
        lambda: SlackBot(
            container.core,
            signing_secret=secret.get_secret_value() if secret else None,
            bot_token=bot_token,
            api_url=settings.slack_api_url,
        ),
    )
    return bot


def slack_notifier(container: Container) -> SlackNotifier | None:
    """Posts to Slack channels (budget alerts, digests), or None without a bot token."""
    settings = container.settings
    if settings.slack_bot_token is None:
        return None
    bot_token = settings.slack_bot_token.get_secret_value()
    notifier: SlackNotifier = container.lazy(
        "slack_notifier", lambda: SlackNotifier(bot_token, api_url=settings.slack_api_url)
    )
    return notifier
