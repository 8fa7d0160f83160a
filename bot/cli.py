"""`cloudoptima` — serve, chat, ingest, demo and database commands."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections import Counter
from typing import Annotated

import typer

from bot.container import Container, build
from bot.logs import configure_logging
from bot.settings import Settings, load_settings
from core.db import current_revision, upgrade
from core.errors import CloudOptimaError

app = typer.Typer(
    name="cloudoptima",
    help="CloudOptima: your Azure bill in Slack, Microsoft Teams and the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
outbox_app = typer.Typer(
    help="The notification outbox: status and dead letters.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings; on a bad configuration print every problem and exit with status 2."""
    try:
        return load_settings(**overrides)
    except CloudOptimaError as exc:
        typer.echo(exc.user_message(), err=True)
        raise typer.Exit(2) from None


def container_for(settings: Settings) -> Container:
    configure_logging(settings.log_level, settings.log_format)
    return build(settings)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (to the newest revision by default)."""
    settings = settings_or_exit()
    container = container_for(settings)
    upgrade(container.engine, revision)
    typer.echo(f"Database at revision {current_revision(container.engine)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    container = container_for(settings_or_exit())
    typer.echo(current_revision(container.engine) or "(empty database)")


@app.command()
def serve() -> None:
    """Run the web server: Slack and Teams endpoints, health and metrics (and the scheduler)."""
    from bot.server import run_server

    container = container_for(settings_or_exit())
    upgrade(container.engine)

    async def serve_and_schedule() -> None:
        if container.settings.scheduler_enabled:
            container.scheduler().start()
        try:
            await run_server(container)
        finally:
            await container.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_and_schedule())


@app.command()
def dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit")
    ] = False,
) -> None:
    """Deliver the notification outbox (Slack, Teams, webhooks, e-mail) until stopped."""
    from core.dispatch import outbox_counts

    container = container_for(settings_or_exit())
    upgrade(container.engine)
    dispatcher = container.dispatcher()
    if not dispatcher.notifiers:
        typer.echo("No notification target is configured (webhook secret, SMTP host …).", err=True)
        raise typer.Exit(2)

    async def deliver() -> list[str]:
        try:
            if once:
                return await dispatcher.dispatch_until_idle()
            stop = asyncio.Event()
            # A container stop (SIGTERM) finishes the batch in hand instead of abandoning it.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await dispatcher.run(stop)
            return []
        finally:
            await container.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        outcomes = asyncio.run(deliver())
        if once:
            summary = ", ".join(f"{n} {o}" for o, n in sorted(Counter(outcomes).items()))
            counts = outbox_counts(container.engine)
            typer.echo(f"Delivered: {summary or 'nothing was due'}")
            typer.echo("Outbox: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


@app.command()
def scheduler() -> None:
    """Run the scheduled jobs without the web server (one slot runs on one replica)."""
    container = container_for(settings_or_exit())
    upgrade(container.engine)

    async def run() -> None:
        container.scheduler().start()
        try:
            await asyncio.Event().wait()
        finally:
            await container.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@outbox_app.command("status")
def outbox_status_command(
    limit: Annotated[int, typer.Option(help="Dead letters to list")] = 20,
) -> None:
    """Messages per state, and the newest dead letters with their last error."""
    from core.dispatch import dead_letters, outbox_counts

    container = container_for(settings_or_exit())
    counts = outbox_counts(container.engine)
    typer.echo("Outbox: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for message in dead_letters(container.engine, limit=limit):
        typer.echo(
            f"dead  {message.key}  {message.target.kind}  after {message.attempts} attempts: "
            f"{message.last_error}"
        )


@outbox_app.command("retry")
def outbox_retry(
    keys: Annotated[list[str], typer.Argument(help="Idempotency keys of dead messages")],
) -> None:
    """Give dead messages a fresh set of attempts (after fixing their target)."""
    from core.dispatch import retry_dead

    container = container_for(settings_or_exit())
    revived = retry_dead(container.engine, keys, container.clock.now())
    typer.echo(f"{revived} message(s) queued again")


def main() -> None:
    try:
        app()
    except CloudOptimaError as exc:  # the last line of defence: never a traceback for these
        typer.echo(exc.user_message(), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
