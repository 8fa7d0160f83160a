"""Resources nobody uses that still bill: unattached managed disks (not ASR replicas), public
IPs associated with nothing, App Service plans without sites. Each saves its effective cost."""

from __future__ import annotations

from collections.abc import Iterator

from core.recommendations.model import Action, Category, Evidence, Recommendation
from core.recommendations.rules.base import Facts, Params, RuleRegistry
from core.recommendations.rules.common import cost_fact, identity, monthly_cost

UNATTACHED_DISK = "unattached-disk"
UNUSED_IP = "unused-public-ip"
EMPTY_PLAN = "empty-app-service-plan"
#: Azure Site Recovery keeps replica and seed disks unattached on purpose.
ASR_TAGS = frozenset({"asr-replicadisk", "asrseeddisk"})


def unattached_disks(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for disk in facts.inventory.disks:
        if disk.managed_by or disk.disk_state.lower() != "unattached":
            continue
        if ASR_TAGS & {key.lower() for key in disk.tags}:
            continue
        size = f"{disk.size_gb} GB" if disk.size_gb is not None else "unknown size"
        yield Recommendation(
            rule=UNATTACHED_DISK,
            category=Category.STORAGE,
            action=Action.DELETE,
            title=f"Delete unattached disk {disk.name} ({disk.sku}, {size})",
            saving=monthly_cost(facts.costs, disk.resource_id),
            evidence=Evidence(
                facts=(
                    ("Disk state", disk.disk_state),
                    ("Owner", "none"),
                    cost_fact(facts.costs, disk.resource_id),
                )
            ),
            **identity(disk),
        )


def unused_public_ips(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for ip in facts.inventory.public_ips:
        if ip.ip_configuration or ip.nat_gateway:
            continue
        yield Recommendation(
            rule=UNUSED_IP,
            category=Category.NETWORK,
            action=Action.DELETE,
            title=f"Delete public IP {ip.name}: associated with nothing",
            saving=monthly_cost(facts.costs, ip.resource_id),
            evidence=Evidence(
                facts=(
                    ("SKU", ip.sku or "unknown"),
                    ("Associated with", "nothing (no IP configuration, no NAT gateway)"),
                    cost_fact(facts.costs, ip.resource_id),
                )
            ),
            **identity(ip),
        )


def empty_plans(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for plan in facts.inventory.plans:
        if plan.sites != 0:
            continue
        yield Recommendation(
            rule=EMPTY_PLAN,
            category=Category.WEB,
            action=Action.DELETE,
            title=f"Delete App Service plan {plan.name}: it hosts no app",
            saving=monthly_cost(facts.costs, plan.resource_id),
            evidence=Evidence(
                facts=(
                    ("SKU", plan.sku or "unknown"),
                    ("Sites", "0"),
                    cost_fact(facts.costs, plan.resource_id),
                )
            ),
            **identity(plan),
        )


def register(registry: RuleRegistry) -> None:
    registry.rule(
        UNATTACHED_DISK,
        category=Category.STORAGE,
        action=Action.DELETE,
        summary="Unattached managed disks",
        help="A managed disk with no owner VM (Site Recovery replica and seed disks are left "
        "alone). Saves its effective cost; snapshot it first if unsure.",
    )(unattached_disks)
    registry.rule(
        UNUSED_IP,
        category=Category.NETWORK,
        action=Action.DELETE,
        summary="Public IPs associated with nothing",
        help="A public IP address with no IP configuration and no NAT gateway still bills "
        "(Standard SKU and static Basic). Saves its effective cost.",
    )(unused_public_ips)
    registry.rule(
        EMPTY_PLAN,
        category=Category.WEB,
        action=Action.DELETE,
        summary="App Service plans with no sites",
        help="A plan bills for its instances whether or not an app runs on it. Saves its "
        "effective cost.",
    )(empty_plans)
