"""Which Azure cloud CloudOptima talks to: public, US Government or China (21Vianet).

`CLOUDOPTIMA_AZURE_CLOUD` picks the endpoints; `CLOUDOPTIMA_AZURE_ARM_ENDPOINT` and
`CLOUDOPTIMA_AZURE_AUTHORITY_HOST` override them (Azure Stack, private clouds). Every client
CloudOptima builds takes its base URL, token scope and authority from here, so none of them
can quietly fall back to the public cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from core.kernel.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class AzureCloud:
    name: str
    #: Azure Resource Manager: Cost Management, Advisor, Resource Graph, Compute, Reservations.
    arm_endpoint: str
    #: Microsoft Entra ID, where credentials get their tokens.
    authority_host: str
    #: `<region>.<this>` serves Azure Monitor's metrics batch API.
    metrics_suffix: str
    #: The Retail Prices API (public cloud only; elsewhere the bundled snapshot is used).
    prices_endpoint: str | None

    @property
    def storage_suffix(self) -> str:
        """`<account>.<this>` serves Azure Storage's Blob service (exports land there)."""
        return {"usgov": "blob.core.usgovcloudapi.net", "china": "blob.core.chinacloudapi.cn"}.get(
            self.name, "blob.core.windows.net"
        )

    @property
    def credential_scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"

    def metrics_endpoint(self, region: str) -> str:
        return f"https://{region.lower()}.{self.metrics_suffix}"

    @property
    def metrics_audience(self) -> str:
        return f"https://{self.metrics_suffix}"

    def arm_client_kwargs(self) -> dict[str, Any]:
        """What every ARM client is built with."""
        return {"base_url": self.arm_endpoint, "credential_scopes": [self.credential_scope]}


CLOUDS = {
    "public": AzureCloud(
        "public",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "metrics.monitor.azure.com",
        "https://prices.azure.com",
    ),
    "usgov": AzureCloud(
        "usgov",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "metrics.monitor.azure.us",
        None,
    ),
    "china": AzureCloud(
        "china",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "metrics.monitor.azure.cn",
        None,
    ),
}
PUBLIC = CLOUDS["public"]


def resolve_cloud(
    name: str = "public", *, arm_endpoint: str | None = None, authority_host: str | None = None
) -> AzureCloud:
    """The named cloud with any explicit endpoint overrides (https only)."""
    cloud = CLOUDS.get(name.lower())
    if cloud is None:
        raise ConfigurationError(
            [f"Azure cloud '{name}' is unknown; use one of {', '.join(CLOUDS)}"]
        )
    problems = [
        f"{label} must be an https:// URL (bearer tokens are never sent over http)"
        for label, value in (("ARM endpoint", arm_endpoint), ("authority host", authority_host))
        if value and not value.startswith("https://")
    ]
    if problems:
        raise ConfigurationError(problems)
    if arm_endpoint:
        cloud = replace(cloud, arm_endpoint=arm_endpoint.rstrip("/"))
    if authority_host:
        cloud = replace(cloud, authority_host=authority_host.rstrip("/"))
    return cloud


class CallCounter:
    """Counts the HTTP requests clients send (retries included): a `raw_request_hook`."""

    #: URLs kept for inspection (benchmarks break calls down by API); the count goes on.
    KEEP_URLS = 10_000

    def __init__(self) -> None:
        self.count = 0
        self.by_host: dict[str, int] = {}
        self.urls: list[str] = []

    def __call__(self, request: Any) -> None:
        self.count += 1
        url = str(getattr(request.http_request, "url", ""))
        if len(self.urls) < self.KEEP_URLS:
            self.urls.append(url)
        host = url.split("/")[2] if url.count("/") >= 2 else url
        self.by_host[host] = self.by_host.get(host, 0) + 1

    def hook(self) -> dict[str, Callable[[Any], None]]:
        return {"raw_request_hook": self}
