"""Throttling: Cost Management's 429s retried after the wait it asks for, through the real SDK
client; the waits are recorded by the transport, never slept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
from azure.core.pipeline.policies import AsyncRetryPolicy
from azure.mgmt.costmanagement.aio import CostManagementClient

from adapters.azure.cost_source import query_body
from adapters.azure.retry import CostManagementRetryPolicy, retry_after_seconds
from adapters.azure.simulated import THROTTLED_HEADERS, SimulatedTransport, StaticTokenCredential
from core.costs.model import CostType
from core.kernel.errors import ThrottledError
from core.kernel.scopes import parse_scope
from tests.adapters.azure.conftest import sample, source_for

DAY = date(2026, 11, 2)


async def pull_one_day(tenant, transport, **kw):
    scope = parse_scope(tenant.scopes[0])
    source = source_for(transport, **kw)
    async with source:
        return [d async for d in source.days(scope, CostType.ACTUAL, DAY, DAY)]


def test_simulated_throttle_headers_are_the_sample_ones():
    headers = sample("cost_query_429_throttled.json")["headers"]
    assert {k: v for k, v in headers.items() if "request-id" not in k} == THROTTLED_HEADERS


def test_the_wait_is_the_longest_of_every_retry_after_header():
    assert retry_after_seconds(THROTTLED_HEADERS) == 58
    assert retry_after_seconds({"Retry-After": "5"}) == 5
    assert (
        retry_after_seconds(
            {
                "Retry-After": "5",
                "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after": "12",
                "x-ms-ratelimit-microsoft.consumption-retry-after": "30",
                "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": "QueriesPerHour:1",
            }
        )
        == 30
    )
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert (
        retry_after_seconds({"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "soon"})
        is None
    )
    assert retry_after_seconds({"Content-Type": "application/json"}) is None


def test_retry_after_as_an_http_date_counts_from_now():
    when = datetime.now(UTC) + timedelta(seconds=120)
    wait = retry_after_seconds({"Retry-After": format_datetime(when, usegmt=True)})
    assert wait is not None and 100 < wait <= 120


async def test_stock_policy_gives_up_on_a_cost_management_429(tenant):
    """Why the custom policy exists: azure-core does not retry this POST."""
    tenant.queries.throttle(1)
    transport = tenant.transport()
    async with CostManagementClient(
        StaticTokenCredential(), transport=transport, retry_policy=AsyncRetryPolicy()
    ) as client:
        with pytest.raises(Exception) as caught:
            await client.query.usage(tenant.scopes[0], query_body(CostType.ACTUAL, DAY, DAY))
    assert getattr(caught.value, "status_code", None) == 429
    assert tenant.queries.calls == 1 and transport.sleeps == []


async def test_429_with_only_cost_management_headers_waits_the_longest_then_succeeds(tenant):
    tenant.queries.throttle(2)
    transport = tenant.transport()

    days = await pull_one_day(tenant, transport, max_retries=5)

    assert transport.sleeps == [58.0, 58.0]
    assert tenant.queries.calls == 3
    assert len(days) == 1 and len(days[0].rows) > 50


async def test_exhausted_retries_raise_throttled_with_the_scope_and_when_to_retry(tenant):
    tenant.queries.throttle(10)
    transport = tenant.transport()

    with pytest.raises(ThrottledError) as caught:
        await pull_one_day(tenant, transport, max_retries=2)

    error = caught.value
    assert error.retry_after_seconds == 58
    assert tenant.scopes[0] in error.message
    assert "Try again in about 58 s" in error.user_message()
    assert transport.sleeps == [58.0, 58.0]
    assert tenant.queries.calls == 3


async def test_standard_retry_after_is_honoured(tenant):
    tenant.queries.throttle(1, headers={"Retry-After": "7"})
    transport = tenant.transport()

    await pull_one_day(tenant, transport)

    assert transport.sleeps == [7.0]


async def test_the_wait_is_capped(tenant):
    tenant.queries.throttle(2)
    transport = tenant.transport()

    await pull_one_day(tenant, transport, cap=20)

    assert transport.sleeps == [20.0, 20.0]


async def test_without_any_header_a_429_backs_off_exponentially(tenant):
    tenant.queries.throttle(3, headers={"Content-Type": "application/json"})
    transport = tenant.transport()

    await pull_one_day(tenant, transport, max_retries=5)

    assert transport.sleeps == [1.6, 3.2]  # the first retry is immediate


async def test_throttling_in_the_middle_of_paging_resumes_at_the_same_page(tenant):
    tenant.cost_query.page_size = 40
    tenant.queries.throttle(1, after=2)  # the third page
    transport = tenant.transport()

    days = await pull_one_day(tenant, transport)

    truth = list(tenant.cost_rows(start=DAY, end=DAY, subscription_id=tenant.subscriptions[0].id))
    assert sorted(r.cost for r in days[0].rows) == sorted(r.cost for r in truth)
    assert transport.sleeps == [58.0]


def test_policy_rejects_nonsense_limits():
    with pytest.raises(ValueError):
        CostManagementRetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        CostManagementRetryPolicy(max_wait_seconds=0)


async def test_a_throttled_answer_is_closed_before_the_retry(tenant):
    class RecordingTransport(SimulatedTransport):
        def __init__(self, router):
            super().__init__(router)
            self.responses = []

        async def send(self, request, **kwargs):
            response = await super().send(request, **kwargs)
            self.responses.append(response)
            return response

    tenant.queries.throttle(1)
    transport = RecordingTransport(tenant.router)

    await pull_one_day(tenant, transport)

    assert [r.status_code for r in transport.responses] == [429, 200]
    assert transport.responses[0].is_closed
