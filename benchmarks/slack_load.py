"""Slack load benchmark: N concurrent signed `/optima costs` commands against `cloudoptima serve`.

The real server runs in a subprocess (`python -m bot.cli serve`, Slack over HTTP, the scheduler
and outbox dispatcher on) on a seeded SQLite database; this process plays Slack: it signs every
command, fires them all at once, times each ack (the HTTP answer Slack waits at most 3 s for) and
receives every answer on a local fake response URL. Before each burst, the same burst of
`GET /healthz` gives the server's HTTP floor at that moment, printed side by side.

Two phases in one run, each `--rounds` bursts:
- `normal`: Slack's Web API answers;
- `slack-down`: Slack's Web API answers 503 to everything while 40 budget alerts wait in the
  outbox (the dispatcher keeps trying, failing and logging during the bursts); response URLs
  still work, as Slack's are on another host.

    .venv/bin/python benchmarks/slack_load.py                 # 500 concurrent commands
    .venv/bin/python benchmarks/slack_load.py --commands 200 --text "costs 7d by resource"

Targets: p99 ack < 150 ms in both phases, 0 errors, every command answered. A miss never fails
the run. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack.verify import sign  # noqa: E402
from core.costs.ingest import CostIngestor, Window  # noqa: E402
from core.costs.model import CostType  # noqa: E402
from core.costs.ports import CostDay, CostRow  # noqa: E402
from core.kernel.clock import SystemClock  # noqa: E402
from core.kernel.db.engine import make_engine  # noqa: E402
from core.kernel.db.migrate import upgrade  # noqa: E402
from core.kernel.scopes import parse_scope  # noqa: E402

SECRET = "bench-signing-secret"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000b1"
SERVICES = ["Virtual Machines", "Storage", "Bandwidth", "SQL Database", "App Service", "Redis"]
TARGET_P99_MS = 150.0
QUEUED_ALERTS = 40


# -- seeding -----------------------------------------------------------------------------------


class SyntheticCosts:
    """`resources` resources over six services and ten resource groups, every day."""

    def __init__(self, resources: int) -> None:
        self.resources = resources

    async def days(self, scope, cost_type, start: date, end: date) -> AsyncIterator[CostDay]:
        day = start
        while day <= end:
            rows = []
            for n in range(self.resources):
                service = SERVICES[n % len(SERVICES)]
                cost = Decimal(5 + (n * 7 + day.toordinal()) % 40) + Decimal("0.25")
                rows.append(
                    CostRow(
                        usage_date=day,
                        subscription_id=SUBSCRIPTION,
                        subscription_name="Bench",
                        resource_group=f"rg-{n % 10}",
                        resource_id=f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-{n % 10}"
                        f"/providers/microsoft.compute/virtualmachines/vm-{n}",
                        service_name=service,
                        meter_category=service,
                        location="westeurope",
                        charge_type="Usage",
                        currency="EUR",
                        cost=cost,
                    )
                )
            yield CostDay(day, rows)
            day += timedelta(days=1)


def seed(database_url: str, days: int, resources: int) -> int:
    engine = make_engine(database_url)
    upgrade(engine)
    today = datetime.now(UTC).date()
    window = Window(today - timedelta(days=days), today - timedelta(days=1))
    scope = parse_scope(SUBSCRIPTION)
    summary = asyncio.run(
        CostIngestor(engine, SystemClock()).run(
            SyntheticCosts(resources), scope, CostType.ACTUAL, window
        )
    )
    engine.dispose()
    return summary.counts.inserted


def queue_alerts(database_url: str, count: int) -> None:
    """`count` budget alerts for Slack channels in the outbox, due now."""
    from core.delivery.outbox import enqueue
    from core.delivery.targets import Target, TargetKind
    from core.kernel.cards import Header, Severity, Text, card
    from core.kernel.db.engine import write_transaction

    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        for n in range(count):
            title = f"Budget bench-{n} passed 80%"
            enqueue(
                conn,
                key=f"bench-alert:{n}:{uuid.uuid4().hex[:8]}",
                target=Target(TargetKind.SLACK, f"C{n % 8:08d}"),
                card=card(
                    title,
                    title,
                    Header(title),
                    Text("€8,100 of €10,000"),
                    severity=Severity.WARNING,
                ),
                source="budget_alert",
                source_id=str(n),
                now=now,
            )
    engine.dispose()


def wait_for_startup_jobs(database_url: str, limit_s: float) -> float:
    """Wait until the catch-up ingestion `serve` starts with (and its follow-ups) finished:
    the bursts measure chat traffic, not the simulated tenant's start-up work. Seconds waited."""
    from sqlalchemy import select

    from core.kernel.db.tables import JobRun, JobRunStatus

    table = JobRun.__table__  # type: ignore[attr-defined]
    engine = make_engine(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit_s:
            with engine.connect() as conn:
                runs = conn.execute(select(table.c.job, table.c.status)).all()
            ingested = any(
                job == "ingest" and status != JobRunStatus.RUNNING for job, status in runs
            )
            if ingested and all(status != JobRunStatus.RUNNING for _, status in runs):
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return time.monotonic() - started


# -- the fake Slack (response URLs and Web API) -------------------------------------------------


class FakeSlack:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[float, dict]] = {}
        self.all_answered = asyncio.Event()
        self.expected = 0
        self.runner: web.AppRunner | None = None
        self.url = ""
        #: The Web API answers 503 to everything (response URLs still work).
        self.api_down = False
        self.failed_posts = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def _respond(self, request: web.Request) -> web.Response:
        self.answers[request.match_info["name"]] = (time.perf_counter(), await request.json())
        if len(self.answers) >= self.expected:
            self.all_answered.set()
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        if self.api_down:
            if request.match_info["method"] == "chat.postMessage":
                self.failed_posts += 1
            return web.Response(status=503, text="upstream connect error")
        return web.json_response({"ok": True}, headers={"x-oauth-scopes": "commands,chat:write"})


