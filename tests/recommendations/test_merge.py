"""Advisor's items and ours: one item per real action, reservation copies collapsed, currencies
kept apart, exclusions by tag and resource group."""

from dataclasses import replace
from decimal import Decimal

from core.recommendations.merge import (
    DISK_TYPE,
    RESERVATION_TYPE,
    VM_TYPE,
    advisor_recommendation,
    collapse_reservations,
    excluded,
    merge,
)
from core.recommendations.model import Action, RecommendationsConfig, Saving, Source
from core.recommendations.ports import AdvisorItem
from core.recommendations.presenters import totals
from core.recommendations.rules import default_registry
from tests.support.recs import SUB, costs, facts, metrics, rid, vm
from tests.support.recs_store import stored

CONFIG = RecommendationsConfig()


def item(type_id: str, resource_id: str, amount: str = "100", currency: str = "EUR", **props):
    return AdvisorItem(
        recommendation_id=f"rec-{len(props)}-{resource_id[-6:]}-{props.get('term', '')}"
        f"{props.get('lookbackPeriod', '')}",
        type_id=type_id,
        resource_id=resource_id,
        impacted_field="Microsoft.Compute/virtualMachines",
        impacted_value=resource_id.rsplit("/", 1)[-1],
        problem="Right-size or shutdown underutilized virtual machines",
        solution="Right-size or shutdown underutilized virtual machines",
        link="https://aka.ms/aa_lowusagerec_learnmore",
        properties={"savingsAmount": amount, "savingsCurrency": currency, **props},
        amount=Decimal(amount),
        currency=currency,
    )


def reservation_copies():
    return [
        item(
            RESERVATION_TYPE,
            f"/subscriptions/{SUB}",
            str(100 + i),
            term=term,
            lookbackPeriod=days,
            vmSize="Standard_D4s_v5",
            region="westeurope",
            scope="Single",
            subId=SUB,
        )
        for i, (term, days) in enumerate((t, d) for t in ("P1Y", "P3Y") for d in ("7", "30", "60"))
    ]


def test_six_reservation_copies_collapse_to_the_configured_term_and_look_back():
    kept = collapse_reservations(reservation_copies(), "P1Y", 30)
    assert [(i.properties["term"], i.properties["lookbackPeriod"]) for i in kept] == [("P1Y", "30")]
    three = collapse_reservations(reservation_copies(), "P3Y", 60)
    assert [(i.properties["term"], i.properties["lookbackPeriod"]) for i in three] == [
        ("P3Y", "60")
    ]


def test_without_the_configured_look_back_the_nearest_one_is_kept():
    copies = [i for i in reservation_copies() if i.properties["lookbackPeriod"] != "30"]
    [kept] = collapse_reservations(copies, "P1Y", 21)
    assert kept.properties["lookbackPeriod"] == "7"


def test_collapsed_reservations_are_one_per_sku_region_and_scope():
    other_sku = [replace(i, properties={**i.properties, "vmSize": "Standard_E4s_v5"})
                 for i in reservation_copies()]  # fmt: skip
    kept = collapse_reservations(reservation_copies() + other_sku, "P1Y", 30)
    recs = [advisor_recommendation(i, CONFIG, "EUR") for i in kept]
    assert len({r.key for r in recs}) == 2


def test_same_resource_and_action_is_one_recommendation_with_both_sources():
    machine = vm("vm-idle")
    f = facts(
        vms=[machine],
        measured=[metrics(machine, cpu=(0.5, 2.0))],
        effective=costs({machine.resource_id: "720"}),
    )
    ours = default_registry().evaluate(f)
    advisor = advisor_recommendation(
        item(
            VM_TYPE,
            machine.resource_id,
            "61.20",
            recommendationType="Shutdown",
            targetSku="Shutdown",
        ),
        CONFIG,
        "EUR",
    )
    [merged] = merge(ours, [advisor])
    assert merged.sources == (Source.CLOUDOPTIMA, Source.ADVISOR)
    assert merged.saving.amount == Decimal("730")  # ours: effective cost beats retail rates
    assert merged.evidence.advisor.amount == Decimal("61.20")  # Advisor's figure still shown
    assert merged.evidence.series  # and our measurements


