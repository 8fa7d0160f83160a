"""The async azure-identity credential for the configured authentication method."""

from __future__ import annotations

from typing import Any, Literal

from azure.core.credentials_async import AsyncTokenCredential

from core.kernel.errors import ConfigurationError

AuthMethod = Literal["default", "client_secret", "managed_identity"]
AUTH_METHODS: tuple[str, ...] = ("default", "client_secret", "managed_identity")


def make_credential(
    auth: AuthMethod | str,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    authority: str | None = None,
    **kwargs: Any,
) -> AsyncTokenCredential:
    """Build the credential; the caller closes it (`await credential.close()`).

    - `default`: DefaultAzureCredential (environment, workload identity, managed identity,
      Azure CLI …); `client_id` selects a user-assigned managed identity.
    - `client_secret`: a service principal; needs `tenant_id`, `client_id`, `client_secret`.
    - `managed_identity`: system-assigned, or user-assigned when `client_id` is given.

    `authority` is the Entra host of a sovereign cloud (`adapters.azure.cloud`); managed
    identities need none. Extra keyword arguments go to the credential (tests pass
    `transport=`).
    Raises `ConfigurationError` listing every missing value.
    """
    from azure.identity.aio import (
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    if auth == "client_secret":
        missing = [
            name
            for name, value in (
                ("tenant id", tenant_id),
                ("client id", client_id),
                ("client secret", client_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                [f"Azure {name} is required for client secret authentication" for name in missing]
            )
        assert tenant_id and client_id and client_secret
        if authority:
            kwargs.setdefault("authority", authority)
        return ClientSecretCredential(tenant_id, client_id, client_secret, **kwargs)
    if auth == "managed_identity":
        if client_id:
            return ManagedIdentityCredential(client_id=client_id, **kwargs)
        return ManagedIdentityCredential(**kwargs)
    if auth == "default":
        if client_id:
            kwargs.setdefault("managed_identity_client_id", client_id)
        if authority:
            kwargs.setdefault("authority", authority)
        return DefaultAzureCredential(**kwargs)
    raise ConfigurationError(
        [f"Azure authentication method '{auth}' is unknown; use one of {', '.join(AUTH_METHODS)}"]
    )
