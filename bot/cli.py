"""`cloudoptima` — serve, chat, ingest, demo and database commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from adapters.console.chat import ConsoleChat
from adapters.exports.formats import ExportFormat
from bot.container import Container, build
from bot.jobs import IngestPlan, PipelineResult, ScopeFailure, run_pipeline
from bot.logs import configure_logging
from bot.redaction import redact_text, register_secret
from bot.settings import Settings, TeamsPackageSettings, load_settings
from core.app import FeatureConfigs, build_router
from core.costs.ingest import RunSummary, fail_dead_runs
from core.costs.model import CostType
from core.costs.store import DayCounts
from core.kernel.db.migrate import current_revision, upgrade
from core.kernel.errors import CloudOptimaError
from core.kernel.scopes import Scope, parse_scope

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
app = typer.Typer(
    name="cloudoptima",
    help="CloudOptima: your Azure bill in Slack, Microsoft Teams and the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # `--install-completion` / `--show-completion` for bash, zsh, fish and PowerShell.
    add_completion=True,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"cloudoptima {version('cloudoptima')}")
        raise typer.Exit()


@app.callback()
def options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """CloudOptima: your Azure bill in Slack, Microsoft Teams and the terminal."""


db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
outbox_app = typer.Typer(
    help="The notification outbox: status and dead letters.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")
budgets_app = typer.Typer(help="Budgets and their alerts.", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")
anomalies_app = typer.Typer(help="Cost anomalies.", no_args_is_help=True)
app.add_typer(anomalies_app, name="anomalies")
recs_app = typer.Typer(help="Savings recommendations.", no_args_is_help=True)
app.add_typer(recs_app, name="recs")
audit_app = typer.Typer(
    help="The audit trail of decisions and refused attempts.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings; on a bad configuration print every problem and exit with status 2."""
    try:
        return load_settings(**overrides)
    except CloudOptimaError as exc:
        typer.echo(exc.user_message(), err=True)
        raise typer.Exit(2) from None


def container_for(
    settings: Settings, *, interactive: bool = False, background_logging: bool = False
) -> Container:
    """Configure logging and build the container. Interactive commands (chat, demo) log only
    warnings unless CLOUDOPTIMA_LOG_LEVEL asks for more: their output is the conversation.
    Long-running commands (serve, dispatch, scheduler) write their logs from a thread, so that
    logging never holds up the event loop."""
    level = settings.log_level
    if interactive and "log_level" not in settings.model_fields_set and level == "INFO":
        level = "WARNING"
    for secret in settings.secret_values():
        register_secret(secret)
    configure_logging(level, settings.log_format, background=background_logging)
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
    # Its summary is its output, printed once (not also logged, unless a log level asks).
    container = container_for(settings_or_exit(), interactive=True)
    upgrade(container.engine)
    typer.echo(container.evaluate_budgets().describe())


@anomalies_app.command("scan")
def anomalies_scan(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="A `date,cost` CSV: a header, one row per day")
    ] = None,
    sensitivity: Annotated[
        float | None,
        typer.Option(min=0.1, max=20, help="Band half-width in robust standard deviations"),
    ] = None,
) -> None:
    """Run the anomaly detector: over a CSV (one JSON line per flagged day), or the store."""
    if csv_file is None:
        container = container_for(settings_or_exit())
        upgrade(container.engine)
        typer.echo(container.scan_anomalies().describe())
        return
    from bot.anomaly_csv import scan_csv

    detector = load_settings_quietly().anomalies_config().detector
    if sensitivity is not None:
        detector = replace(detector, sensitivity=sensitivity)
    try:
        for line in scan_csv(csv_file, detector):
            typer.echo(line)
    except CloudOptimaError as exc:
        typer.echo(exc.user_message(), err=True)
        raise typer.Exit(2) from None


def load_settings_quietly() -> Settings:
    """The settings for a command that needs no deployment (defaults when none is configured)."""
    try:
        return load_settings()
    except CloudOptimaError:
        return load_settings(demo=True)


