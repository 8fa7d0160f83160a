"""Credentials: validation, and a real ClientSecretCredential against a fake Entra token
endpoint (DefaultAzureCredential and ManagedIdentityCredential are never built here: they
probe IMDS)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.azure import build_cost_source, make_credential
from adapters.azure.simulated import Router, SimulatedResponse, SimulatedTransport
from adapters.azure.simulated.transport import request_json
from core.costs.model import CostType
from core.kernel.errors import ConfigurationError, PermissionDeniedError
from core.kernel.scopes import parse_scope

TENANT_ID = "00000000-0000-0000-0000-00000000aaaa"
TOKEN_URL = rf"^https://login\.microsoftonline\.com/{TENANT_ID}/oauth2/v2\.0/token$"


class FakeEntra:
    """The token endpoint: a token for the right secret, AADSTS7000215 otherwise."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.forms: list[dict] = []
        self.router = Router()
        self.router.add("POST", TOKEN_URL, self._token)

    def _token(self, request, match) -> SimulatedResponse:
        form = request_json(request)
        self.forms.append(form)
        if form.get("client_secret") != self.secret:
            return SimulatedResponse(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        return SimulatedResponse(
            200,
            {"token_type": "Bearer", "expires_in": 3600, "access_token": "simulated-token"},
        )

    def transport(self) -> SimulatedTransport:
        return SimulatedTransport(self.router, require_token=None)


async def test_client_secret_credential_gets_a_token_from_entra():
    entra = FakeEntra("s3cret")
    credential = make_credential(
        "client_secret", TENANT_ID, "app-id", "s3cret", transport=entra.transport()
    )
    async with credential:
        token = await credential.get_token("https://management.azure.com/.default")

    assert token.token == "simulated-token"
    assert entra.forms == [
        {
            "client_id": "app-id",
            "client_secret": "s3cret",
            "grant_type": "client_credentials",
            "scope": "https://management.azure.com/.default",
        }
    ]


async def test_cost_queries_run_with_a_client_secret_token(tenant):
    entra = FakeEntra("s3cret")
    credential = make_credential(
        "client_secret", TENANT_ID, "app-id", "s3cret", transport=entra.transport()
    )
    source = build_cost_source(credential=credential, transport=tenant.transport())
    day = date(2026, 11, 3)
    async with source:
        days = [
            d async for d in source.days(parse_scope(tenant.scopes[0]), CostType.ACTUAL, day, day)
        ]

    assert days[0].rows
    assert len(entra.forms) == 1


async def test_a_wrong_secret_is_a_permission_error_that_points_at_the_credentials(tenant):
    entra = FakeEntra("s3cret")
    credential = make_credential(
        "client_secret", TENANT_ID, "app-id", "wrong", transport=entra.transport()
    )
    source = build_cost_source(credential=credential, transport=tenant.transport(), max_retries=0)
    day = date(2026, 11, 3)

    with pytest.raises(PermissionDeniedError) as caught:
        async with source:
            async for _ in source.days(parse_scope(tenant.scopes[0]), CostType.ACTUAL, day, day):
                pass

    assert "AADSTS7000215" in caught.value.message
    assert "credentials" in (caught.value.hint or "")
    assert "wrong" not in caught.value.user_message()
    assert tenant.queries.calls == 0


def test_client_secret_auth_lists_every_missing_value():
    with pytest.raises(ConfigurationError) as caught:
        make_credential("client_secret", tenant_id=TENANT_ID)

    assert len(caught.value.problems) == 2
    assert "client id" in caught.value.problems[0]
    assert "client secret" in caught.value.problems[1]


def test_an_unknown_auth_method_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="default, client_secret, managed_identity"):
        make_credential("certificate")


class FakeCredential:
    def __init__(self) -> None:
        self.closed = False

    async def get_token(self, *scopes, **kwargs):  # pragma: no cover - never asked
        raise AssertionError

    async def close(self) -> None:
        self.closed = True


async def test_closing_the_source_closes_its_credential_unless_told_not_to():
    owned, shared = FakeCredential(), FakeCredential()

    await build_cost_source(credential=owned).aclose()
    await build_cost_source(credential=shared, close_credential=False).aclose()

    assert owned.closed and not shared.closed
