"""Recommendations stored directly (no refresh) for approvals and audit tests: a few items in
two subscriptions and two resource groups, and the people who decide on them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from core.kernel.context import Requester
from core.kernel.db.engine import write_transaction
from core.recommendations.model import (
    Action,
    Category,
    Evidence,
    Recommendation,
    Saving,
)
from core.recommendations.store import all_recommendations, apply_findings

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def rid(sub: str, rg: str, name: str) -> str:
    vms = "providers/microsoft.compute/virtualmachines"
    return f"/subscriptions/{sub}/resourcegroups/{rg}/{vms}/{name}"


def rec(
    name: str,
    sub: str = SUB_A,
    rg: str = "rg-web",
    saving: str = "100",
    *,
    rule: str = "idle-vm",
    facts: tuple[tuple[str, str], ...] = (),
) -> Recommendation:
    return Recommendation(
        rule=rule,
        category=Category.COMPUTE,
        action=Action.DEALLOCATE if rule == "idle-vm" else Action.RIGHTSIZE,
        resource_id=rid(sub, rg, name),
        resource_name=name,
        title=f"Deallocate idle VM {name}" if rule == "idle-vm" else f"Resize {name}",
        saving=Saving(Decimal(saving), "EUR", f"€{saving}/mo effective"),
        evidence=Evidence(facts=facts),
        subscription_id=sub,
        resource_group=rg,
        location="westeurope",
    )


DEFAULT_RECS = (
    rec("vm-web-1"),
    rec("vm-web-2", saving="50"),
    rec("vm-data-1", rg="rg-data", saving="75"),
    rec("vm-b-1", sub=SUB_B, rg="rg-web", saving="20"),
)


def store_recs(engine: Engine, recs=DEFAULT_RECS, now: datetime = NOW) -> dict[str, int]:
    """Store `recs` (one refresh's findings); resource name → recommendation id."""
    with write_transaction(engine) as conn:
        apply_findings(conn, list(recs), now)
    return {s.recommendation.resource_name: s.id for s in all_recommendations(engine)}


#: The one Slack workspace and Teams tenant the approvals tests' deployment serves: short
#: principals in grants (`slack:UANN`) mean their users (`CoreConfig.home_workspaces`).
HOME_WORKSPACES = {"slack": "T1", "teams": "tenant-1"}


def slack(user: str, name: str = "", team: str = "T1", channel: str = "C0APPROVE") -> Requester:
    return Requester(
        platform="slack",
        user_id=user,
        user_name=name or user,
        conversation_id=channel,
        workspace_id=team,
    )


def teams(oid: str, name: str = "", tenant: str = "tenant-1") -> Requester:
    return Requester(
        platform="teams",
        user_id=oid,
        user_name=name or oid,
        conversation_id="19:approvals@thread.tacv2",
        workspace_id=tenant,
    )