@recs_app.command("refresh")
def recs_refresh(
    demo: Annotated[bool, typer.Option(help="Refresh from the simulated tenant")] = False,
) -> None:
    """Refresh recommendations now (also runs daily after ingestion): inventory, metrics,
    Advisor, savings plans, reservations and prices, through the real Azure SDK clients."""
    settings = settings_or_exit(**({"demo": True} if demo else {}))
    container = container_for(settings)
    upgrade(container.engine)
    try:
        result = asyncio.run(container.refresh_recommendations())
    except CloudOptimaError as exc:
        typer.echo(f"Recommendations were not refreshed: {exc.user_message()}", err=True)
        raise typer.Exit(1) from None
    finally:
        container.close()
    typer.echo(f"Recommendations: {result.describe()}")
    for rule, count in sorted(result.by_rule.items()):
        typer.echo(f"  {rule}: {count}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: CLOUDOPTIMA_HOST)")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on (default: CLOUDOPTIMA_PORT)"),
    ] = None,
) -> None:
    """Run the web server: Slack and Teams endpoints, health and metrics (and the scheduler)."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    container = container_for(settings_or_exit(**overrides), background_logging=True)
    upgrade(container.engine)

    # Worker threads (answers' queries, ingestion) hand the GIL back to the event loop after
    # 1 ms instead of 5: the loop that acks Slack within its 3 s waits less behind them.
    sys.setswitchinterval(0.001)

    async def serve_and_schedule() -> None:
        stop = _stop_on_signals()
        await asyncio.to_thread(fail_dead_runs, container.engine, container.clock.now())
        catch_up: asyncio.Task[object] | None = None
        if container.settings.scheduler_enabled:
            scheduler = container.scheduler()
            scheduler.start()
            # Catch up now rather than at the next 6-hourly slot: a fresh deployment (or the
            # demo) has data within a minute. The slot claim keeps it to one replica.
            catch_up = asyncio.create_task(scheduler.fire("ingest"))

        async def stop_jobs() -> None:
            await stop.wait()
            await container.stop_jobs(container.settings.shutdown_grace_seconds)

        try:
            # On SIGTERM/SIGINT both wind down at once: the server finishes its requests and
            # answers, the scheduler its jobs, each within the grace period.
            await asyncio.gather(_serve(container, stop), stop_jobs())
        finally:
            if catch_up is not None:
                catch_up.cancel()
            await container.aclose()
        log.info("stopped")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_and_schedule())


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM (a container stop) or SIGINT (Ctrl-C): the process then stops
    gracefully and exits 0 instead of dying mid-answer."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


@app.command()
def dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit")
    ] = False,
) -> None:
    """Deliver the notification outbox (Slack, Teams, webhooks, e-mail) until stopped."""
    from core.delivery.dispatcher import outbox_counts

    container = container_for(settings_or_exit(), background_logging=not once)
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
    container = container_for(settings_or_exit(), background_logging=True)
    upgrade(container.engine)

    async def run() -> None:
        stop = _stop_on_signals()
        await asyncio.to_thread(fail_dead_runs, container.engine, container.clock.now())
        container.scheduler().start()
        try:
            await stop.wait()
            await container.stop_jobs(container.settings.shutdown_grace_seconds)
        finally:
            await container.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@outbox_app.command("status")
def outbox_status_command(
    limit: Annotated[int, typer.Option(help="Dead letters to list")] = 20,
) -> None:
    """Messages per state, and the newest dead letters with their last error."""
    from core.delivery.dispatcher import dead_letters, outbox_counts
    from core.delivery.targets import describe_target

    container = container_for(settings_or_exit())
    counts = outbox_counts(container.engine)
    typer.echo("Outbox: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for message in dead_letters(container.engine, limit=limit):
        # Targets as displayed everywhere: a webhook without its path and query.
        # Keys of rows queued before 0.2 may still name a webhook's full URL: redacted too.
        typer.echo(
            redact_text(
                f"dead  {message.key}  {describe_target(message.target)}  after "
                f"{message.attempts} attempts: {message.last_error}"
            )
        )


@outbox_app.command("retry")
def outbox_retry(
    keys: Annotated[list[str], typer.Argument(help="Idempotency keys of dead messages")],
) -> None:
    """Give dead messages a fresh set of attempts (after fixing their target)."""
    from core.delivery.dispatcher import retry_dead

    container = container_for(settings_or_exit())
    revived = retry_dead(container.engine, keys, container.clock.now())
    typer.echo(f"{revived} message(s) queued again")


@app.command()
def chat(
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Run one command and exit")
    ] = None,
    demo: Annotated[bool, typer.Option(help="Use the simulated tenant's settings")] = False,
) -> None:
    """Talk to CloudOptima in the terminal: type `help`, a command, or a button's number."""
    from adapters.console.chat import is_error

    settings = settings_or_exit(**({"demo": True} if demo else {}))
    container = container_for(settings, interactive=True)
    upgrade(container.engine)
    session = ConsoleChat(container.core)
    if command is not None:
        reply = session.ask(command)
        # Non-zero only when the request failed: an over-budget answer is still an answer.
        raise typer.Exit(1 if reply is not None and is_error(reply) else 0)
    session.run()


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a date; use YYYY-MM-DD") from None


