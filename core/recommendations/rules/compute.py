"""Virtual machine rules: idle → deallocate, rightsize within the family, stopped but still
billed, deallocated for 30+ days (its disks still cost)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from core.recommendations.catalog import PriceTable
from core.recommendations.model import Action, Category, Evidence, Recommendation, Saving
from core.recommendations.ports import SkuSpec, VirtualMachine
from core.recommendations.rules.base import Facts, Parameter, Params, RuleRegistry
from core.recommendations.rules.common import cost_fact, identity, mbps, monthly_cost, percent
from core.recommendations.savings import rightsize, rightsize_by_vcpus, total_of
from core.recommendations.utilization import Utilization

IDLE = "idle-vm"
RIGHTSIZE = "rightsize-vm"
STOPPED = "stopped-vm"
DEALLOCATED = "deallocated-vm"

_IDLE_PARAMS = (
    Parameter("cpu_p95_max", Decimal(3), "CPU p95 of the hourly maximum below this (%)"),
    Parameter("network_p95_max_mbps", Decimal(1), "Outbound network p95 below this (Mbit/s)"),
    Parameter("memory_p95_max", Decimal(50), "Used memory p95 below this (%), when measured"),
    Parameter("min_days", 14, "Days of CPU data needed to judge"),
)
_RIGHTSIZE_PARAMS = (
    Parameter("target_utilization", Decimal(80), "CPU and memory the target may reach (%)"),
    Parameter("idle_cpu_p95", Decimal(3), "Below this CPU p95 the VM is idle: not rightsized"),
    Parameter("fit_cpu_threshold", Decimal(30), "Fit score: CPU p99 at/over this costs 0.5"),
    Parameter("fit_memory_threshold", Decimal(50), "Fit score: memory p99 at/over this costs 0.5"),
    Parameter("fit_network_mbps", Decimal(750), "Fit score: network p99 at/over this costs 0.1"),
    Parameter("min_days", 14, "Days of CPU data needed to judge"),
)
_DEALLOCATED_PARAMS = (Parameter("days", 30, "Days without compute cost"),)


def _running(facts: Facts) -> Iterator[VirtualMachine]:
    return (vm for vm in facts.inventory.vms if vm.state == "running")


def _metric_facts(u: Utilization) -> tuple[tuple[str, str], ...]:
    memory = (
        f"{percent(u.memory_p95)} / {percent(u.memory_p99)}"
        if u.memory_p95 is not None
        else "not measured (no memory metric)"
    )
    return (
        ("CPU p95 / p99 (hourly max)", f"{percent(u.cpu_p95)} / {percent(u.cpu_p99)}"),
        ("Memory used p95 / p99", memory),
        ("Network out p95", mbps(u.network_p95_mbps)),
        ("Data", f"{u.cpu_days:.1f} days of hourly points"),
    )


def _evidence(
    facts: tuple[tuple[str, str], ...],
    u: Utilization,
    prices: tuple[tuple[str, str, str, str], ...] = (),
) -> Evidence:
    return Evidence(
        facts=facts,
        series=u.daily_cpu_max,
        series_title="Daily maximum CPU",
        series_unit="%",
        prices=prices,
    )


def is_idle(u: Utilization, p: Params) -> bool:
    """Advisor's shutdown test (CPU p95 of the per-interval maximum, outbound network) plus
    memory when the VM reports it."""
    if u.cpu_p95 is None or u.cpu_days < p.int("min_days"):
        return False
    if u.cpu_p95 >= p.decimal("cpu_p95_max"):
        return False
    if u.network_p95_mbps is None or u.network_p95_mbps >= p.decimal("network_p95_max_mbps"):
        return False
    return u.memory_p95 is None or u.memory_p95 < p.decimal("memory_p95_max")


def idle_vms(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for vm in _running(facts):
        u = facts.utilization.get(vm.resource_id)
        if u is None or not is_idle(u, p):
            continue
        note = "" if u.memory_p95 is not None else " (no memory metric: CPU and network only)"
        yield Recommendation(
            rule=IDLE,
            category=Category.COMPUTE,
            action=Action.DEALLOCATE,
            title=f"Deallocate idle VM {vm.name}{note}",
            saving=monthly_cost(facts.costs, vm.resource_id),
            evidence=_evidence(
                (("Size", vm.size), *_metric_facts(u), cost_fact(facts.costs, vm.resource_id)), u
            ),
            **identity(vm),
        )


def _needed(u: Utilization, spec: SkuSpec, target_utilization: Decimal) -> tuple[Decimal, Decimal]:
    """(vCPUs, GB of memory) a target needs for the measured p99 with headroom."""
    share = target_utilization / 100
    vcpus = Decimal(spec.vcpus) * (u.cpu_p99 or Decimal(100)) / 100 / share
    memory = spec.memory_gb * (u.memory_p99 or Decimal(0)) / 100 / share
    return vcpus, memory


def _target(
    vm: VirtualMachine, u: Utilization, spec: SkuSpec, prices: PriceTable, p: Params
) -> SkuSpec | None:
    """The cheapest smaller size of the family that fits the p99 with headroom."""
    vcpus, memory = _needed(u, spec, p.decimal("target_utilization"))
    fitting = [
        s
        for s in prices.family(spec.family)
        if s.vcpus < spec.vcpus
        and s.architecture == spec.architecture
        and s.vcpus >= vcpus
        and s.memory_gb >= memory
    ]

    def cost(s: SkuSpec) -> tuple[Decimal, int]:
        price = prices.price(s.name, vm.location, vm.os_type)
        return (price.hourly if price else Decimal(s.vcpus) * 1000, s.vcpus)

    return min(fitting, key=cost) if fitting else None


def fit_score(vm: VirtualMachine, u: Utilization, target: SkuSpec, p: Params) -> Decimal:
    """0–5 in the manner of Azure Optimization Engine: start at 5; CPU or memory p99 at/over
    its threshold, or missing, −0.5 each; network the same, −0.1; more data disks or NICs than
    the target allows → 1 (an unknown count −1); never below 0."""
    score = Decimal(5)
    for value, threshold, penalty in (
        (u.cpu_p99, p.decimal("fit_cpu_threshold"), Decimal("0.5")),
        (u.memory_p99, p.decimal("fit_memory_threshold"), Decimal("0.5")),
        (u.network_p99_mbps, p.decimal("fit_network_mbps"), Decimal("0.1")),
    ):
        if value is None or value >= threshold:
            score -= penalty
    for count, limit in (
        (vm.data_disks, target.max_data_disks),
        (vm.network_interfaces, target.max_nics),
    ):
        if count is None or limit is None:
            score -= 1
        elif count > limit:
            score = min(score, Decimal(1))
    return max(score, Decimal(0))


def _rightsize_saving(
    facts: Facts, vm: VirtualMachine, spec: SkuSpec, target: SkuSpec
) -> Saving | None:
    monthly = monthly_cost(facts.costs, vm.resource_id)
    if monthly is None:
        return None
    current = facts.prices.price(spec.name, vm.location, vm.os_type)
    wanted = facts.prices.price(target.name, vm.location, vm.os_type)
    if current is not None and wanted is not None and current.hourly > 0:
        return rightsize(
            monthly.amount,
            monthly.currency,
            current_sku=spec.name,
            target_sku=target.name,
            current_price=current.hourly,
            target_price=wanted.hourly,
        )
    return rightsize_by_vcpus(
        monthly.amount,
        monthly.currency,
        current_sku=spec.name,
        target_sku=target.name,
        current_vcpus=spec.vcpus,
        target_vcpus=target.vcpus,
    )


def _price_row(prices: PriceTable, vm: VirtualMachine, spec: SkuSpec) -> tuple[str, str, str, str]:
    price = prices.price(spec.name, vm.location, vm.os_type)
    # Hourly prices keep their digits (0.126, not 0.13): the formula divides them.
    hourly = f"{price.hourly.normalize():f} {price.currency}/h" if price else "no price"
    return (spec.name, str(spec.vcpus), f"{spec.memory_gb.normalize():f}", hourly)


def rightsize_vms(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for vm in _running(facts):
        u = facts.utilization.get(vm.resource_id)
        spec = facts.prices.sku(vm.size)
        if u is None or spec is None or u.cpu_p99 is None or u.cpu_days < p.int("min_days"):
            continue
        if u.cpu_p95 is not None and u.cpu_p95 < p.decimal("idle_cpu_p95"):
            continue  # idle: deallocating it is the recommendation
        target = _target(vm, u, spec, facts.prices, p)
        if target is None:
            continue
        yield Recommendation(
            rule=RIGHTSIZE,
            category=Category.COMPUTE,
            action=Action.RIGHTSIZE,
            title=f"Resize {vm.name} from {spec.name} to {target.name}",
            saving=_rightsize_saving(facts, vm, spec, target),
            fit_score=fit_score(vm, u, target, p),
            evidence=_evidence(
                (
                    ("Size", f"{spec.name} → {target.name} ({vm.os_type}, {vm.location})"),
                    *_metric_facts(u),
                    cost_fact(facts.costs, vm.resource_id),
                ),
                u,
                (_price_row(facts.prices, vm, spec), _price_row(facts.prices, vm, target)),
            ),
            **identity(vm),
        )


def stopped_vms(facts: Facts, p: Params) -> Iterator[Recommendation]:
    for vm in facts.inventory.vms:
        if vm.state != "stopped":
            continue
        yield Recommendation(
            rule=STOPPED,
            category=Category.COMPUTE,
            action=Action.DEALLOCATE,
            title=f"Deallocate {vm.name}: stopped from inside, its compute is still billed",
            saving=monthly_cost(facts.costs, vm.resource_id),
            evidence=Evidence(
                facts=(
                    ("Power state", vm.power_state),
                    ("Size", vm.size),
                    cost_fact(facts.costs, vm.resource_id),
                )
            ),
            **identity(vm),
        )


def deallocated_vms(facts: Facts, p: Params) -> Iterator[Recommendation]:
    costs = facts.costs
    if not costs.covers_window or p.int("days") > costs.days:
        return  # without 30 days of cost data nobody can tell "for 30 days"
    disks_of: dict[str, list[tuple[str, str]]] = {}
    for disk in facts.inventory.disks:
        if disk.managed_by:
            disks_of.setdefault(disk.managed_by, []).append((disk.resource_id, disk.name))
    for vm in facts.inventory.vms:
        own = costs.of(vm.resource_id)
        if vm.state != "deallocated" or (own is not None and own.amount > 0):
            continue
        parts = [(name, costs.of(rid)) for rid, name in disks_of.get(vm.resource_id, [])]
        priced = [(name, c.amount) for name, c in parts if c is not None and c.amount > 0]
        currencies = {c.currency for _name, c in parts if c is not None}
        saving = None
        if priced and len(currencies) == 1:
            saving = total_of(priced, costs.days, currencies.pop())
        yield Recommendation(
            rule=DEALLOCATED,
            category=Category.COMPUTE,
            action=Action.DELETE,
            title=f"Delete {vm.name} (deallocated 30+ days) and its {len(parts)} disk(s)",
            saving=saving,
            evidence=Evidence(
                facts=(
                    ("Power state", vm.power_state),
                    ("Compute cost", f"none billed {costs.start} – {costs.end}"),
                    ("Disks", ", ".join(name for name, _c in parts) or "none"),
                )
            ),
            **identity(vm),
        )


def register(registry: RuleRegistry) -> None:
    registry.rule(
        IDLE,
        category=Category.COMPUTE,
        action=Action.DEALLOCATE,
        summary="Idle VMs: deallocate",
        help="A running VM whose CPU p95 (of the hourly maximum) and outbound network stayed "
        "low over the look-back, and whose used memory stayed low when the VM reports it "
        "(Advisor ignores memory). Saves its effective cost.",
        parameters=_IDLE_PARAMS,
    )(idle_vms)
    registry.rule(
        RIGHTSIZE,
        category=Category.COMPUTE,
        action=Action.RIGHTSIZE,
        summary="Oversized VMs: resize within the family",
        help="The cheapest smaller size of the same family whose vCPUs × CPU p99 and memory × "
        "memory p99 fit at the target utilization. Saving: effective cost × (1 − target price ÷ "
        "current price), prices for the VM's region and OS; the vCPU ratio (an estimate) when a "
        "price is missing. Fit score 0–5.",
        parameters=_RIGHTSIZE_PARAMS,
    )(rightsize_vms)
    registry.rule(
        STOPPED,
        category=Category.COMPUTE,
        action=Action.DEALLOCATE,
        summary="VMs stopped but not deallocated: still billed",
        help="Shut down from inside the OS, the VM keeps its compute and is billed for it. "
        "Deallocating saves its effective cost.",
    )(stopped_vms)
    registry.rule(
        DEALLOCATED,
        category=Category.COMPUTE,
        action=Action.DELETE,
        summary="VMs deallocated for 30+ days: their disks still cost",
        help="A deallocated VM with no compute cost in the last 30 days of cost data. Saving: "
        "its disks' effective cost (snapshot what you need first).",
        parameters=_DEALLOCATED_PARAMS,
    )(deallocated_vms)
