"""Composition root: the one place that builds adapters and wires them to the core.

Tests build a container with overrides (a fixed clock, a fake transport) instead of patching.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import Engine

from adapters.notify.email import EmailNotifier, SmtpConfig
from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackBot, SlackNotifier
from bot.ingestion import ScopeFailure, plan_ingestion, run_ingestion
from bot.scheduler import ReplicaScheduler, cleanup_job
from bot.settings import Settings
from core.app import CloudOptima
from core.budgets import EvaluationSummary, evaluate_budgets
from core.budgets.provider_forecast import ForecastRefresh, refresh_forecasts
from core.db import make_engine
from core.dispatch import Dispatcher
from core.ingest import RunSummary
from core.models import CostType, ForecastProvider
from core.notify import Notifier, TargetKind
from core.ports import Clock, CostSource, ForecastSource, SystemClock
from core.scopes import Scope, parse_scope

#: The simulated tenant is the same for everyone: same seed, same story (see adapters/azure).
DEMO_SEED = 42
log = logging.getLogger(__name__)

OUTBOX_DELIVERIES = Counter(
    "cloudoptima_outbox_deliveries_total",
    "Outbox delivery attempts by target kind and outcome",
    ["kind", "outcome"],
)

if TYPE_CHECKING:
    from adapters.teams.app import TeamsBot
    from adapters.teams.notifier import TeamsNotifier


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    core: CloudOptima
    #: Objects built on demand (Azure clients, chat adapters), keyed by name; see `lazy`.
    _built: dict[str, Any] = field(default_factory=dict)

    def lazy(self, name: str, factory: Any) -> Any:
        if name not in self._built:
            self._built[name] = factory()
        return self._built[name]

    def notifiers(self) -> dict[TargetKind, Notifier]:
        """One notifier per configured target kind (built once)."""
        built: dict[TargetKind, Notifier] = self.lazy(
            "notifiers", lambda: {**build_notifiers(self.settings), **chat_notifiers(self)}
        )
        return built

    def dispatcher(self) -> Dispatcher:
        """The outbox dispatcher over every configured notifier."""
        built: Dispatcher = self.lazy(
            "dispatcher",
            lambda: Dispatcher(
                self.engine,
                self.notifiers(),
                self.clock,
                self.settings.dispatch_config(),
                observer=lambda kind, outcome: OUTBOX_DELIVERIES.labels(kind, outcome).inc(),
            ),
        )
        return built

    async def ingest_all(self) -> tuple[list[RunSummary], list[ScopeFailure]]:
        """Ingest every scope over its planned window (the scheduler's `ingest` job)."""
        settings = self.settings
        plans = plan_ingestion(
            self.engine,
            self.scopes(),
            settings.cost_type,
            self.clock.now().date(),
            backfill_days=settings.backfill_days,
            previous_month_until_day=settings.reingest_previous_month_until_day,
        )
        async with self.cost_source() as source:  # type: ignore[attr-defined]
            done, failed = await run_ingestion(
                self.engine, self.clock, source, plans, settings.cost_type
            )
        for failure in failed:
            log.warning("ingestion of %s failed: %s", failure.scope, failure.message)
        if failed and not done:
            raise RuntimeError(f"ingestion failed for all {len(failed)} scope(s)")
        await self.refresh_forecasts(done)
        return done, failed

    async def refresh_forecasts(self, done: list[RunSummary]) -> ForecastRefresh | None:
        """With `forecast_source=azure`, fetch the forecasts the budgets need for the scopes and
        cost types just ingested (one call per scope, cost type and period end); None
        otherwise. A failed fetch is logged and never fails the ingestion."""
        if self.settings.forecast_source != ForecastProvider.AZURE or not done:
            return None
        ingested = {(run.scope, CostType(run.cost_type)) for run in done}
        try:
            async with self.forecast_source() as source:  # type: ignore[attr-defined]
                return await refresh_forecasts(self.engine, self.clock, source, ingested)
        except Exception:
            log.exception("fetching the Azure forecasts failed; budgets keep the data method")
            return None

    def evaluate_budgets(self) -> EvaluationSummary:
        """Check every budget against the stored costs and queue the alerts due."""
        summary = evaluate_budgets(
            self.engine, self.clock, forecast_provider=self.settings.forecast_source
        )
        log.info("budgets evaluated: %s", summary.describe())
        return summary

    def scheduler(self) -> ReplicaScheduler:
        """The replica-safe scheduler with the jobs this package knows (see `scheduled_jobs`)."""
        built: ReplicaScheduler = self.lazy("scheduler", lambda: build_scheduler(self))
        return built

    async def aclose(self) -> None:
        """Close network clients (notifier sessions), then the engine."""
        if "scheduler" in self._built:
            self._built["scheduler"].shutdown()
        for notifier in self._built.get("notifiers", {}).values():
            close = getattr(notifier, "close", None)
            if close is not None:
                await close()
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- Azure ---------------------------------------------------------------------------------

    @property
    def tenant(self) -> Any:
        """The simulated Azure tenant (demo mode), generated up to today."""
        from adapters.azure.simulated import SimulatedTenant

        return self.lazy(
            "tenant", lambda: SimulatedTenant(seed=DEMO_SEED, today=self.clock.now().date())
        )

    def scopes(self) -> list[Scope]:
        """The scopes to ingest: configured ones, or the simulated tenant's in demo mode."""
        if self.settings.demo and not self.settings.scopes:
            return [parse_scope(path) for path in self.tenant.scopes]
        return self.settings.scope_list

    def azure_credential(self) -> Any:
        """A new async Azure credential from the settings (the source that gets it closes it)."""
        from adapters.azure import make_credential

        s = self.settings
        secret = s.azure_client_secret.get_secret_value() if s.azure_client_secret else None
        return make_credential(
            s.azure_auth,
            tenant_id=s.azure_tenant_id,
            client_id=s.azure_client_id,
            client_secret=secret,
        )

    def cost_source(self) -> CostSource:
        """A new cost source over the real SDK client (close it: `async with` / `aclose()`)."""
        from adapters.azure import build_cost_source, build_simulated_cost_source

        s = self.settings
        if s.demo:
            return build_simulated_cost_source(  # type: ignore[no-any-return]
                self.tenant,
                chunk_days=s.query_chunk_days,
                max_retries=s.azure_max_retries,
                max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
            )
        credential = self.azure_credential()
        return build_cost_source(  # type: ignore[no-any-return]
            credential=credential,
            chunk_days=s.query_chunk_days,
            max_retries=s.azure_max_retries,
            max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
        )

    def forecast_source(self) -> ForecastSource:
        """A new forecast source over the real SDK client (close it: `async with`)."""
        from adapters.azure import build_forecast_source, build_simulated_forecast_source

        s = self.settings
        if s.demo:
            return build_simulated_forecast_source(  # type: ignore[no-any-return]
                self.tenant,
                max_retries=s.azure_max_retries,
                max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
            )
        credential = self.azure_credential()
        return build_forecast_source(  # type: ignore[no-any-return]
            credential=credential,
            max_retries=s.azure_max_retries,
            max_retry_wait_seconds=s.azure_max_retry_wait_seconds,
        )


def build_notifiers(settings: Settings) -> dict[TargetKind, Notifier]:
    """Notifiers for the target kinds that are configured (Slack and Teams join here)."""
    notifiers: dict[TargetKind, Notifier] = {}
    if settings.webhook_signing_secret is not None:
        notifiers[TargetKind.WEBHOOK] = WebhookNotifier(
            settings.webhook_signing_secret.get_secret_value(),
            timeout_seconds=settings.webhook_timeout_seconds,
            check_deliveries=settings.webhook_check_deliveries,
        )
    if settings.smtp_host and settings.smtp_from:
        context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        notifiers[TargetKind.EMAIL] = EmailNotifier(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                from_address=settings.smtp_from,
                username=settings.smtp_username,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None
                ),
                starttls=settings.smtp_starttls,
                timeout_seconds=settings.smtp_timeout_seconds,
                ssl_context=context,
            )
        )
    return notifiers