class ProgressBar:
    """The pipeline's progress as a rich progress bar: one step per ingested day."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("Ingesting", total=0)

    def planned(self, plans: Sequence[IngestPlan]) -> None:
        self._progress.update(self._task, total=sum(p.window.days for p in plans))

    def day_done(self, scope: Scope, day: date, counts: DayCounts) -> None:
        self._progress.update(self._task, advance=1, description=f"{scope.path[-12:]} {day}")

    def finish(self) -> None:
        self._progress.update(self._task, completed=self._progress.tasks[0].total)


def ingest_with_progress(
    container: Container,
    *,
    days: int | None = None,
    since: date | None = None,
    cost_type: CostType | None = None,
    console: Console | None = None,
) -> PipelineResult:
    """Run the pipeline (ingest → forecasts → budgets) with a progress bar; what happened."""
    console = console or Console(stderr=True)
    # A run a killed `ingest` or replica left `running` is failed now, before this one plans.
    fail_dead_runs(container.engine, container.clock.now())
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        bar = ProgressBar(progress)
        result = asyncio.run(
            run_pipeline(container, days=days, since=since, cost_type=cost_type, progress=bar)
        )
        bar.finish()
    if result.forecasts is not None:
        console.print(f"Azure forecasts: {result.forecasts.describe()}")
    return result


def print_runs(console: Console, done: list[RunSummary], failed: list[ScopeFailure]) -> None:
    """What each run did: one table per cost type that fits 80 columns (ids never wrap: scopes
    by their short name, windows as month-day), then what was resumed or failed."""
    for cost_type in CostType:
        runs = [run for run in done if run.cost_type == cost_type]
        if runs:
            console.print(_runs_table(str(cost_type), runs))
    for run in done:
        if run.resumed_from:
            console.print(
                f"{parse_scope(run.scope).short_name} ({run.cost_type}): resumed from "
                f"{run.resumed_from}, after an interrupted run"
            )
    for failure in failed:
        console.print(
            f"[red]Failed[/] {failure.scope.short_name} ({failure.cost_type}): ",
            Text(failure.message),
        )


def _runs_table(title: str, runs: list[RunSummary]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Scope", "Window"):
        table.add_column(name, no_wrap=True)
    for name in ("New", "Changed", "Same", "Gone", "Time"):
        table.add_column(name, justify="right", no_wrap=True)
    for run in runs:
        c = run.counts
        table.add_row(
            parse_scope(run.scope).short_name,
            f"{run.window.start:%m-%d}..{run.window.end:%m-%d}",
            f"{c.inserted:,}",
            f"{c.updated:,}",
            f"{c.unchanged:,}",
            f"{c.removed:,}",
            f"{run.duration_ms / 1000:.1f} s",
        )
    return table


@app.command()
def ingest(
    days: Annotated[
        int | None, typer.Option(min=1, max=400, help="Pull this many days back")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Pull from this day (YYYY-MM-DD)")] = None,
    cost_type: Annotated[
        CostType | None,
        typer.Option(help="Ingest only this cost type (default: CLOUDOPTIMA_COST_TYPES)"),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Ingest the simulated tenant")] = False,
) -> None:
    """Pull costs for the configured scopes (first run: backfill; then the re-ingest window)."""
    start = _parse_day(since)
    settings = settings_or_exit(**({"demo": True} if demo else {}))
    container = container_for(settings)
    upgrade(container.engine)
    result = ingest_with_progress(container, days=days, since=start, cost_type=cost_type)
    print_runs(Console(), result.done, result.failed)
    if result.budgets is not None:
        typer.echo(f"Budgets: {result.budgets.describe()}")
    if result.failed:
        raise typer.Exit(1)


@app.command("import")
def import_exports(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Export files (CSV, CSV.gz, Parquet), directories of them, or "
            "azblob://<account>/<container>/<prefix>"
        ),
    ],
    export_format: Annotated[
        ExportFormat | None,
        typer.Option("--format", help="The files' schema (default: detected from the header)"),
    ] = None,
    cost_type: Annotated[
        CostType | None,
        typer.Option(help="What EA/MCA files hold (default: their manifest says)"),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(help="Store every row under this scope (default: each row's subscription)"),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Use the simulated tenant's storage account")] = False,
) -> None:
    """Import Cost Management exports and Cost Details reports (EA, MCA, FOCUS 1.0), day by
    day with the same upsert as ingestion: importing twice changes nothing. Give every file of
    one export run in one command (a day is complete only across all of its files)."""
    from bot.imports import ImportOptions, files_from_paths, import_files

    settings = settings_or_exit(export_only=True, **({"demo": True} if demo else {}))
    container = container_for(settings)
    upgrade(container.engine)
    options = ImportOptions(
        export_format=export_format,
        cost_type=cost_type,
        scope=parse_scope(scope) if scope else None,
    )
    try:
        blobs = [p for p in paths if p.startswith("azblob://")]
        local = [Path(p) for p in paths if not p.startswith("azblob://")]
        results = []
        if local:
            files = files_from_paths(local)
            results.append(
                asyncio.run(import_files(container.engine, container.clock, files, options))
            )
        for url in blobs:
            results.extend(asyncio.run(container.import_blob_url(url, options)))
    except CloudOptimaError as exc:
        typer.echo(f"Import failed: {exc.user_message()}", err=True)
        raise typer.Exit(1) from None
    console = Console()
    for result in results:
        print_runs(console, result.runs, [])
        typer.echo(f"Imported: {result.describe()}")
        if len(result.currencies) > 1:
            typer.echo(
                "Currencies: " + ", ".join(result.currencies) + " (answers never add them up: "
                "each answer is in one currency and lists the others apart)"
            )
    if any(result.runs for result in results):
        typer.echo(f"Budgets: {container.evaluate_budgets().describe()}")
        typer.echo(f"Anomalies: {container.scan_anomalies().describe()}")


DEMO_QUESTIONS = (
    "costs 30d by service",
    "costs 7d by resource-group",
    "costs mtd by tag:team",
)
DEMO_BUDGET = "budget create production 55000 sub:Production thresholds 50,80,100 forecast"


@app.command()
def demo() -> None:
    """Migrate, ingest the simulated tenant, ask it questions, and watch a budget alert."""
    container = container_for(settings_or_exit(demo=True), interactive=True)
    upgrade(container.engine)
    console = Console()
    run = DemoRun(container, console, ConsoleChat(container.core, console=console))
    run.step("Ingesting the simulated Azure tenant through the real Azure SDK")
    run.ingest()
    run.step("Asking CloudOptima")
    run.ask(*DEMO_QUESTIONS)
    console.print("[bold cyan]optima>[/] 1   [dim](pressing the first button)[/]")
    run.chat.ask("1")
    run.step("A budget")
    budget = DEMO_BUDGET.split()[2]
    if not budget_exists(container, budget):
        run.ask(DEMO_BUDGET)
    run.step(
        "Azure restates recent days: the next pull updates exactly those rows, then every "
        "budget is checked"
    )
    container.tenant.restate()
    again = run.ingest()
    if again.budgets is not None:
        console.print(f"Budgets: {again.budgets.describe()}")
    run.ask(f"budget show {budget}", f"alerts {budget}")
    run.step("Cost anomalies: scored once the days are final, one incident each")
    if again.anomalies is not None:
        console.print(f"Anomalies: {again.anomalies.describe()}")
    run.ask("anomalies 30d", f"anomaly {top_anomaly(container)}")
    run.step(
        "Recommendations: inventory, metrics, Advisor, savings plans, reservations and prices "
        "through the real Azure SDK, savings on effective cost"
    )
    demo_recommendations(run)
    console.print(
        "[dim]In Slack or Teams the alert goes to the channel the budget was created in; "
        "`cloudoptima chat --demo` (or `make chat`) to keep talking.[/]"
    )
    if run.failed:
        raise typer.Exit(1)


@dataclass
class DemoRun:
    """The demo's steps, numbered as they come, and the failures they met."""

    container: Container
    console: Console
    chat: ConsoleChat
    failed: list[ScopeFailure] = field(default_factory=list)
    steps: int = 0

    def step(self, title: str) -> None:
        self.steps += 1
        self.console.rule(f"[bold]{self.steps}. {title}")

    def ingest(self) -> PipelineResult:
        result = ingest_with_progress(self.container)
        self.failed += result.failed
        print_runs(self.console, result.done, self.failed)
        return result

    def ask(self, *questions: str) -> None:
        """Type each question at the demo's prompt, as a person would."""
        for question in questions:
            self.console.print(f"[bold cyan]optima>[/] {question}")
            self.chat.ask(question)


