"""What the Azure sources share: owning a Cost Management client and closing it once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
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


class ColumnFinder:
    """Positions of a Cost Management answer's columns, found by name (any case; the first
    column of a name wins). Answers are read by name, never by position: column order differs
    between api-versions and examples."""

    def __init__(self, raw_columns: object, fail: Callable[[str], Exception]) -> None:
        if not isinstance(raw_columns, Sequence) or isinstance(raw_columns, str | bytes):
            raise fail("the response has no column list")
        self.names: list[str] = []
        for column in raw_columns:
            name = column.get("name") if isinstance(column, Mapping) else None
            if not isinstance(name, str):
                raise fail(f"the response has a column without a name: {column!r}")
            self.names.append(name)
        self._position: dict[str, int] = {}
        for i, name in enumerate(self.names):
            self._position.setdefault(name.lower(), i)
        self._fail = fail

    def find(self, *candidates: str) -> int:
        """The position of the first of `candidates` present; a failure naming the first."""
        for candidate in candidates:
            if candidate.lower() in self._position:
                return self._position[candidate.lower()]
        listed = ", ".join(self.names) or "none"
        raise self._fail(f"the response has no column '{candidates[0]}' (columns: {listed})")
