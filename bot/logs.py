"""Logging: structlog renders every record (ours and the libraries') as console text or JSON.

What an operator can rely on:

- **No secret leaves.** Tracebacks are rendered without local variables (in both formats; the
  defaults of rich and structlog's `dict_tracebacks` show them, and an SDK's locals hold tokens
  and client secrets), and every line goes through `bot.redaction` as a second line of defence.
- **Bounded lines.** A line is at most `LINE_LIMIT` bytes (16 KiB); longer values are cut with
  a `…[truncated]` marker (JSON lines stay valid JSON and say `"truncated": true`).
- **Never blocking.** With `background=True` (the server, the dispatcher, the scheduler) a
  record is only captured on the calling thread — its message, its request id and bound context
  — and put on a bounded queue; a listener thread formats, redacts and writes it. A burst of
  errors (each rendering a traceback) cannot delay the event loop that acks Slack. When the
  queue is full, lines are dropped and counted rather than waiting.
- **Fields, not sentences.** JSON lines carry `event`, `request_id` and, where known, `user`,
  `channel`, `command`, `outcome` and `duration_ms` as their own keys (`extra=` on a record).
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, WrappedLogger

from bot.redaction import redact
from core.kernel.service import REQUEST_ID

#: Longest line written, in bytes (UTF-8), marker included.
LINE_LIMIT = 16 * 1024
TRUNCATED = "…[truncated]"
#: Records waiting for the writer thread; beyond this they are dropped (and counted).
QUEUE_SIZE = 10_000
#: Fields a record may carry as `extra=` that become keys of the line.
FIELDS = (
    "user",
    "channel",
    "workspace",
    "command",
    "action",
    "outcome",
    "duration_ms",
    "platform",
    "status",
    "method",
    "path",
    "kind",
    "attempt",
    "reference",
)
_CONTEXT_ATTR = "_cloudoptima_context"
#: SDK loggers that narrate too much for an operator (connection dumps, retry handlers printing
#: URLs, "App ID is not provided" on every Teams turn); WARNING and above still come through.
NOISY_LOGGERS = (
    "azure",
    "msal",
    "urllib3",
    "slack_sdk",
    "slack_bolt",
    "microsoft_agents",
    "aiohttp.access",
    "aiohttp.client",
    "apscheduler.executors",
    "apscheduler.scheduler",
    "alembic.runtime.migration",
)


def add_request_id(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The request being handled (`core.kernel.service.REQUEST_ID`), on every line it logs —
    captured where the record was made, even when a writer thread renders it."""
    record = event.get("_record")
    captured = getattr(record, _CONTEXT_ATTR, None) if record is not None else None
    if captured is not None:
        for key, value in captured.items():
            event.setdefault(key, value)
        return event
    request_id = REQUEST_ID.get()
    if request_id:
        event.setdefault("request_id", request_id)
    return event


