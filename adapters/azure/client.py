"""What the Azure sources share: owning a Cost Management client and closing it once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from azure.mgmt.costmanagement.aio import CostManagementClient


class OwnsCostManagementClient:
    """Holds an async `CostManagementClient`; `aclose()` (or `async with`) closes it, and then
    whatever `on_close` releases (e.g. the credential), once."""

    def __init__(
        self,
        client: CostManagementClient,
        *,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._on_close = on_close
        self._closed = False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._client.close()
        if self._on_close is not None:
            await self._on_close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
