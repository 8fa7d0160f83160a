"""Commitment rules: reservations used below the threshold, and savings plans worth buying."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from core.recommendations.model import Action, Category, Evidence, Recommendation, Saving
from core.recommendations.ports import ReservationUsage, SavingsPlanOffer
from core.recommendations.rules.base import Facts, Params, RuleRegistry
from core.recommendations.savings import benefit_per_month, format_money, unused_reservation

UNDERUSED_RESERVATION = "underused-reservation"
SAVINGS_PLAN = "savings-plan"
UTILIZATION_GRAIN_DAYS = 30


def _term_years(term: str) -> int:
    return {"P1Y": 1, "P3Y": 3, "P5Y": 5}.get(term.upper(), 1)


def _unused_saving(facts: Facts, r: ReservationUsage, used: Decimal) -> Saving | None:
    price = facts.prices.price(r.sku, r.location, "Linux")
    years = _term_years(r.term)
    total = None
    if price is not None:
        total = {1: price.reservation_1y_total, 3: price.reservation_3y_total}.get(years)
    if price is None or total is None:
        return None
    return unused_reservation(total, r.quantity, years, used, price.currency)


def underused_reservations(facts: Facts, p: Params) -> Iterator[Recommendation]:
    threshold = facts.config.utilization_threshold
    for r in facts.reservations:
        used = r.utilization.get(UTILIZATION_GRAIN_DAYS)
        if used is None or used >= threshold:
            continue
        shown = ", ".join(f"{grain} d: {value}%" for grain, value in sorted(r.utilization.items()))
        yield Recommendation(
            rule=UNDERUSED_RESERVATION,
            category=Category.COMMITMENTS,
            action=Action.REVIEW_RESERVATION,
            resource_id=r.reservation_id,
            resource_name=r.name,
            location=r.location,
            title=f"Reservation {r.name} ({r.quantity}× {r.sku}) is {used}% used over 30 days: "
            "exchange it or widen its scope",
            saving=_unused_saving(facts, r, used),
            evidence=Evidence(
                facts=(
                    ("Utilization", shown),
                    ("Trend", r.trend or "unknown"),
                    ("Threshold", f"{threshold}% over 30 days"),
                    ("Term, scope", f"{r.term}, {r.applied_scope_type}"),
                )
            ),
        )


def _plan_id(offer: SavingsPlanOffer) -> str:
    return f"{offer.scope}/savingsplan:{offer.benefit_scope}:{offer.term}".lower()


def savings_plans(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for offer in facts.savings_plans:
        if offer.savings_amount <= 0:
            continue
        money = format_money(offer.commitment_per_hour, offer.currency)
        yield Recommendation(
            rule=SAVINGS_PLAN,
            category=Category.COMMITMENTS,
            action=Action.BUY_SAVINGS_PLAN,
            resource_id=_plan_id(offer),
            resource_name=f"{offer.benefit_scope} savings plan",
            title=f"Buy a {offer.term} compute savings plan of {money}/h ({offer.benefit_scope})",
            saving=benefit_per_month(offer.savings_amount, offer.total_hours, offer.currency),
            evidence=Evidence(
                facts=(
                    ("Look-back", f"{offer.look_back} ({offer.total_hours} h)"),
                    (
                        "Cost without / with the plan",
                        f"{format_money(offer.cost_without_benefit, offer.currency)} / "
                        f"{format_money(offer.total_cost_with_benefit, offer.currency)}",
                    ),
                    ("Coverage", f"{offer.coverage_percentage}%"),
                    ("Scope", offer.scope),
                )
            ),
        )


def register(registry: RuleRegistry) -> None:
    registry.rule(
        UNDERUSED_RESERVATION,
        category=Category.COMMITMENTS,
        action=Action.REVIEW_RESERVATION,
        summary="Reservations used below the threshold",
        help="Utilization over 30 days below CLOUDOPTIMA_RECS_UTILIZATION_THRESHOLD (80% by "
        "default). The unused share's monthly cost: the whole-term price spread over the term's "
        "hours × 730 × quantity × (1 − utilization).",
    )(underused_reservations)
    registry.rule(
        SAVINGS_PLAN,
        category=Category.COMMITMENTS,
        action=Action.BUY_SAVINGS_PLAN,
        summary="Savings plans worth buying",
        help="Cost Management's savings plan recommendation for the configured term and "
        "look-back. Its saving covers the look-back window: per month = savings ÷ totalHours × "
        "730.",
    )(savings_plans)
