"""The one settings object. Environment variables `CLOUDOPTIMA_*` or a `.env` file set it.

No other module reads `os.environ`. A bad configuration stops the start with one message that lists
every invalid or missing setting (`core.kernel.errors.ConfigurationError`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.anomalies.detect import DetectorConfig
from core.anomalies.model import AnomaliesConfig
from core.app import FeatureConfigs
from core.approvals.grammar import parse_grant, parse_management_group
from core.approvals.model import SLACK_GROUP_PREFIX, ApprovalsConfig
from core.budgets.model import BudgetsConfig
from core.costs.model import CostsConfig, CostType, ForecastProvider
from core.delivery.dispatcher import DispatchConfig
from core.delivery.targets import TargetKind
from core.digests.model import DigestsConfig
from core.digests.schedule import zone
from core.kernel.context import CoreConfig
from core.kernel.db.engine import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE
from core.kernel.errors import CloudOptimaError, ConfigurationError
from core.kernel.ratelimit import Bucket, RateLimits
from core.kernel.scopes import Scope, ScopeKind, check_no_overlap, parse_scope
from core.recommendations.model import RecommendationsConfig

ENV_PREFIX = "CLOUDOPTIMA_"
#: Platform → (what its workspace is called, the setting listing the workspaces served).
PLATFORM_WORKSPACES = {
    "slack": ("workspace", "SLACK_WORKSPACES"),
    "teams": ("tenant", "TEAMS_TENANTS"),
    "console": ("terminal", ""),
}


def _split_list(value: Any) -> Any:
    """Lists come as JSON (`["a","b"]`) or comma/space separated text (`a,b`)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part for part in text.replace(",", " ").split() if part]
    return value


