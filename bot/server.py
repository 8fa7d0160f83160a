"""The aiohttp server: chat endpoints (mounted by the adapters), health, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from bot.container import Container

log = logging.getLogger(__name__)

CONTAINER_KEY = web.AppKey("container", Container)
HTTP_REQUESTS = Counter(
    "cloudoptima_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
HTTP_LATENCY = Histogram(
    "cloudoptima_http_request_seconds", "HTTP request latency by route", ["route"]
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
        reference = uuid.uuid4().hex[:8]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.path)
        return web.json_response({"error": "internal error", "reference": reference}, status=500)
    finally:
        HTTP_REQUESTS.labels(route, str(status)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers too."""
    container = request.app[CONTAINER_KEY]

    def ping() -> None:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
    except Exception:
        log.warning("readiness check failed: database unreachable", exc_info=True)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(_request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def create_web_app(container: Container) -> web.Application:
    """The whole HTTP surface of `cloudoptima serve`."""
    app = web.Application(middlewares=[observe], client_max_size=1024**2)
    app[CONTAINER_KEY] = container
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
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
