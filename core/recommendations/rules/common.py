"""What several rules share: a resource's identity on a recommendation, its monthly cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.recommendations.effective import EffectiveCosts
from core.recommendations.model import Saving
from core.recommendations.ports import Resource
from core.recommendations.savings import format_money, monthly_effective_cost


def identity(resource: Resource) -> dict[str, Any]:
    """The fields of a `Recommendation` that name its resource."""
    return {
        "resource_id": resource.resource_id,
        "resource_name": resource.name,
        "subscription_id": resource.subscription_id,
        "resource_group": resource.resource_group,
        "location": resource.location,
        "tags": resource.tags,
    }


def monthly_cost(costs: EffectiveCosts, resource_id: str) -> Saving | None:
    """The resource's last 30 days of effective cost, normalised to a month (None: no cost
    recorded for it)."""
    found = costs.of(resource_id)
    if found is None or found.amount <= 0:
        return None
    return monthly_effective_cost(found.amount, costs.days, found.currency)


def cost_fact(costs: EffectiveCosts, resource_id: str) -> tuple[str, str]:
    found = costs.of(resource_id)
    label = f"Cost, last {costs.days} days ({costs.label})"
    if found is None:
        return label, "none recorded"
    return label, format_money(found.amount, found.currency)


def percent(value: Decimal | None) -> str:
    return "no data" if value is None else f"{value:.1f}%"


def mbps(value: Decimal | None) -> str:
    return "no data" if value is None else f"{value:.2f} Mbit/s"
