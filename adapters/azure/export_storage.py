"""Cost Management exports in Azure Storage, read with `azure-storage-blob` and the configured
credential (the bot's identity needs Storage Blob Data Reader on the container; no Cost
Management access at all).

`azblob://<account>/<container>/<prefix>` names where an export writes. This module lists the
blobs under it and downloads them; what they mean (manifests, files) is read elsewhere
(`adapters.exports`). Downloads go to a temporary file chunk by chunk, so memory stays flat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO, Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.storage.blob.aio import ContainerClient

from core.kernel.errors import PermissionDeniedError, UpstreamError, UserInputError

STORAGE = "Azure Storage"
_URL = re.compile(
    r"^azblob://(?P<account>[a-z0-9]{3,24})/(?P<container>[a-z0-9-]{3,63})(?:/(?P<prefix>.*))?$"
)


@dataclass(frozen=True, slots=True)
class BlobLocation:
    account: str
    container: str
    prefix: str

    @property
    def url(self) -> str:
        return f"azblob://{self.account}/{self.container}/{self.prefix}".rstrip("/")


def parse_blob_url(text: str) -> BlobLocation:
    found = _URL.match(text.strip())
    if found is None:
        raise UserInputError(
            f"'{text}' is not an Azure Storage location.",
            accepted=("azblob://<account>/<container>/<prefix>",),
        )
    return BlobLocation(found["account"], found["container"], (found["prefix"] or "").strip("/"))


@dataclass(frozen=True, slots=True)
class BlobItem:
    name: str
    size: int


class ExportContainer:
    """One container of exports (close it: `async with`)."""

    def __init__(
        self,
        location: BlobLocation,
        credential: Any,
        *,
        endpoint_suffix: str = "blob.core.windows.net",
        **client_kwargs: Any,
    ) -> None:
        self.location = location
        self._credential = credential
        self._client = ContainerClient(
            f"https://{location.account}.{endpoint_suffix}",
            location.container,
            credential=credential,
            **client_kwargs,
        )

    async def __aenter__(self) -> ExportContainer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.close()
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()

    async def list(self, prefix: str | None = None) -> list[BlobItem]:
        """Every blob under the prefix (the location's by default), by name."""
        wanted = self.location.prefix if prefix is None else prefix
        try:
            return sorted(
                [
                    BlobItem(b.name, int(b.size or 0))
                    async for b in self._client.list_blobs(name_starts_with=wanted or None)
                ],
                key=lambda b: b.name,
            )
        except AzureError as exc:
            raise _mapped(exc, self.location.url) from exc

    async def read(self, name: str) -> bytes:
        """A small blob (a manifest) whole."""
        try:
            downloader = await self._client.download_blob(name)
            return bytes(await downloader.readall())
        except AzureError as exc:
            raise _mapped(exc, f"{self.location.url} blob {name}") from exc

    async def download(self, name: str, target: IO[bytes]) -> int:
        """A blob into `target`, chunk by chunk; how many bytes."""
        size = 0
        try:
            downloader = await self._client.download_blob(name)
            async for chunk in downloader.chunks():
                target.write(chunk)
                size += len(chunk)
        except AzureError as exc:
            raise _mapped(exc, f"{self.location.url} blob {name}") from exc
        target.flush()
        return size


def _mapped(exc: AzureError, where: str) -> Exception:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) and status is None:
        return PermissionDeniedError(
            f"Could not sign in to read {where}.",
            hint="Check the Azure credential settings (CLOUDOPTIMA_AZURE_AUTH and friends).",
        )
    if status == 403:
        return PermissionDeniedError(
            f"Not allowed to read {where}.",
            hint="Give the bot's identity Storage Blob Data Reader on the container.",
        )
    if status == 404:
        return UserInputError(f"{where} does not exist.", hint="Check the account and container.")
    code = exc.error_code if isinstance(exc, HttpResponseError) else None
    return UpstreamError(
        f"reading {where} failed ({status or type(exc).__name__}).",
        service=STORAGE,
        code=code,
        hint="Try again later; nothing of this run was imported.",
    )
