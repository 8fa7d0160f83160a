"""The product's core, assembled: the front door with every feature registered into its router.

A new feature is a new folder plus one registration line below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from core.anomalies import commands as anomalies
from core.anomalies.model import AnomaliesConfig
from core.budgets import commands as budgets
from core.budgets.model import BudgetsConfig
from core.costs import commands as costs
from core.costs.model import CostsConfig
from core.kernel import help as kernel_help
from core.kernel import whoami as kernel_whoami
from core.kernel.clock import Clock
from core.kernel.context import CoreConfig
from core.kernel.routing import Router
from core.kernel.service import Auditor, CloudOptima, Observer, RateLimiter
from core.recommendations import commands as recommendations
from core.recommendations.model import RecommendationsConfig


@dataclass(frozen=True, slots=True)
class FeatureConfigs:
    """Each feature's settings (the bot's Settings object builds them)."""

    costs: CostsConfig = field(default_factory=CostsConfig)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    anomalies: AnomaliesConfig = field(default_factory=AnomaliesConfig)
    recommendations: RecommendationsConfig = field(default_factory=RecommendationsConfig)


def build_router(features: FeatureConfigs) -> Router:
    """Every feature's commands, in the order help lists them: the most asked first."""
    router = Router()
    costs.register(router, features.costs)
    budgets.register(router, features.budgets)
    anomalies.register(router, features.anomalies)
    recommendations.register(router, features.recommendations)
    kernel_help.register(router)
    kernel_whoami.register(router)
    return router


def create_core(
    engine: Engine,
    clock: Clock,
    config: CoreConfig | None = None,
    features: FeatureConfigs | None = None,
    *,
    rate_limiter: RateLimiter | None = None,
    auditor: Auditor | None = None,
    observer: Observer | None = None,
) -> CloudOptima:
    """The front door over `engine`, with every feature's commands and buttons."""
    router = build_router(features or FeatureConfigs())
    return CloudOptima(
        engine,
        clock,
        router,
        config,
        rate_limiter=rate_limiter,
        auditor=auditor,
        observer=observer,
    )
