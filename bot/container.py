"""Composition root: the one place that builds adapters and wires them to the core.

Tests build a container with overrides (a fixed clock, a fake transport) instead of patching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from bot.settings import Settings
from core.app import CloudOptima
from core.db import make_engine
from core.ports import Clock, SystemClock

if TYPE_CHECKING:
    from adapters.teams.app import TeamsBot
    from adapters.teams.notifier import TeamsNotifier


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


def teams_bot(container: Container, **overrides: Any) -> TeamsBot:
    """The Teams bot (built once); tests pass `connections=` for outbound tokens."""

    def build_bot() -> TeamsBot:
        from adapters.teams.app import TeamsBot
        from adapters.teams.auth import TeamsAuth

        s = container.settings
        auth = TeamsAuth(
            app_id=s.teams_app_id,
            anonymous=s.teams_anonymous,
            auth_type=s.teams_auth_type,
            tenant_id=s.teams_tenant_id,
            client_secret=s.teams_client_secret.get_secret_value()
            if s.teams_client_secret
            else None,
            cert_pfx_path=s.teams_cert_pfx_path,
            federated_client_id=s.teams_federated_client_id,
            federated_token_file=s.teams_federated_token_file,
            openid_metadata_url=s.teams_openid_metadata_url,
        )
        return TeamsBot(container.core, container.engine, container.clock, auth, **overrides)

    bot: TeamsBot = container.lazy("teams_bot", build_bot)
    return bot


def teams_notifier(container: Container, **overrides: Any) -> TeamsNotifier:
    """Posts notification cards to stored Teams conversations (the outbox's Teams notifier)."""
    from adapters.teams.notifier import TeamsNotifier

    bot = teams_bot(container)
    return TeamsNotifier(
        bot.adapter,
        container.engine,
        container.clock,
        app_id=container.settings.teams_app_id,
        **overrides,
    )
