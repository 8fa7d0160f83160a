"""Each rule against generated metric series (idle, borderline, busy, missing data) and price
tables, with savings from effective cost; the registry as an instance."""

from decimal import Decimal

import pytest

from core.recommendations.model import Action, Category, RecommendationsConfig
from core.recommendations.ports import ReservationUsage, SavingsPlanOffer, SkuPrice
from core.recommendations.rules import default_registry
from core.recommendations.rules.base import Parameter, Rule, RuleRegistry
from tests.support.recs import (
    TODAY,
    costs,
    disk,
    facts,
    metrics,
    plan,
    price_table,
    public_ip,
    sample_catalog,
    vm,
)

REGISTRY = default_registry()


def run(rule: str, f):
    return list(REGISTRY.get(rule).evaluate(f, REGISTRY.get(rule).params()))


# -- idle VMs -------------------------------------------------------------------------------------


def test_an_idle_vm_is_deallocated_and_saves_its_effective_cost():
    machine = vm("vm-idle")
    f = facts(
        vms=[machine],
        measured=[metrics(machine, cpu=(0.5, 2.0))],
        effective=costs({machine.resource_id: "720"}),
    )
    [rec] = run("idle-vm", f)
    assert rec.action is Action.DEALLOCATE
    assert rec.saving.amount == Decimal("730")
    assert rec.evidence.series  # the daily CPU chart
    assert dict(rec.evidence.facts)["CPU p95 / p99 (hourly max)"].startswith("1.9")


@pytest.mark.parametrize(
    ("shape", "cpu", "memory", "network"),
    [
        ("borderline CPU", (2.0, 4.5), (20, 30), (0.01, 0.05)),
        ("busy", (30, 90), (50, 80), (5, 50)),
        ("busy network", (0.5, 2.0), (20, 30), (2, 9)),
        ("memory in use (Advisor would not look)", (0.5, 2.0), (60, 80), (0.01, 0.05)),
        ("no CPU data", None, (20, 30), (0.01, 0.05)),
        ("no network data", (0.5, 2.0), (20, 30), None),
    ],
)
def test_a_vm_that_is_not_idle_is_left_running(shape, cpu, memory, network):
    machine = vm("vm-x")
    measured = metrics(machine, cpu=cpu, memory_used=memory, network_mbps=network)
    f = facts(vms=[machine], measured=[measured], effective=costs({machine.resource_id: "720"}))
    assert run("idle-vm", f) == [], shape


def test_without_a_memory_metric_idleness_is_judged_on_cpu_and_network_and_says_so():
    machine = vm("vm-nomem")
    f = facts(vms=[machine], measured=[metrics(machine, cpu=(0.5, 2.0), memory_used=None)])
    [rec] = run("idle-vm", f)
    assert "no memory metric" in rec.title
    assert rec.saving is None  # no cost recorded: no figure, never an assumed one


def test_too_few_days_of_data_are_not_enough_to_call_a_vm_idle():
    machine = vm("vm-new")
    f = facts(vms=[machine], measured=[metrics(machine, cpu=(0.5, 2.0), hours=10 * 24)])
    assert run("idle-vm", f) == []


def test_a_vm_without_any_metrics_gets_no_utilization_recommendation():
    machine = vm("vm-dark")
    f = facts(vms=[machine], effective=costs({machine.resource_id: "720"}))
    assert run("idle-vm", f) == [] and run("rightsize-vm", f) == []


# -- rightsizing ----------------------------------------------------------------------------------


