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
from core.ports import Clock, CostSource, SystemClock
from core.scopes import Scope, parse_scope

#: The simulated tenant is the same for everyone: same seed, same story (see adapters/azure).
DEMO_SEED = 42


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

    # -- Azure ---------------------------------------------------------------------------------

    @property
    def tenant(self) -> Any:
        """The simulated Azure tenant (demo mode), generated up to today."""
        from adapters.azure.simulated import SimulatedTenant

        return self.lazy(
            "tenant", lambda: SimulatedTenant(seed=DEMO_SEED, today=self.clock.now().date())
        )

    def scopes(self) -> list[Scope]:
        """The scopes to ingest: configured ones, or the simulated tenant's in demo mode."""
        if self.settings.demo and not self.settings.scopes:
            return [parse_scope(path) for path in self.tenant.scopes]
        return self.settings.scope_list

    def cost_source(self) -> CostSource:
        """A new cost source over the real SDK client (close it: `async with` / `aclose()`)."""
        from adapters.azure import build_cost_source, build_simulated_cost_source, make_credential

        s = self.settings
        if s.demo:
            return build_simulated_cost_source(  # type: ignore[no-any-return]
                self.tenant,
                chunk_days=s.query_chunk_days,
                max_retries=s.azure_max_retries,
                max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
            )
        credential = make_credential(
            s.azure_auth,
            tenant_id=s.azure_tenant_id,
            client_id=s.azure_client_id,
            client_secret=s.azure_client_secret.get_secret_value()
            if s.azure_client_secret
            else None,
        )
        return build_cost_source(  # type: ignore[no-any-return]
            credential=credential,
            chunk_days=s.query_chunk_days,
            max_retries=s.azure_max_retries,
            max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
        )


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