def build_scheduler(container: Container) -> ReplicaScheduler:
    """Every replica builds the same jobs; each slot runs on one of them.

    Jobs: the outbox dispatcher (every replica), cleanup, ingestion of every scope, and budget
    evaluation (on its own interval and right after each ingestion).
    """
    settings = container.settings
    scheduler = ReplicaScheduler(container.engine, container.clock)
    if settings.dispatcher_enabled:
        scheduler.add_job(
            "outbox",
            container.dispatcher().dispatch_until_idle,
            every=timedelta(seconds=max(settings.outbox_poll_interval_seconds, 1)),
            claim=False,  # every replica delivers; the outbox rows have their own claims
        )
    scheduler.add_job(
        "cleanup",
        cleanup_job(
            container.engine,
            container.clock,
            processed_event_retention=timedelta(days=settings.processed_event_retention_days),
            job_run_retention=timedelta(days=settings.job_run_retention_days),
        ),
        every=timedelta(hours=settings.cleanup_interval_hours),
    )
    scheduler.add_job(
        "budgets",
        container.evaluate_budgets,
        every=timedelta(minutes=settings.budget_interval_minutes),
    )
    scheduler.add_job(
        "ingest",
        container.ingest_all,
        every=timedelta(hours=settings.ingest_interval_hours),
        then=("budgets",),  # fresh costs: check every budget straight away
    )
    return scheduler