def test_an_oversized_vm_moves_to_the_cheapest_fitting_size_of_its_family():
    machine = vm("vm-big", "Standard_D8s_v5")
    measured = metrics(machine, cpu=(4, 15), memory_used=(10, 20))
    f = facts(vms=[machine], measured=[measured], effective=costs({machine.resource_id: "300"}))
    [rec] = run("rightsize-vm", f)
    # needs 8 × 15% ÷ 80% = 1.5 vCPU and 32 GB × 20% ÷ 80% = 8 GB: D2s_v5 (2 vCPU, 8 GB)
    assert rec.title.endswith("Standard_D8s_v5 to Standard_D2s_v5")
    monthly = Decimal("300") * 730 / 720
    expected = (monthly * (1 - Decimal("0.096") / Decimal("0.384"))).quantize(Decimal("1e-8"))
    assert rec.saving.amount == expected
    assert "(1 − 0.096 ÷ 0.384)" in rec.saving.formula
    assert rec.fit_score == Decimal(5)
    assert [row[0] for row in rec.evidence.prices] == ["Standard_D8s_v5", "Standard_D2s_v5"]


def test_the_issue_example_d4s_to_d2s_is_computed_on_effective_cost():
    machine = vm("vm-d4", "Standard_D4s_v5")
    measured = metrics(machine, cpu=(4, 20), memory_used=(10, 20), memory_gb=16)
    # €140.16 a month effective is 138.24 over 30 days (× 730 ÷ 720).
    f = facts(
        vms=[machine],
        measured=[measured],
        effective=costs({machine.resource_id: "138.24"}),
        prices=sample_catalog(),
    )
    [rec] = run("rightsize-vm", f)
    assert rec.saving.amount == Decimal("70.08")
    assert rec.saving.formula == (
        "D4s_v5 → D2s_v5: €140.16/mo effective × (1 − 0.096 ÷ 0.192) = €70.08/mo"
    )


def test_memory_use_keeps_a_vm_on_a_bigger_size_than_cpu_alone_would():
    machine = vm("vm-mem", "Standard_D8s_v5")
    measured = metrics(machine, cpu=(4, 15), memory_used=(20, 35))
    f = facts(vms=[machine], measured=[measured], effective=costs({machine.resource_id: "300"}))
    [rec] = run("rightsize-vm", f)
    # CPU alone fits D2s_v5; 32 GB × 35% ÷ 80% = 14 GB needs D4s_v5 (16 GB)
    assert rec.title.endswith("Standard_D8s_v5 to Standard_D4s_v5")


def test_memory_that_no_smaller_size_holds_means_no_rightsizing():
    machine = vm("vm-mem", "Standard_D8s_v5")
    measured = metrics(machine, cpu=(4, 15), memory_used=(30, 45))  # needs 18 GB
    assert run("rightsize-vm", facts(vms=[machine], measured=[measured])) == []


def test_a_busy_vm_is_not_rightsized():
    machine = vm("vm-busy", "Standard_D8s_v5")
    f = facts(vms=[machine], measured=[metrics(machine, cpu=(40, 95))])
    assert run("rightsize-vm", f) == []


def test_an_idle_vm_is_deallocated_not_rightsized():
    machine = vm("vm-idle", "Standard_D8s_v5")
    f = facts(vms=[machine], measured=[metrics(machine, cpu=(0.5, 2.0))])
    assert run("rightsize-vm", f) == []


def test_windows_vms_are_priced_with_windows_prices():
    machine = vm("vm-win", "Standard_D8s_v5", os_type="Windows")
    measured = metrics(machine, cpu=(4, 15), memory_used=(10, 20))
    f = facts(vms=[machine], measured=[measured], effective=costs({machine.resource_id: "300"}))
    [rec] = run("rightsize-vm", f)
    table = price_table()
    current = table.price("Standard_D8s_v5", "westeurope", "Windows").hourly
    target = table.price("Standard_D2s_v5", "westeurope", "Windows").hourly
    assert f"(1 − {target.normalize():f} ÷ {current.normalize():f})" in rec.saving.formula


def test_without_a_price_for_the_region_the_vcpu_ratio_is_an_estimate():
    machine = vm("vm-far", "Standard_D8s_v5", location="japaneast")
    measured = metrics(machine, cpu=(4, 15), memory_used=(10, 20))
    f = facts(vms=[machine], measured=[measured], effective=costs({machine.resource_id: "300"}))
    [rec] = run("rightsize-vm", f)
    assert rec.saving.estimate
    assert rec.saving.amount == (Decimal("300") * 730 / 720 * Decimal("0.75")).quantize(
        Decimal("1e-8")
    )


