"""Metrics that page the right person: the exposition, the labels, the gauges, /readyz, and the
sample alert rules (checked with promtool)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from sqlalchemy import update

from bot.container import build
from bot.metrics import refresh_gauges
from bot.scheduler import ReplicaScheduler
from bot.server import create_web_app
from bot.settings import load_settings
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.delivery.targets import Target, TargetKind
from core.kernel.context import Requester
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from core.kernel.scopes import parse_scope
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, signed_headers, slash_body
from tests.conftest import IN_CI
from tests.support.fake_slack import FakeSlack
from tests.support.fakes import FakeCostSource, make_row
from tests.support.outbox import OUTBOX, add_messages
from tests.support.paths import REPO

ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
SCOPE_PATH = "/subscriptions/00000000-0000-0000-0000-000000000001"


@pytest.fixture
async def fake_slack():
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def client_for(container) -> TestClient:
    client = TestClient(TestServer(create_web_app(container)))
    await client.start_server()
    return client


def container_on(engine, clock, **settings):
    values = {"demo": True, "database_url": "sqlite://", **settings}
    return build(load_settings(**values), clock=clock, engine=engine)


async def test_metrics_are_served_by_prometheus_client_with_openmetrics_on_request(
    sqlite_engine, clock
):
    client = await client_for(container_on(sqlite_engine, clock))
    try:
        plain = await client.get("/metrics")
        assert plain.status == 200
        assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "cloudoptima_http_requests_total" in await plain.text()
        open_metrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await open_metrics.text()).rstrip().endswith("# EOF")
    finally:
        await client.close()


async def test_no_metric_of_ours_has_a_job_label_and_job_durations_reach_an_hour(
    sqlite_engine, clock
):
    scheduler = ReplicaScheduler(sqlite_engine, clock, owner="r")
    scheduler.add_job("budgets", lambda: None, every=timedelta(hours=1))
    await scheduler.fire("budgets")
    client = await client_for(container_on(sqlite_engine, clock))
    try:
        text = await (await client.get("/metrics")).text()
    finally:
        await client.close()
    assert 'cloudoptima_job_runs_total{job_name="budgets",outcome="finished"}' in text
    # Prometheus would rename a `job` label of ours to `exported_job`.
    assert not re.search(r'^cloudoptima_\w+\{[^}]*\bjob="', text, re.MULTILINE)
    assert 'cloudoptima_job_seconds_bucket{job_name="budgets",le="3600.0"}' in text


def test_command_latency_is_observed_by_command_and_outcome(sqlite_engine, clock):
    container = container_on(sqlite_engine, clock, rate_limit_user_burst=1)
    ada = Requester("slack", "U1", workspace_id="T1")
    before_ok = sample("cloudoptima_command_seconds_count", command="help", outcome="ok")
    before_slow = sample(
        "cloudoptima_command_seconds_count", command="unknown", outcome="throttled"
    )
    before_bad = sample("cloudoptima_command_seconds_count", command="unknown", outcome="error")

    container.core.handle_text("help", ada)
    container.core.handle_text("help", ada)  # over the burst of 1
    container.core.handle_text("frobnicate", Requester("console", "ops"))

    assert sample("cloudoptima_command_seconds_count", command="help", outcome="ok") == (
        before_ok + 1
    )
    assert sample("cloudoptima_command_seconds_count", command="unknown", outcome="throttled") == (
        before_slow + 1
    )
    assert sample("cloudoptima_command_seconds_count", command="unknown", outcome="error") == (
        before_bad + 1
    )


async def test_acks_over_a_second_are_counted(sqlite_engine, clock, fake_slack):
    container = container_on(
        sqlite_engine,
        clock,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=fake_slack.api_url,
    )
    bot = container.slack_bot()
    handle = bot._handle_http

    async def slow_handle(request):
        await asyncio.sleep(1.1)  # a loop stalled by something else
        return await handle(request)

    bot._handle_http = slow_handle
    before = sample("cloudoptima_slow_acks_total", route="/slack/events")
    client = await client_for(container)
    try:
        body = slash_body("help", fake_slack.response_url("r1"))
        response = await client.post("/slack/events", data=body, headers=signed_headers(body))
        assert response.status == 200
        await bot.drain()
    finally:
        await client.close()
    assert sample("cloudoptima_slow_acks_total", route="/slack/events") == before + 1


async def test_gauges_show_the_outbox_backlog_dead_letters_and_data_freshness(engine, clock):
    hook = Target(TargetKind.WEBHOOK, "https://hooks.example.com/x")
    keys = add_messages(engine, hook, clock.now() - timedelta(minutes=10), 3)
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX).where(OUTBOX.c.idempotency_key == keys[0]).values(status="dead")
        )
    window = Window(date(2026, 11, 20), date(2026, 11, 25))
    rows = FakeCostSource(lambda day: [make_row(day, 1)])
    scope = parse_scope(SCOPE_PATH)
    await CostIngestor(engine, clock).run(rows, scope, CostType.ACTUAL, window)
    clock.current += timedelta(hours=2)

    refresh_gauges(engine, clock.now())

    assert sample("cloudoptima_outbox_backlog_messages") == 2
    assert sample("cloudoptima_outbox_dead_letters") == 1
    assert sample("cloudoptima_outbox_oldest_message_age_seconds") == 130 * 60
    labels = {"scope": SCOPE_PATH, "cost_type": "ActualCost"}
    assert sample("cloudoptima_ingestion_last_success_age_seconds", **labels) == 2 * 3600
    # The newest day (11-25) ended at 11-26 00:00; it is 11-27 11:30 now.
    assert sample("cloudoptima_cost_data_age_seconds", **labels) == (35 * 3600 + 30 * 60)


async def test_readyz_fails_without_database_current_migrations_or_scheduler(
    sqlite_engine, tmp_path, clock
):
    ready = container_on(sqlite_engine, clock)
    unmigrated = container_on(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"), clock)
    unreachable = container_on(make_engine("postgresql://nobody@127.0.0.1:1/none"), clock)
    stopped = container_on(sqlite_engine, clock)
    scheduler = stopped.scheduler()  # built by this process, never started (or stopped)
    answers = {}
    for name, container in [
        ("ready", ready),
        ("unmigrated", unmigrated),
        ("unreachable", unreachable),
        ("stopped", stopped),
    ]:
        client = await client_for(container)
        try:
            response = await client.get("/readyz")
            answers[name] = (response.status, await response.json())
        finally:
            await client.close()
    assert answers["ready"] == (200, {"status": "ready"})
    status, body = answers["unmigrated"]
    assert status == 503 and body["migrations"].startswith("at none, expected ")
    assert answers["unreachable"] == (503, {"status": "unavailable", "database": "unreachable"})
    assert answers["stopped"] == (503, {"status": "unavailable", "scheduler": "stopped"})
    scheduler.shutdown()
    upgrade(unmigrated.engine)
    unmigrated.engine.dispose()
    unreachable.engine.dispose()


def test_the_sample_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is required in CI (.ci/ensure-promtool installs it)")
        pytest.skip("promtool is not installed (make test installs it: .ci/ensure-promtool)")
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