# -- the load ----------------------------------------------------------------------------------


def command_body(text: str, response_url: str, n: int) -> bytes:
    return urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": f"U{n:05d}",
            "user_name": f"user{n}",
            "command": "/optima",
            "text": text,
            "response_url": response_url,
            "trigger_id": f"{n}.{uuid.uuid4().hex}",
        }
    ).encode()


async def burst(server: str, requests: list[bytes]) -> list[tuple[float, int]]:
    """Send every request at once, each on its own open connection; (ms, status) for each.

    A lean HTTP/1.1 client (pre-built bytes over asyncio streams): the latency measured is the
    server's, not a heavyweight client's queueing.
    """
    host, port = server.removeprefix("http://").split(":")
    connections = await asyncio.gather(
        *(asyncio.open_connection(host, int(port)) for _ in requests)
    )
    gate = asyncio.Event()

    async def one(n: int) -> tuple[float, int]:
        reader, writer = connections[n]
        await gate.wait()
        started = time.perf_counter()
        try:
            writer.write(requests[n])
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            status = 0
        elapsed = (time.perf_counter() - started) * 1000
        writer.close()
        return elapsed, status

    tasks = [asyncio.create_task(one(n)) for n in range(len(requests))]
    await asyncio.sleep(0)  # every task waits at the gate before it opens
    gate.set()
    return list(await asyncio.gather(*tasks))


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def fire_commands(server: str, fake: FakeSlack, text: str, count: int, tag: str):
    """Send `count` signed commands at once; returns (ack latencies, errors, send time)."""
    fake.answers.clear()
    fake.all_answered.clear()
    fake.expected = count
    timestamp = str(int(time.time()))  # valid for 5 minutes: signed before the burst
    requests = []
    for n in range(count):
        body = command_body(text, f"{fake.url}/respond/{tag}{n}", n)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(SECRET, timestamp, body),
        }
        requests.append(http_request("POST", "/slack/events", headers, body))
    sent = time.perf_counter()
    results = await burst(server, requests)
    return [ms for ms, _ in results], sum(1 for _, status in results if status != 200), sent


async def fire_health(server: str, count: int) -> list[float]:
    results = await burst(server, [http_request("GET", "/healthz", {})] * count)
    return [ms for ms, _ in results]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(url: str, process: asyncio.subprocess.Process, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"the server exited with status {process.returncode}")
            try:
                async with session.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not become healthy")