@pytest.mark.parametrize(
    ("memory", "network", "disks", "nics", "score"),
    [
        ((10, 20), (0.01, 0.05), 2, 1, "5"),
        (None, (0.01, 0.05), 2, 1, "4.5"),  # memory missing
        (None, None, 2, 1, "4.4"),  # memory and network missing
        ((10, 20), (0.01, 0.05), 6, 1, "1"),  # more data disks than D2s_v5 takes (4)
        ((10, 20), (0.01, 0.05), None, 1, "4"),  # unknown disk count
    ],
)
def test_the_fit_score_follows_the_aoe_penalties(memory, network, disks, nics, score):
    machine = vm("vm-fit", "Standard_D8s_v5", data_disks=disks, nics=nics)
    measured = metrics(machine, cpu=(4, 15), memory_used=memory, network_mbps=network)
    f = facts(vms=[machine], measured=[measured])
    [rec] = run("rightsize-vm", f)
    assert rec.fit_score == Decimal(score)


def test_cpu_at_the_fit_threshold_costs_half_a_point():
    machine = vm("vm-warm", "Standard_D16s_v5")
    measured = metrics(machine, cpu=(10, 35), memory_used=(10, 20), memory_gb=64)
    f = facts(vms=[machine], measured=[measured])
    [rec] = run("rightsize-vm", f)
    assert rec.fit_score == Decimal("4.5")


# -- stopped and long-deallocated VMs -------------------------------------------------------------


def test_a_stopped_vm_is_still_billed_and_should_be_deallocated():
    machine = vm("vm-stopped", state="PowerState/stopped")
    f = facts(vms=[machine], effective=costs({machine.resource_id: "360"}))
    [rec] = run("stopped-vm", f)
    assert rec.action is Action.DEALLOCATE and rec.saving.amount == Decimal("365")


def test_a_vm_deallocated_for_30_days_saves_its_disks_cost():
    machine = vm("vm-old", state="PowerState/deallocated")
    os_disk = disk("vm-old-os", owner=machine.resource_id, state="Reserved")
    data = disk("vm-old-data", owner=machine.resource_id, state="Reserved")
    f = facts(
        vms=[machine],
        disks=[os_disk, data],
        effective=costs({os_disk.resource_id: "36", data.resource_id: "144"}),
    )
    [rec] = run("deallocated-vm", f)
    assert rec.action is Action.DELETE
    assert rec.saving.amount == Decimal("182.5")  # 180 × 730 ÷ 720
    assert "vm-old-os €36.00 + vm-old-data €144.00" in rec.saving.formula


def test_a_deallocated_vm_that_billed_compute_in_the_window_is_not_long_deallocated():
    machine = vm("vm-recent", state="PowerState/deallocated")
    f = facts(vms=[machine], effective=costs({machine.resource_id: "12"}))
    assert run("deallocated-vm", f) == []


def test_without_30_days_of_cost_data_nobody_can_tell_30_days_deallocated():
    machine = vm("vm-old", state="PowerState/deallocated")
    short = costs({}, first_day=TODAY)
    assert run("deallocated-vm", facts(vms=[machine], effective=short)) == []


# -- orphans --------------------------------------------------------------------------------------


def test_unattached_disks_are_deleted_but_site_recovery_replicas_are_left_alone():
    loose = disk("disk-loose")
    replica = disk("disk-replica", tags={"ASR-ReplicaDisk": "true"})
    attached = disk("disk-used", owner="/subscriptions/x/vm", state="Attached")
    f = facts(disks=[loose, replica, attached], effective=costs({loose.resource_id: "72"}))
    [rec] = run("unattached-disk", f)
    assert rec.resource_name == "disk-loose" and rec.saving.amount == Decimal("73")


def test_public_ips_associated_with_nothing_are_deleted():
    free = public_ip("pip-free")
    used = public_ip("pip-used", ip_configuration="/subscriptions/x/nic/ipconfigurations/1")
    f = facts(ips=[free, used], effective=costs({free.resource_id: "2.88"}))
    [rec] = run("unused-public-ip", f)
    assert rec.resource_name == "pip-free" and rec.saving.amount == Decimal("2.92")


