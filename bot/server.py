"""The aiohttp server: chat endpoints (mounted by the adapters), health, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import Counter, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler
from sqlalchemy import text

from bot.container import Container
from bot.http_middleware import client_mistakes, request_ids
from bot.metrics import observe_ack, refresh_forever
from core.kernel.db.migrate import current_revision, head_revision
from core.kernel.service import REQUEST_ID

log = logging.getLogger(__name__)

CONTAINER_KEY = web.AppKey("container", Container)
HEAD_KEY = web.AppKey("migration_head", str)
HTTP_REQUESTS = Counter(
    "cloudoptima_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
HTTP_LATENCY = Histogram(
    "cloudoptima_http_request_seconds", "HTTP request latency by route", ["route"]
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Routes whose answer is a chat platform's ack (Slack wants it within 3 s).
CHAT_ROUTES = frozenset({"/slack/events", "/api/messages"})


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request; an unexpected error answers 500 with a reference only."""
    route = (
        request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    )
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        reference = REQUEST_ID.get() or uuid.uuid4().hex[:8]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.path)
        return web.json_response({"error": "internal error", "reference": reference}, status=500)
    finally:
        elapsed = time.perf_counter() - started
        HTTP_REQUESTS.labels(route, str(status)).inc()
        HTTP_LATENCY.labels(route).observe(elapsed)
        if route in CHAT_ROUTES:
            observe_ack(route, elapsed)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers, its schema is the current migration, and the scheduler
    (when this process runs it) is running. 503 with what is wrong otherwise."""
    container = request.app[CONTAINER_KEY]

    def revision() -> str | None:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return current_revision(container.engine)

    problems: dict[str, str] = {}
    try:
        found = await asyncio.wait_for(asyncio.to_thread(revision), timeout=5)
    except Exception as exc:
        log.warning("readiness check failed: database unreachable (%s)", type(exc).__name__)
        problems["database"] = "unreachable"
    else:
        expected = request.app[HEAD_KEY]
        if found != expected:
            problems["migrations"] = f"at {found or 'none'}, expected {expected}"
    scheduler = container.started_scheduler()
    if scheduler is not None and not scheduler.running:
        problems["scheduler"] = "stopped"
    if problems:
        return web.json_response({"status": "unavailable", **problems}, status=503)
    return web.json_response({"status": "ready"})


def create_web_app(container: Container) -> web.Application:
    """The whole HTTP surface of `cloudoptima serve`."""
    app = web.Application(
        middlewares=[request_ids, observe, client_mistakes], client_max_size=1024**2
    )
    app[CONTAINER_KEY] = container
    app[HEAD_KEY] = head_revision() or ""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    # prometheus-client's handler: its content type, and OpenMetrics when the scraper asks.
    app.router.add_get("/metrics", make_aiohttp_handler())

    async def database_gauges(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(refresh_forever(container.engine, container.clock.now))
        yield
        task.cancel()

    app.cleanup_ctx.append(database_gauges)
    slack = container.slack_bot()
    if slack is not None and container.settings.slack_app_token is None:
        slack.mount(app)  # with an app-level token, Slack talks over Socket Mode instead

        async def finish_slack_answers(_app: web.Application) -> None:
            grace = container.settings.shutdown_grace_seconds
            try:
                await asyncio.wait_for(slack.close(), timeout=max(grace, 0.1))
            except TimeoutError:
                log.warning("Slack answers still running after %g s were stopped", grace)

        app.on_cleanup.append(finish_slack_answers)
    if container.settings.teams_enabled:
        # The bot's own token check guards this route only (not Slack, health or metrics).
        app.router.add_post("/api/messages", container.teams_bot().handle)
    return app


async def run_server(container: Container, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or cancelled), then stop gracefully: no new connections,
    requests in flight finish (up to the shutdown grace), then the Slack answers still being
    worked on (`finish_slack_answers`)."""
    app = create_web_app(container)
    grace = container.settings.shutdown_grace_seconds
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=grace)
    await runner.setup()
    site = web.TCPSite(runner, container.settings.host, container.settings.port)
    await site.start()
    log.info("listening on http://%s:%s", container.settings.host, container.settings.port)
    try:
        await (stop or asyncio.Event()).wait()
        log.info("stopping: no new requests; finishing those in flight (up to %g s)", grace)
    finally:
        await runner.cleanup()
