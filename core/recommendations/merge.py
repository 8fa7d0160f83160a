"""Advisor's items and ours, made into one list with one item per real action.

- Advisor's cost recommendations are classified into our rules (a VM's SkuChange is
  `rightsize-vm`, Shutdown `idle-vm`, an unattached disk `unattached-disk`, a reservation
  `reservation-purchase`; any other cost type becomes `advisor-<type>`), so a refresh keeps the
  same key whether Advisor, we, or both found it.
- Reservation items: Advisor emits one per term × look-back; only the configured term is kept,
  at the configured look-back (or the nearest one), one per SKU × region × scope.
- Same resource and same action → one recommendation. The better-evidenced one is kept (ours
  when its saving comes from effective cost and catalog prices; Advisor's figure beats our
  vCPU-ratio estimate or no figure at all), our measurements stay, and both sources are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from core.recommendations.model import (
    Action,
    AdvisorNote,
    Category,
    Evidence,
    Recommendation,
    RecommendationsConfig,
    Source,
)
from core.recommendations.ports import AdvisorItem
from core.recommendations.rules.compute import IDLE, RIGHTSIZE
from core.recommendations.rules.orphans import UNATTACHED_DISK
from core.recommendations.savings import advisor_amount

VM_TYPE = "e10b1381-5f0a-47ff-8c7b-37bd13d7c974"
RESERVATION_TYPE = "84b1a508-fc21-49da-979e-96894f1665df"
DISK_TYPE = "48eda464-1485-4dcf-a674-d0905df5054a"
RESERVATION_PURCHASE = "reservation-purchase"

_CATEGORIES = {
    "microsoft.compute/virtualmachines": Category.COMPUTE,
    "microsoft.compute/virtualmachinescalesets": Category.COMPUTE,
    "microsoft.compute/disks": Category.STORAGE,
    "microsoft.storage/storageaccounts": Category.STORAGE,
    "microsoft.network/publicipaddresses": Category.NETWORK,
    "microsoft.network/loadbalancers": Category.NETWORK,
    "microsoft.web/serverfarms": Category.WEB,
    "microsoft.web/sites": Category.WEB,
    "microsoft.subscriptions/subscriptions": Category.COMMITMENTS,
}


def _classify(item: AdvisorItem) -> tuple[str, Category, Action]:
    props = {k.lower(): v for k, v in item.properties.items()}
    if item.type_id == VM_TYPE:
        kind, target = props.get("recommendationtype", ""), props.get("targetsku", "")
        if "shutdown" in (kind.lower(), target.lower()):
            return IDLE, Category.COMPUTE, Action.DEALLOCATE
        return RIGHTSIZE, Category.COMPUTE, Action.RIGHTSIZE
    if item.type_id == DISK_TYPE:
        return UNATTACHED_DISK, Category.STORAGE, Action.DELETE
    if item.type_id == RESERVATION_TYPE:
        return RESERVATION_PURCHASE, Category.COMMITMENTS, Action.BUY_RESERVATION
    category = _CATEGORIES.get(item.impacted_field.lower(), Category.OTHER)
    return f"advisor-{item.type_id[:8]}", category, Action.REVIEW


def _reservation_key(item: AdvisorItem) -> tuple[str, str, str, str]:
    props = {k.lower(): v for k, v in item.properties.items()}
    sku = (props.get("vmsize") or props.get("sku") or props.get("displaysku") or "").lower()
    region = (props.get("region") or props.get("location") or "").lower()
    scope = (props.get("scope") or "").lower()
    return sku, region, scope, (props.get("subid") or "").lower()


def collapse_reservations(
    items: Sequence[AdvisorItem], term: str, look_back_days: int
) -> list[AdvisorItem]:
    """Advisor's reservation items of the configured term, one per SKU × region × scope: the
    configured look-back, else the nearest; other items pass unchanged."""
    kept: dict[tuple[str, str, str, str], AdvisorItem] = {}
    others: list[AdvisorItem] = []
    for item in items:
        if item.type_id != RESERVATION_TYPE:
            others.append(item)
            continue
        props = {k.lower(): v for k, v in item.properties.items()}
        if props.get("term", "").upper() != term.upper():
            continue
        key = _reservation_key(item)
        best = kept.get(key)
        if best is None or _distance(item, look_back_days) < _distance(best, look_back_days):
            kept[key] = item
    return [*others, *kept.values()]


def _distance(item: AdvisorItem, look_back_days: int) -> tuple[int, str]:
    raw = {k.lower(): v for k, v in item.properties.items()}.get("lookbackperiod", "")
    digits = "".join(ch for ch in raw if ch.isdigit())
    days = int(digits) if digits else 10**6
    return abs(days - look_back_days), item.recommendation_id


def _note(item: AdvisorItem) -> AdvisorNote:
    shown = (
        "currentSku",
        "targetSku",
        "MaxCpuP95",
        "MaxMemoryP95",
        "MaxTotalNetworkP95",
        "Duration",
        "term",
        "lookbackPeriod",
        "vmSize",
        "qty",
        "scope",
        "diskSku",
        "diskSizeGB",
        "unattachedDays",
    )
    details = tuple((k, item.properties[k]) for k in shown if item.properties.get(k))
    return AdvisorNote(
        recommendation_id=item.recommendation_id,
        problem=item.problem,
        solution=item.solution,
        link=item.link,
        amount=item.amount,
        currency=item.currency,
        details=details,
    )


def _resource_id(item: AdvisorItem, rule: str) -> str:
    if rule != RESERVATION_PURCHASE:
        return item.resource_id
    sku, region, scope, sub = _reservation_key(item)
    return f"{item.resource_id}/reservation:{sku}:{region}:{scope or 'single'}:{sub}".lower()


def advisor_recommendation(
    item: AdvisorItem, config: RecommendationsConfig, billing_currency: str | None
) -> Recommendation:
    """One Advisor item as a recommendation of its own (before merging)."""
    rule, category, action = _classify(item)
    saving = None
    if item.amount is not None and item.currency:
        rate = config.rates.get((item.currency, billing_currency or ""))
        saving = advisor_amount(item.amount, item.currency, billing_currency, rate)
    parts = item.resource_id.split("/")
    sub = parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else ""
    rg = parts[4] if len(parts) > 4 and parts[3] == "resourcegroups" else ""
    return Recommendation(
        rule=rule,
        category=category,
        action=action,
        resource_id=_resource_id(item, rule),
        resource_name=item.impacted_value,
        title=item.solution or item.problem,
        saving=saving,
        evidence=Evidence(advisor=_note(item)),
        sources=(Source.ADVISOR,),
        subscription_id=sub,
        resource_group=rg,
        location=str(item.properties.get("regionId") or item.properties.get("location") or ""),
    )


def _better_evidenced(ours: Recommendation, theirs: Recommendation) -> bool:
    """Whether ours is kept over Advisor's for the same action."""
    if ours.saving is not None and not ours.saving.estimate:
        return True
    return theirs.saving is None