def test_app_service_plans_without_sites_are_deleted():
    f = facts(plans=[plan("plan-empty", 0), plan("plan-busy", 3)])
    assert [r.resource_name for r in run("empty-app-service-plan", f)] == ["plan-empty"]


# -- commitments ----------------------------------------------------------------------------------


def reservation(used30: str) -> ReservationUsage:
    return ReservationUsage(
        reservation_id="/providers/microsoft.capacity/reservationorders/o/reservations/r",
        name="VM_RI",
        sku="Standard_D4s_v5",
        location="westeurope",
        quantity=Decimal(3),
        term="P1Y",
        applied_scope_type="Shared",
        utilization={1: Decimal("58"), 7: Decimal("61.5"), 30: Decimal(used30)},
    )


def test_a_reservation_used_below_the_threshold_is_flagged_with_its_unused_cost():
    extra = [SkuPrice("Standard_D4s_v5", "westeurope", "Linux", "EUR", Decimal("0.192"),
                      reservation_1y_total=Decimal("1043"))]  # fmt: skip
    table = price_table(extra, drop=["Standard_D4s_v5"])
    [rec] = run("underused-reservation", facts(reservations=[reservation("64.25")], prices=table))
    assert rec.saving.amount == Decimal("93.218125")


def test_a_reservation_above_the_threshold_is_fine_and_the_threshold_is_configurable():
    assert run("underused-reservation", facts(reservations=[reservation("83")])) == []
    stricter = RecommendationsConfig(utilization_threshold=Decimal(90))
    assert (
        len(run("underused-reservation", facts(reservations=[reservation("83")], config=stricter)))
        == 1
    )


def test_a_savings_plan_saving_is_converted_from_its_look_back_hours():
    offer = SavingsPlanOffer(
        scope="/subscriptions/x",
        benefit_scope="Shared",
        term="P1Y",
        look_back="Last30Days",
        total_hours=720,
        currency="EUR",
        commitment_per_hour=Decimal("3.1"),
        savings_amount=Decimal("936"),
        cost_without_benefit=Decimal("4464"),
        total_cost_with_benefit=Decimal("3528"),
        savings_percentage=None,
        coverage_percentage=Decimal("81.2"),
    )
    [rec] = run("savings-plan", facts(savings_plans=[offer]))
    assert rec.saving.amount == Decimal("949")  # 936 ÷ 720 × 730


# -- the registry ---------------------------------------------------------------------------------


def test_every_built_in_rule_has_a_name_help_and_declared_parameters():
    names = default_registry().names()
    assert set(names) == {
        "idle-vm", "rightsize-vm", "stopped-vm", "deallocated-vm", "unattached-disk",
        "unused-public-ip", "empty-app-service-plan", "underused-reservation", "savings-plan",
    }  # fmt: skip
    for rule in default_registry():
        assert rule.help and rule.summary
        assert all(p.help for p in rule.parameters)


def test_registries_are_instances_and_refuse_a_rule_twice():
    mine = RuleRegistry()
    rule = Rule("x", Category.OTHER, Action.REVIEW, "x", "x", lambda f, p: [])
    mine.register(rule)
    with pytest.raises(ValueError, match="twice"):
        mine.register(rule)
    assert "x" not in default_registry()


def test_parameters_are_overridden_by_name_and_unknown_ones_refused():
    registry = default_registry()
    registry.configure("idle-vm", cpu_p95_max=Decimal(10))
    machine = vm("vm-quiet")
    f = facts(vms=[machine], measured=[metrics(machine, cpu=(2.0, 6.0))])
    assert len([r for r in registry.evaluate(f) if r.rule == "idle-vm"]) == 1
    assert run("idle-vm", f) == []  # the default registry is untouched
    with pytest.raises(ValueError, match="unknown parameter"):
        registry.configure("idle-vm", cpu=1)
    assert Parameter("a", 1, "b").default == 1