async def run_phase(args: argparse.Namespace, server: str, fake: FakeSlack, name: str) -> dict:
    """`args.rounds` bursts of commands, each after a burst of /healthz (the floor)."""
    health: list[float] = []
    acks: list[float] = []
    round_p99: list[float] = []
    health_p99: list[float] = []
    answer_s: list[float] = []
    errors = answered = friendly = 0
    for n in range(args.rounds):
        round_health = await fire_health(server, args.commands)
        health += round_health
        health_p99.append(pct(round_health, 99))
        round_acks, round_errors, burst_started = await fire_commands(
            server, fake, args.text, args.commands, f"{name}{n}-"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake.all_answered.wait(), args.answer_timeout)
        acks += round_acks
        round_p99.append(pct(round_acks, 99))
        errors += round_errors
        answers = list(fake.answers.values())
        answered += len(answers)
        answer_s += [at - burst_started for at, _ in answers]
        friendly += sum(1 for _, payload in answers if payload.get("blocks") and payload["text"])
    return {
        "ack_p50_ms": round(statistics.median(acks), 1),
        "ack_p99_ms": round(pct(acks, 99), 1),
        "ack_max_ms": round(max(acks), 1),
        "ack_over_1s": sum(1 for ms in acks if ms > 1000),
        "ack_p99_per_round_ms": [round(v, 1) for v in round_p99],
        "healthz_p50_ms": round(statistics.median(health), 1),
        "healthz_p99_ms": round(pct(health, 99), 1),
        "healthz_p99_per_round_ms": [round(v, 1) for v in health_p99],
        "errors": errors,
        "answered": answered,
        "answers_with_blocks": friendly,
        "answer_p50_ms": round(statistics.median(answer_s) * 1000, 1) if answer_s else None,
        "answer_p99_ms": round(pct(answer_s, 99) * 1000, 1) if answer_s else None,
        "slowest_answer_s": round(max(answer_s), 2) if answer_s else None,
    }


