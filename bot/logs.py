"""Logging: structlog renders every record (ours and the libraries') as console text or JSON."""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict, WrappedLogger

from core.kernel.service import REQUEST_ID


def add_request_id(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The request being handled (`core.kernel.service.REQUEST_ID`), on every line it logs."""
    request_id = REQUEST_ID.get()
    if request_id:
        event.setdefault("request_id", request_id)
    return event


_SHARED = [
    structlog.contextvars.merge_contextvars,
    add_request_id,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib logging through structlog; `fmt` is "console" or "json"."""
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *([structlog.processors.dict_tracebacks] if fmt == "json" else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Azure SDK logs every HTTP request at INFO; keep that for DEBUG.
    # APScheduler logs every firing (the outbox job fires every few seconds); our scheduler
    # logs what matters.
    # Alembic narrates every connection; `cloudoptima db upgrade` prints the revision itself.
    for noisy in (
        "azure",
        "msal",
        "apscheduler.executors",
        "apscheduler.scheduler",
        "alembic.runtime.migration",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
