"""AzureCostSource through the real async CostManagementClient: query, paging, reading by
column name, normalization, validation, error mapping."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from azure.core.exceptions import ServiceRequestError

from adapters.azure.cost_source import (
    GROUPINGS,
    date_chunks,
    query_body,
    skiptoken_of,
)
from adapters.azure.simulated import SimulatedResponse, SimulatedTransport, arm_error
from core.costs.model import CostType
from core.kernel.errors import (
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    UpstreamError,
)
from core.kernel.scopes import parse_scope
from tests.adapters.azure.conftest import SAMPLE_SUB, FakeCostManagement, page, sample, source_for

SCOPE = parse_scope(SAMPLE_SUB)
FEB15, FEB16 = date(2025, 2, 15), date(2025, 2, 16)


async def collect(source, scope=SCOPE, start=FEB15, end=FEB16, cost_type=CostType.ACTUAL):
    async with source:
        return [day async for day in source.days(scope, cost_type, start, end)]


# -- the query ---------------------------------------------------------------------------------


def test_query_body_asks_daily_costs_by_every_dimension_with_tags():
    body = query_body(CostType.AMORTIZED, date(2026, 11, 1), date(2026, 11, 7))

    assert body["type"] == "AmortizedCost"
    assert body["timeframe"] == "Custom"
    assert body["timePeriod"] == {"from": "2026-11-01T00:00:00Z", "to": "2026-11-07T23:59:59Z"}
    dataset = body["dataset"]
    assert dataset["granularity"] == "Daily"
    assert {a["name"] for a in dataset["aggregation"].values()} == {
        "Cost",
        "CostUSD",
        "UsageQuantity",
    }
    assert [g["name"] for g in dataset["grouping"]] == list(GROUPINGS)
    assert dataset["include"] == ["Tags"]


def test_chunks_cover_the_window_without_crossing_a_month():
    chunks = list(date_chunks(date(2026, 1, 25), date(2026, 3, 3), 7))

    assert chunks[0] == (date(2026, 1, 25), date(2026, 1, 31))
    assert (date(2026, 2, 1), date(2026, 2, 7)) in chunks
    assert chunks[-1] == (date(2026, 3, 1), date(2026, 3, 3))
    days = [c[0] + timedelta(days=i) for c in chunks for i in range((c[1] - c[0]).days + 1)]
    assert days == [date(2026, 1, 25) + timedelta(days=i) for i in range(38)]
    assert all(c[0].month == c[1].month and (c[1] - c[0]).days < 7 for c in chunks)


def test_chunk_size_above_31_days_is_refused():
    with pytest.raises(ValueError):
        list(date_chunks(date(2026, 1, 1), date(2026, 3, 1), 32))


def test_skiptoken_is_taken_from_the_next_link_still_encoded():
    link = sample("cost_query_full_page1.json")["properties"]["nextLink"]
    assert skiptoken_of(link) == "AQAAAA%3D%3D"
    assert skiptoken_of("https://management.azure.com/x?api-version=1") is None


# -- paging and reading ------------------------------------------------------------------------


async def test_every_page_of_a_chunk_arrives_and_the_skiptoken_is_sent_as_given():
    fake = FakeCostManagement(
        page("cost_query_full_page1.json"), page("cost_query_full_page2.json")
    )

    days = await collect(source_for(SimulatedTransport(fake.router)))

    assert [d.usage_date for d in days] == [FEB15, FEB16]
    assert [len(d.rows) for d in days] == [4, 6]  # Feb 16 spans both pages
    assert fake.skiptokens == [None, "AQAAAA%3D%3D"]
    assert fake.bodies[0] == fake.bodies[1]  # the same query, re-posted for the next page
    assert fake.urls[0].startswith(
        f"https://management.azure.com/subscriptions/{SAMPLE_SUB}"
        "/providers/Microsoft.CostManagement/query?"
    )


async def test_rows_are_read_by_column_name_and_normalized():
    fake = FakeCostManagement(
        page("cost_query_full_page1.json"), page("cost_query_full_page2.json")
    )

    days = await collect(source_for(SimulatedTransport(fake.router)))

    first = days[0].rows[0]
    assert first.cost == Decimal("41.7731204")  # the JSON number's digits, exactly
    assert first.cost_usd == Decimal("45.21337655")
    assert first.quantity == Decimal("24.0")
    assert first.subscription_id == SAMPLE_SUB
    assert first.subscription_name == "Production"
    assert first.resource_group == "rg-prod-web"
    assert first.resource_id == (
        f"/subscriptions/{SAMPLE_SUB}/resourcegroups/rg-prod-web"
        "/providers/microsoft.compute/virtualmachines/vm-web-01"
    )
    assert (first.service_name, first.meter_category) == ("Virtual Machines", "Virtual Machines")
    assert (first.location, first.charge_type, first.currency) == ("westeurope", "Usage", "EUR")
    assert first.tags == {"env": "prod", "team": "web"}

    # Page 2 has another column order and names its aggregations by source column.
    by_service = {(r.service_name, r.charge_type): r for r in days[1].rows}
    bandwidth = by_service[("Bandwidth", "Usage")]
    assert bandwidth.cost == Decimal("0.47390201")
    assert bandwidth.resource_group == "rg-prod-web"
    assert bandwidth.tags == {"env": "prod", "team": "web"}  # tags given as an object
    postgres = by_service[("Azure Database for PostgreSQL", "Usage")]
    assert postgres.tags == {"costcenter": "CC-1300", "docs": "https://wiki.example/db"}
    refund = by_service[("Virtual Machines", "Refund")]
    assert refund.cost == Decimal("-1.5")
    assert (refund.resource_group, refund.resource_id, refund.location) == ("", "", "")
    assert refund.tags == {}


async def test_days_without_rows_are_yielded_empty_in_order():
    fake = FakeCostManagement(
        page("cost_query_full_page1.json"), page("cost_query_full_page2.json")
    )

    days = await collect(
        source_for(SimulatedTransport(fake.router)), start=date(2025, 2, 12), end=date(2025, 2, 18)
    )

    assert [d.usage_date for d in days] == [date(2025, 2, d) for d in range(12, 19)]
    assert [len(d.rows) for d in days] == [0, 0, 0, 4, 6, 0, 0]


async def test_no_content_answer_yields_every_day_empty():
    fake = FakeCostManagement(SimulatedResponse(204))

    days = await collect(source_for(SimulatedTransport(fake.router)))

    assert [(d.usage_date, d.rows) for d in days] == [(FEB15, []), (FEB16, [])]


async def test_a_window_is_queried_chunk_by_chunk(tenant):
    transport = tenant.transport()
    scope = parse_scope(tenant.scopes[0])

    days = await collect(
        source_for(transport, chunk_days=10),
        scope=scope,
        start=date(2026, 10, 25),
        end=date(2026, 11, 12),
    )

    periods = [r.body["timePeriod"] for r in transport.requests]
    distinct = [p for i, p in enumerate(periods) if p not in periods[:i]]  # pages repeat a period
    assert distinct == [
        {"from": "2026-10-25T00:00:00Z", "to": "2026-10-31T23:59:59Z"},
        {"from": "2026-11-01T00:00:00Z", "to": "2026-11-10T23:59:59Z"},
        {"from": "2026-11-11T00:00:00Z", "to": "2026-11-12T23:59:59Z"},
    ]
    assert len(days) == 19


async def test_many_pages_from_the_simulated_tenant_add_up_to_its_ground_truth(tenant):
    tenant.cost_query.page_size = 50
    transport = tenant.transport()
    sub = tenant.subscriptions[0]
    start, end = date(2026, 11, 1), date(2026, 11, 7)

    days = await collect(
        source_for(transport, chunk_days=7), scope=parse_scope(sub.scope), start=start, end=end
    )

    got = sorted(
        (r.usage_date, r.resource_id, r.service_name, r.cost) for d in days for r in d.rows
    )
    truth = sorted(
        (r.usage_date, r.resource_id, r.service_name, r.cost)
        for r in tenant.cost_rows(start=start, end=end, subscription_id=sub.id)
    )
    assert got == truth
    pages = len(transport.requests)
    assert pages == -(-len(truth) // 50) > 10
    # Every nextLink's token came back; the simulation answers 400 to one not sent as issued.
    assert len(tenant.cost_query.skiptokens_received) == pages - 1


# -- malformed answers -------------------------------------------------------------------------


def _with(page_name: str, mutate) -> SimulatedResponse:
    body = sample(page_name)
    mutate(body["properties"])
    return SimulatedResponse(200, body)


def _drop(column: str):
    def mutate(props):
        i = [c["name"] for c in props["columns"]].index(column)
        del props["columns"][i]
        for row in props["rows"]:
            del row[i]

    return mutate


def _set(column: str, value, row: int = 0):
    def mutate(props):
        i = [c["name"] for c in props["columns"]].index(column)
        props["rows"][row][i] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "column"),
    [
        (_drop("UsageDate"), "UsageDate"),
        (_drop("totalCost"), "totalCost"),
        (_drop("ResourceId"), "ResourceId"),
        (_drop("Currency"), "Currency"),
        (_set("UsageDate", "2025-02-15"), "UsageDate"),
        (_set("UsageDate", 20250230), "UsageDate"),
        (_set("UsageDate", 20250301), "UsageDate"),  # outside the queried days
        (_set("totalCost", "41,77"), "Cost"),
        (_set("totalCost", None), "Cost"),
        (_set("totalCostUSD", True), "CostUSD"),
        (_set("ServiceName", 42), "ServiceName"),
        (_set("Tags", "env=prod"), "Tags"),
        (_set("Currency", None), "Currency"),
    ],
)
async def test_a_missing_or_mistyped_column_fails_naming_the_column_and_the_scope(mutate, column):
    fake = FakeCostManagement(_with("cost_query_full_page1.json", mutate))

    with pytest.raises(MalformedResponseError) as caught:
        await collect(source_for(SimulatedTransport(fake.router)))

    text = caught.value.user_message()
    assert f"'{column}'" in text
    assert SCOPE.path in text
    assert "Nothing of 2025-02-15..2025-02-16 was stored" in text


async def test_a_bad_second_page_fails_before_any_day_of_the_chunk_is_yielded():
    fake = FakeCostManagement(
        page("cost_query_full_page1.json"),
        _with("cost_query_full_page2.json", _set("Cost", "n/a", row=2)),
    )
    source = source_for(SimulatedTransport(fake.router))
    yielded = []

    with pytest.raises(MalformedResponseError, match="'Cost'"):
        async with source:
            async for day in source.days(SCOPE, CostType.ACTUAL, FEB15, FEB16):
                yielded.append(day)

    assert yielded == []


async def test_the_two_grouping_sample_page_lacks_the_dimensions_we_need():
    fake = FakeCostManagement(SimulatedResponse(200, sample("cost_query_page1.json")))

    with pytest.raises(MalformedResponseError, match="no column 'totalQuantity'"):
        await collect(source_for(SimulatedTransport(fake.router)))


async def test_a_body_that_is_not_json_is_a_malformed_response():
    fake = FakeCostManagement(SimulatedResponse(200, b"<html>gateway</html>"))

    with pytest.raises(MalformedResponseError, match="not valid JSON"):
        await collect(source_for(SimulatedTransport(fake.router)))


async def test_a_next_link_that_repeats_itself_stops_the_run():
    looping = sample("cost_query_full_page1.json")
    fake = FakeCostManagement(SimulatedResponse(200, looping))

    with pytest.raises(MalformedResponseError, match="repeats"):
        await collect(source_for(SimulatedTransport(fake.router)))
    assert len(fake.urls) == 2


# -- errors ------------------------------------------------------------------------------------


async def test_forbidden_scope_asks_for_the_cost_management_reader_role(tenant):
    scope = parse_scope(tenant.scopes[1])
    tenant.deny(scope.path)
    transport = tenant.transport()

    with pytest.raises(PermissionDeniedError) as caught:
        await collect(
            source_for(transport), scope=scope, start=date(2026, 11, 1), end=date(2026, 11, 2)
        )

    error = caught.value
    assert "HTTP 403" in error.message and "AuthorizationFailed" in error.message
    assert error.hint is not None
    assert "'Cost Management Reader' role on " + scope.path in error.hint
    assert tenant.queries.calls == 1  # a 403 is not retried


async def test_billing_scopes_ask_for_the_billing_reader_role():
    fake = FakeCostManagement(arm_error(401, "Unauthorized", "no"))
    scope = parse_scope("/providers/Microsoft.Billing/billingAccounts/1234567")

    with pytest.raises(PermissionDeniedError) as caught:
        await collect(source_for(SimulatedTransport(fake.router)), scope=scope)

    assert "'Billing account reader' role" in (caught.value.hint or "")


async def test_an_unknown_subscription_is_not_found(tenant):
    scope = parse_scope("00000000-0000-4000-8000-000000000000")

    with pytest.raises(NotFoundError, match="HTTP 404"):
        await collect(source_for(tenant.transport()), scope=scope)


async def test_a_server_error_is_retried_then_reported_with_its_code(tenant):
    tenant.queries.fail(500, "InternalServerError", times=10)
    transport = tenant.transport()
    scope = parse_scope(tenant.scopes[0])

    with pytest.raises(UpstreamError) as caught:
        await collect(source_for(transport, max_retries=3), scope=scope)

    assert not isinstance(caught.value, MalformedResponseError)
    assert caught.value.code == "InternalServerError"
    assert caught.value.service == "Azure Cost Management"
    assert tenant.queries.calls == 4
    assert transport.sleeps == [1.6, 3.2]  # exponential backoff, first retry immediate


async def test_a_server_error_that_clears_is_invisible(tenant):
    tenant.queries.fail(503, "ServiceUnavailable", times=2)
    scope = parse_scope(tenant.scopes[0])

    days = await collect(
        source_for(tenant.transport()), scope=scope, start=date(2026, 11, 1), end=date(2026, 11, 1)
    )

    assert len(days) == 1 and days[0].rows


class FailingTransport(SimulatedTransport):
    """The network is down: every request fails before reaching Azure."""

    def __init__(self) -> None:
        super().__init__(router=None)  # type: ignore[arg-type]
        self.attempts = 0

    async def send(self, request, **kwargs):
        self.attempts += 1
        raise ServiceRequestError("Cannot connect to host management.azure.com:443")


async def test_network_failure_is_retried_then_reported_with_a_retry_hint():
    transport = FailingTransport()

    with pytest.raises(UpstreamError) as caught:
        await collect(source_for(transport, max_retries=2))

    assert caught.value.code == "network"
    assert "try again" in (caught.value.hint or "")
    assert transport.attempts == 3