def demo_recommendations(run: DemoRun) -> None:
    """The demo's recommendations: a refresh, `recs`, and one `rec` (one that Advisor also
    reported shows both sources, Advisor's text and link)."""
    from core.recommendations.commands import ranked
    from core.recommendations.store import open_recommendations

    container = run.container
    try:
        result = asyncio.run(container.refresh_recommendations())
    except CloudOptimaError as exc:
        run.console.print(f"[red]Recommendations were not refreshed:[/] {exc.user_message()}")
        run.failed.append(ScopeFailure(parse_scope(container.tenant.scopes[0]), str(exc)))
        return
    run.console.print(f"Recommendations: {result.describe()}")
    run.ask("recs")
    ordered = ranked(open_recommendations(container.engine), "EUR")
    rightsizing = [s for s in ordered if s.recommendation.rule == "rightsize-vm"]
    chosen = next((s for s in rightsizing if s.recommendation.evidence.advisor), None)
    chosen = chosen or next(iter(rightsizing), None) or next(iter(ordered), None)
    if chosen is not None:
        run.ask(f"rec {chosen.id}")


def top_anomaly(container: Container) -> int:
    """The id of the largest service-level incident (the simulated tenant's runaway job)."""
    from core.anomalies.store import list_incidents

    today = container.clock.now().date()
    found = list_incidents(container.engine, date.min, today)
    service_level = [i for i in found if not i.is_subscription] or found
    return service_level[0].id if service_level else 0


