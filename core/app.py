"""The engine's front door: adapters hand it text or a button press and get a `Reply` back.

It never raises. Expected errors become friendly cards; anything else is logged with a reference
the user can quote, and the user sees only that reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from core.commands import CommandContext, CoreConfig, Requester, parse, registry
from core.errors import CloudOptimaError
from core.ports import Clock
from core.views import Context, Header, Reply, Severity, Text, Visibility, card

log = logging.getLogger(__name__)


class CloudOptima:
    """Channel-agnostic command and action handling over one database."""

    def __init__(self, engine: Engine, clock: Clock, config: CoreConfig | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.config = config or CoreConfig()

    def context(self, requester: Requester) -> CommandContext:
        return CommandContext(requester, self.engine, self.clock, self.config)

    def handle_text(self, text: str, requester: Requester) -> Reply:
        """Run one command line (`costs 30d by service`)."""

        def run() -> Reply:
            cmd = parse(text)
            spec = registry.resolve(cmd.name)
            return spec.handler(cmd, self.context(requester))

        return self._safely(run, what=f"command {text[:80]!r}")

    def handle_action(self, action_id: str, value: str, requester: Requester) -> Reply:
        """Run the action behind a button press."""

        def run() -> Reply:
            handler = registry.resolve_action(action_id)
            return handler(value, self.context(requester))

        return self._safely(run, what=f"action {action_id!r}")

    def _safely(self, run: Callable[[], Reply], *, what: str) -> Reply:
        try:
            return run()
        except CloudOptimaError as exc:
            return error_reply(exc)
        except OperationalError:
            log.exception("database error while handling %s", what)
            return error_reply(
                CloudOptimaError(
                    "The database is busy or unreachable right now.",
                    hint="Nothing was lost; try again in a few seconds.",
                )
            )
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("unexpected error %s while handling %s", reference, what)
            return error_reply(
                CloudOptimaError(
                    "Something went wrong on our side.",
                    hint=f"It has been logged as {reference}; quote that when reporting it.",
                )
            )


def error_reply(error: CloudOptimaError) -> Reply:
    """An error as a card, visible only to the person who asked."""
    view = card(
        error.title,
        error.message,
        Header(error.title),
        Text(error.message),
        *([Context(error.hint)] if error.hint else []),
        severity=Severity.ERROR,
    )
    return Reply(view, visibility=Visibility.PRIVATE)
