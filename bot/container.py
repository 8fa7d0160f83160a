"""Composition root: the one place that builds adapters and wires them to the core.

Every part is a typed builder on `Container`, built on first use and kept; tests build a
container with overrides (a fixed clock, an engine, fake connections) instead of patching.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import Engine

from adapters.azure import (
    AzureCloud,
    AzureCostSource,
    AzureForecastSource,
    AzureRecommendationSources,
    build_cost_source,
    build_forecast_source,
    build_recommendation_sources,
    build_simulated_cost_source,
    build_simulated_forecast_source,
    make_credential,
    resolve_cloud,
)
from adapters.azure.advisor_suppressions import (
    AzureAdvisorSuppressions,
    build_advisor_suppressions,
)
from adapters.azure.export_storage import ExportContainer, parse_blob_url
from adapters.notify.email import EmailNotifier, SmtpConfig
from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackBot, SlackNotifier
from adapters.slack.usergroups import SlackUserGroups
from bot.imports import ImportOptions, import_new_runs
from bot.jobs import scheduled_pipeline
from bot.metrics import observe_command
from bot.scheduler import ReplicaScheduler, cleanup_job, replica_id
from bot.settings import Settings
from core.anomalies.scan import ScanSummary, scan_anomalies
from core.app import create_core, digest_realized_savings, digest_rec_decisions
from core.approvals.advisor_sync import apply_portal_suppressions, push_suppressions
from core.approvals.watch import (
    WatchSummary,
    reopen_expired,
    resource_states,
    watch_approved,
    watched_resources,
)
from core.budgets.evaluate import EvaluationSummary, evaluate_budgets
from core.costs.imports import ImportResult
from core.delivery.dispatcher import Dispatcher
from core.delivery.pacer import Pacer
from core.delivery.ports import Notifier
from core.delivery.targets import TargetKind
from core.digests.model import DigestsConfig, RealizedSavingsReader, RecDecisionsReader
from core.digests.run import DigestRunner, TickSummary
from core.kernel.clock import Clock, SystemClock
from core.kernel.db.engine import make_engine
from core.kernel.errors import CloudOptimaError
from core.kernel.ratelimit import DatabaseRateLimiter
from core.kernel.scopes import Scope, parse_scope
from core.kernel.service import CloudOptima
from core.recommendations.refresh import RecommendationRefresher, RefreshResult

if TYPE_CHECKING:  # built only when used: the Agents SDK and the simulated tenant are heavy
    from adapters.azure.simulated import SimulatedTenant
    from adapters.teams.app import TeamsBot
    from adapters.teams.notifier import TeamsNotifier

#: The simulated tenant is the same for everyone: same seed, same story (see adapters/azure).
DEMO_SEED = 42
log = logging.getLogger(__name__)

OUTBOX_DELIVERIES = Counter(
    "cloudoptima_outbox_deliveries_total",
    "Outbox delivery attempts by target kind and outcome",
    ["kind", "outcome"],
)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    core: CloudOptima
    _tenant: SimulatedTenant | None = field(default=None, repr=False)
    _notifiers: dict[TargetKind, Notifier] | None = field(default=None, repr=False)
    _dispatcher: Dispatcher | None = field(default=None, repr=False)
    _digest_runner: DigestRunner | None = field(default=None, repr=False)
    #: The realized-savings reader digests show (the approvals feature's; None: left out).
    realized_savings: RealizedSavingsReader | None = field(default=None, repr=False)
    #: The approvals feature's decisions (versions on the digest's buttons; decided ones hidden).
    rec_decisions: RecDecisionsReader | None = field(default=None, repr=False)
    _scheduler: ReplicaScheduler | None = field(default=None, repr=False)
    _slack_bot: SlackBot | None = field(default=None, repr=False)
    _slack_notifier: SlackNotifier | None = field(default=None, repr=False)
    _teams_bot: TeamsBot | None = field(default=None, repr=False)

    # -- the engine's work -------------------------------------------------------------------

    def evaluate_budgets(self) -> EvaluationSummary:
        """Check every budget against the stored costs and queue the alerts due."""
        # `evaluate_budgets` logs its summary itself.
        return evaluate_budgets(
            self.engine, self.clock, forecast_provider=self.settings.forecast_source
        )

    def scan_anomalies(self) -> ScanSummary:
        """Score every cost series' final days; claim, update or withdraw incidents."""
        return scan_anomalies(self.engine, self.clock, self.settings.anomalies_config())

    def digest_runner(self) -> DigestRunner:
        """The digest tick (every replica runs it; subscriptions are claimed per slot)."""
        if self._digest_runner is None:
            self._digest_runner = DigestRunner(
                self.engine,
                self.clock,
                self.digests_config(),
                owner=replica_id(),
            )
        return self._digest_runner

    def digests_config(self) -> DigestsConfig:
        return dataclasses.replace(
            self.settings.digests_config(),
            realized_savings=self.realized_savings,
            rec_decisions=self.rec_decisions,
        )

    def run_digests(self) -> TickSummary:
        return self.digest_runner().tick()

    def dispatcher(self) -> Dispatcher:
        """The outbox dispatcher over every configured notifier."""
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                self.engine,
                self.notifiers(),
                self.clock,
                self.settings.dispatch_config(),
                observer=lambda kind, outcome: OUTBOX_DELIVERIES.labels(kind, outcome).inc(),
                pacer=Pacer() if self.settings.outbox_pacing else None,
            )
        return self._dispatcher

    def started_scheduler(self) -> ReplicaScheduler | None:
        """The scheduler if this process built it (`serve` with the scheduler on), else None."""
        return self._scheduler

    def scheduler(self) -> ReplicaScheduler:
        """The replica-safe scheduler with this deployment's jobs (see `build_scheduler`)."""
        if self._scheduler is None:
            self._scheduler = build_scheduler(self)
        return self._scheduler

    # -- notifications -----------------------------------------------------------------------

    def notifiers(self) -> dict[TargetKind, Notifier]:
        """One notifier per configured target kind (built once)."""
        if self._notifiers is None:
            notifiers = build_notifiers(self.settings)
            slack = self.slack_notifier()
            if slack is not None:
                notifiers[TargetKind.SLACK] = slack
            if self.settings.teams_enabled:
                notifiers[TargetKind.TEAMS] = self.teams_notifier()
            self._notifiers = notifiers
        return self._notifiers

    def slack_notifier(self) -> SlackNotifier | None:
        """Posts to Slack channels (budget alerts, digests), or None without a bot token."""
        token = self.settings.slack_bot_token
        if token is None:
            return None
        if self._slack_notifier is None:
            self._slack_notifier = SlackNotifier(
                token.get_secret_value(), api_url=self.settings.slack_api_url
            )
        return self._slack_notifier

    def teams_notifier(self, **overrides: Any) -> TeamsNotifier:
        """Posts notification cards to stored Teams conversations; tests pass `sleep=`."""
        from adapters.teams.notifier import TeamsNotifier

        return TeamsNotifier(
            self.teams_bot().adapter,
            self.engine,
            self.clock,
            app_id=self.settings.teams_app_id,
            **overrides,
        )

    # -- chat front doors --------------------------------------------------------------------

    def slack_bot(self) -> SlackBot | None:
        """The Slack front door (slash command, buttons), or None when Slack is not configured."""
        s = self.settings
        if not s.slack_enabled or s.slack_bot_token is None:
            return None
        if self._slack_bot is None:
            secret = s.slack_signing_secret
            self._slack_bot = SlackBot(
                self.core,
                signing_secret=secret.get_secret_value() if secret else None,
                bot_token=s.slack_bot_token.get_secret_value(),
                api_url=s.slack_api_url,
            )
        return self._slack_bot

    def teams_bot(self, **overrides: Any) -> TeamsBot:
        """The Teams bot (built once); tests pass `connections=` for outbound tokens."""
        if self._teams_bot is None:
            from adapters.teams.app import TeamsBot
            from adapters.teams.auth import TeamsAuth

            s = self.settings
            secret = s.teams_client_secret
            auth = TeamsAuth(
                app_id=s.teams_app_id,
                anonymous=s.teams_anonymous,
                auth_type=s.teams_auth_type,
                tenant_id=s.teams_tenant_id,
                client_secret=secret.get_secret_value() if secret else None,
                cert_pfx_path=s.teams_cert_pfx_path,
                federated_client_id=s.teams_federated_client_id,
                federated_token_file=s.teams_federated_token_file,
                openid_metadata_url=s.teams_openid_metadata_url,
            )
            self._teams_bot = TeamsBot(self.core, self.clock, auth, **overrides)
        return self._teams_bot

    # -- Azure ---------------------------------------------------------------------------------

    @property
    def tenant(self) -> SimulatedTenant:
        """The simulated Azure tenant (demo mode), generated up to today."""
        if self._tenant is None:
            from adapters.azure.simulated import SimulatedTenant

            self._tenant = SimulatedTenant(seed=DEMO_SEED, today=self.clock.now().date())
        return self._tenant

    def scopes(self) -> list[Scope]:
        """The scopes to ingest: configured ones, or the simulated tenant's in demo mode."""
        if self.settings.demo and not self.settings.scopes:
            return [parse_scope(path) for path in self.tenant.scopes]
        return self.settings.scope_list

    def export_container(self, url: str) -> ExportContainer:
        """A client of the export container at `url` (close it: `async with`): the demo's
        simulated storage account (with a run of the tenant's rows), else Azure Storage with
        the configured credential."""
        location = parse_blob_url(url)
        if self.settings.demo:
            if not self.tenant.storage.blobs:
                self.tenant.publish_export()
            return ExportContainer(
                location, self.tenant.credential(), transport=self.tenant.transport()
            )
        suffix = self.azure_cloud().storage_suffix
        return ExportContainer(location, self.azure_credential(), endpoint_suffix=suffix)

    async def import_blob_url(self, url: str, options: ImportOptions) -> list[ImportResult]:
        """`cloudoptima import azblob://…`: every run under the prefix, oldest first."""
        async with self.export_container(url) as container:
            done = await import_new_runs(
                self.engine, self.clock, container, options, owner=replica_id(), only_new=False
            )
        return [result for _run, result in done]

    async def import_new_exports(self) -> list[ImportResult]:
        """The scheduler's `exports` job: new runs of every configured export, each once
        across replicas; then budgets and anomalies when anything was imported."""
        results: list[ImportResult] = []
        for url in self.settings.exports:
            async with self.export_container(url) as container:
                done = await import_new_runs(self.engine, self.clock, container, owner=replica_id())
            results += [result for _run, result in done]
        if results:
            await asyncio.to_thread(self.evaluate_budgets)
            try:
                await asyncio.to_thread(self.scan_anomalies)
            except Exception:
                log.exception("the anomaly scan after an export import failed")
        return results

    def azure_cloud(self) -> AzureCloud:
        """The Azure cloud every client talks to (`CLOUDOPTIMA_AZURE_CLOUD` and overrides)."""
        s = self.settings
        return resolve_cloud(
            s.azure_cloud, arm_endpoint=s.azure_arm_endpoint, authority_host=s.azure_authority_host
        )

    def azure_credential(self) -> Any:
        """A new async Azure credential from the settings (the source that gets it closes it)."""
        s = self.settings
        secret = s.azure_client_secret.get_secret_value() if s.azure_client_secret else None
        return make_credential(
            s.azure_auth,
            tenant_id=s.azure_tenant_id,
            client_id=s.azure_client_id,
            client_secret=secret,
            authority=self.azure_cloud().authority_host,
        )

    def cost_source(self) -> AzureCostSource:
        """A new cost source over the real SDK client (close it: `async with` / `aclose()`)."""
        s = self.settings
        retries = {
            "max_retries": s.azure_max_retries,
            "max_retry_wait_seconds": s.azure_max_retry_wait_seconds,
        }
        if s.demo:
            return build_simulated_cost_source(
                self.tenant, chunk_days=s.query_chunk_days, **retries
            )
        return build_cost_source(
            credential=self.azure_credential(),
            chunk_days=s.query_chunk_days,
            cloud=self.azure_cloud(),
            **retries,
        )

    def forecast_source(self) -> AzureForecastSource:
        """A new forecast source over the real SDK client (close it: `async with`)."""
        s = self.settings
        retries = {
            "max_retries": s.azure_max_retries,
            "max_retry_wait_seconds": s.azure_max_retry_wait_seconds,
        }
        if s.demo:
            return build_simulated_forecast_source(self.tenant, **retries)
        return build_forecast_source(
            credential=self.azure_credential(), cloud=self.azure_cloud(), **retries
        )

    def recs_subscription_ids(self) -> list[str]:
        """Subscriptions recommendations cover (the simulated tenant's in demo mode)."""
        if self.settings.demo and not self.settings.scopes and not self.settings.recs_subscriptions:
            return [sub.id for sub in self.tenant.subscriptions]
        return self.settings.recs_subscription_ids()

    def recommendation_sources(self) -> AzureRecommendationSources:
        """New sources for a refresh over the real SDK clients (close them: `async with`)."""
        s = self.settings
        common: dict[str, Any] = {
            "subscription_ids": self.recs_subscription_ids(),
            "max_retries": s.azure_max_retries,
            "max_retry_wait_seconds": s.azure_max_retry_wait_seconds,
            "prices": s.recs_prices == "azure",
        }
        if s.demo:
            transport = self.tenant.transport()
            return build_recommendation_sources(
                credential=self.tenant.credential(),
                transport=transport,
                sleep=transport.sleep,
                **common,
            )
        return build_recommendation_sources(
            credential=self.azure_credential(), cloud=self.azure_cloud(), **common
        )

    async def refresh_recommendations(self) -> RefreshResult:
        """One recommendations refresh (inventory, metrics, Advisor, commitments, prices)."""
        refresher = RecommendationRefresher(
            self.engine, self.clock, self.settings.recommendations_config()
        )
        async with self.recommendation_sources() as sources:
            result = await refresher.run(sources.sources, self.recs_subscription_ids())
            suppressed = list(getattr(sources.sources.advisor, "suppressed", []))
        log.info("recommendations refreshed: %s", result.describe())
        if suppressed:
            marked = await asyncio.to_thread(
                apply_portal_suppressions, self.engine, suppressed, self.clock.now()
            )
            if marked:
                log.info("%d recommendation(s) dismissed in the Azure portal", marked)
        return result

    def advisor_suppressions(self) -> AzureAdvisorSuppressions:
        s = self.settings
        retries = {
            "max_retries": s.azure_max_retries,
            "max_retry_wait_seconds": s.azure_max_retry_wait_seconds,
        }
        if s.demo:
            return build_advisor_suppressions(
                credential=self.tenant.credential(), transport=self.tenant.transport(), **retries
            )
        return build_advisor_suppressions(
            credential=self.azure_credential(), cloud=self.azure_cloud(), **retries
        )

    async def sync_advisor(self) -> int:
        """Dismissals and snoozes decided here suppress their Advisor recommendation."""
        if not self.settings.approvals_advisor_sync:
            return 0
        suppressions = self.advisor_suppressions()
        try:
            sent, errors = await push_suppressions(self.engine, suppressions, self.clock.now())
        finally:
            await suppressions.aclose()
        for error in errors:
            log.warning("Advisor suppression not sent (tried again next pass): %s", error)
        return sent

    async def watch_decisions(self) -> WatchSummary:
        """Snoozes that ended re-open; approved items are checked against the inventory (gone?
        resized?) and their cost, and realized savings measured."""
        now = self.clock.now()
        reopened = await asyncio.to_thread(reopen_expired, self.engine, now)
        watched = await asyncio.to_thread(watched_resources, self.engine, now)
        states = None
        if watched:
            subscriptions = self.recs_subscription_ids()
            try:
                async with self.recommendation_sources() as sources:
                    inventory = await sources.sources.inventory.inventory(subscriptions)
                states = resource_states(inventory, watched, subscriptions)
            except CloudOptimaError as exc:
                # Without the inventory the cost rule still runs; the next pass asks again.
                log.warning("inventory unavailable for implemented detection: %s", exc.message)
        summary = await asyncio.to_thread(watch_approved, self.engine, self.clock, states)
        synced = await self.sync_advisor()
        log.info(
            "decisions: %d re-opened; %s; %d Advisor suppression(s) sent",
            reopened,
            summary.describe(),
            synced,
        )
        return summary

    # -- lifetime ------------------------------------------------------------------------------

    async def stop_jobs(self, grace_seconds: float) -> None:
        """Graceful stop of the background work: the scheduler fires nothing more and its
        running jobs (ingestion, the outbox batch in hand) get `grace_seconds` to finish; the
        slots of those stopped are released, and so are the outbox rows still held, for
        another replica to take at once."""
        if self._scheduler is not None:
            await self._scheduler.stop(grace_seconds)
        if self._dispatcher is not None:
            try:
                released = await asyncio.to_thread(self._dispatcher.release_leases)
            except Exception:
                log.exception("could not release the outbox rows held; their leases run out")
            else:
                if released:
                    log.warning("released %d outbox message(s) in flight", released)

    async def aclose(self) -> None:
        """Stop the scheduler, close network clients (notifier sessions), then the engine."""
        if self._scheduler is not None:
            self._scheduler.shutdown()
        for notifier in (self._notifiers or {}).values():
            close = getattr(notifier, "close", None)
            if close is not None:
                await close()
        self.close()

    def close(self) -> None:
        self.engine.dispose()


