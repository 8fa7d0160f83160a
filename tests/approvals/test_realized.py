"""Realized savings against generated cost series: a VM deleted, a VM resized to the
recommended size, a VM whose cost fell by the expected amount for a week, and one unchanged —
implemented detection, the realized saving (30 days before approval against the days since
implementation, per month) kept up to date for 90 days, and `savings [period]`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.approvals.model import ApprovalRole, DecisionState, RoleGrant
from core.approvals.ports import ResourceState
from core.approvals.realized import monthly
from core.approvals.store import decisions
from core.approvals.watch import watch_approved
from core.audit.model import AuditAction
from core.audit.store import AuditQuery, entries
from core.costs.ingest import ensure_scope
from core.costs.model import CostType
from core.costs.store import write_day
from core.kernel.cards_text import render_text as plain_text
from core.kernel.clock import FixedClock
from core.kernel.db.engine import write_transaction
from core.kernel.scopes import parse_scope
from tests.approvals.conftest import make_core
from tests.support.decisions import NOW, SUB_A, SUB_B, rec, rid, slack, store_recs
from tests.support.fakes import make_row

ANN = slack("UANN", "Ann")
DELETED_ON = date(2026, 12, 2)
RESIZED_ON = date(2026, 12, 4)
FELL_ON = date(2026, 12, 1)
RESIZE = (("Size", "Standard_D4s_v5 → Standard_D2s_v5 (Linux, westeurope)"),)
#: resource → (daily cost before, daily cost after, the day it changed)
SERIES = {
    rid(SUB_A, "rg-web", "vm-web-1"): ("10", "0", DELETED_ON),
    rid(SUB_A, "rg-web", "vm-web-2"): ("8", "4", RESIZED_ON),
    rid(SUB_A, "rg-data", "vm-data-1"): ("5", "5", None),
    rid(SUB_B, "rg-web", "vm-b-1"): ("6", "5", FELL_ON),
}
RECS = (
    rec("vm-web-1", saving="304.16666667"),  # its effective cost, a month
    rec("vm-web-2", saving="121.66666667", rule="rightsize-vm", facts=RESIZE),
    rec("vm-data-1", rg="rg-data", saving="75"),
    rec("vm-b-1", sub=SUB_B, saving="20"),
)


def cost_on(resource_id: str, day: date) -> Decimal:
    before, after, changed = SERIES[resource_id]
    return Decimal(after if changed is not None and day >= changed else before)


def generate_costs(engine, clock, first: date, last: date) -> None:
    scope_id = ensure_scope(engine, parse_scope(f"/subscriptions/{SUB_A}"))
    day = first
    while day <= last:
        rows = [
            make_row(
                day,
                n,
                cost=str(cost_on(resource, day)),
                resource_id=resource.replace("/virtualmachines/", "/virtualMachines/"),
                subscription_id=resource.split("/")[2],
                resource_group=resource.split("/")[4],
            )
            for n, resource in enumerate(SERIES)
            if cost_on(resource, day) > 0
        ]
        with write_transaction(engine) as conn:
            write_day(
                conn,
                scope_id=scope_id,
                cost_type=str(CostType.AMORTIZED),
                usage_date=day,
                rows=rows,
                now=clock.now(),
            )
        day += timedelta(days=1)


STATES = {
    rid(SUB_A, "rg-web", "vm-web-1"): ResourceState(exists=False),
    rid(SUB_A, "rg-web", "vm-web-2"): ResourceState(exists=True, sku="Standard_D2s_v5"),
    rid(SUB_A, "rg-data", "vm-data-1"): ResourceState(exists=True, sku="Standard_D8s_v5"),
    rid(SUB_B, "rg-web", "vm-b-1"): ResourceState(exists=True, sku="Standard_B2s"),
}


@pytest.fixture
def approved(engine):
    clock = FixedClock(NOW)
    generate_costs(engine, clock, date(2026, 10, 1), date(2027, 3, 31))
    ids = store_recs(engine, RECS)
    core = make_core(engine, clock, grants=(RoleGrant(ApprovalRole.APPROVER, "slack:UANN", "*"),))
    for rec_id in ids.values():
        assert not core.handle_text(f"rec {rec_id} approve", ANN).failed
    return core, clock, ids


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


def test_approval_keeps_the_mean_daily_cost_of_the_30_days_before(approved, engine):
    _, _, ids = approved
    found = decisions(engine)
    assert found[ids["vm-web-1"]].baseline_daily == Decimal(10)
    assert found[ids["vm-b-1"]].baseline_daily == Decimal(6)
    assert found[ids["vm-web-2"]].expected_monthly == Decimal("121.66666667")


def test_deleted_resized_and_cheaper_items_become_implemented_with_their_realized_saving(
    approved, engine
):
    _, clock, ids = approved
    clock.current = at(date(2026, 12, 10))
    summary = watch_approved(engine, clock, STATES)
    assert summary.implemented == 3 and summary.watched == 4
    found = decisions(engine)

    deleted = found[ids["vm-web-1"]]
    assert deleted.state is DecisionState.IMPLEMENTED
    assert (deleted.implemented_how, deleted.implemented_at.date()) == (
        "resource deleted",
        DELETED_ON,
    )
    assert deleted.realized_monthly == monthly(Decimal(10))  # €304.16666667, all of it
    assert deleted.realized_through == date(2026, 12, 9)

    resized = found[ids["vm-web-2"]]
    assert resized.implemented_how == "resized to Standard_D2s_v5"
    assert resized.implemented_at.date() == RESIZED_ON
    assert resized.realized_monthly == monthly(Decimal(4))  # (8 − 4) × 730 ÷ 24

    cheaper = found[ids["vm-b-1"]]
    assert cheaper.implemented_how == "cost fell 7 days in a row"
    assert cheaper.implemented_at.date() == FELL_ON
    assert cheaper.realized_monthly == monthly(Decimal(1))

    unchanged = found[ids["vm-data-1"]]
    assert unchanged.state is DecisionState.APPROVED and unchanged.realized_monthly is None

    audit = [
        e.entry for e in entries(engine, AuditQuery()) if e.entry.action == AuditAction.IMPLEMENTED
    ]
    assert len(audit) == 3 and all(e.actor.platform == "system" for e in audit)

    # A second pass the same day changes nothing (and another replica's would not either).
    assert watch_approved(engine, clock, STATES).implemented == 0


def test_without_inventory_only_the_cost_rule_decides(approved, engine):
    _, clock, ids = approved
    clock.current = at(date(2026, 12, 5))  # runs of 4, 3 and 1 days lower: not yet 7
    assert watch_approved(engine, clock).implemented == 0
    clock.current = at(date(2026, 12, 12))
    assert watch_approved(engine, clock).implemented == 3
    found = decisions(engine)
    for name, since in (("vm-b-1", FELL_ON), ("vm-web-1", DELETED_ON), ("vm-web-2", RESIZED_ON)):
        d = found[ids[name]]
        assert d.state is DecisionState.IMPLEMENTED, name
        assert (d.implemented_how, d.implemented_at.date()) == ("cost fell 7 days in a row", since)
    assert found[ids["vm-data-1"]].state is DecisionState.APPROVED  # cost unchanged


def test_the_realized_saving_is_kept_up_to_date_for_90_days(approved, engine):
    _, clock, ids = approved
    clock.current = at(date(2026, 12, 10))
    watch_approved(engine, clock, STATES)
    clock.current = at(date(2027, 1, 20))
    watch_approved(engine, clock, STATES)
    assert decisions(engine)[ids["vm-web-1"]].realized_through == date(2027, 1, 19)
    clock.current = at(DELETED_ON + timedelta(days=90))
    watch_approved(engine, clock, STATES)
    last = decisions(engine)[ids["vm-web-1"]].realized_through
    assert last == DELETED_ON + timedelta(days=89)  # 90 days measured, then no more
    clock.current = at(date(2027, 3, 30))
    assert watch_approved(engine, clock, STATES).watched == 1  # only the unchanged one
    assert decisions(engine)[ids["vm-web-1"]].realized_through == last


def test_savings_shows_expected_against_realized_and_what_was_never_implemented(approved, engine):
    core, clock, _ids = approved
    clock.current = at(date(2026, 12, 10))
    watch_approved(engine, clock, STATES)
    text = plain_text(core.handle_text("savings", ANN).card)
    assert "Approved (EUR)" in text and "4 · expected €520.83/mo" in text
    assert "Implemented (EUR)" in text and "3 · expected €445.83/mo" in text
    assert "€456.25/mo" in text  # 304.17 + 121.67 + 30.42 realized
    assert "Approved but not implemented" in text and "vm-data-1" in text
    assert "No recommendation was approved" in plain_text(core.handle_text("savings 7d", ANN).card)
    assert core.handle_text("savings soon", ANN).failed


def test_the_inventory_tells_gone_and_resized_resources_apart():
    from core.approvals.watch import resource_states
    from core.recommendations.ports import Inventory
    from tests.support.recs import vm

    web2 = rid(SUB_A, "rg-web", "vm-web-2")
    inventory = Inventory(vms=(vm("vm-web-2", "Standard_D2s_v5"),))
    inventory = Inventory(vms=(replace(inventory.vms[0], resource_id=web2),))
    gone = rid(SUB_A, "rg-web", "vm-web-1")
    elsewhere = rid(SUB_B, "rg-web", "vm-b-1")
    states = resource_states(inventory, [web2, gone, elsewhere], [SUB_A])
    assert states[web2] == ResourceState(True, "Standard_D2s_v5")
    assert states[gone] == ResourceState(False)
    assert elsewhere not in states  # not covered by this inventory: unknown, not gone
