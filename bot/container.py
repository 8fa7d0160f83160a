"""Composition root: the one place that builds adapters and wires them to the core.

Tests build a container with overrides (a fixed clock, a fake transport) instead of patching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

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
