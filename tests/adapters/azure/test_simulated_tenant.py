"""The simulated tenant: deterministic, realistic shapes, restatement, and a Query API that
evaluates what the real SDK client sends."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.costmanagement.aio import CostManagementClient
from azure.mgmt.costmanagement.models import (
    QueryAggregation,
    QueryComparisonExpression,
    QueryDataset,
    QueryDefinition,
    QueryFilter,
    QueryGrouping,
    QueryTimePeriod,
)

from adapters.azure.simulated import SimulatedTenant
from adapters.azure.simulated.tenant import RESTATED_DAYS
from core.costs.model import CostType
from tests.adapters.azure.conftest import TODAY


def fingerprint(tenant: SimulatedTenant) -> list[tuple]:
    return [
        (r.day, r.line.resource_id, r.line.service_name, r.cost, r.cost_usd, r.quantity)
        for r in tenant.rows()
    ]


@pytest.fixture(scope="module")
def shared_tenant() -> SimulatedTenant:
    """One tenant for the tests that only read it (generation is cached per tenant)."""
    return SimulatedTenant(seed=7, today=TODAY)


def daily_totals(rows) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for r in rows:
        totals[r.usage_date] += r.cost
    return totals


# -- generation --------------------------------------------------------------------------------


def test_same_seed_and_day_give_the_same_tenant(tenant):
    again = SimulatedTenant(seed=7, today=TODAY)
    other = SimulatedTenant(seed=8, today=TODAY)

    assert fingerprint(again) == fingerprint(tenant)
    assert again.scopes == tenant.scopes
    assert fingerprint(other) != fingerprint(tenant)
    assert other.scopes != tenant.scopes


def test_the_tenant_has_the_promised_shape(shared_tenant):
    rows = list(shared_tenant.cost_rows())
    resources = {r.resource_id for r in rows if r.resource_id}
    assert [s.name for s in shared_tenant.subscriptions] == [
        "Production",
        "Staging",
        "Data Platform",
        "Sandbox",
    ]
    assert shared_tenant.scopes == tuple(
        f"/subscriptions/{s.id}" for s in shared_tenant.subscriptions
    )
    assert 12 <= len({r.resource_group for r in rows if r.resource_group}) <= 16
    assert 200 <= len(resources) <= 400
    assert {
        "Virtual Machines",
        "Storage",
        "SQL Database",
        "Azure App Service",
        "Azure Kubernetes Service",
        "Bandwidth",
        "Azure Cosmos DB",
        "Log Analytics",
        "Key Vault",
    } <= {r.service_name for r in rows}
    assert len({r.location for r in rows if r.location}) >= 4
    assert {r.usage_date for r in rows} == {
        shared_tenant.first_day + timedelta(days=i) for i in range(120)
    }
    assert {r.currency for r in rows} == {"EUR"}
    assert all(Decimal("1.06") < r.cost_usd / r.cost < Decimal("1.1") for r in rows if r.cost > 1)
    tagged = [r for r in rows if r.tags]
    assert {"env", "team", "CostCenter"} == set().union(*(r.tags for r in tagged))
    assert (
        0 < len({r.resource_id for r in rows if not r.tags and r.resource_id}) < len(resources) / 3
    )


def test_each_row_is_unique_by_day_dimensions_and_tags(shared_tenant):
    keys = Counter(
        (
            r.usage_date,
            r.subscription_id,
            r.resource_group,
            r.resource_id,
            r.service_name,
            r.meter_category,
            r.location,
            r.charge_type,
            tuple(sorted(r.tags.items())),
        )
        for r in shared_tenant.cost_rows()
    )
    assert keys.most_common(1)[0][1] == 1


def test_every_service_bills_on_meters_named_apart_from_it(shared_tenant):
    meters: dict[str, set[str]] = {}
    for line in shared_tenant.lines:
        assert line.meter_category and line.meter_category != line.service_name, line
        meters.setdefault(line.service_name, set()).add(line.meter_category)
    # Realistic per service: storage bills disks and blobs apart, VMs by their series, egress
    # on data transfer, a reservation on its own meter.
    assert meters["Storage"] == {"Premium SSD Managed Disks", "General Block Blob v2"}
    assert meters["Virtual Machines"] == {"Dsv5 Series", "Dasv5 Series", "Reservation-Base VM"}
    assert meters["Bandwidth"] == {"Standard Data Transfer Out"}
    assert len({m for found in meters.values() for m in found}) > len(meters)


def test_weekends_are_cheaper_where_compute_is_shut_down(shared_tenant):
    staging = shared_tenant.subscription("Staging").id
    totals = daily_totals(
        shared_tenant.cost_rows(subscription_id=staging, end=TODAY - timedelta(1))
    )
    weekend = [v for d, v in totals.items() if d.weekday() >= 5]
    weekday = [v for d, v in totals.items() if d.weekday() < 5]
    assert statistics.mean(weekend) < Decimal("0.7") * statistics.mean(weekday)
    # … and in the tenant as a whole, less markedly.
    everything = daily_totals(shared_tenant.cost_rows(end=TODAY - timedelta(1)))
    weekend_all = statistics.mean(v for d, v in everything.items() if d.weekday() >= 5)
    weekday_all = statistics.mean(v for d, v in everything.items() if d.weekday() < 5)
    assert weekend_all < Decimal("0.9") * weekday_all


def test_the_spike_stands_out_on_its_day(shared_tenant):
    spike = shared_tenant.spike
    series = {
        r.usage_date: r.cost
        for r in shared_tenant.cost_rows()
        if r.resource_id == spike.resource_id
    }
    usual = statistics.median(v for d, v in series.items() if d.weekday() < 5 and d != spike.day)
    assert series[spike.day] > 4 * usual
    group = daily_totals(
        r for r in shared_tenant.cost_rows() if r.resource_group == spike.resource_group
    )
    assert max(group, key=lambda d: group[d]) == spike.day
    assert spike.resource_id.endswith("/dbw-data-analytics-01")


def test_costs_grow_and_aks_grows_fastest(shared_tenant):
    def four_weeks(rows, first: date) -> Decimal:
        return sum(
            (r.cost for r in rows if first <= r.usage_date < first + timedelta(28)), Decimal(0)
        )

    rows = list(shared_tenant.cost_rows(end=TODAY - timedelta(1)))
    early, late = shared_tenant.first_day, TODAY - timedelta(28)
    nodes = [
        r
        for r in rows
        if "virtualmachinescalesets" in r.resource_id and r.service_name != "Bandwidth"
    ]
    assert four_weeks(nodes, late) > Decimal("1.3") * four_weeks(nodes, early)
    assert four_weeks(rows, late) > four_weeks(rows, early)


def test_today_is_only_partly_reported(shared_tenant):
    totals = daily_totals(shared_tenant.cost_rows(start=TODAY - timedelta(7)))
    assert totals[TODAY] < Decimal("0.6") * totals[TODAY - timedelta(7)]  # same weekday


def test_the_reservation_is_a_purchase_in_actual_cost_and_spread_in_amortized(shared_tenant):
    actual = list(shared_tenant.cost_rows(CostType.ACTUAL))
    amortized = list(shared_tenant.cost_rows(CostType.AMORTIZED))
    purchases = [r for r in actual if r.charge_type == "Purchase"]
    assert len(purchases) == 1 and purchases[0].cost > 1000
    assert not [r for r in amortized if r.charge_type == "Purchase"]
    bought = purchases[0].usage_date
    covered = {
        r.resource_id
        for r in actual
        if r.usage_date > bought
        and r.cost == 0
        and r.service_name == "Virtual Machines"
        and "rg-prod-api" in r.resource_id
    }
    assert len(covered) == 3
    spread = [r for r in amortized if r.resource_id in covered and r.usage_date > bought]
    assert spread and all(r.cost > 0 for r in spread)


def test_restatement_changes_recent_days_only_and_drops_one_row(tenant):
    before = {
        (r.usage_date, r.resource_id, r.service_name, r.charge_type): r for r in tenant.cost_rows()
    }
    tenant.restate()
    after = {
        (r.usage_date, r.resource_id, r.service_name, r.charge_type): r for r in tenant.cost_rows()
    }

    vanished = set(before) - set(after)
    assert len(vanished) == 1 and set(after) <= set(before)
    assert next(iter(vanished))[0] == TODAY - timedelta(1)
    changed = [k for k in after if after[k].cost != before[k].cost]
    assert len(changed) > 20
    first_restated = TODAY - timedelta(RESTATED_DAYS - 1)
    assert min(k[0] for k in changed) >= first_restated
    assert all(abs(after[k].cost / before[k].cost - 1) < Decimal("0.05") for k in changed)


# -- the Query API, through the real SDK client ------------------------------------------------


async def query(tenant, scope, body):
    async with CostManagementClient(tenant.credential(), transport=tenant.transport()) as client:
        return await client.query.usage(scope, body)


async def test_a_query_returns_only_the_requested_columns_summed_over_the_rest(tenant):
    sub = tenant.subscription("Production")
    body = QueryDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=QueryTimePeriod(from_property=date(2026, 10, 1), to=date(2026, 10, 31)),
        dataset=QueryDataset(
            granularity="Monthly",
            aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
            grouping=[QueryGrouping(type="Dimension", name="ServiceName")],
        ),
    )

    result = await query(tenant, sub.scope, body)

    assert [c.name for c in result.columns] == [
        "totalCost",
        "BillingMonth",
        "ServiceName",
        "Currency",
    ]
    got = {row[2]: Decimal(str(row[0])) for row in result.rows}
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for r in tenant.cost_rows(
        start=date(2026, 10, 1), end=date(2026, 10, 31), subscription_id=sub.id
    ):
        truth[r.service_name] += r.cost
    assert got == {k: v.quantize(Decimal("1e-8")) for k, v in truth.items()}
    assert {row[1] for row in result.rows} == {"2026-10-01T00:00:00"}
    assert result.next_link is None


async def test_filters_and_tag_groupings_are_evaluated(tenant):
    sub = tenant.subscription("Production")
    body = {
        "type": "AmortizedCost",
        "timeframe": "MonthToDate",
        "dataset": {
            "aggregation": {"c": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "TagKey", "name": "team"}],
            "filter": QueryFilter(
                dimensions=QueryComparisonExpression(
                    name="ResourceGroupName",
                    operator="In",
                    values_property=["rg-prod-web", "rg-prod-api"],
                )
            ).as_dict(),
        },
    }

    result = await query(tenant, sub.scope, body)

    assert [c.name for c in result.columns] == ["c", "TagKey", "TagValue", "Currency"]
    teams = {row[2] for row in result.rows}
    assert teams <= {"web", "api", ""}
    total = sum(Decimal(str(row[0])) for row in result.rows)
    truth = sum(
        r.cost
        for r in tenant.cost_rows(
            CostType.AMORTIZED, start=TODAY.replace(day=1), end=TODAY, subscription_id=sub.id
        )
        if r.resource_group in ("rg-prod-web", "rg-prod-api")
    )
    assert abs(total - truth) < Decimal("0.0001")


async def test_resource_group_scope_only_sees_its_group(tenant):
    sub = tenant.subscription("Data Platform")
    scope = f"{sub.scope}/resourceGroups/rg-data-lake"
    body = {
        "type": "ActualCost",
        "timeframe": "TheLastMonth",
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ResourceGroupName"}],
        },
    }

    result = await query(tenant, scope, body)

    assert {row[2] for row in result.rows} == {"rg-data-lake"}
    assert {row[1] // 100 for row in result.rows} == {202610}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            lambda b: b["dataset"]["grouping"].append({"type": "Dimension", "name": "Flavour"}),
            "BadRequest",
        ),
        (lambda b: b.update(type="Forecast"), "BadRequest"),
        (
            lambda b: b.update(
                timePeriod={"from": "2026-11-05T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
            ),
            "BadRequest",
        ),
    ],
)
async def test_queries_azure_would_reject_answer_400(tenant, change, code):
    body = {
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [],
        },
    }
    change(body)

    with pytest.raises(HttpResponseError) as caught:
        await query(tenant, tenant.scopes[0], body)

    assert caught.value.status_code == 400
    assert caught.value.error.code == code


async def test_a_skiptoken_not_sent_exactly_as_issued_is_refused(tenant):
    tenant.cost_query.page_size = 10
    body = {
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"c": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ResourceId"}],
        },
    }
    async with CostManagementClient(tenant.credential(), transport=tenant.transport()) as client:
        first = await client.query.usage(tenant.scopes[0], body)
        raw = first.next_link.split("$skiptoken=")[1]
        assert "%" in raw
        second = await client.query.usage(tenant.scopes[0], body, params={"$skiptoken": raw})
        assert second.rows and second.rows[0] != first.rows[0]
        from urllib.parse import unquote

        with pytest.raises(HttpResponseError) as caught:
            await client.query.usage(tenant.scopes[0], body, params={"$skiptoken": unquote(raw)})
    assert caught.value.error.code == "InvalidSkipToken"


async def test_a_request_without_the_simulated_token_is_unauthorized(tenant):
    from adapters.azure.simulated import StaticTokenCredential

    async with CostManagementClient(
        StaticTokenCredential("stolen"), transport=tenant.transport()
    ) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.query.usage(tenant.scopes[0], {"type": "ActualCost"})
    assert caught.value.status_code == 401
