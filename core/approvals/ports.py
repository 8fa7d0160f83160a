"""What the approvals feature needs from outside: Slack user groups' members, Advisor
suppressions, the current state of resources (for implemented detection)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


class GroupDirectory(Protocol):
    def members(self, workspace_id: str, group_id: str) -> frozenset[str]:
        """The user ids in a Slack user group (`usergroups.users.list`). Raises on failure."""
        ...


class AdvisorSuppressions(Protocol):
    """Azure Advisor's suppressions API (adapters/azure/advisor_suppressions.py)."""

    async def suppress(
        self, resource_id: str, recommendation_id: str, name: str, ttl: timedelta | None
    ) -> None:
        """Suppress Advisor recommendation `recommendation_id` of `resource_id` under `name`
        for `ttl` (snoozed); no `ttl`: for good (dismissed)."""
        ...


@dataclass(frozen=True, slots=True)
class PortalSuppression:
    """An Advisor recommendation Advisor lists as suppressed (snoozed or dismissed)."""

    recommendation_id: str
    #: Lower-cased ARM id of the resource it is about.
    resource_id: str


@dataclass(frozen=True, slots=True)
class ResourceState:
    exists: bool
    #: A VM's size (`Standard_D2s_v5`), when the resource has one.
    sku: str | None = None


class ResourceStates(Protocol):
    def states(self, resource_ids: Iterable[str]) -> Mapping[str, ResourceState]:
        """Lower-cased resource id → its state now; ids not answered are unknown."""
        ...