def redact_event(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    redacted: EventDict = redact(event)
    return redacted


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    add_request_id,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class BoundedRenderer:
    """Renders with `inner`, then keeps the line within `limit` bytes."""

    def __init__(self, inner: Callable[..., str], *, limit: int, as_json: bool) -> None:
        self.inner = inner
        self.limit = limit
        self.as_json = as_json

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> str:
        line = self.inner(logger, name, dict(event))
        if _size(line) <= self.limit:
            return line
        if not self.as_json:
            return _cut(line, self.limit)
        for longest in (4096, 1024, 256, 64):
            shrunk = _shrink(event, longest)
            shrunk["truncated"] = True
            line = self.inner(logger, name, shrunk)
            if _size(line) <= self.limit:
                return line
        kept = ("timestamp", "level", "logger", "request_id")
        minimal = {key: event[key] for key in kept if key in event}
        minimal["event"] = _cut(str(event.get("event", "")), 1024)
        minimal["truncated"] = True
        return self.inner(logger, name, minimal)


def _size(text: str) -> int:
    return len(text.encode("utf-8", errors="replace"))


def _cut(text: str, limit: int) -> str:
    if _size(text) <= limit:
        return text
    room = limit - _size(TRUNCATED)
    return text.encode("utf-8", errors="replace")[:room].decode("utf-8", errors="ignore") + (
        TRUNCATED
    )


def _shrink(value: Any, longest: int, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _cut(value, longest)
    if depth > 8:
        return _cut(json.dumps(value, default=str), longest)
    if isinstance(value, dict):
        return {k: _shrink(v, longest, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = list(value)
        keep = max(longest // 256, 2)
        if len(items) > 2 * keep:
            items = [*items[:keep], TRUNCATED, *items[-keep:]]
        return [_shrink(v, longest, depth + 1) for v in items]
    return value


class CapturingQueueHandler(logging.handlers.QueueHandler):
    """Captures a record on the calling thread (its message and context), formats nothing."""

    def __init__(self, records: queue.Queue[Any]) -> None:
        super().__init__(records)
        self.dropped = 0
        self._dropped_lock = threading.Lock()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        context = dict(structlog.contextvars.get_contextvars())
        request_id = REQUEST_ID.get()
        if request_id:
            context.setdefault("request_id", request_id)
        setattr(record, _CONTEXT_ATTR, context)
        if not isinstance(record.msg, dict):  # a structlog record carries its event dict
            try:
                record.msg = record.getMessage()
            except Exception:
                record.msg = f"{record.msg!r} (its arguments did not format)"
            record.args = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            with self._dropped_lock:
                self.dropped += 1


class _Listener(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        # Waits for room: stopping must not fail because the queue is full.
        self.queue.put(self._sentinel, timeout=30)  # type: ignore[attr-defined]


class _Logging:
    """The process's logging pipeline (one; `configure_logging` replaces it)."""

    listener: logging.handlers.QueueListener | None = None
    records: queue.Queue[Any] | None = None
    handler: CapturingQueueHandler | None = None


_STATE = _Logging()


def _formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    as_json = fmt == "json"
    renderer: Callable[..., str]
    if as_json:
        renderer = structlog.processors.JSONRenderer(default=str)
        exceptions: Any = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False)
        )
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        # A plain traceback (no locals) as text, so that it is redacted and bounded too.
        exceptions = structlog.processors.format_exc_info
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(allow=FIELDS)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exceptions,
            redact_event,
            BoundedRenderer(renderer, limit=LINE_LIMIT, as_json=as_json),
        ],
    )


def configure_logging(
    level: str = "INFO",
    fmt: str = "console",
    *,
    background: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Route stdlib logging through structlog; `fmt` is "console" or "json".

    `background`: format and write on a thread (long-running commands: `serve`, `dispatch`,
    `scheduler`), so that logging never blocks the event loop; `flush_logs()` waits for it.
    """
    stop_background_logging()
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    writer = logging.StreamHandler(stream if stream is not None else sys.stderr)
    writer.setFormatter(_formatter(fmt))
    root = logging.getLogger()
    if background:
        records: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_SIZE)
        handler = CapturingQueueHandler(records)
        listener = _Listener(records, writer)
        listener.start()
        _STATE.listener, _STATE.records, _STATE.handler = listener, records, handler
        root.handlers[:] = [handler]
    else:
        root.handlers[:] = [writer]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name, prefixes in KNOWN_NOISE.items():
        sdk_logger = logging.getLogger(name)
        if not any(isinstance(f, _DropKnownNoise) for f in sdk_logger.filters):
            sdk_logger.addFilter(_DropKnownNoise(prefixes))


#: Lines the SDKs log that say nothing to an operator, or that CloudOptima says better:
#: "App ID is not provided" on every Teams turn (user sign-in, which CloudOptima never uses);
#: MSAL's failed token request, dumped whole (the Teams bot logs it once, with what to check).
KNOWN_NOISE = {
    "microsoft_agents.hosting.core.connector.client.user_token_client": ("App ID is not provided",),
    "microsoft_agents.authentication.msal.msal_auth": ("Failed to acquire token",),
}


class _DropKnownNoise(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def flush_logs() -> None:
    """Wait until every record queued so far is written (tests, shutdown)."""
    if _STATE.records is not None:
        _STATE.records.join()
    for handler in logging.getLogger().handlers:
        handler.flush()


def dropped_lines() -> int:
    """Lines dropped because the writer could not keep up (background logging)."""
    return _STATE.handler.dropped if _STATE.handler is not None else 0


def stop_background_logging() -> None:
    """Write what is queued and stop the writer thread (idempotent)."""
    listener, handler = _STATE.listener, _STATE.handler
    _STATE.listener = _STATE.records = _STATE.handler = None
    if listener is not None:
        listener.stop()
        root = logging.getLogger()
        if handler in root.handlers:  # later records are written directly
            root.handlers[:] = list(listener.handlers)
    if handler is not None and handler.dropped:
        logging.getLogger(__name__).warning(
            "%d log lines were dropped: the log writer could not keep up", handler.dropped
        )


atexit.register(stop_background_logging)
