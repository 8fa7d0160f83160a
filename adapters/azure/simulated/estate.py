"""The simulated tenant's estate: what Resource Graph, Monitor, Advisor, Cost Management's
benefit recommendations, the Reservations API, Resource SKUs and Retail Prices answer.

`Estate.from_lines` derives it from the tenant's billed lines (the same VMs, disks, public IPs and
App Service plans that have costs), so every recommendation in the demo has effective cost
behind it. `Estate.synthetic` builds a large one for the benchmark. Deterministic (seeded).

The story: most VMs are busy; some are idle, some borderline (just above the idle line), some
oversized (rightsizing candidates), some report no memory metric, one reports no metrics at all;
a few are stopped but not deallocated; Sandbox VMs that stopped billing 30+ days ago are
deallocated with their disks still attached. One disk in five is unattached (one of them a Site
Recovery replica, one tagged `cloudoptima:ignore`), one public IP in three is associated with
nothing, one plan in three hosts no site. The reservation bought in Production is used ~64%.
Advisor reports some of the same (Shutdown, SkuChange, unattached disks; one of its figures in
USD), six copies of one reservation recommendation (P1Y/P3Y × 7/30/60 days), one suppressed
item, and one cost item of a type CloudOptima has no rule for.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from adapters.azure.simulated.model import (
    Line,
    SimDisk,
    SimPlan,
    SimPublicIp,
    SimReservation,
    SimVm,
)

VM_TYPE = "e10b1381-5f0a-47ff-8c7b-37bd13d7c974"
RESERVATION_TYPE = "84b1a508-fc21-49da-979e-96894f1665df"
DISK_TYPE = "48eda464-1485-4dcf-a674-d0905df5054a"
SNAPSHOT_TYPE = "c4e5e3b2-8cf6-4d3a-9a4f-1e2d3c4b5a69"
_PATTERNS = (
    ("busy", 0.42),
    ("oversized", 0.22),
    ("idle", 0.14),
    ("borderline", 0.1),
    ("no-memory", 0.12),
)
_OVERSIZED_SIZES = ("Standard_D8s_v5", "Standard_D16s_v5", "Standard_E8s_v5", "Standard_D4s_v5")
_SIZES = (
    "Standard_D2s_v5",
    "Standard_D4s_v5",
    "Standard_E4s_v5",
    "Standard_F4s_v2",
    "Standard_B2ms",
)
RESERVED_SIZE = "Standard_D4s_v5"
_DEALLOCATED_AFTER_DAYS = 30


def load_catalog_document() -> dict[str, Any]:
    """The bundled SKU and price snapshot (the simulated SKUs and prices APIs serve it)."""
    text = resources.files("core.recommendations").joinpath("vm_catalog.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def arm_id(subscription_id: str, resource_group: str, provider: str, name: str) -> str:
    group = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    return f"{group}/providers/{provider}/{name}"


def _pattern(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in _PATTERNS:
        total += share
        if roll < total:
            return name
    return "busy"


@dataclass
class Estate:
    """Everything the recommendation endpoints serve, for one tenant."""

    today: date
    seed: int
    vms: tuple[SimVm, ...] = ()
    disks: tuple[SimDisk, ...] = ()
    public_ips: tuple[SimPublicIp, ...] = ()
    plans: tuple[SimPlan, ...] = ()
    reservations: tuple[SimReservation, ...] = ()
    catalog_document: Mapping[str, Any] = field(default_factory=load_catalog_document)
    #: subscription id → Advisor items in Advisor's wire format
    advisor: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: subscription ids that get a savings plan recommendation
    savings_plan_subscriptions: tuple[str, ...] = ()

    # -- what the endpoints read -----------------------------------------------------------------

    def advisor_items(self, subscription_id: str) -> list[dict[str, Any]]:
        return self.advisor.get(subscription_id.lower(), [])

    def savings_plan(self, scope: str, term: str, look_back: str) -> dict[str, Any] | None:
        """A savings plan recommendation in Cost Management's wire format (Shared scope)."""
        sub = scope.strip("/").split("/")[-1].lower()
        if sub not in self.savings_plan_subscriptions:
            return None
        hours = {"Last7Days": 168, "Last30Days": 720, "Last60Days": 1440}.get(look_back)
        if hours is None or term not in ("P1Y", "P3Y"):
            return None
        without = round(hours * 6.2, 2)
        savings = round(hours * (1.3 if term == "P1Y" else 2.05), 2)
        total = round(without - savings, 2)
        return {
            "id": f"/subscriptions/{sub}/providers/Microsoft.CostManagement"
            f"/benefitRecommendations/sp-{term}-{hours}",
            "name": f"sp-{term.lower()}-{hours}",
            "type": "Microsoft.CostManagement/benefitRecommendations",
            "kind": "SavingsPlan",
            "properties": {
                "scope": "Shared",
                "lookBackPeriod": look_back,
                "totalHours": hours,
                "armSkuName": "Compute_Savings_Plan",
                "term": term,
                "commitmentGranularity": "Hourly",
                "currencyCode": "EUR",
                "costWithoutBenefit": without,
                "recommendationDetails": {
                    "averageUtilizationPercentage": 98.7,
                    "benefitCost": round(total * 0.86, 2),
                    "commitmentAmount": 3.1 if term == "P1Y" else 2.6,
                    "coveragePercentage": 81.2,
                    "overageCost": round(total * 0.14, 2),
                    "savingsAmount": savings,
                    "savingsPercentage": round(savings / without * 100, 2),
                    "totalCost": total,
                    "wastageCost": 4.12,
                },
            },
        }

    # -- built from the tenant's billed lines ----------------------------------------------------

    @classmethod
    def from_lines(
        cls, lines: Iterable[Line], today: date, seed: int, last_billed: Mapping[str, date | None]
    ) -> Estate:
        rng = random.Random(f"estate/{seed}")
        estate = cls(today=today, seed=seed)
        by_type: dict[str, dict[str, Line]] = {}
        for line in lines:
            if line.resource_id:
                by_type.setdefault(line.resource_type.lower(), {}).setdefault(
                    line.resource_id, line
                )
        vms = [
            estate._vm(line, rng, last_billed.get(line.resource_id), index)
            for index, line in enumerate(
                by_type.get("microsoft.compute/virtualmachines", {}).values()
            )
        ]
        ghost = _ghost(by_type.get("microsoft.compute/disks", {}).values())
        estate.vms = tuple(vms) + ((ghost,) if ghost is not None else ())
        estate.disks = tuple(estate._disks(by_type.get("microsoft.compute/disks", {}).values()))
        estate.public_ips = tuple(
            estate._ips(by_type.get("microsoft.network/publicipaddresses", {}).values())
        )
        estate.plans = tuple(
            SimPlan(
                arm_id(
                    ln.subscription.id, ln.resource_group, "Microsoft.Web/serverFarms", _name(ln)
                ),
                _name(ln),
                ln.subscription.id,
                ln.resource_group,
                ln.location,
                "P1v3",
                0 if i % 3 == 2 else i % 4 + 1,
                dict(ln.tags),
            )
            for i, ln in enumerate(by_type.get("microsoft.web/serverfarms", {}).values())
        )
        estate._add_advisor()
        return estate

    def _vm(self, line: Line, rng: random.Random, billed: date | None, index: int) -> SimVm:
        pattern = _pattern(rng)
        quiet = billed is None or (self.today - billed).days >= _DEALLOCATED_AFTER_DAYS
        state = "PowerState/deallocated" if quiet else "PowerState/running"
        if not quiet and line.subscription.name == "Staging" and index % 7 == 3:
            state = "PowerState/stopped"
        if pattern in ("oversized", "no-memory"):
            size = rng.choice(_OVERSIZED_SIZES)
        else:
            size = rng.choice(_SIZES)
        if index == 5:
            pattern = "missing"
        name = _name(line)
        return SimVm(
            id=arm_id(
                line.subscription.id, line.resource_group, "Microsoft.Compute/virtualMachines", name
            ),
            name=name,
            subscription_id=line.subscription.id,
            resource_group=line.resource_group,
            location=line.location,
            size=size,
            power_state=state,
            os_type="Windows" if rng.random() < 0.2 else "Linux",
            tags=dict(line.tags),
            pattern=pattern if state == "PowerState/running" else "off",
            data_disks=rng.randint(0, 4),
            nics=1,
        )

    def _disks(self, lines: Iterable[Line]) -> list[SimDisk]:
        vms_by_group: dict[str, list[SimVm]] = {}
        for vm in self.vms:
            vms_by_group.setdefault(vm.resource_group, []).append(vm)
        disks: list[SimDisk] = []
        marked = {"asr": False, "ignore": False}
        counters: dict[str, int] = {}
        for line in lines:
            i = counters[line.resource_group] = counters.get(line.resource_group, -1) + 1
            owners = [v for v in vms_by_group.get(line.resource_group, []) if v.pattern != "ghost"]
            ghosts = [v for v in vms_by_group.get(line.resource_group, []) if v.pattern == "ghost"]
            if ghosts and i >= len(owners) - 2:
                owners = owners[: len(owners) - 2] + ghosts * 3  # its two disks
            unattached = i % 5 == 4 or i >= len(owners)
            tags = dict(line.tags)
            if unattached and not marked["asr"]:
                tags["ASR-ReplicaDisk"] = "true"
                marked["asr"] = True
            elif unattached and not marked["ignore"]:
                tags["cloudoptima:ignore"] = "true"
                marked["ignore"] = True
            name = _name(line)
            disks.append(
                SimDisk(
                    id=arm_id(
                        line.subscription.id, line.resource_group, "Microsoft.Compute/disks", name
                    ),
                    name=name,
                    subscription_id=line.subscription.id,
                    resource_group=line.resource_group,
                    location=line.location,
                    sku="Premium_LRS" if i % 2 else "StandardSSD_LRS",
                    size_gb=(128, 256, 512, 1024)[i % 4],
                    managed_by=None if unattached else owners[i].id,
                    tags=tags,
                )
            )
        return disks

    def _ips(self, lines: Iterable[Line]) -> list[SimPublicIp]:
        ips: list[SimPublicIp] = []
        for i, line in enumerate(lines):
            name = _name(line)
            nic = (
                f"/subscriptions/{line.subscription.id}/resourceGroups/{line.resource_group}"
                f"/providers/Microsoft.Network/networkInterfaces/nic-{name}/ipConfigurations/ipconfig1"
            )
            ips.append(
                SimPublicIp(
                    id=arm_id(
                        line.subscription.id,
                        line.resource_group,
                        "Microsoft.Network/publicIPAddresses",
                        name,
                    ),
                    name=name,
                    subscription_id=line.subscription.id,
                    resource_group=line.resource_group,
                    location=line.location,
                    sku="Standard",
                    ip_configuration=None if i % 3 == 2 else nic,
                    tags=dict(line.tags),
                )
            )
        return ips

    # -- Advisor ---------------------------------------------------------------------------------

    def _add_advisor(self) -> None:
        prices = {
            (p["armSkuName"], p["armRegionName"], p["os"]): p["unitPrice"]
            for p in self.catalog_document["prices"]
        }
        running = [vm for vm in self.vms if vm.power_state == "PowerState/running"]
        for vm in [v for v in running if v.pattern == "idle"][:3]:
            hourly = prices.get((vm.size, vm.location, vm.os_type), 0.1)
            self._advisor_vm(vm, "Shutdown", "Shutdown", round(hourly * 730, 2), "EUR")
        dark = [v for v in running if v.pattern == "missing"][:1]  # no metrics for us to judge
        for n, vm in enumerate([v for v in running if v.pattern == "oversized"][:2] + dark):
            target = _half(vm.size)
            delta = prices.get((vm.size, vm.location, vm.os_type), 0.2) - prices.get(
                (target, vm.location, vm.os_type), 0.1
            )
            currency = "USD" if n == 2 else "EUR"  # Advisor in USD for a EUR contract (AOE#112)
            self._advisor_vm(vm, "SkuChange", target, round(delta * 730 * 1.08, 2), currency)
        busy = [v for v in running if v.pattern == "busy"][:1]
        for vm in busy:  # suppressed: must not appear
            self._advisor_vm(vm, "SkuChange", _half(vm.size), 50.0, "EUR", suppressed=True)
        for disk in self.disks:
            if disk.managed_by is None:
                self._advisor_disk(disk)
        if self.vms:
            self._advisor_reservations(self.vms[0].subscription_id)

    def _add_item(self, subscription_id: str, resource_id: str, body: dict[str, Any]) -> None:
        props = body["extendedProperties"]
        kind = body["recommendationTypeId"]
        seed = f"{resource_id}/{kind}/{props.get('term')}/{props.get('lookbackPeriod')}"
        rec_id = str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4))
        item = {
            "id": f"{resource_id}/providers/Microsoft.Advisor/recommendations/{rec_id}",
            "name": rec_id,
            "type": "Microsoft.Advisor/recommendations",
            "properties": {
                "category": "Cost",
                "impact": body.pop("impact", "High"),
                "lastUpdated": f"{self.today.isoformat()}T03:12:55.1027003Z",
                "resourceMetadata": {"resourceId": resource_id, "source": None},
                "suppressionIds": body.pop("suppressionIds", None),
                "potentialBenefits": "savings",
                **body,
            },
        }
        self.advisor.setdefault(subscription_id.lower(), []).append(item)

    def _advisor_vm(
        self,
        vm: SimVm,
        kind: str,
        target: str,
        amount: float,
        currency: str,
        *,
        suppressed: bool = False,
    ) -> None:
        problem = "Right-size or shutdown underutilized virtual machines"
        self._add_item(
            vm.subscription_id,
            vm.id,
            {
                "impactedField": "Microsoft.Compute/virtualMachines",
                "impactedValue": vm.name,
                "recommendationTypeId": VM_TYPE,
                "shortDescription": {"problem": problem, "solution": problem},
                "extendedProperties": {
                    "recommendationType": kind,
                    "currentSku": vm.size,
                    "targetSku": target,
                    "savingsAmount": f"{amount}",
                    "annualSavingsAmount": f"{round(amount * 12)}",
                    "savingsCurrency": currency,
                    "regionId": vm.location,
                    "subscriptionId": vm.subscription_id,
                    "resourceGroup": vm.resource_group,
                    "vmName": vm.name,
                    "MaxCpuP95": "1.9" if kind == "Shutdown" else "11.4",
                    "MaxMemoryP95": "24.0",
                    "MaxTotalNetworkP95": "0.4",
                    "Duration": "7",
                },
                "learnMoreLink": "https://aka.ms/aa_lowusagerec_learnmore",
                **(
                    {"suppressionIds": ["5c2f6a1e-0000-4000-8000-000000000001"]}
                    if suppressed
                    else {}
                ),
            },
        )

    def _advisor_disk(self, disk: SimDisk) -> None:
        problem = (
            "Review disks that aren't attached to a VM and evaluate if you still need the disk"
        )
        self._add_item(
            disk.subscription_id,
            disk.id,
            {
                "impact": "Medium",
                "impactedField": "Microsoft.Compute/disks",
                "impactedValue": disk.name,
                "recommendationTypeId": DISK_TYPE,
                "shortDescription": {"problem": problem, "solution": problem},
                "extendedProperties": {
                    "diskSizeGB": str(disk.size_gb),
                    "diskSku": disk.sku,
                    "savingsAmount": f"{round(disk.size_gb * 0.12, 2)}",
                    "annualSavingsAmount": f"{round(disk.size_gb * 0.12 * 12)}",
                    "savingsCurrency": "EUR",
                    "location": disk.location,
                },
            },
        )

    def _advisor_reservations(self, subscription_id: str) -> None:
        sub_id = f"/subscriptions/{subscription_id}"
        problem = "Buy virtual machine reserved instances to save money over pay-as-you-go costs"
        for term in ("P1Y", "P3Y"):
            for look_back in ("7", "30", "60"):
                monthly = (118 if term == "P1Y" else 239) + int(look_back)
                self._add_item(
                    subscription_id,
                    sub_id,
                    {
                        "impactedField": "Microsoft.Subscriptions/subscriptions",
                        "impactedValue": subscription_id,
                        "recommendationTypeId": RESERVATION_TYPE,
                        "shortDescription": {"problem": problem, "solution": problem},
                        "extendedProperties": {
                            "reservedResourceType": "virtualmachines",
                            "targetResourceCount": "4",
                            "savingsAmount": str(monthly),
                            "annualSavingsAmount": str(monthly * 12),
                            "savingsCurrency": "EUR",
                            "lookbackPeriod": look_back,
                            "term": term,
                            "region": "westeurope",
                            "location": "westeurope",
                            "vmSize": RESERVED_SIZE,
                            "sku": RESERVED_SIZE,
                            "displaySKU": RESERVED_SIZE,
                            "qty": "4",
                            "scope": "Single",
                            "subId": subscription_id,
                        },
                        "learnMoreLink": "https://aka.ms/reservedinstances",
                    },
                )
        problem = "Use Standard Storage to store Managed Disks snapshots"
        self._add_item(
            subscription_id,
            sub_id,
            {
                "impact": "Low",
                "impactedField": "Microsoft.Subscriptions/subscriptions",
                "impactedValue": subscription_id,
                "recommendationTypeId": SNAPSHOT_TYPE,
                "shortDescription": {"problem": problem, "solution": problem},
                "extendedProperties": {"savingsAmount": "7.25", "savingsCurrency": "EUR"},
            },
        )