def test_advisor_figure_is_kept_when_ours_is_only_an_estimate():
    machine = vm("vm-big", "Standard_D8s_v5", location="japaneast")  # no price there
    f = facts(
        vms=[machine],
        measured=[metrics(machine, cpu=(4, 15), memory_used=(10, 20))],
        effective=costs({machine.resource_id: "300"}),
    )
    [ours] = [r for r in default_registry().evaluate(f) if r.rule == "rightsize-vm"]
    assert ours.saving.estimate
    theirs = advisor_recommendation(
        item(
            VM_TYPE,
            machine.resource_id,
            "118.26",
            recommendationType="SkuChange",
            targetSku="Standard_D4s_v5",
        ),
        CONFIG,
        "EUR",
    )
    [merged] = merge([ours], [theirs])
    assert merged.saving.amount == Decimal("118.26") and merged.rule == "rightsize-vm"
    assert merged.sources == (Source.CLOUDOPTIMA, Source.ADVISOR)


def test_advisor_shutdown_of_a_stopped_vm_merges_into_our_deallocation():
    machine = vm("vm-stopped", state="PowerState/stopped")
    f = facts(vms=[machine], effective=costs({machine.resource_id: "360"}))
    ours = default_registry().evaluate(f)
    theirs = advisor_recommendation(
        item(VM_TYPE, machine.resource_id, recommendationType="Shutdown"), CONFIG, "EUR"
    )
    [merged] = merge(ours, [theirs])
    assert merged.rule == "stopped-vm" and merged.action is Action.DEALLOCATE


def test_advisor_only_items_keep_their_own_currency_and_are_never_summed():
    disk_id = rid("microsoft.compute/disks", "disk-1")
    eur = advisor_recommendation(item(DISK_TYPE, disk_id, "61.59", "EUR"), CONFIG, "EUR")
    usd = advisor_recommendation(
        item(
            VM_TYPE,
            rid("microsoft.compute/virtualmachines", "vm-2"),
            "118.26",
            "USD",
            recommendationType="SkuChange",
        ),
        CONFIG,
        "EUR",
    )
    assert (usd.saving.amount, usd.saving.currency) == (Decimal("118.26"), "USD")
    assert totals([stored(1, eur), stored(2, usd)]) == {"USD": Decimal("118.26"),
                                                         "EUR": Decimal("61.59")}  # fmt: skip


def test_a_stated_rate_converts_advisor_figures_to_the_billing_currency():
    config = RecommendationsConfig(rates={("USD", "EUR"): Decimal("0.9")})
    rec = advisor_recommendation(
        item(
            VM_TYPE,
            rid("microsoft.compute/virtualmachines", "vm-2"),
            "100",
            "USD",
            recommendationType="SkuChange",
        ),
        config,
        "EUR",
    )
    assert (rec.saving.amount, rec.saving.currency) == (Decimal("90"), "EUR")


def test_exclusions_by_tag_key_tag_value_and_resource_group():
    base = advisor_recommendation(
        item(DISK_TYPE, rid("microsoft.compute/disks", "d", "rg-keep")), CONFIG, "EUR"
    )
    base = replace(base, resource_group="rg-keep")
    config = RecommendationsConfig(
        exclude_tags=("cloudoptima:ignore", "env=sandbox"), exclude_resource_groups=("RG-Lab",)
    )
    assert not excluded(base, config)
    assert excluded(replace(base, tags={"CloudOptima:Ignore": ""}), config)
    assert excluded(replace(base, tags={"env": "sandbox"}), config)
    assert not excluded(replace(base, tags={"env": "prod"}), config)
    assert excluded(replace(base, resource_group="rg-lab"), config)


def test_an_unknown_advisor_cost_type_becomes_its_own_rule():
    rec = advisor_recommendation(
        item("c4e5e3b2-8cf6-4d3a-9a4f-1e2d3c4b5a69", f"/subscriptions/{SUB}", "7.25"), CONFIG, "EUR"
    )
    assert rec.rule == "advisor-c4e5e3b2" and rec.action is Action.REVIEW
    assert rec.saving == Saving(Decimal("7.25"), "EUR", rec.saving.formula)


def test_look_back_periods_written_as_names_are_understood():
    copies = [
        replace(
            i,
            properties={
                **i.properties,
                "lookbackPeriod": f"Last{i.properties['lookbackPeriod']}Days",
            },
        )
        for i in reservation_copies()
    ]
    [kept] = collapse_reservations(copies, "P1Y", 30)
    assert kept.properties["lookbackPeriod"] == "Last30Days"
