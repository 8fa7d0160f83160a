"""Outbound calls to Teams: tokens that fail cleanly, and the request id on every call.

The SDK asks for an outbound token (MSAL, for the bot's Entra app) before it can answer any
turn. When that fails — a wrong or expired client secret, a wrong tenant, Entra unreachable —
the SDK raises from deep inside the turn, MSAL logs its own error, and the request would answer
500 with a traceback in the log. `GuardedConnections` turns every such failure into one
`OutboundTokenError` carrying what to check; the bot acknowledges the activity (Teams must not
retry an answer it cannot get) and logs the failure once, with that guidance.
"""

from __future__ import annotations

import re
from typing import Any

from microsoft_agents.hosting.core import Connections, RestChannelServiceClientFactory
from microsoft_agents.hosting.core.authorization import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    ClaimsIdentity,
)

from core.kernel.service import REQUEST_ID

GUIDANCE = (
    "check CLOUDOPTIMA_TEAMS_APP_ID, CLOUDOPTIMA_TEAMS_TENANT_ID and the credential "
    "CLOUDOPTIMA_TEAMS_AUTH_TYPE names (an expired or wrong client secret is the usual cause), "
    "and that the Entra login endpoint is reachable from here"
)
_ENTRA_CODE = re.compile(r"AADSTS\d{4,9}")
REQUEST_ID_HEADER = "X-Request-ID"


class OutboundTokenError(Exception):
    """The bot could not get a token to answer Teams; its message says what to check."""

    def __init__(self, cause: BaseException) -> None:
        codes = sorted(set(_ENTRA_CODE.findall(str(cause))))
        detail = f"{type(cause).__name__}" + (f", Entra {', '.join(codes)}" if codes else "")
        super().__init__(f"could not get an outbound token for Teams ({detail}): {GUIDANCE}")


class GuardedTokenProvider:
    """A token provider whose failures are `OutboundTokenError`s (without the SDK's chain:
    its frames and messages quote the credential configuration)."""

    def __init__(self, inner: AccessTokenProviderBase) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._inner.configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        try:
            return await self._inner.get_access_token(resource_url, scopes, force_refresh)
        except Exception as exc:
            raise OutboundTokenError(exc) from None

    def get_token_credential(self) -> Any:
        return self._inner.get_token_credential()


class GuardedConnections:
    """`Connections` whose every token provider is guarded (see the module docstring)."""

    def __init__(self, inner: Connections) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_connection(self, connection_name: str) -> Any:
        return GuardedTokenProvider(self.inner.get_connection(connection_name))

    def get_default_connection(self) -> Any:
        return GuardedTokenProvider(self.inner.get_default_connection())

    def get_token_provider(self, claims_identity: ClaimsIdentity, service_url: str) -> Any:
        return GuardedTokenProvider(self.inner.get_token_provider(claims_identity, service_url))

    def get_token_provider_from_activity(
        self, claims_identity: ClaimsIdentity, activity: Any
    ) -> Any:
        return GuardedTokenProvider(
            self.inner.get_token_provider_from_activity(claims_identity, activity)
        )

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self.inner.get_default_connection_configuration()


class RequestIdClientFactory(RestChannelServiceClientFactory):
    """The SDK's connector client factory; each client also names the request being handled
    (`X-Request-ID`, from `core.kernel.service.REQUEST_ID`) on every call it makes (replies,
    updates, proactive sends)."""

    async def create_connector_client(self, *args: Any, **kwargs: Any) -> Any:
        client = await super().create_connector_client(*args, **kwargs)
        request_id = REQUEST_ID.get()
        session = getattr(client, "client", None)
        if request_id and session is not None and hasattr(session, "headers"):
            session.headers[REQUEST_ID_HEADER] = request_id
        return client