class Settings(BaseSettings):
    """Every setting, with its default. Secrets are `SecretStr` (never logged or printed)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # -- storage -------------------------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///cloudoptima.db",
        description="SQLAlchemy URL; SQLite file in the working directory by default, "
        "postgresql://user@host/db in production",
    )
    db_pool_size: int = Field(DEFAULT_POOL_SIZE, ge=1, le=100)
    db_max_overflow: int = Field(DEFAULT_MAX_OVERFLOW, ge=0, le=100)

    # -- Azure ---------------------------------------------------------------------------------
    demo: bool = Field(False, description="Serve a simulated Azure tenant instead of Azure")
    azure_auth: Literal["default", "client_secret", "managed_identity"] = "default"
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: SecretStr | None = None
    scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Scopes to ingest: subscription GUIDs or ARM scope paths, comma separated",
    )
    exports: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Cost Management exports to import on a schedule: "
        "azblob://<account>/<container>/<prefix>, comma separated (new runs only, each once)",
    )
    export_interval_hours: int = Field(
        6, ge=1, le=168, description="Hours between looks for new export runs"
    )
    export_only: bool = Field(
        False,
        description="Costs come only from imported exports: no scope, no Cost Management access",
    )
    cost_type: CostType = Field(
        CostType.ACTUAL,
        description="The cost type answers and new budgets use unless they name one",
    )
    cost_types: Annotated[list[CostType], NoDecode] = Field(
        default_factory=lambda: [CostType.ACTUAL, CostType.AMORTIZED],
        description="Cost types to ingest, comma separated (both by default: `amortized` works "
        "out of the box, and a purchase can be told from a spike)",
    )
    reingest_previous_month_until_day: int = Field(7, ge=0, le=28)
    backfill_days: int = Field(90, ge=1, le=400, description="Days pulled on a scope's first run")
    query_chunk_days: int = Field(
        7, ge=1, le=31, description="Days per Cost Management query (memory vs. API calls)"
    )
    azure_max_retries: int = Field(5, ge=0, le=20)
    azure_max_retry_wait_seconds: float = Field(300, gt=0, le=3600)
    forecast_source: ForecastProvider = Field(
        ForecastProvider.DATA,
        description="Forecasts of budgets and cost answers: `data` (run rate computed from the "
        "costs) or `azure` (Azure Cost Management's Forecast API, fetched after each ingestion, "
        "for what counts exactly one ingested scope; the rest keeps the data method). The "
        "demo's simulated tenant answers the Forecast API, so demo mode defaults to `azure`",
    )

    azure_cloud: Literal["public", "usgov", "china"] = Field(
        "public", description="Azure cloud: public, usgov (US Government) or china (21Vianet)"
    )
    azure_arm_endpoint: str | None = Field(
        None, description="Override the cloud's Resource Manager endpoint (https://…)"
    )
    azure_authority_host: str | None = Field(
        None, description="Override the cloud's Microsoft Entra authority host (https://…)"
    )

    # -- recommendations -----------------------------------------------------------------------
    recs_enabled: bool = Field(True, description="Refresh recommendations daily after ingestion")
    recs_subscriptions: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Subscriptions to recommend on (default: those of CLOUDOPTIMA_SCOPES)",
    )
    recs_term: Literal["P1Y", "P3Y"] = Field(
        "P1Y", description="Reservation and savings plan term recommended"
    )
    recs_look_back_days: int = Field(
        30, ge=14, le=30, description="Days of metrics and Advisor look-back (14-30)"
    )
    recs_utilization_threshold: float = Field(
        80, gt=0, le=100, description="Reservations used less than this (%, 30 days) are flagged"
    )
    recs_exclude_tags: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cloudoptima:ignore"],
        description="Tags (key or key=value) whose resources get no recommendation",
    )
    recs_exclude_resource_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Resource groups whose resources get none"
    )
    recs_rates: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Stated exchange rates for Advisor figures, e.g. USD:EUR=0.92",
    )
    recs_prices: Literal["azure", "bundled"] = Field(
        "azure",
        description="VM prices: `azure` (Resource SKUs + Retail Prices API, cached a week) or "
        "`bundled` (the snapshot shipped with CloudOptima, offline)",
    )

    # -- approvals -----------------------------------------------------------------------------
    approval_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Who may decide on recommendations where: role=who@scope, e.g. "
        "approver=slack:U0123ABC@/subscriptions/<id>, admin=slack-group:S0123ABC@*, "
        "viewer=teams:<aad object id>@/subscriptions/<id>/resourceGroups/<rg> (deciding is "
        "denied without one; CLOUDOPTIMA_ADMINS are admins everywhere)",
    )
    management_groups: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Subscriptions of the management groups named in approval roles: "
        "<mg id>=<subscription id>|<subscription id>",
    )
    approvals_two_person_rule: bool = Field(
        False, description="The approver may not be the person who asked for the approval"
    )
    approvers_channel: str | None = Field(
        None, description="Where `rec <id> request-approval` posts the card (slack:C…, teams:…)"
    )
    approvals_group_cache_seconds: int = Field(
        300, ge=0, le=86_400, description="How long Slack user groups' members are cached"
    )
    decisions_interval_hours: int = Field(
        6,
        ge=1,
        le=24,
        description="Re-open ended snoozes, detect implemented items, measure realized savings",
    )
    approvals_advisor_sync: bool = Field(
        False,
        description="Dismiss and snooze also suppress the Advisor recommendation in Azure "
        "(needs Advisor write rights: Contributor or a custom role with "
        "Microsoft.Advisor/suppressions/write)",
    )

    # -- chat and server -----------------------------------------------------------------------
    host: str = "0.0.0.0"  # a server in a container listens on every interface
    port: int = Field(3978, ge=1, le=65535)
    top_n: int = Field(10, ge=1, le=50)
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Principals allowed admin actions: slack:T123:U456, teams:<tenant>:<aad id> "
        "(`whoami` shows yours), slack:T123:* for a whole workspace, console:*; the short "
        "slack:U456 / teams:<aad id> only with a single configured workspace",
    )
    viewers: Annotated[list[str] | None, NoDecode] = Field(
        None, description="If set, only these principals may read costs (admins always may)"
    )
    slack_workspaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack team ids (T…) this bot serves; with exactly one, the short principal "
        "slack:U456 in ADMINS/VIEWERS means that workspace's user",
    )
    teams_tenants: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Entra tenant ids Teams users come from (default: TEAMS_TENANT_ID); with "
        "exactly one, the short principal teams:<aad id> means that tenant's user",
    )
    # -- Slack ---------------------------------------------------------------------------------
    slack_signing_secret: SecretStr | None = Field(
        None, description="Basic Information → Signing Secret (verifies every request)"
    )
    slack_bot_token: SecretStr | None = Field(None, description="Bot User OAuth Token, xoxb-…")
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-…, connections:write): use Socket Mode"
    )
    slack_api_url: str | None = Field(
        None, description="Slack Web API base URL (tests and fakes); https://slack.com/api/"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"

    # -- delivery: outbox dispatcher, webhooks, e-mail ------------------------------------------
    dispatcher_enabled: bool = Field(
        True, description="Deliver the outbox here (every replica may: rows are claimed)"
    )
    outbox_max_attempts: int = Field(8, ge=1, le=100, description="Attempts before a dead letter")
    outbox_lease_seconds: float = Field(
        60, ge=2, le=3600, description="How long a claimed message is held (≥ 2 × send timeout)"
    )
    outbox_send_timeout_seconds: float = Field(
        20, gt=0, le=600, description="Longest single send before it counts as uncertain"
    )
    outbox_poll_interval_seconds: float = Field(5, gt=0, le=3600)
    outbox_batch_size: int = Field(10, ge=1, le=500)
    outbox_backoff_base_seconds: float = Field(5, gt=0, le=3600)
    outbox_backoff_cap_seconds: float = Field(3600, gt=0, le=86400)
    webhook_signing_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key for webhook signatures; webhooks are sent only if set"
    )
    webhook_timeout_seconds: float = Field(10, gt=0, le=300)
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Internal webhook receivers allowed despite a non-public address: host "
        "names, addresses or networks (10.1.0.0/16), comma separated; they may use plain http. "
        "Everything else must be https to a public address",
    )
    webhook_check_deliveries: bool = Field(
        False, description="Receivers answer GET <url>/deliveries/<key>: ask before resending"
    )
    webhook_legacy_signature: bool = Field(
        False,
        description="Also send the X-CloudOptima-Timestamp/-Signature headers of 0.1 beside the "
        "Standard Webhooks ones (for one release, while receivers move)",
    )
    smtp_host: str | None = Field(None, description="SMTP relay; e-mail is sent only if set")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(None, description="From address, e.g. CloudOptima <a@b.c>")
    smtp_starttls: bool = Field(True, description="Require STARTTLS (never send in clear)")
    smtp_ca_file: str | None = Field(None, description="PEM file of a private CA to trust")
    smtp_timeout_seconds: float = Field(15, gt=0, le=300)

    # -- anomalies -----------------------------------------------------------------------------
    anomaly_sensitivity: float = Field(
        4.0, gt=0, le=20, description="Band half-width in robust standard deviations"
    )
    anomaly_min_impact: Decimal = Field(
        Decimal(20),
        ge=0,
        le=10_000_000,
        description="Absolute floor: smallest daily deviation flagged (billing currency)",
    )
    anomaly_min_change: float = Field(
        0.25, ge=0, le=10, description="Relative floor: smallest deviation as a share of expected"
    )
    anomaly_finality_hours: int = Field(36, ge=0, le=336, description="A day is final after")
    anomaly_month_end_finality_hours: int = Field(72, ge=0, le=336)
    anomaly_lookback_days: int = Field(14, ge=1, le=90, description="Final days re-scored")
    anomaly_cost_type: CostType = Field(
        CostType.AMORTIZED, description="Scored cost (also ingested when it differs)"
    )
    anomaly_spikes: bool = True
    anomaly_drops: bool = True
    anomaly_interval_hours: float = Field(6, ge=0.25, le=168)

    # -- digests -------------------------------------------------------------------------------
    digest_tick_seconds: float = Field(
        30, ge=1, le=3600, description="How often every replica looks for due digests"
    )
    digest_grace_hours: float = Field(
        6, ge=0, le=72, description="A digest missed while no replica ran is sent this late"
    )
    digest_lease_seconds: float = Field(
        120, ge=5, le=3600, description="How long a replica holds a due digest while building it"
    )
    digest_default_timezone: str = Field(
        "UTC", description="Time zone of `digest daily` without one (IANA name)"
    )
    outbox_pacing: bool = Field(
        True,
        description="Pace posts per channel at Slack's (1/s) and Teams' documented limits",
    )

    # -- scheduler -----------------------------------------------------------------------------
    scheduler_enabled: bool = Field(
        True, description="Run the scheduled jobs inside `cloudoptima serve`"
    )
    ingest_interval_hours: float = Field(6, ge=0.25, le=168)
    budget_interval_minutes: float = Field(60, ge=1, le=10080)
    cleanup_interval_hours: float = Field(6, ge=0.25, le=168)
    processed_event_retention_days: int = Field(7, ge=1, le=365)
    job_run_retention_days: int = Field(30, ge=1, le=3650)
    scheduler_lease_seconds: float = Field(
        60,
        ge=5,
        le=3600,
        description="A running job renews its slot's lease every third of this; a slot whose "
        "lease ran out (its replica died) is taken over by another replica",
    )
    shutdown_grace_seconds: float = Field(
        20,
        ge=0,
        le=600,
        description="On SIGTERM/SIGINT: how long in-flight answers, sends and jobs may take to "
        "finish before they are stopped (their leases and claims are released)",
    )
    # -- rate limits ---------------------------------------------------------------------------
    rate_limit_user_per_minute: float = Field(
        30,
        ge=0,
        le=100_000,
        description="Commands and button presses a minute per user (0: no limit), across replicas",
    )
    rate_limit_user_burst: int = Field(10, ge=1, le=100_000)
    rate_limit_workspace_per_minute: float = Field(
        600,
        ge=0,
        le=1_000_000,
        description="Commands and button presses a minute per Slack workspace / Teams tenant "
        "(0: no limit)",
    )
    rate_limit_workspace_burst: int = Field(200, ge=1, le=1_000_000)
    # -- Microsoft Teams -----------------------------------------------------------------------
    teams_app_id: str | None = Field(
        None,
        description="The bot's Microsoft App ID (Azure Bot / Entra app client id); "
        "serves /api/messages with every request's token checked",
    )
    teams_auth_type: Literal[
        "client_secret",
        "certificate",
        "user_managed_identity",
        "system_managed_identity",
        "federated_credentials",
        "workload_identity",
    ] = "client_secret"
    teams_tenant_id: str | None = Field(None, description="The bot's Entra tenant (single-tenant)")
    teams_client_secret: SecretStr | None = None
    teams_cert_pfx_path: str | None = Field(None, description="PFX certificate (certificate auth)")
    teams_federated_client_id: str | None = Field(
        None, description="Managed identity client id (federated_credentials auth)"
    )
    teams_federated_token_file: str | None = Field(
        None, description="Projected token file (workload_identity auth, e.g. AKS)"
    )
    teams_anonymous: bool = Field(
        False,
        description="Serve /api/messages without token checks (local demo and tests only; "
        "needs CLOUDOPTIMA_DEMO=true and no app id)",
    )
    teams_openid_metadata_url: str | None = Field(
        None,
        description="Take token signing keys from this OpenID document's jwks_uri instead of "
        "the Bot Framework / Entra defaults (tests, sovereign clouds)",
    )
    teams_bot_domain: str | None = Field(
        None, description="Public host of the messaging endpoint (Teams app package validDomains)"
    )

    _split_lists = field_validator(
        "scopes",
        "exports",
        "admins",
        "viewers",
        "slack_workspaces",
        "teams_tenants",
        "recs_subscriptions",
        "recs_exclude_tags",
        "recs_exclude_resource_groups",
        "recs_rates",
        "cost_types",
        "approval_roles",
        "management_groups",
        "webhook_allowed_hosts",
        mode="before",
    )(_split_list)

    @field_validator("approval_roles")
    @classmethod
    def _grants_are_valid(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_grant(text)
        return value

    @field_validator("management_groups")
    @classmethod
    def _management_groups_are_valid(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_management_group(text)
        return value

    @field_validator("exports")
    @classmethod
    def _exports_are_blob_urls(cls, value: list[str]) -> list[str]:
        bad = [
            text
            for text in value
            if not re.fullmatch(r"azblob://[a-z0-9]{3,24}/[^/\s]+(/\S*)?", text)
        ]
        if bad:
            raise ValueError(
                f"exports look like azblob://<account>/<container>/<prefix>, not {', '.join(bad)}"
            )
        return value

    @field_validator("recs_rates")
    @classmethod
    def _rates_are_valid(cls, value: list[str]) -> list[str]:
        bad = [text for text in value if _parse_rate(text) is None]
        if bad:
            raise ValueError(f"rates look like USD:EUR=0.92, not {', '.join(bad)}")
        return value

    @field_validator("azure_arm_endpoint", "azure_authority_host")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (tokens are never sent over http)")
        return value

    @field_validator("digest_default_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            zone(value)
        except CloudOptimaError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("cost_types")
    @classmethod
    def _cost_types_are_listed_once(cls, value: list[CostType]) -> list[CostType]:
        if not value:
            raise ValueError("name at least one cost type to ingest (ActualCost, AmortizedCost)")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_forecast_method(self) -> Settings:
        """Demo mode defaults to Azure's forecast (the simulated tenant serves the Forecast
        API), decided here once: `demo`, `chat --demo`, `serve` and `ingest` all read it."""
        if self.demo and "forecast_source" not in self.model_fields_set:
            self.forecast_source = ForecastProvider.AZURE
        return self

    @model_validator(mode="after")
    def _defaults_follow_the_ingested_cost_types(self) -> Settings:
        """Anomalies score amortized cost unless told otherwise; with only ActualCost ingested they
        score that (`COST_TYPES=ActualCost` alone is a complete configuration). A cost type chosen
        explicitly but not ingested is a configuration error (`_cost_type_problems`); so is the
        answers' default, since budgets are judged on it and should not change silently."""
        chosen = "anomaly_cost_type" in self.model_fields_set
        if not chosen and self.anomaly_cost_type not in self.cost_types:
            self.anomaly_cost_type = self.cost_types[0]
        return self

    @field_validator("scopes")
    @classmethod
    def _scopes_are_valid(cls, value: list[str]) -> list[str]:
        problems: list[str] = []
        parsed: list[Scope] = []
        for text in value:
            try:
                parsed.append(parse_scope(text))
            except CloudOptimaError as exc:
                problems.append(exc.user_message().replace("\n", " "))
        problems.extend(check_no_overlap(parsed))
        if problems:
            raise ValueError("; ".join(problems))
        return [scope.path for scope in parsed]

    @model_validator(mode="after")
    def _principals_name_their_workspace(self) -> Settings:
        """A short principal (`slack:U456`) is accepted only where it can mean one person."""
        problems = [
            f"{ENV_PREFIX}{name.upper()}: {problem}"
            for name in ("admins", "viewers")
            for entry in getattr(self, name) or ()
            if (problem := self._principal_problem(entry))
        ]
        granted = (parse_grant(text).who for text in self.approval_roles)
        problems += [
            f"{ENV_PREFIX}APPROVAL_ROLES: {problem}"
            for who in granted
            if not who.startswith(SLACK_GROUP_PREFIX) and (problem := self._principal_problem(who))
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _principal_problem(self, entry: str) -> str | None:
        if entry == "*":
            return None
        platform, _, rest = entry.partition(":")
        if platform not in PLATFORM_WORKSPACES:
            return (
                f"{entry!r} is not a principal (slack:T123:U456, teams:<tenant>:<aad id>, "
                "console:*)"
            )
        if not rest:
            return f"{entry!r} names nobody"
        if rest == "*" or platform == "console" or ":" in rest:
            return None
        workspaces = self.home_workspace_candidates(platform)
        if len(workspaces) == 1:
            return None
        what, setting = PLATFORM_WORKSPACES[platform]
        configured = f"{len(workspaces)} {what}s are" if workspaces else f"no {what} is"
        return (
            f"{entry!r} does not say which {what} (user ids are unique only within one) and "
            f"{configured} configured; write {platform}:<{what} id>:{rest} (`whoami` shows it), "
            f"or set {ENV_PREFIX}{setting} to the one {what} this bot serves"
        )

    def home_workspace_candidates(self, platform: str) -> list[str]:
        """The workspaces configured for `platform` (Slack team ids, Teams tenant ids)."""
        if platform == "slack":
            return list(dict.fromkeys(self.slack_workspaces))
        if platform == "teams":
            tenants = self.teams_tenants or (
                [self.teams_tenant_id]
                if self.teams_tenant_id
                and self.teams_tenant_id.lower() not in ("common", "organizations")
                else []
            )
            return list(dict.fromkeys(tenants))
        return []

    @model_validator(mode="wrap")
    @classmethod
    def _report_every_problem(cls, data: Any, handler: Any) -> Settings:
        """Collect field errors and cross-field problems into one ConfigurationError."""
        problems: list[str] = []
        settings: Settings | None = None
        try:
            settings = handler(data)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if field:
                    problems.append(f"{ENV_PREFIX}{field.upper()}: {message}")
                else:  # a check across fields names its settings itself
                    problems.extend(message.splitlines())
        raw = {k.lower(): v for k, v in (data or {}).items()} if isinstance(data, dict) else {}
        problems.extend(_cross_field_problems(raw))
        if problems:
            raise ConfigurationError(problems)
        assert settings is not None
        return settings

    # -- derived -------------------------------------------------------------------------------
    def secret_values(self) -> list[str]:
        """Every secret setting's value (logging redacts them wherever they would appear)."""
        values = [getattr(self, name) for name in type(self).model_fields]
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]

    @property
    def teams_enabled(self) -> bool:
        """Serve /api/messages: an app id is configured, or anonymous access explicitly is."""
        return bool(self.teams_app_id) or self.teams_anonymous

    @property
    def scope_list(self) -> list[Scope]:
        return [parse_scope(path) for path in self.scopes]

    def dispatch_config(self) -> DispatchConfig:
        return DispatchConfig(
            max_attempts=self.outbox_max_attempts,
            lease=timedelta(seconds=self.outbox_lease_seconds),
            send_timeout=timedelta(seconds=self.outbox_send_timeout_seconds),
            batch_size=self.outbox_batch_size,
            backoff_base=timedelta(seconds=self.outbox_backoff_base_seconds),
            backoff_cap=timedelta(seconds=self.outbox_backoff_cap_seconds),
            poll_interval=timedelta(seconds=self.outbox_poll_interval_seconds),
        )

    @property
    def slack_enabled(self) -> bool:
        """A bot token plus a way in: the signing secret (HTTP) or an app token (Socket Mode)."""
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )

    def rate_limits(self) -> RateLimits:
        def bucket(per_minute: float, burst: int) -> Bucket | None:
            return Bucket(per_minute, burst) if per_minute > 0 else None

        return RateLimits(
            user=bucket(self.rate_limit_user_per_minute, self.rate_limit_user_burst),
            workspace=bucket(self.rate_limit_workspace_per_minute, self.rate_limit_workspace_burst),
        )

    def core_config(self) -> CoreConfig:
        home = {
            platform: workspaces[0]
            for platform in ("slack", "teams")
            if len(workspaces := self.home_workspace_candidates(platform)) == 1
        }
        return CoreConfig(
            admins=frozenset(self.admins),
            viewers=None if self.viewers is None else frozenset(self.viewers),
            webhook_allowed_hosts=tuple(self.webhook_allowed_hosts),
            home_workspaces=home,
        )

    def recommendations_config(self) -> RecommendationsConfig:
        rates = dict(rate for text in self.recs_rates if (rate := _parse_rate(text)))
        return RecommendationsConfig(
            term=self.recs_term,
            look_back_days=self.recs_look_back_days,
            utilization_threshold=Decimal(str(self.recs_utilization_threshold)),
            exclude_tags=tuple(self.recs_exclude_tags),
            exclude_resource_groups=tuple(self.recs_exclude_resource_groups),
            rates=rates,
            top_n=self.top_n,
        )

    def recs_subscription_ids(self) -> list[str]:
        """The configured subscriptions, else those of the ingested scopes."""
        if self.recs_subscriptions:
            return [s.lower().removeprefix("/subscriptions/") for s in self.recs_subscriptions]
        found: list[str] = []
        for scope in self.scope_list:
            if scope.kind in (ScopeKind.SUBSCRIPTION, ScopeKind.RESOURCE_GROUP):
                sub = scope.path.split("/")[2]
                if sub not in found:
                    found.append(sub)
        return found

    def unconfigured_targets(self) -> dict[TargetKind, str]:
        """Target kinds this deployment cannot deliver to, each with what to set."""
        missing: dict[TargetKind, str] = {}
        if self.slack_bot_token is None:
            missing[TargetKind.SLACK] = f"{ENV_PREFIX}SLACK_BOT_TOKEN"
        if not self.teams_enabled:
            missing[TargetKind.TEAMS] = f"{ENV_PREFIX}TEAMS_APP_ID and its credentials"
        if self.webhook_signing_secret is None:
            missing[TargetKind.WEBHOOK] = f"{ENV_PREFIX}WEBHOOK_SIGNING_SECRET"
        if not (self.smtp_host and self.smtp_from):
            missing[TargetKind.EMAIL] = f"{ENV_PREFIX}SMTP_HOST and {ENV_PREFIX}SMTP_FROM"
        return missing

    def feature_configs(self) -> FeatureConfigs:
        """Each feature's config; the one forecast method goes to costs and budgets alike."""
        return FeatureConfigs(
            costs=CostsConfig(
                default_cost_type=self.cost_type,
                top_n=self.top_n,
                forecast_provider=self.forecast_source,
            ),
            budgets=BudgetsConfig(
                default_cost_type=self.cost_type,
                forecast_provider=self.forecast_source,
                unconfigured_targets=self.unconfigured_targets(),
            ),
            anomalies=self.anomalies_config(),
            recommendations=self.recommendations_config(),
            approvals=self.approvals_config(),
            digests=self.digests_config(),
        )

    def approvals_config(self) -> ApprovalsConfig:
        return ApprovalsConfig(
            grants=tuple(parse_grant(text) for text in self.approval_roles),
            management_groups=dict(parse_management_group(t) for t in self.management_groups),
            two_person_rule=self.approvals_two_person_rule,
            approvers_channel=self.approvers_channel,
            group_cache_seconds=self.approvals_group_cache_seconds,
            advisor_sync=self.approvals_advisor_sync,
        )

    def digests_config(self) -> DigestsConfig:
        return DigestsConfig(
            cost_type=self.cost_type,
            forecast_provider=self.forecast_source,
            grace=timedelta(hours=self.digest_grace_hours),
            lease=timedelta(seconds=self.digest_lease_seconds),
            default_timezone=self.digest_default_timezone,
        )

    def anomalies_config(self) -> AnomaliesConfig:
        return AnomaliesConfig(
            detector=DetectorConfig(
                sensitivity=self.anomaly_sensitivity,
                min_impact=self.anomaly_min_impact,
                min_change=self.anomaly_min_change,
                spikes=self.anomaly_spikes,
                drops=self.anomaly_drops,
            ),
            cost_type=self.anomaly_cost_type,
            finality_hours=self.anomaly_finality_hours,
            month_end_finality_hours=self.anomaly_month_end_finality_hours,
            lookback_days=self.anomaly_lookback_days,
        )


