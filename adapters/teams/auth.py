"""Who may post to /api/messages: the Bot Framework token check, stricter than the SDK's defaults.

The Agents SDK's `JwtTokenValidator` does the signature, expiry, audience and tenant-binding
checks. This module adds what the SDK leaves off or only logs:

- issuer validation is always on (`VALIDATE_ISSUER`; the SDK makes it opt-in);
- a token must carry an expiry (`exp`; PyJWT checks it only when present, so a token without
  one would be valid forever);
- the token's `serviceurl` claim must name the activity's `serviceUrl` (the SDK only warns unless
  its outbound host validator is on, and that validator also forbids plain-HTTP service URLs);
- an OpenID Connect metadata URL can replace the SDK's built-in key locations. SDK 1.9.0 reads no
  OpenID document: it picks a JWKS URL from the token's issuer (login.botframework.com for Bot
  Framework tokens, login.microsoftonline.com/<tenant> for Entra tokens). With an override, every
  token's keys come from the `jwks_uri` of that document instead (tests, sovereign clouds).

Anonymous requests are accepted only when the configuration says so explicitly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWTError
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AuthenticationConstants,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.authorization.auth_types import AuthTypes
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator

log = logging.getLogger(__name__)

#: Settings value → the SDK's auth type.
AUTH_TYPES = {
    "client_secret": AuthTypes.client_secret,
    "certificate": AuthTypes.certificate,
    "user_managed_identity": AuthTypes.user_managed_identity,
    "system_managed_identity": AuthTypes.system_managed_identity,
    "federated_credentials": AuthTypes.federated_credentials,
    "workload_identity": AuthTypes.workload_identity,
}
_BOT_FRAMEWORK_ISSUERS = {
    AuthenticationConstants.AGENTS_SDK_TOKEN_ISSUER.lower(),
    AuthenticationConstants.GOV_AGENTS_SDK_TOKEN_ISSUER.lower(),
}
_METADATA_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class TeamsAuth:
    """How the bot proves who it is (outbound) and checks who calls it (inbound)."""

    app_id: str | None = None
    #: Accept requests without a token (local demo only; never with an app id).
    anonymous: bool = False
    auth_type: str = "client_secret"
    tenant_id: str | None = None
    client_secret: str | None = None
    cert_pfx_path: str | None = None
    federated_client_id: str | None = None
    federated_token_file: str | None = None
    #: Replaces the SDK's built-in signing-key locations (see the module docstring).
    openid_metadata_url: str | None = None

    def __post_init__(self) -> None:
        if self.app_id and self.anonymous:
            raise ValueError("anonymous access and an app id exclude each other")
        if not self.app_id and not self.anonymous:
            raise ValueError("an app id is required unless anonymous access is explicitly on")
        if self.auth_type not in AUTH_TYPES:
            raise ValueError(f"unknown auth type {self.auth_type!r}")


def auth_configuration(auth: TeamsAuth) -> AgentAuthConfiguration:
    """The SDK's configuration for the bot's one connection."""
    return AgentAuthConfiguration(
        auth_type=AUTH_TYPES[auth.auth_type],
        client_id=auth.app_id,
        tenant_id=auth.tenant_id,
        client_secret=auth.client_secret,
        cert_pfx_file=auth.cert_pfx_path,
        federated_client_id=auth.federated_client_id,
        federated_token_file=auth.federated_token_file,
        anonymous_allowed=auth.anonymous,
        validate_issuer=True,
    )


class OpenIdSigningKeys:
    """Signing keys from the `jwks_uri` of one OpenID Connect document, whatever the issuer.

    Drop-in for the SDK validator's key manager (`get_signing_key(jwks_uri, header)`).
    """

    def __init__(self, metadata_url: str) -> None:
        self._metadata_url = metadata_url
        self._client: PyJWKClient | None = None
        self._lock = threading.Lock()

    async def get_signing_key(self, _jwks_uri: str, header: dict[str, Any]) -> PyJWK:
        return await asyncio.to_thread(self._signing_key, header)

    def _signing_key(self, header: dict[str, Any]) -> PyJWK:
        kid = header.get(AuthenticationConstants.KEY_ID_HEADER)
        if not isinstance(kid, str):
            raise PyJWKClientConnectionError("token has no key id")
        with self._lock:  # PyJWKClient's cache is not thread-safe
            if self._client is None:
                self._client = PyJWKClient(self._jwks_uri())
            return self._client.get_signing_key(kid)

    def _jwks_uri(self) -> str:
        try:
            with urllib.request.urlopen(
                self._metadata_url, timeout=_METADATA_TIMEOUT_SECONDS
            ) as response:
                document = json.load(response)
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise PyJWKClientConnectionError("OpenID metadata unavailable") from exc
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks_uri, str):
            raise PyJWKClientConnectionError("OpenID metadata has no jwks_uri")
        return jwks_uri


class _Validator(JwtTokenValidator):
    def __init__(self, configuration: AgentAuthConfiguration, keys: OpenIdSigningKeys | None):
        super().__init__(configuration)
        if keys is not None:
            self._jwk_client_manager = keys  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was turned away: HTTP status and a message safe to show the caller."""

    status: int
    message: str


class RequestGuard:
    """Authenticates one request to /api/messages (mounted on that route only)."""

    def __init__(self, configuration: AgentAuthConfiguration, openid_metadata_url: str | None):
        self._configuration = configuration
        keys = OpenIdSigningKeys(openid_metadata_url) if openid_metadata_url else None
        self._validator = _Validator(configuration, keys)

    async def identify(self, authorization: str | None) -> ClaimsIdentity | Refusal:
        """The caller's verified claims, or why the request is refused."""
        if not authorization:
            if self._configuration.ANONYMOUS_ALLOWED:
                return ClaimsIdentity()
            return Refusal(401, "Authorization header missing: send the Bot Framework token.")
        parts = authorization.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return Refusal(401, "Authorization header must be 'Bearer <token>'.")
        try:
            identity = await self._validator.validate_token(parts[1])
        except (PyJWTError, ValueError, KeyError, TypeError) as exc:
            # The reason stays in the log (by type only); callers learn nothing to probe with.
            log.warning("refused a Teams request: %s", type(exc).__name__)
            return Refusal(401, "Invalid token or authentication failed.")
        expiry = identity.get_claim_value("exp")
        if not isinstance(expiry, int | float) or isinstance(expiry, bool):
            # PyJWT checks `exp` only when present: a token without one would never expire.
            log.warning("refused a Teams request: the token has no expiry (exp)")
            return Refusal(401, "Invalid token or authentication failed.")
        return identity

    @staticmethod
    def service_url_allowed(identity: ClaimsIdentity, service_url: str | None) -> bool:
        """Does the token allow replies to `service_url`? (Else a stolen token could redirect.)

        Bot Framework channel tokens always carry a `serviceurl` claim; tokens without one are
        accepted only from other (Entra) issuers, which do not name a service URL.
        """
        if not identity.claims:
            return True  # anonymous, explicitly allowed
        claim = identity.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM)
        if claim is None:
            issuer = str(identity.get_claim_value(AuthenticationConstants.ISSUER_CLAIM) or "")
            return issuer.lower() not in _BOT_FRAMEWORK_ISSUERS
        return _normalized(str(claim)) == _normalized(service_url or "")


def _normalized(url: str) -> str:
    return url.strip().rstrip("/").casefold()