def budget_exists(container: Container, name: str) -> bool:
    from core.budgets.store import find_budget

    try:
        find_budget(container.engine, name)
    except CloudOptimaError:
        return False
    return True


async def _serve(container: Container, stop: asyncio.Event) -> None:
    """The web server, plus the Slack Socket Mode connection when an app-level token is set,
    until `stop` is set."""
    from bot.server import run_server

    jobs = [run_server(container, stop)]
    slack = container.slack_bot()
    app_token = container.settings.slack_app_token
    if slack is not None and app_token is not None:
        jobs.append(slack.run_socket_mode(app_token.get_secret_value(), stop))
    try:
        await asyncio.gather(*jobs)
    finally:
        if slack is not None:
            await slack.close()  # finish the answers in flight (idempotent)


@app.command("teams-app")
def teams_app(
    output: Annotated[Path, typer.Option(help="Where to write the zip")] = Path(
        "teams-app-build/cloudoptima-teams.zip"
    ),
    app_id: Annotated[
        str | None,
        typer.Option(help="The bot's Microsoft App ID (default: CLOUDOPTIMA_TEAMS_APP_ID)"),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(help="Public host of the bot (default: CLOUDOPTIMA_TEAMS_BOT_DOMAIN)"),
    ] = None,
) -> None:
    """Build the Teams app package (upload it in Teams → Apps → Manage your apps).

    Needs only the app id and the public domain: no secret, no database, no Azure scope (so a
    release pipeline can build it)."""
    from importlib.metadata import version

    from adapters.teams.package import TEMPLATE_DIR, build_package

    configured = TeamsPackageSettings()
    values = {
        "--app-id (CLOUDOPTIMA_TEAMS_APP_ID)": app_id or configured.teams_app_id,
        "--domain (CLOUDOPTIMA_TEAMS_BOT_DOMAIN)": domain or configured.teams_bot_domain,
    }
    missing = [
        f"{name}: required to build the Teams app package" for name, v in values.items() if not v
    ]
    if missing:
        typer.echo("\n".join(missing), err=True)
        raise typer.Exit(2)
    bot_id, bot_domain = (str(v) for v in values.values())
    try:
        path = build_package(
            TEMPLATE_DIR,
            output,
            bot_id=bot_id,
            domain=bot_domain,
            version=version("cloudoptima"),
            specs=build_router(FeatureConfigs()).specs(),
        )
    except CloudOptimaError as exc:
        typer.echo(exc.user_message(), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Teams app package written to {path}")


@audit_app.command("export")
def audit_export(
    since: Annotated[str, typer.Option(help="First day exported (YYYY-MM-DD, UTC)")],
    format: Annotated[
        str, typer.Option("--format", help="csv (a header row, then one row per entry) or jsonl")
    ] = "jsonl",
    until: Annotated[
        str | None, typer.Option(help="Export entries before this day (YYYY-MM-DD, UTC)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout)")
    ] = None,
) -> None:
    """Every audit entry since a day, oldest first, for compliance (streamed in batches)."""
    from datetime import UTC, datetime

    from core.audit.export import ExportFormat, write
    from core.audit.store import AuditQuery, stream

    try:
        fmt = ExportFormat(format.lower())
    except ValueError:
        raise typer.BadParameter(f"'{format}' is not a format; use csv or jsonl") from None
    first = _parse_day(since)
    last = _parse_day(until)
    assert first is not None
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = None if last is None else datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    container = container_for(settings_or_exit())
    upgrade(container.engine)
    query = AuditQuery(since=start, until=end)
    if output is None:
        written = write(stream(container.engine, query), sys.stdout, fmt)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            written = write(stream(container.engine, query), out, fmt)
    typer.echo(f"{written} audit entr{'y' if written == 1 else 'ies'} exported", err=True)


def main() -> None:
    try:
        app()
    except CloudOptimaError as exc:  # the last line of defence: never a traceback for these
        typer.echo(exc.user_message(), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