def _parse_rate(text: str) -> tuple[tuple[str, str], Decimal] | None:
    """`USD:EUR=0.92` → (("USD", "EUR"), 0.92): 1 USD is 0.92 EUR."""
    pair, eq, number = text.partition("=")
    source, colon, target = pair.partition(":")
    if not (eq and colon and len(source) == 3 and len(target) == 3):
        return None
    try:
        rate = Decimal(number.strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0:
        return None
    return (source.strip().upper(), target.strip().upper()), rate


def _cross_field_problems(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    demo = str(raw.get("demo", "")).lower() in ("1", "true", "yes", "on")
    auth = str(raw.get("azure_auth") or "default")
    if auth == "client_secret":
        for name in ("azure_tenant_id", "azure_client_id", "azure_client_secret"):
            if not raw.get(name):
                problems.append(
                    f"{ENV_PREFIX}{name.upper()}: required when AZURE_AUTH=client_secret"
                )
    problems.extend(_delivery_problems(raw))
    problems.extend(_cost_type_problems(raw))
    if (
        raw.get("slack_bot_token")
        and not raw.get("slack_signing_secret")
        and not raw.get("slack_app_token")
    ):
        problems.append(
            f"{ENV_PREFIX}SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set "
            f"{ENV_PREFIX}SLACK_APP_TOKEN for Socket Mode)"
        )
    if (raw.get("slack_signing_secret") or raw.get("slack_app_token")) and not raw.get(
        "slack_bot_token"
    ):
        problems.append(f"{ENV_PREFIX}SLACK_BOT_TOKEN: required to answer in Slack")
    problems.extend(_teams_problems(raw, demo))
    export_only = str(raw.get("export_only", "")).lower() in ("1", "true", "yes", "on")
    if not demo and not raw.get("scopes") and not raw.get("exports") and not export_only:
        problems.append(
            f"{ENV_PREFIX}SCOPES: set at least one scope to ingest (or {ENV_PREFIX}EXPORTS "
            f"to import exports, or {ENV_PREFIX}DEMO=true for the simulated tenant)"
        )
    return problems


def _cost_type_problems(raw: dict[str, Any]) -> list[str]:
    """The default cost type, and the one anomalies score, must be ones that are ingested."""
    listed = _split_list(raw.get("cost_types")) if raw.get("cost_types") else None
    known = {str(c) for c in CostType}
    if not isinstance(listed, list) or not set(listed) <= known:
        return []  # unset (both are ingested), or the field validator reports the bad value
    problems = []
    for setting, who in (
        ("cost_type", "answers and budgets"),
        ("anomaly_cost_type", "anomalies"),
    ):
        if setting == "anomaly_cost_type" and not raw.get(setting):
            continue  # not chosen: it follows the ingested cost types
        chosen = str(raw.get(setting) or CostType.ACTUAL)
        if chosen in known and chosen not in listed:
            problems.append(
                f"{ENV_PREFIX}{setting.upper()}: {chosen} is not in {ENV_PREFIX}COST_TYPES "
                f"({', '.join(listed)}); {who} would have no data"
            )
    return problems


def _delivery_problems(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if raw.get("smtp_host") and not raw.get("smtp_from"):
        problems.append(f"{ENV_PREFIX}SMTP_FROM: required when SMTP_HOST is set")
    if raw.get("smtp_username") and not raw.get("smtp_password"):
        problems.append(f"{ENV_PREFIX}SMTP_PASSWORD: required when SMTP_USERNAME is set")
    try:
        lease = float(raw.get("outbox_lease_seconds") or 60)
        send_timeout = float(raw.get("outbox_send_timeout_seconds") or 20)
    except (TypeError, ValueError):
        return problems  # the field validators report the bad number itself
    problems.extend(_anomaly_problems(raw))
    if lease < 2 * send_timeout:
        problems.append(
            f"{ENV_PREFIX}OUTBOX_LEASE_SECONDS: must be at least twice "
            f"OUTBOX_SEND_TIMEOUT_SECONDS ({send_timeout:g} s), or a slow send could be "
            "taken over and sent twice"
        )
    return problems


def _anomaly_problems(raw: dict[str, Any]) -> list[str]:
    try:
        usual = int(raw.get("anomaly_finality_hours") or 36)
        month_end = int(raw.get("anomaly_month_end_finality_hours") or 72)
    except (TypeError, ValueError):
        return []  # the field validators report the bad number itself
    if month_end < usual:
        return [
            f"{ENV_PREFIX}ANOMALY_MONTH_END_FINALITY_HOURS: must be at least "
            f"ANOMALY_FINALITY_HOURS ({usual}): month ends are restated later, not sooner"
        ]
    return []


_TEAMS_AUTH_NEEDS = {
    "client_secret": ("teams_tenant_id", "teams_client_secret"),
    "certificate": ("teams_tenant_id", "teams_cert_pfx_path"),
    "federated_credentials": ("teams_tenant_id", "teams_federated_client_id"),
    "workload_identity": ("teams_tenant_id", "teams_federated_token_file"),
}


def _teams_problems(raw: dict[str, Any], demo: bool) -> list[str]:
    anonymous = str(raw.get("teams_anonymous", "")).lower() in ("1", "true", "yes", "on")
    app_id = raw.get("teams_app_id")
    if anonymous and not demo:
        return [
            f"{ENV_PREFIX}TEAMS_ANONYMOUS: token checks may only be off for the local demo "
            f"(set {ENV_PREFIX}DEMO=true), never in production"
        ]
    if anonymous and app_id:
        return [
            f"{ENV_PREFIX}TEAMS_ANONYMOUS: with {ENV_PREFIX}TEAMS_APP_ID set every request's "
            "token is checked; unset one of them"
        ]
    if not app_id:
        return []
    auth = str(raw.get("teams_auth_type") or "client_secret")
    return [
        f"{ENV_PREFIX}{name.upper()}: required when TEAMS_AUTH_TYPE={auth}"
        for name in _TEAMS_AUTH_NEEDS.get(auth, ())
        if not raw.get(name)
    ]


class TeamsPackageSettings(BaseSettings):
    """The two settings `cloudoptima teams-app` needs, read without the rest (a release
    pipeline builds the package with no secret, database or Azure scope configured)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    teams_app_id: str | None = None
    teams_bot_domain: str | None = None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; raises ConfigurationError listing every problem."""
    return Settings(**overrides)