async def run(args: argparse.Namespace, database_url: str) -> dict:
    fake = FakeSlack()
    await fake.start()
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CLOUDOPTIMA_DATABASE_URL": database_url,
        "CLOUDOPTIMA_DEMO": "true",
        "CLOUDOPTIMA_HOST": "127.0.0.1",
        "CLOUDOPTIMA_PORT": str(port),
        "CLOUDOPTIMA_SLACK_SIGNING_SECRET": SECRET,
        "CLOUDOPTIMA_SLACK_BOT_TOKEN": "xoxb-bench",
        "CLOUDOPTIMA_SLACK_API_URL": f"{fake.url}/api/",
        "CLOUDOPTIMA_LOG_LEVEL": args.log_level,
        "CLOUDOPTIMA_LOG_FORMAT": args.log_format,
        # The outbox is polled every second, so its failures overlap the bursts.
        "CLOUDOPTIMA_OUTBOX_POLL_INTERVAL_SECONDS": "1",
        # One workspace of distinct users: its limit sized for the burst (the per-user limit
        # stays the default; the limiter runs for every command).
        "CLOUDOPTIMA_RATE_LIMIT_WORKSPACE_PER_MINUTE": "100000",
        "CLOUDOPTIMA_RATE_LIMIT_WORKSPACE_BURST": str(max(args.commands * args.rounds * 3, 200)),
    }
    log_file = open(args.server_log, "wb") if args.server_log else None  # noqa: SIM115, ASYNC230
    process = await asyncio.create_subprocess_exec(
        *args.server_prefix.split(),
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    phases: dict[str, dict] = {}
    startup_s = 0.0
    try:
        await wait_healthy(server, process)
        startup_s = await asyncio.to_thread(wait_for_startup_jobs, database_url, 600)
        # Warm up: first imports, first queries, the database connections.
        await fire_commands(server, fake, args.text, 50, "warm")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake.all_answered.wait(), args.answer_timeout)
        phases["normal"] = await run_phase(args, server, fake, "normal")

        fake.api_down = True
        await asyncio.to_thread(queue_alerts, database_url, QUEUED_ALERTS)
        for _ in range(100):  # until the dispatcher is failing on them
            if fake.failed_posts >= min(QUEUED_ALERTS, 10):
                break
            await asyncio.sleep(0.1)
        failed_before = fake.failed_posts
        phases["slack-down"] = await run_phase(args, server, fake, "down")
        phases["slack-down"]["failed_posts_during"] = fake.failed_posts - failed_before
        phases["slack-down"]["failed_posts_total"] = fake.failed_posts
    finally:
        process.send_signal(signal.SIGINT)  # graceful: a profiler around the server writes out
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        if fake.runner is not None:
            await fake.runner.cleanup()
        if log_file is not None:
            log_file.close()
    return {
        "commands": args.commands,
        "rounds": args.rounds,
        "text": args.text,
        "queued_alerts": QUEUED_ALERTS,
        "waited_for_startup_jobs_s": round(startup_s, 1),
        "exit_status": process.returncode,
        "phases": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=500, help="concurrent slash commands")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per phase, pooled")
    parser.add_argument("--text", default="costs 30d", help="the command text after /optima")
    parser.add_argument("--days", type=int, default=90, help="days of seeded cost data")
    parser.add_argument("--resources", type=int, default=200, help="resources per day")
    parser.add_argument("--answer-timeout", type=float, default=180)
    parser.add_argument("--log-level", default="INFO", help="the server's log level")
    parser.add_argument("--log-format", default="console", help="console or json")
    parser.add_argument("--server-log", default="", help="write the server's stderr to this file")
    parser.add_argument(
        "--server-prefix",
        default="",
        help="run the server under this command, e.g. 'py-spy record -o spy.txt -f raw --'",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cloudoptima-slack-bench-") as tmp:
        database_url = f"sqlite:///{tmp}/bench.db"
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        rows = seed(database_url, args.days, args.resources)
        seeded_s = time.perf_counter() - started
        figures = asyncio.run(run(args, database_url))

    total = args.commands * args.rounds
    phases = figures["phases"]
    for phase in phases.values():
        phase["ack_p99_vs_healthz_p99"] = round(phase["ack_p99_ms"] / phase["healthz_p99_ms"], 2)
        phase["target_met"] = (
            phase["ack_p99_ms"] < TARGET_P99_MS
            and phase["errors"] == 0
            and phase["answered"] == total
        )
    figures.update(
        {
            "seeded_rows": rows,
            "seed_s": round(seeded_s, 1),
            "target_p99_ms": TARGET_P99_MS,
            "target_met": all(p["target_met"] for p in phases.values()),
            "cpus": os.cpu_count(),
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        }
    )

    print(
        f"Slack load: {args.rounds} bursts of {args.commands} concurrent signed "
        f"`/optima {args.text}` per phase on SQLite ({rows:,} cost rows), {os.cpu_count()} CPUs, "
        f"load average {load_before:.1f} before the run; server log {args.log_level} "
        f"{args.log_format}"
    )
    names = list(phases)
    print(f"{'':28}" + "".join(f"{name:>22}" for name in names))
    lines = [
        ("ack p50 / p99 ms", "ack_p50_ms", "ack_p99_ms"),
        ("GET /healthz p50 / p99 ms", "healthz_p50_ms", "healthz_p99_ms"),
        ("answer p50 / p99 ms", "answer_p50_ms", "answer_p99_ms"),
    ]
    for label, a, b in lines:
        cells = "".join(f"{f'{phases[n][a]} / {phases[n][b]}':>22}" for n in names)
        print(f"{label:28}{cells}")
    for label, key in [
        ("ack max ms", "ack_max_ms"),
        ("acks over 1 s", "ack_over_1s"),
        ("ack p99 / healthz p99", "ack_p99_vs_healthz_p99"),
        ("errors", "errors"),
        ("answered", "answered"),
        ("slowest answer s", "slowest_answer_s"),
    ]:
        print(f"{label:28}" + "".join(f"{phases[n][key]!s:>22}" for n in names))
    for n in names:
        print(
            f"{n}: ack p99 per burst {phases[n]['ack_p99_per_round_ms']} ms, healthz p99 per "
            f"burst {phases[n]['healthz_p99_per_round_ms']} ms"
        )
    print(
        f"Slack posts refused (503) during the slack-down bursts: "
        f"{phases['slack-down'].get('failed_posts_during')}"
    )
    verdict = "PASS" if figures["target_met"] else "MISS"
    print(
        f"target: p99 ack < {TARGET_P99_MS:.0f} ms in both phases, 0 errors, all {total} commands "
        f"of each phase answered: {verdict}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
