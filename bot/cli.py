"""`cloudoptima` — serve, chat, ingest, demo and database commands."""

from __future__ import annotations

import asyncio
import contextlib
import sys
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
budgets_app = typer.Typer(help="Budgets and their alerts.", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")


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


@budgets_app.command("evaluate")
def budgets_evaluate() -> None:
    """Evaluate every budget now and queue the alerts due (also runs after each ingestion)."""
    from core.budgets import evaluate_budgets

    container = container_for(settings_or_exit())
    summary = evaluate_budgets(container.engine, container.clock)
    typer.echo(summary.describe())


@app.command()
def serve() -> None:
    """Run the web server: Slack and Teams endpoints, health and metrics."""
    from bot.server import run_server

    container = container_for(settings_or_exit())
    upgrade(container.engine)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_server(container))


def main() -> None:
    try:
        app()
    except CloudOptimaError as exc:  # the last line of defence: never a traceback for these
        typer.echo(exc.user_message(), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