def combine(ours: Recommendation, theirs: Recommendation) -> Recommendation:
    """One recommendation from ours and Advisor's for the same resource and action."""
    note = theirs.evidence.advisor
    evidence = replace(ours.evidence, advisor=note)
    sources = (Source.CLOUDOPTIMA, Source.ADVISOR)
    if _better_evidenced(ours, theirs):
        return replace(ours, evidence=evidence, sources=sources)
    return replace(ours, saving=theirs.saving, evidence=evidence, sources=sources)


def merge(
    ours: Iterable[Recommendation], advisor: Iterable[Recommendation]
) -> list[Recommendation]:
    """Ours and Advisor's, one per (resource, action)."""
    merged: dict[tuple[str, Action], Recommendation] = {}
    for rec in ours:
        merged.setdefault((rec.resource_id, rec.action), rec)
    for rec in advisor:
        key = (rec.resource_id, rec.action)
        mine = merged.get(key)
        if mine is None:
            merged[key] = rec
        elif Source.ADVISOR not in mine.sources:
            merged[key] = combine(mine, rec)
    return list(merged.values())


def excluded(rec: Recommendation, config: RecommendationsConfig) -> bool:
    """Whether a configured tag or resource group excludes the recommendation's resource."""
    groups = {g.lower() for g in config.exclude_resource_groups}
    if rec.resource_group and rec.resource_group.lower() in groups:
        return True
    return _tag_excluded(rec.tags, config.exclude_tags)


def _tag_excluded(tags: Mapping[str, str], rules: Sequence[str]) -> bool:
    lowered = {k.lower(): v for k, v in tags.items()}
    for rule in rules:
        key, eq, value = rule.partition("=")
        found = lowered.get(key.strip().lower())
        if found is not None and (not eq or found == value.strip()):
            return True
    return False


def decimal_or_none(text: str | None) -> Decimal | None:
    """Advisor's amounts are strings ("118.26"); blank or unreadable → None."""
    if not text:
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except ArithmeticError:
        return None
    return value if value.is_finite() else None