def _ghost(disk_lines: Iterable[Line]) -> SimVm | None:
    """A Sandbox VM deallocated before the cost window: no compute cost at all, while the two
    disks still attached to it bill every day (the `deallocated-vm` rule's case)."""
    sandbox = [ln for ln in disk_lines if ln.subscription.name == "Sandbox"]
    if not sandbox:
        return None
    line = sandbox[-1]
    name = f"vm-{line.resource_group.removeprefix('rg-')}-old"
    return SimVm(
        id=arm_id(
            line.subscription.id, line.resource_group, "Microsoft.Compute/virtualMachines", name
        ),
        name=name,
        subscription_id=line.subscription.id,
        resource_group=line.resource_group,
        location=line.location,
        size="Standard_D4s_v5",
        power_state="PowerState/deallocated",
        os_type="Linux",
        tags=dict(line.tags),
        pattern="ghost",
        data_disks=1,
        nics=1,
    )


def _name(line: Line) -> str:
    return line.resource_id.rsplit("/", 1)[-1]


def _half(size: str) -> str:
    """Standard_D8s_v5 → Standard_D4s_v5 (the next size down of the family)."""
    prefix = size.split("_")[1]
    digits = "".join(ch for ch in prefix if ch.isdigit())
    if not digits or int(digits) < 2:
        return size
    return size.replace(prefix, prefix.replace(digits, str(int(digits) // 2), 1), 1)


def reservation_of(order_seed: str, location: str, quantity: int) -> SimReservation:
    """The tenant's one-year VM reservation, used ~64% (below the 80% threshold)."""
    rng = random.Random(order_seed)
    order = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    reservation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return SimReservation(
        order_id=order,
        reservation_id=reservation,
        sku=RESERVED_SIZE,
        location=location,
        quantity=quantity,
        term="P1Y",
        utilization={1: 58.0, 7: 61.5, 30: 64.25},
        trend="DOWN",
    )


def synthetic(
    today: date,
    *,
    subscriptions: tuple[str, ...],
    vms: int,
    disks: int,
    public_ips: int,
    plans: int = 0,
    seed: int = 11,
    regions: tuple[str, ...] = ("westeurope", "northeurope", "swedencentral", "eastus"),
) -> Estate:
    """A large estate for the benchmark: `vms` VMs over the subscriptions and regions, two
    disks per VM (the rest unattached), public IPs (two in three associated), and plans."""
    rng = random.Random(f"synthetic/{seed}")
    estate = Estate(today=today, seed=seed)
    made: list[SimVm] = []
    for i in range(vms):
        sub = subscriptions[i % len(subscriptions)]
        region = regions[(i // len(subscriptions)) % len(regions)]
        group = f"rg-{region}-{i % 7}"
        pattern = _pattern(rng)
        size = rng.choice(_OVERSIZED_SIZES if pattern in ("oversized", "no-memory") else _SIZES)
        state = "PowerState/running" if i % 40 else "PowerState/deallocated"
        name = f"vm-{i:05d}"
        made.append(
            SimVm(
                arm_id(sub, group, "Microsoft.Compute/virtualMachines", name),
                name,
                sub,
                group,
                region,
                size,
                state,
                "Linux",
                {"env": "prod" if i % 3 else "dev"},
                pattern if state == "PowerState/running" else "off",
                2,
                1,
            )
        )
    estate.vms = tuple(made)
    estate.disks = tuple(
        SimDisk(
            arm_id(
                vm.subscription_id, vm.resource_group, "Microsoft.Compute/disks", f"disk-{i:05d}"
            ),
            f"disk-{i:05d}",
            vm.subscription_id,
            vm.resource_group,
            vm.location,
            "Premium_LRS",
            256,
            None if i >= 2 * vms or i % 9 == 8 else vm.id,
            {},
        )
        for i in range(disks)
        for vm in (made[(i // 2) % len(made)],)
    )
    estate.public_ips = tuple(
        SimPublicIp(
            arm_id(
                vm.subscription_id,
                vm.resource_group,
                "Microsoft.Network/publicIPAddresses",
                f"pip-{i:05d}",
            ),
            f"pip-{i:05d}",
            vm.subscription_id,
            vm.resource_group,
            vm.location,
            "Standard",
            None if i % 3 == 2 else f"{vm.id}-nic/ipConfigurations/ipconfig1",
            {},
        )
        for i in range(public_ips)
        for vm in (made[i % len(made)],)
    )
    estate.plans = tuple(
        SimPlan(
            arm_id(subscriptions[0], "rg-web", "Microsoft.Web/serverFarms", f"plan-{i:04d}"),
            f"plan-{i:04d}",
            subscriptions[0],
            "rg-web",
            regions[0],
            "P1v3",
            i % 3,
            {},
        )
        for i in range(plans)
    )
    estate._add_advisor()
    return estate
