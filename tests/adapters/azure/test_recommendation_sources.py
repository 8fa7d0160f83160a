"""The recommendation sources through the real SDK clients: Microsoft's sample payloads, paging,
throttling, malformed answers, batching to the API's limits, and sovereign clouds."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.azure import CLOUDS, build_cost_source, build_recommendation_sources, resolve_cloud
from adapters.azure.simulated import Router, SimulatedResponse, SimulatedTenant, SimulatedTransport
from adapters.azure.simulated.estate import synthetic
from adapters.azure.simulated.transport import request_json
from core.costs.model import CostType
from core.kernel.errors import ConfigurationError, MalformedResponseError
from core.kernel.scopes import parse_scope
from tests.adapters.azure.conftest import SAMPLE_SUB, sample
from tests.support.recs import ScopeRecordingCredential, vm

WINDOW_START = datetime(2025, 2, 25, tzinfo=UTC)


def sources_for(router: Router, **kwargs):
    transport = SimulatedTransport(router, require_token=None)
    built = build_recommendation_sources(
        credential=ScopeRecordingCredential(),
        subscription_ids=[SAMPLE_SUB],
        transport=transport,
        sleep=transport.sleep,
        max_retries=2,
        **kwargs,
    )
    return built, transport


def canned(*bodies, headers=None):
    """A handler answering the bodies in order (the last repeats)."""
    answers = list(bodies)

    def handle(request, match):
        body = answers.pop(0) if len(answers) > 1 else answers[0]
        return SimulatedResponse(200, copy.deepcopy(body), dict(headers or {}))

    return handle


# -- Advisor --------------------------------------------------------------------------------------


async def test_advisor_sample_pages_parse_amounts_from_strings_and_skip_suppressed_items():
    first = sample("advisor_recommendations_page.json")
    suppressed = copy.deepcopy(first["value"][0])
    suppressed["name"] = "suppressed-one"
    suppressed["properties"]["suppressionIds"] = ["c2b1"]
    second = {"value": [suppressed], "nextLink": None}
    router = Router()
    router.add(
        "GET", r"/providers/Microsoft\.Advisor/recommendations", canned(first, second), name="a"
    )
    built, transport = sources_for(router)
    async with built:
        items = await built.sources.advisor.cost_recommendations(SAMPLE_SUB)

    assert router.calls("a") == 2  # the nextLink was followed
    assert "$skiptoken=eyJuZXh0UGFydGl0aW9uS2V5IjoiMSJ9" in transport.requests[1].url
    assert [i.amount for i in items] == [Decimal("118.26"), Decimal("239"), Decimal("61.59")]
    assert {i.currency for i in items} == {"EUR"}
    vm_item = items[0]
    assert vm_item.resource_id.endswith("/virtualmachines/vm-web-03")  # lower-cased ARM id
    assert vm_item.properties["targetSku"] == "Standard_D4s_v5"
    assert "Category%20eq%20%27Cost%27" in transport.requests[0].url


@pytest.mark.parametrize(("raw", "amount"), [("", None), ("n/a", None), ("1,234.50", "1234.50")])
async def test_advisor_amounts_in_any_string_shape(raw, amount):
    page = sample("advisor_recommendations_page.json")
    page["nextLink"] = None
    page["value"][0]["properties"]["extendedProperties"]["savingsAmount"] = raw
    router = Router()
    router.add("GET", r"Microsoft\.Advisor/recommendations", canned(page))
    built, _ = sources_for(router)
    async with built:
        items = await built.sources.advisor.cost_recommendations(SAMPLE_SUB)
    assert items[0].amount == (None if amount is None else Decimal(amount))


async def test_an_advisor_item_without_its_resource_is_a_clear_error():
    page = sample("advisor_recommendations_page.json")
    page["nextLink"] = None
    del page["value"][1]["properties"]["resourceMetadata"]
    router = Router()
    router.add("GET", r"Microsoft\.Advisor/recommendations", canned(page))
    built, _ = sources_for(router)
    async with built:
        with pytest.raises(MalformedResponseError, match="no resource id"):
            await built.sources.advisor.cost_recommendations(SAMPLE_SUB)


# -- savings plans and reservations ---------------------------------------------------------------


async def test_the_benefit_sample_is_read_for_the_term_and_look_back_asked():
    router = Router()
    router.add(
        "GET", r"/benefitRecommendations", canned(sample("benefit_recommendations_page.json"))
    )
    built, transport = sources_for(router)
    async with built:
        [offer] = await built.sources.benefits.savings_plans(
            f"/subscriptions/{SAMPLE_SUB}", "P3Y", "Last60Days"
        )
    assert (offer.total_hours, offer.savings_amount) == (1440, Decimal("2326.58"))
    assert offer.commitment_per_hour == Decimal("2.8") and offer.currency == "EUR"
    url = transport.requests[0].url
    assert "lookBackPeriod%20eq%20%27Last60Days%27" in url and "term%20eq%20%27P3Y%27" in url


async def test_the_reservations_sample_gives_utilization_per_grain():
    router = Router()
    router.add(
        "GET",
        r"Microsoft\.Capacity/reservations",
        canned(sample("reservations_list_all_page.json")),
    )
    built, _ = sources_for(router)
    async with built:
        [r] = await built.sources.reservations.reservations()
    assert r.utilization == {1: Decimal("71.5"), 7: Decimal("78.25"), 30: Decimal("83.0")}
    assert (r.sku, r.quantity, r.term, r.trend) == ("Standard_D4s_v5", Decimal(2), "P3Y", "DOWN")


# -- metrics --------------------------------------------------------------------------------------


def sample_vms():
    return [vm(name, "Standard_D4s_v5", rg="rg-prod-web") for name in ("vm-web-03", "vm-web-04")]


async def test_the_metrics_sample_gives_each_vm_its_hourly_series():
    body = sample("metrics_batch_response.json")
    for value in body["values"]:
        for metric in value["value"]:
            metric["id"] = metric["id"].replace("8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a", SAMPLE_SUB)
    router = Router()
    router.add(
        "POST", r"metrics\.monitor\.azure\.com/subscriptions/.*/metrics:getBatch", canned(body)
    )
    built, transport = sources_for(router)
    machines = sample_vms()
    async with built:
        found = await built.sources.metrics.vm_metrics(
            machines, WINDOW_START, WINDOW_START + timedelta(hours=4)
        )
    first = found[machines[0].resource_id]
    assert first.cpu_max == (9.87, 7.12, 6.4, 8.55)  # the hourly maximum
    assert first.memory_available_min[0] == 23977902080.0  # the hourly minimum
    assert first.network_out[0] == 61002213.0  # the hourly total
    assert transport.requests[0].url.startswith("https://westeurope.metrics.monitor.azure.com/")
    assert request_json_of(transport) == {"resourceids": [m.resource_id for m in machines]}


def request_json_of(transport):
    return transport.requests[0].body


async def test_metrics_answered_for_another_vm_than_asked_are_refused():
    body = sample("metrics_batch_response.json")
    body["values"] = body["values"][::-1]
    router = Router()
    router.add("POST", r"metrics:getBatch", canned(body))
    built, _ = sources_for(router)
    async with built:
        with pytest.raises(MalformedResponseError, match="came where"):
            await built.sources.metrics.vm_metrics(
                sample_vms(), WINDOW_START, WINDOW_START + timedelta(hours=4)
            )


async def test_metrics_are_fetched_in_the_fewest_batches_the_limits_allow():
    today = datetime(2026, 11, 27, tzinfo=UTC)
    subs = (SAMPLE_SUB, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    estate = synthetic(
        today.date(),
        subscriptions=subs,
        vms=260,
        disks=0,
        public_ips=0,
        regions=("westeurope", "northeurope"),
    )
    tenant = SimulatedTenant(seed=7, today=today.date(), estate=estate)
    built = build_recommendation_sources(
        credential=tenant.credential(), subscription_ids=list(subs), transport=tenant.transport()
    )
    async with built:
        inventory = await built.sources.inventory.inventory(list(subs))
        running = [m for m in inventory.vms if m.state == "running"]
        found = await built.sources.metrics.vm_metrics(running, today - timedelta(days=1), today)
    groups: dict[tuple[str, str], int] = {}
    for m in running:
        groups[(m.subscription_id, m.location)] = groups.get((m.subscription_id, m.location), 0) + 1
    minimum = sum(math.ceil(n / 50) for n in groups.values())
    assert len(groups) == 4 and minimum > len(groups)  # some groups need several calls
    assert tenant.metric_batches.calls == minimum
    assert all(len(batch) <= 50 for batch in tenant.metrics.batches)
    assert set(found) == {m.resource_id for m in running}


# -- prices ---------------------------------------------------------------------------------------


async def test_retail_prices_tell_linux_from_windows_and_drop_spot_and_devtest_rows():
    page = sample("retail_prices_page.json")
    following = page["NextPageLink"]
    last = {"BillingCurrency": "USD", "Items": [], "NextPageLink": None, "Count": 0}
    router = Router()
    router.add(
        "GET", r"^https://prices\.azure\.com", canned(page, last), authenticated=False, name="p"
    )
    router.add("GET", r"Microsoft\.Compute/skus", canned({"value": [], "nextLink": None}))
    built, transport = sources_for(router)
    async with built:
        catalog = await built.sources.prices.catalog(["westeurope"], "USD")
    by_key = {(p.sku, p.os): p for p in catalog.prices}
    assert by_key[("Standard_D4s_v5", "Linux")].hourly == Decimal("0.212")
    assert by_key[("Standard_D4s_v5", "Windows")].hourly == Decimal("0.396")
    assert by_key[("Standard_D8s_v5", "Linux")].hourly == Decimal("0.424")  # not DevTest, not Spot
    linux = by_key[("Standard_D4s_v5", "Linux")]
    assert (linux.reservation_1y_total, linux.reservation_3y_total) == (
        Decimal(1114),
        Decimal(2146),
    )
    assert by_key[("Standard_D4s_v5", "Windows")].reservation_1y_total is None
    assert router.calls("p") == 2 and transport.requests[-1].url.startswith(following.split("?")[0])
    assert (
        "currencyCode=%27USD%27" in transport.requests[-2].url
        or "currencyCode='USD'" in transport.requests[-2].url
    )


async def test_resource_skus_keep_vm_sizes_available_in_the_region(tenant):
    built = build_recommendation_sources(
        credential=tenant.credential(),
        subscription_ids=[tenant.subscriptions[0].id],
        transport=tenant.transport(),
    )
    async with built:
        catalog = await built.sources.prices.catalog(["westeurope"], "EUR")
    names = {s.name for s in catalog.skus}
    assert "Standard_D4s_v5" in names
    assert "Standard_D2s_v5_Promo" not in names  # restricted in the region
    assert "Premium_LRS" not in names  # a disk SKU
    d4 = next(s for s in catalog.skus if s.name == "Standard_D4s_v5")
    assert (d4.vcpus, d4.memory_gb, d4.max_data_disks) == (4, Decimal(16), 8)


# -- Resource Graph -------------------------------------------------------------------------------


async def test_inventory_pages_with_skip_tokens_across_every_resource_type(tenant):
    tenant.resource_graph.max_page = 10
    built = build_recommendation_sources(
        credential=tenant.credential(),
        subscription_ids=[s.id for s in tenant.subscriptions],
        transport=tenant.transport(),
    )
    async with built:
        inventory = await built.sources.inventory.inventory([s.id for s in tenant.subscriptions])
    assert len(inventory.vms) == len(tenant.estate.vms)
    assert len(inventory.disks) == len(tenant.estate.disks)
    assert len({m.resource_id for m in inventory.vms}) == len(inventory.vms)
    pages = math.ceil(len(tenant.estate.vms) / 10) + math.ceil(len(tenant.estate.disks) / 10)
    assert tenant.inventory_queries.calls >= pages
    stopped = [m for m in inventory.vms if m.state == "stopped"]
    assert stopped and all(m.size for m in inventory.vms)
    owned = [d for d in inventory.disks if d.managed_by]
    assert owned and all(d.managed_by.startswith("/subscriptions/") for d in owned)


async def test_a_spent_resource_graph_quota_makes_the_next_page_wait_for_its_reset():
    group = f"/subscriptions/{SAMPLE_SUB}/resourceGroups/rg"
    rows = [{"id": f"{group}/providers/Microsoft.Compute/virtualMachines/vm-{i}",
             "name": f"vm-{i}", "resourceGroup": "rg", "subscriptionId": SAMPLE_SUB,
             "location": "westeurope", "tags": None, "size": "Standard_D2s_v5",
             "powerState": "PowerState/running", "osType": "Linux", "dataDisks": 1, "nics": 1}
            for i in range(2)]  # fmt: skip
    first = {
        "totalRecords": 2,
        "count": 1,
        "resultTruncated": "false",
        "$skipToken": "p2",
        "data": rows[:1],
    }
    second = {"totalRecords": 2, "count": 1, "resultTruncated": "false", "data": rows[1:]}
    empty = {"totalRecords": 0, "count": 0, "resultTruncated": "false", "data": []}
    quota = {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:04"}
    router = Router()
    router.add(
        "POST",
        r"Microsoft\.ResourceGraph/resources",
        canned(first, second, empty, headers=quota),
        name="arg",
    )
    built, transport = sources_for(router)
    async with built:
        inventory = await built.sources.inventory.inventory([SAMPLE_SUB])
    assert [m.name for m in inventory.vms] == ["vm-0", "vm-1"]
    assert transport.sleeps == [4.0]
    assert transport.requests[1].body["options"]["$skipToken"] == "p2"


async def test_a_throttled_resource_graph_call_is_retried_after_the_quota_resets():
    throttled = SimulatedResponse(
        429,
        {"error": {"code": "RateLimiting", "message": "Too many requests"}},
        {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:09"},
    )
    answers = [throttled, SimulatedResponse(200, {"totalRecords": 0, "count": 0, "data": []})]

    def handle(request, match):
        return answers.pop(0) if len(answers) > 1 else answers[0]

    router = Router()
    router.add("POST", r"Microsoft\.ResourceGraph/resources", handle)
    built, transport = sources_for(router)
    async with built:
        inventory = await built.sources.inventory.inventory([SAMPLE_SUB])
    assert inventory.vms == () and transport.sleeps[0] == 9.0


# -- sovereign clouds -----------------------------------------------------------------------------


def everything_router(seen: list[str]) -> Router:
    def handle(request, match):
        seen.append(request.url)
        if "ResourceGraph" in request.url:
            return SimulatedResponse(200, {"totalRecords": 0, "count": 0, "data": []})
        if "metrics:getBatch" in request.url:
            ids = request_json(request)["resourceids"]
            return SimulatedResponse(200, {"values": [{"value": []} for _ in ids]})
        if "/query" in request.url:
            return SimulatedResponse(204)
        return SimulatedResponse(200, {"value": [], "nextLink": None})

    router = Router()
    router.add("GET", r".*", handle)
    router.add("POST", r".*", handle)
    return router


@pytest.mark.parametrize("name", ["usgov", "china"])
async def test_every_client_talks_to_the_configured_sovereign_cloud(name):
    cloud = CLOUDS[name]
    seen: list[str] = []
    credential = ScopeRecordingCredential()
    transport = SimulatedTransport(everything_router(seen), require_token=None)
    built = build_recommendation_sources(
        credential=credential, subscription_ids=[SAMPLE_SUB], cloud=cloud, transport=transport
    )
    machine = vm("vm-gov", location="usgovvirginia")
    async with built:
        s = built.sources
        await s.inventory.inventory([SAMPLE_SUB])
        await s.advisor.cost_recommendations(SAMPLE_SUB)
        await s.benefits.savings_plans(f"/subscriptions/{SAMPLE_SUB}", "P1Y", "Last30Days")
        await s.reservations.reservations()
        await s.metrics.vm_metrics([machine], WINDOW_START, WINDOW_START + timedelta(hours=1))
    cost = build_cost_source(credential=credential, transport=transport, cloud=cloud)
    async with cost:
        async for _day in cost.days(parse_scope(SAMPLE_SUB), CostType.ACTUAL,
                                    WINDOW_START.date(), WINDOW_START.date()):  # fmt: skip
            pass
    hosts = {url.split("/")[2] for url in seen}
    assert hosts == {cloud.arm_endpoint.removeprefix("https://"),
                     f"usgovvirginia.{cloud.metrics_suffix}"}  # fmt: skip
    assert set(credential.scopes) == {cloud.credential_scope, f"{cloud.metrics_audience}/.default"}
    assert built.sources.prices is None  # no Retail Prices API there: the bundled snapshot


async def test_an_explicit_arm_endpoint_overrides_the_clouds():
    cloud = resolve_cloud("public", arm_endpoint="https://arm.contoso.example/")
    seen: list[str] = []
    transport = SimulatedTransport(everything_router(seen), require_token=None)
    built = build_recommendation_sources(
        credential=ScopeRecordingCredential(),
        subscription_ids=[SAMPLE_SUB],
        cloud=cloud,
        transport=transport,
    )
    async with built:
        await built.sources.advisor.cost_recommendations(SAMPLE_SUB)
    assert seen[0].startswith("https://arm.contoso.example/subscriptions/")


def test_an_unknown_cloud_or_an_http_endpoint_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="unknown"):
        resolve_cloud("mars")
    with pytest.raises(ConfigurationError, match="https"):
        resolve_cloud("public", authority_host="http://login.example")


# -- more shapes the documentation allows ---------------------------------------------------------


async def test_a_deallocated_vms_points_carry_only_timestamps_and_read_as_no_data():
    body = sample("metrics_batch_response.json")
    for value in body["values"]:
        for metric in value["value"]:
            metric["id"] = metric["id"].replace("8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a", SAMPLE_SUB)
            for series in metric["timeseries"]:
                series["data"] = [{"timeStamp": p["timeStamp"]} for p in series["data"]]
    router = Router()
    router.add("POST", r"metrics:getBatch", canned(body))
    built, _ = sources_for(router)
    machines = sample_vms()
    async with built:
        found = await built.sources.metrics.vm_metrics(
            machines, WINDOW_START, WINDOW_START + timedelta(hours=4)
        )
    first = found[machines[0].resource_id]
    assert first.cpu_max == (None, None, None, None)
    assert first.memory_available_min == ()  # no memory values at all: no memory metric


async def test_single_scope_savings_plans_and_unfinished_reservations():
    single = sample("benefit_recommendations_page.json")
    props = single["value"][0]["properties"]
    props.update(scope="Single", subscriptionId=SAMPLE_SUB, resourceGroup=None)
    reservations = sample("reservations_list_all_page.json")
    pending = copy.deepcopy(reservations["value"][0])
    pending["id"] += "-pending"
    pending["properties"]["provisioningState"] = "Creating"
    reservations["value"].append(pending)
    router = Router()
    router.add("GET", r"/benefitRecommendations", canned(single))
    router.add("GET", r"Microsoft\.Capacity/reservations", canned(reservations))
    built, _ = sources_for(router)
    async with built:
        [offer] = await built.sources.benefits.savings_plans(
            f"/subscriptions/{SAMPLE_SUB}", "P3Y", "Last60Days"
        )
        found = await built.sources.reservations.reservations()
    assert offer.benefit_scope == "Single"
    assert len(found) == 1  # only active reservations count


async def test_a_benefit_answer_without_total_hours_is_refused():
    page = sample("benefit_recommendations_page.json")
    del page["value"][0]["properties"]["totalHours"]
    router = Router()
    router.add("GET", r"/benefitRecommendations", canned(page))
    built, _ = sources_for(router)
    async with built:
        with pytest.raises(MalformedResponseError, match="totalHours"):
            await built.sources.benefits.savings_plans(
                f"/subscriptions/{SAMPLE_SUB}", "P3Y", "Last60Days"
            )
