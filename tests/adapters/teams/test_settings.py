"""Teams settings: anonymous access only for the demo, and what each auth type needs."""

from __future__ import annotations

import pytest

from bot.settings import load_settings
from core.kernel.errors import ConfigurationError
from tests.support.teams import APP_ID


def test_anonymous_access_needs_the_demo_flag():
    with pytest.raises(ConfigurationError) as error:
        load_settings(teams_anonymous=True, scopes="00000000-0000-0000-0000-000000000001")
    assert "CLOUDOPTIMA_TEAMS_ANONYMOUS" in error.value.user_message()


def test_anonymous_access_and_an_app_id_exclude_each_other():
    with pytest.raises(ConfigurationError) as error:
        load_settings(demo=True, teams_anonymous=True, teams_app_id=APP_ID)
    assert "unset one of them" in error.value.user_message()


@pytest.mark.parametrize(
    ("auth_type", "missing"),
    [
        ("client_secret", ["TEAMS_TENANT_ID", "TEAMS_CLIENT_SECRET"]),
        ("certificate", ["TEAMS_TENANT_ID", "TEAMS_CERT_PFX_PATH"]),
        ("federated_credentials", ["TEAMS_TENANT_ID", "TEAMS_FEDERATED_CLIENT_ID"]),
        ("workload_identity", ["TEAMS_TENANT_ID", "TEAMS_FEDERATED_TOKEN_FILE"]),
        ("user_managed_identity", []),
        ("system_managed_identity", []),
    ],
)
def test_each_auth_type_lists_what_it_still_needs(auth_type, missing):
    overrides = {"demo": True, "teams_app_id": APP_ID, "teams_auth_type": auth_type}
    if not missing:
        assert load_settings(**overrides).teams_enabled
        return
    with pytest.raises(ConfigurationError) as error:
        load_settings(**overrides)
    text = error.value.user_message()
    for name in missing:
        assert f"CLOUDOPTIMA_{name}: required when TEAMS_AUTH_TYPE={auth_type}" in text