def build_notifiers(settings: Settings) -> dict[TargetKind, Notifier]:
    """Notifiers for the target kinds that are configured (Slack and Teams join in
    `Container.notifiers`)."""
    notifiers: dict[TargetKind, Notifier] = {}
    if settings.webhook_signing_secret is not None:
        notifiers[TargetKind.WEBHOOK] = WebhookNotifier(
            settings.webhook_signing_secret.get_secret_value(),
            timeout_seconds=settings.webhook_timeout_seconds,
            check_deliveries=settings.webhook_check_deliveries,
            legacy_signature=settings.webhook_legacy_signature,
            allowed_hosts=tuple(settings.webhook_allowed_hosts),
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

    Jobs: the outbox dispatcher (every replica), cleanup, the ingestion pipeline (every scope,
    then forecasts, budgets and anomalies), budget evaluation and the anomaly scan on their own
    intervals (a day becomes final with time, without a new ingestion), and the daily
    recommendations refresh after ingestion.
    """
    settings = container.settings
    scheduler = ReplicaScheduler(
        container.engine,
        container.clock,
        lease=timedelta(seconds=settings.scheduler_lease_seconds),
    )
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
            rate_limits=settings.rate_limits(),
        ),
        every=timedelta(hours=settings.cleanup_interval_hours),
    )
    scheduler.add_job(
        "digests",
        container.run_digests,
        every=timedelta(seconds=settings.digest_tick_seconds),
        claim=False,  # every replica ticks; each subscription's slot is claimed on its own
    )
    scheduler.add_job(
        "budgets",
        container.evaluate_budgets,
        every=timedelta(minutes=settings.budget_interval_minutes),
    )

    scheduler.add_job(
        "anomalies",
        container.scan_anomalies,
        every=timedelta(hours=settings.anomaly_interval_hours),
    )

    scheduler.add_job(
        "decisions",
        container.watch_decisions,
        every=timedelta(hours=settings.decisions_interval_hours),
    )

    async def ingest() -> None:
        await scheduled_pipeline(container)

    follow_ups: tuple[str, ...] = ()
    if settings.recs_enabled:
        # Daily, after ingestion: claimed per day, so the first successful ingestion of the day
        # refreshes them, on one replica.
        scheduler.add_job(
            "recommendations",
            container.refresh_recommendations,
            every=timedelta(days=1),
            standalone=False,
        )
        follow_ups = ("recommendations",)
    if settings.scopes or settings.demo or not settings.exports:
        scheduler.add_job(
            "ingest", ingest, every=timedelta(hours=settings.ingest_interval_hours), then=follow_ups
        )
    if settings.exports:

        async def import_exports() -> None:
            await container.import_new_exports()

        scheduler.add_job(
            "exports", import_exports, every=timedelta(hours=settings.export_interval_hours)
        )
    return scheduler


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    realized_savings: RealizedSavingsReader | None = None,
    rec_decisions: RecDecisionsReader | None = None,
) -> Container:
    """The container. `realized_savings` and `rec_decisions` are the approvals feature's
    readers (digests show realized savings only when given; without decisions every open
    recommendation is undecided, at version 0)."""
    clock = clock or SystemClock()
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    groups = None
    if settings.slack_bot_token is not None:
        groups = SlackUserGroups(
            settings.slack_bot_token.get_secret_value(), api_url=settings.slack_api_url
        )
    # Digests show the approvals feature's decisions and realized savings unless told otherwise.
    realized_savings = realized_savings or digest_realized_savings
    rec_decisions = rec_decisions or digest_rec_decisions
    features = settings.feature_configs()
    features = dataclasses.replace(
        features,
        digests=dataclasses.replace(
            features.digests, realized_savings=realized_savings, rec_decisions=rec_decisions
        ),
    )
    core = create_core(
        engine,
        clock,
        settings.core_config(),
        features,
        groups=groups,
        rate_limiter=DatabaseRateLimiter(engine, settings.rate_limits()),
        observer=observe_command,
    )
    return Container(
        settings=settings,
        engine=engine,
        clock=clock,
        core=core,
        realized_savings=realized_savings,
        rec_decisions=rec_decisions,
    )
