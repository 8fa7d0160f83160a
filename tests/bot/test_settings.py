"""One settings object; a bad configuration lists every problem at once."""

from __future__ import annotations

import pytest

from bot.settings import Settings, load_settings
from core.costs.model import CostType
from core.kernel.errors import ConfigurationError

SUB = "8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("CLOUDOPTIMA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_need_only_a_scope(monkeypatch):
    monkeypatch.setenv("CLOUDOPTIMA_SCOPES", SUB)
    settings = load_settings()
    assert settings.database_url == "sqlite:///cloudoptima.db"
    assert settings.scopes == [f"/subscriptions/{SUB}"]
    assert settings.cost_type is CostType.ACTUAL
    assert settings.azure_auth == "default"


def test_every_problem_is_reported_in_one_message(monkeypatch):
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_AUTH", "client_secret")
    monkeypatch.setenv("CLOUDOPTIMA_PORT", "eighty")
    monkeypatch.setenv("CLOUDOPTIMA_COST_TYPE", "Cheap")
    monkeypatch.setenv("CLOUDOPTIMA_SCOPES", f"{SUB},/subscriptions/{SUB}/resourceGroups/web,nope")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    text = info.value.user_message()
    for expected in (
        "CLOUDOPTIMA_PORT",
        "CLOUDOPTIMA_COST_TYPE",
        "'nope' is not an Azure cost scope",
        "would be counted twice",
        "CLOUDOPTIMA_AZURE_TENANT_ID: required",
        "CLOUDOPTIMA_AZURE_CLIENT_ID: required",
        "CLOUDOPTIMA_AZURE_CLIENT_SECRET: required",
    ):
        assert expected in text
    assert text.startswith("Invalid configuration (6 problem(s))")


def test_missing_scopes_are_fine_in_demo_mode(monkeypatch):
    with pytest.raises(ConfigurationError, match="CLOUDOPTIMA_SCOPES"):
        load_settings()
    monkeypatch.setenv("CLOUDOPTIMA_DEMO", "true")
    assert load_settings().demo


def test_dotenv_file_is_read_and_secrets_stay_secret(tmp_path):
    (tmp_path / ".env").write_text(
        f'CLOUDOPTIMA_SCOPES=["{SUB}"]\n'
        "CLOUDOPTIMA_AZURE_AUTH=client_secret\n"
        "CLOUDOPTIMA_AZURE_TENANT_ID=t\nCLOUDOPTIMA_AZURE_CLIENT_ID=c\n"
        "CLOUDOPTIMA_AZURE_CLIENT_SECRET=hunter2\n"
        "CLOUDOPTIMA_ADMINS=slack:U1, teams:abc\n"
        "CLOUDOPTIMA_SLACK_WORKSPACES=T1\nCLOUDOPTIMA_TEAMS_TENANTS=tenant-1\n"
    )
    settings = Settings()
    assert settings.azure_client_secret.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    assert settings.core_config().admins == frozenset({"slack:U1", "teams:abc"})
    assert settings.core_config().home_workspaces == {"slack": "T1", "teams": "tenant-1"}


def test_short_principals_are_refused_unless_a_single_workspace_is_configured():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(
            demo=True,
            admins="slack:U1,slack:T1:U2,slack:T2:*,console:*,*",
            viewers="teams:abc,nobody",
            slack_workspaces="T1,T2",
        )
    problems = str(caught.value)
    assert "CLOUDOPTIMA_ADMINS: 'slack:U1' does not say which workspace" in problems
    assert "2 workspaces are configured" in problems
    assert "write slack:<workspace id>:U1 (`whoami` shows it)" in problems
    assert "CLOUDOPTIMA_VIEWERS: 'teams:abc' does not say which tenant" in problems
    assert "'nobody' is not a principal" in problems
    assert "(3 problem(s))" in problems  # the full forms and wildcards are fine
    # The bot's own single tenant counts as the one configured tenant.
    single = load_settings(demo=True, admins="teams:abc", teams_tenant_id="tenant-9")
    assert single.core_config().home_workspaces == {"teams": "tenant-9"}


def test_recommendation_settings_build_the_features_config(monkeypatch):
    from decimal import Decimal

    monkeypatch.setenv(
        "CLOUDOPTIMA_SCOPES", f"{SUB},/subscriptions/{SUB.replace('8', '7')}/resourceGroups/rg"
    )
    monkeypatch.setenv("CLOUDOPTIMA_RECS_TERM", "P3Y")
    monkeypatch.setenv("CLOUDOPTIMA_RECS_LOOK_BACK_DAYS", "14")
    monkeypatch.setenv("CLOUDOPTIMA_RECS_EXCLUDE_TAGS", "cloudoptima:ignore,env=lab")
    monkeypatch.setenv("CLOUDOPTIMA_RECS_EXCLUDE_RESOURCE_GROUPS", "rg-lab")
    monkeypatch.setenv("CLOUDOPTIMA_RECS_RATES", "USD:EUR=0.92")
    settings = load_settings()
    config = settings.feature_configs().recommendations
    assert (config.term, config.look_back_days) == ("P3Y", 14)
    assert config.exclude_tags == ("cloudoptima:ignore", "env=lab")
    assert config.exclude_resource_groups == ("rg-lab",)
    assert config.rates == {("USD", "EUR"): Decimal("0.92")}
    assert settings.recs_subscription_ids() == [SUB, SUB.replace("8", "7")]


def test_bad_recommendation_and_cloud_settings_are_listed_together(monkeypatch):
    monkeypatch.setenv("CLOUDOPTIMA_SCOPES", SUB)
    monkeypatch.setenv("CLOUDOPTIMA_RECS_RATES", "dollars")
    monkeypatch.setenv("CLOUDOPTIMA_RECS_LOOK_BACK_DAYS", "90")
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_CLOUD", "mars")
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_ARM_ENDPOINT", "http://arm.example")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    problems = "\n".join(caught.value.problems)
    for name in ("RECS_RATES", "RECS_LOOK_BACK_DAYS", "AZURE_CLOUD", "AZURE_ARM_ENDPOINT"):
        assert f"CLOUDOPTIMA_{name}" in problems


def test_the_container_gives_every_azure_client_the_configured_cloud(monkeypatch):
    from bot.container import build

    monkeypatch.setenv("CLOUDOPTIMA_SCOPES", SUB)
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_CLOUD", "usgov")
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_AUTHORITY_HOST", "https://login.example.us")
    for name, value in (("TENANT_ID", "t"), ("CLIENT_ID", "c"), ("CLIENT_SECRET", "s")):
        monkeypatch.setenv(f"CLOUDOPTIMA_AZURE_{name}", value)
    monkeypatch.setenv("CLOUDOPTIMA_AZURE_AUTH", "client_secret")  # never probes anything
    container = build(load_settings(database_url="sqlite://"))
    cloud = container.azure_cloud()
    assert cloud.arm_endpoint == "https://management.usgovcloudapi.net"
    assert cloud.authority_host == "https://login.example.us"
    credential = container.azure_credential()
    assert credential._client._authority == "https://login.example.us"  # the sovereign Entra
    assert container.recommendation_sources().sources.prices is None  # no Retail Prices API
    container.close()