def build(
    settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None
) -> Container:
    clock = clock or SystemClock()
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    core = CloudOptima(engine, clock, settings.core_config())
    return Container(settings=settings, engine=engine, clock=clock, core=core)


def slack_bot(container: Container) -> SlackBot | None:
    """The Slack front door (slash command, buttons), or None when Slack is not configured."""
    settings = container.settings
    if not settings.slack_enabled or settings.slack_bot_token is None:
        return None
    secret = settings.slack_signing_secret
    bot_token = settings.slack_bot_token.get_secret_value()
    bot: SlackBot = container.lazy(
        "slack_bot",
        lambda: SlackBot(
            container.core,
            signing_secret=secret.get_secret_value() if secret else None,
            bot_token=bot_token,
            api_url=settings.slack_api_url,
        ),
    )
    return bot


def chat_notifiers(container: Container) -> dict[TargetKind, Notifier]:
    """Notifiers for the chat platforms that are configured."""
    notifiers: dict[TargetKind, Notifier] = {}
    slack = slack_notifier(container)
    if slack is not None:
        notifiers[TargetKind.SLACK] = slack
    if container.settings.teams_enabled:
        notifiers[TargetKind.TEAMS] = teams_notifier(container)
    return notifiers


def slack_notifier(container: Container) -> SlackNotifier | None:
    """Posts to Slack channels (budget alerts, digests), or None without a bot token."""
    settings = container.settings
    if settings.slack_bot_token is None:
        return None
    bot_token = settings.slack_bot_token.get_secret_value()
    notifier: SlackNotifier = container.lazy(
        "slack_notifier", lambda: SlackNotifier(bot_token, api_url=settings.slack_api_url)
    )
    return notifier


def teams_bot(container: Container, **overrides: Any) -> TeamsBot:
    """The Teams bot (built once); tests pass `connections=` for outbound tokens."""

    def build_bot() -> TeamsBot:
        from adapters.teams.app import TeamsBot
        from adapters.teams.auth import TeamsAuth

        s = container.settings
        auth = TeamsAuth(
            app_id=s.teams_app_id,
            anonymous=s.teams_anonymous,
            auth_type=s.teams_auth_type,
            tenant_id=s.teams_tenant_id,
            client_secret=s.teams_client_secret.get_secret_value()
            if s.teams_client_secret
            else None,
            cert_pfx_path=s.teams_cert_pfx_path,
            federated_client_id=s.teams_federated_client_id,
            federated_token_file=s.teams_federated_token_file,
            openid_metadata_url=s.teams_openid_metadata_url,
        )
        return TeamsBot(container.core, container.engine, container.clock, auth, **overrides)

    bot: TeamsBot = container.lazy("teams_bot", build_bot)
    return bot


def teams_notifier(container: Container, **overrides: Any) -> TeamsNotifier:
    """Posts notification cards to stored Teams conversations (the outbox's Teams notifier)."""
    from adapters.teams.notifier import TeamsNotifier

    bot = teams_bot(container)
    return TeamsNotifier(
        bot.adapter,
        container.engine,
        container.clock,
        app_id=container.settings.teams_app_id,
        **overrides,
    )
