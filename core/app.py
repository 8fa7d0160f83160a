"""The product's core, assembled: the front door with every feature registered into its router.

A new feature is a new folder plus one registration line below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from core.anomalies import commands as anomalies
from core.anomalies.model import AnomaliesConfig
from core.approvals import commands as approvals
from core.approvals.model import ApprovalsConfig
from core.approvals.policy import GroupCache, Policy
from core.approvals.ports import GroupDirectory
from core.approvals.savings import realized_by_currency
from core.approvals.store import read_decisions
from core.audit import commands as audit
from core.audit.auditor import AuditTrail
from core.budgets import commands as budgets
from core.budgets.model import BudgetsConfig
from core.costs import commands as costs
from core.costs.model import CostFilter, CostsConfig
from core.digests import commands as digests
from core.digests.content import rec_matches
from core.digests.model import DigestsConfig, RealizedSaving, RecDecision
from core.kernel import help as kernel_help
from core.kernel import whoami as kernel_whoami
from core.kernel.clock import Clock
from core.kernel.context import CoreConfig
from core.kernel.routing import Router
from core.kernel.service import Auditor, CloudOptima, Observer, RateLimiter
from core.recommendations import commands as recommendations
from core.recommendations.model import RecommendationsConfig
from core.recommendations.presenters import detail_card
from core.recommendations.store import all_recommendations


@dataclass(frozen=True, slots=True)
class FeatureConfigs:
    """Each feature's settings (the bot's Settings object builds them)."""

    costs: CostsConfig = field(default_factory=CostsConfig)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    anomalies: AnomaliesConfig = field(default_factory=AnomaliesConfig)
    recommendations: RecommendationsConfig = field(default_factory=RecommendationsConfig)
    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    digests: DigestsConfig = field(default_factory=DigestsConfig)


# -- one feature's read API in another's port (digests show the approvals feature's state) ------


def digest_rec_decisions(engine: Engine, rec_ids: Sequence[int]) -> Mapping[int, RecDecision]:
    """The version a digest's decision buttons carry; decided items are left out of digests."""
    views = approvals.decision_views(engine, rec_ids)
    return {i: RecDecision(v.version, open=v.state == "open") for i, v in views.items()}


def digest_realized_savings(
    engine: Engine, filters: Sequence[CostFilter]
) -> Sequence[RealizedSaving]:
    """Realized savings to date of the recommendations within a digest's scope filters."""
    scoped = tuple(filters)
    recs = {s.id: s for s in all_recommendations(engine) if rec_matches(s, scoped)}
    with engine.connect() as conn:
        decisions = read_decisions(conn, list(recs))
    totals = realized_by_currency(decisions.values(), recs)
    return [RealizedSaving(cur, amount, count) for cur, (amount, count) in sorted(totals.items())]


def build_router(
    features: FeatureConfigs,
    *,
    clock: Clock | None = None,
    groups: GroupDirectory | None = None,
) -> Router:
    """Every feature's commands, in the order help lists them: the most asked first.

    `groups` resolves Slack user groups named in approval roles (cached per
    `ApprovalsConfig.group_cache_seconds` by `clock`).
    """
    router = Router()
    costs.register(router, features.costs)
    budgets.register(router, features.budgets)
    anomalies.register(router, features.anomalies)
    cache = None
    if groups is not None and clock is not None:
        ttl = timedelta(seconds=features.approvals.group_cache_seconds)
        cache = GroupCache(groups, clock, ttl)
    decisions = approvals.Approvals(
        features.approvals, Policy(features.approvals, cache), render=detail_card
    )
    recommendations.register(router, features.recommendations, decisions)
    approvals.register(router, decisions)
    audit.register(router)
    digests.register(router, features.digests)
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
    groups: GroupDirectory | None = None,
    observer: Observer | None = None,
) -> CloudOptima:
    """The front door over `engine`, with every feature's commands and buttons. Refused
    attempts of any command or button go to the audit trail unless another `auditor` is given;
    `observer` is told how each request ended (metrics)."""
    router = build_router(features or FeatureConfigs(), clock=clock, groups=groups)
    return CloudOptima(
        engine,
        clock,
        router,
        config,
        rate_limiter=rate_limiter,
        auditor=auditor or AuditTrail(engine),
        observer=observer,
    )
