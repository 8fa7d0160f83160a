"""AzureForecastSource through the real async CostManagementClient: the Forecast API request,
reading the answer by column name, validation, "no forecast", throttling and errors; and the
simulated tenant's Forecast endpoint behind it."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.costmanagement.aio import CostManagementClient

from adapters.azure import build_forecast_source, build_simulated_forecast_source
from adapters.azure.forecast_source import forecast_body
from adapters.azure.simulated import (
    Router,
    SimulatedResponse,
    SimulatedTenant,
    SimulatedTransport,
    StaticTokenCredential,
    arm_error,
    drop_column,
    set_column,
)
from adapters.azure.simulated.forecast import MIN_HISTORY_DAYS, parse_forecast
from adapters.azure.simulated.transport import request_json
from core.costs.model import CostType
from core.kernel.errors import MalformedResponseError, PermissionDeniedError, ThrottledError
from core.kernel.scopes import parse_scope
from tests.adapters.azure.conftest import SAMPLE_SUB, TODAY, sample

TOMORROW = TODAY + timedelta(days=1)
NOV30, DEC31 = date(2026, 11, 30), date(2026, 12, 31)
FORECAST_URL = r"/providers/Microsoft\.CostManagement/forecast"
SAMPLE_SCOPE = parse_scope(SAMPLE_SUB)
# The sample's forecast rows: 2025-02-26 to 2025-03-02 (two "Actual" rows come before).
SAMPLE_START, SAMPLE_END = date(2025, 2, 26), date(2025, 3, 2)
SAMPLE_FORECAST = sum(
    (
        Decimal(v)
        for v in ("62.1187393", "62.40551208", "59.97321844", "61.02188315", "61.53920466")
    ),
    Decimal(0),
)


class FakeForecastApi:
    """Answers Forecast API calls with the given responses in order (the last one repeats)."""

    def __init__(self, *responses: SimulatedResponse) -> None:
        self.responses = list(responses)
        self.bodies: list[object] = []
        self.urls: list[str] = []
        self.router = Router()
        self.router.add("POST", FORECAST_URL, self._answer, name="forecast")

    def _answer(self, request, match) -> SimulatedResponse:
        self.urls.append(request.url)
        self.bodies.append(request_json(request))
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return copy.deepcopy(answer)


def sample_answer(edit=None) -> SimulatedResponse:
    body = sample("forecast_response.json")
    if edit is not None:
        edit(body)
    return SimulatedResponse(200, body, {"Content-Type": "application/json"})


async def forecast_from(api: FakeForecastApi, start=SAMPLE_START, end=SAMPLE_END, **kw):
    source = build_forecast_source(
        credential=StaticTokenCredential(), transport=SimulatedTransport(api.router), **kw
    )
    async with source:
        return await source.forecast(SAMPLE_SCOPE, CostType.ACTUAL, start, end)


async def tenant_forecast(tenant, scope, start, end, cost_type=CostType.ACTUAL, **kw):
    transport = tenant.transport()
    async with build_simulated_forecast_source(tenant, transport=transport, **kw) as source:
        return await source.forecast(scope, cost_type, start, end), transport


# -- the request ---------------------------------------------------------------------------------


async def test_the_request_asks_azure_for_daily_forecast_rows_only_from_tomorrow_to_the_end(
    tenant,
):
    sub = tenant.subscription("Production")

    figure, transport = await tenant_forecast(
        tenant, parse_scope(sub.scope), TOMORROW, DEC31, CostType.AMORTIZED
    )

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url.startswith(
        f"https://management.azure.com/subscriptions/{sub.id}"
        "/providers/Microsoft.CostManagement/forecast?api-version="
    )
    assert request.body == {
        "type": "AmortizedCost",
        "timeframe": "Custom",
        "timePeriod": {"from": "2026-11-28T00:00:00Z", "to": "2026-12-31T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
        },
        "includeActualCost": False,
        "includeFreshPartialCost": False,
    }
    assert request.body == forecast_body(CostType.AMORTIZED, TOMORROW, DEC31)
    assert figure is not None
    assert (figure.currency, figure.days) == ("EUR", (DEC31 - TOMORROW).days + 1)


async def test_the_answer_is_read_by_column_name_in_any_order_and_actual_rows_are_left_out():
    def reorder(body):
        props = body["properties"]
        order = [3, 2, 0, 1]  # Currency, CostStatus, totalCost, UsageDate
        props["columns"] = [props["columns"][i] for i in order]
        props["rows"] = [[row[i] for i in order] for row in props["rows"]]

    as_sent = await forecast_from(FakeForecastApi(sample_answer()))
    reordered = await forecast_from(FakeForecastApi(sample_answer(reorder)))

    assert as_sent is not None and reordered == as_sent
    assert as_sent.amount == SAMPLE_FORECAST  # the JSON numbers' digits, exactly
    assert (as_sent.currency, as_sent.days) == ("EUR", 5)


async def test_a_paged_answer_is_read_to_its_last_page_with_the_skiptoken_as_given():
    def first_half(body):
        props = body["properties"]
        props["rows"] = props["rows"][:4]
        props["nextLink"] = (
            f"https://management.azure.com/subscriptions/{SAMPLE_SUB}/providers/"
            "Microsoft.CostManagement/forecast?api-version=2025-03-01&$skiptoken=AQAAAA%3D%3D"
        )

    def second_half(body):
        body["properties"]["rows"] = body["properties"]["rows"][4:]

    api = FakeForecastApi(sample_answer(first_half), sample_answer(second_half))

    figure = await forecast_from(api)

    assert figure is not None and figure.amount == SAMPLE_FORECAST
    assert "$skiptoken=AQAAAA%3D%3D" in api.urls[1]
    assert api.bodies[0] == api.bodies[1]


# -- malformed answers ---------------------------------------------------------------------------

MALFORMED = {
    "no CostStatus column": (drop_column("CostStatus"), "CostStatus"),
    "no UsageDate column": (drop_column("UsageDate"), "UsageDate"),
    "no cost column": (drop_column("totalCost"), "totalCost"),
    "no Currency column": (drop_column("Currency"), "Currency"),
    "text cost": (set_column("totalCost", "62,11", rows=slice(3, 4)), "totalCost"),
    "ISO date": (set_column("UsageDate", "2025-02-27", rows=slice(3, 4)), "UsageDate"),
    "impossible date": (set_column("UsageDate", 20250230, rows=slice(3, 4)), "UsageDate"),
    "unknown status": (set_column("CostStatus", "Predicted", rows=slice(3, 4)), "CostStatus"),
    "day not asked for": (set_column("UsageDate", 20250310, rows=slice(-1, None)), "UsageDate"),
    "bad currency": (set_column("Currency", 978, rows=slice(2, 3)), "Currency"),
}


@pytest.mark.parametrize("fault", list(MALFORMED), ids=list(MALFORMED))
async def test_a_malformed_answer_raises_naming_the_column(fault):
    corrupt, column = MALFORMED[fault]

    with pytest.raises(MalformedResponseError) as caught:
        await forecast_from(FakeForecastApi(sample_answer(corrupt)))

    message = caught.value.user_message()
    assert f"'{column}'" in message
    assert SAMPLE_SCOPE.path in message and "forecast" in message


async def test_two_forecast_rows_for_one_day_are_malformed():
    def duplicate(body):
        body["properties"]["rows"].append(list(body["properties"]["rows"][-1]))

    with pytest.raises(MalformedResponseError, match="two forecast rows for 2025-03-02"):
        await forecast_from(FakeForecastApi(sample_answer(duplicate)))


# -- no forecast ---------------------------------------------------------------------------------


async def test_no_rows_no_content_or_forecast_is_unavailable_mean_no_forecast_not_an_error():
    def no_rows(body):
        body["properties"]["rows"] = []

    unavailable = arm_error(
        400, "BadRequest", "Forecast is unavailable for the specified time period."
    )
    for answer in (sample_answer(no_rows), SimulatedResponse(204), unavailable):
        assert await forecast_from(FakeForecastApi(answer)) is None


async def test_a_forecast_missing_days_or_in_two_currencies_is_not_used():
    def missing_day(body):
        del body["properties"]["rows"][3]

    def two_currencies(body):
        body["properties"]["rows"][2][3] = "USD"

    assert await forecast_from(FakeForecastApi(sample_answer(missing_day))) is None
    assert await forecast_from(FakeForecastApi(sample_answer(two_currencies))) is None


async def test_a_scope_with_less_than_28_days_of_history_gets_an_empty_answer():
    tenant = SimulatedTenant(
        seed=7, today=TODAY, onboarded={"Sandbox": TODAY - timedelta(days=MIN_HISTORY_DAYS - 1)}
    )
    sandbox = parse_scope(tenant.subscription("Sandbox").scope)
    production = parse_scope(tenant.subscription("Production").scope)

    young, _ = await tenant_forecast(tenant, sandbox, TOMORROW, NOV30)
    established, _ = await tenant_forecast(tenant, production, TOMORROW, NOV30)

    assert young is None
    assert established is not None and established.amount > 0
    # The young subscription's costs really start on the day it was onboarded.
    first = min(tenant.daily_totals(subscription_id=tenant.subscription("Sandbox").id))
    assert first == TODAY - timedelta(days=MIN_HISTORY_DAYS - 1)


# -- throttling and errors -------------------------------------------------------------------------


async def test_a_throttled_forecast_is_retried_after_the_wait_azure_asks_for(tenant):
    scope = parse_scope(tenant.subscription("Staging").scope)
    tenant.forecasts.throttle(times=2)

    figure, transport = await tenant_forecast(tenant, scope, TOMORROW, NOV30, max_retries=3)

    assert figure is not None and figure.days == 3
    assert tenant.forecasts.calls == 3
    assert transport.sleeps == [58.0, 58.0]  # the longest *-retry-after header, never slept


async def test_a_forecast_throttled_beyond_the_retries_raises_throttled(tenant):
    scope = parse_scope(tenant.subscription("Staging").scope)
    tenant.forecasts.throttle(times=3)

    with pytest.raises(ThrottledError) as caught:
        await tenant_forecast(
            tenant, scope, TOMORROW, NOV30, max_retries=1, max_retry_wait_seconds=9
        )

    assert tenant.forecasts.calls == 2
    assert caught.value.retry_after_seconds == 58
    assert "cost forecast" in caught.value.user_message()


async def test_a_refused_forecast_says_which_role_is_missing(tenant):
    sub = tenant.subscription("Staging")
    tenant.deny(sub.scope)

    with pytest.raises(PermissionDeniedError) as caught:
        await tenant_forecast(tenant, parse_scope(sub.scope), TOMORROW, NOV30)

    assert "'Cost Management Reader' role" in caught.value.user_message()


# -- the simulated endpoint ------------------------------------------------------------------------


def body(**changes):
    out = forecast_body(CostType.ACTUAL, TOMORROW, NOV30)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timePeriod": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-20T23:59:59Z"}}, "future"),
        ({"timeframe": "MonthToDate"}, "only Custom"),
        ({"includeActualCost": False, "includeFreshPartialCost": True}, "requires includeActual"),
        (
            {
                "dataset": {
                    "granularity": "Daily",
                    "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
                    "grouping": [{"type": "Dimension", "name": "ResourceGroupName"}],
                }
            },
            "grouping",
        ),
    ],
)
async def test_the_simulated_endpoint_refuses_what_azure_refuses(tenant, change, message):
    sub = tenant.subscription("Staging")
    async with CostManagementClient(tenant.credential(), transport=tenant.transport()) as client:
        with pytest.raises(HttpResponseError) as caught:
            await client.forecast.usage(sub.scope, body(**change))
    assert caught.value.status_code == 400
    assert message in str(caught.value)


async def test_the_simulated_forecast_continues_the_series_with_its_weekly_shape(tenant):
    sub = tenant.subscription("Staging")  # its VMs are shut down at weekends
    week = [TODAY + timedelta(days=n) for n in range(1, 8)]

    rows = tenant.forecast.daily(sub.id, None, _parsed(body(timePeriod=_period(week[0], week[-1]))))

    by_day = {day: cost for day, cost, status in rows if status == "Forecast"}
    assert list(by_day) == week
    totals = tenant.daily_totals(subscription_id=sub.id)
    last_week = [TODAY - timedelta(days=n) for n in range(1, 8)]
    weekend = [d for d in week if d.weekday() >= 5]
    workdays = [d for d in week if d.weekday() < 5]
    assert max(by_day[d] for d in weekend) < Decimal("0.7") * min(by_day[d] for d in workdays)
    # Within a few percent of the last complete week, a little higher (the tenant grows).
    ratio = sum(by_day.values()) / sum(totals[d] for d in last_week)
    assert Decimal("1.0") < ratio < Decimal("1.05")


async def test_with_actual_costs_the_simulated_answer_has_the_days_before_today_as_actual(tenant):
    sub = tenant.subscription("Staging")
    start = TODAY - timedelta(days=3)

    rows = tenant.forecast.daily(
        sub.id,
        None,
        _parsed(body(timePeriod=_period(start, TOMORROW), includeActualCost=True)),
    )

    totals = tenant.daily_totals(subscription_id=sub.id)
    assert [(d, s) for d, _c, s in rows] == [
        (start, "Actual"),
        (start + timedelta(days=1), "Actual"),
        (start + timedelta(days=2), "Actual"),
        (TODAY, "Forecast"),
        (TOMORROW, "Forecast"),
    ]
    assert [c for _d, c, s in rows if s == "Actual"] == [
        totals[start + timedelta(days=n)] for n in range(3)
    ]


def _period(start: date, end: date) -> dict[str, str]:
    return {"from": f"{start}T00:00:00Z", "to": f"{end}T23:59:59Z"}


def _parsed(raw):
    return parse_forecast(raw, TODAY)
