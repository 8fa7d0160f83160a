"""Azure cost scopes: parsed, normalized and checked for overlap.

Scope strings are ARM paths. They are stored lower-cased without a trailing slash (a trailing slash
makes the SDK build `.../abc//providers/...`), so one scope always has one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.kernel.errors import UserInputError


class ScopeKind(StrEnum):
    SUBSCRIPTION = "subscription"
    RESOURCE_GROUP = "resource group"
    MANAGEMENT_GROUP = "management group"
    BILLING_ACCOUNT = "billing account"
    BILLING_PROFILE = "billing profile"


_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_NAME = r"[^/\s]+"
_PATTERNS: tuple[tuple[ScopeKind, re.Pattern[str]], ...] = (
    (ScopeKind.SUBSCRIPTION, re.compile(rf"^/subscriptions/{_GUID}$")),
    (ScopeKind.RESOURCE_GROUP, re.compile(rf"^/subscriptions/{_GUID}/resourcegroups/{_NAME}$")),
    (
        ScopeKind.MANAGEMENT_GROUP,
        re.compile(rf"^/providers/microsoft\.management/managementgroups/{_NAME}$"),
    ),
    (
        ScopeKind.BILLING_ACCOUNT,
        re.compile(rf"^/providers/microsoft\.billing/billingaccounts/{_NAME}$"),
    ),
    (
        ScopeKind.BILLING_PROFILE,
        re.compile(
            rf"^/providers/microsoft\.billing/billingaccounts/{_NAME}/billingprofiles/{_NAME}$"
        ),
    ),
)

ACCEPTED_FORMS = (
    "<subscription-guid>",
    "/subscriptions/<guid>",
    "/subscriptions/<guid>/resourceGroups/<name>",
    "/providers/Microsoft.Management/managementGroups/<id>",
    "/providers/Microsoft.Billing/billingAccounts/<id>",
    "/providers/Microsoft.Billing/billingAccounts/<id>/billingProfiles/<id>",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """A normalized cost scope."""

    path: str
    kind: ScopeKind

    def __str__(self) -> str:
        return self.path

    @property
    def short_name(self) -> str:
        """`sub 8f1c2b9e`, `rg web (8f1c2b9e)`, `mg finance`: for narrow tables and logs."""
        parts = self.path.split("/")
        match self.kind:
            case ScopeKind.SUBSCRIPTION:
                return f"sub {parts[2][:8]}"
            case ScopeKind.RESOURCE_GROUP:
                return f"rg {parts[4]} ({parts[2][:8]})"
            case ScopeKind.MANAGEMENT_GROUP:
                return f"mg {parts[-1]}"
            case _:
                return f"billing {parts[-1]}"

    def contains(self, other: Scope) -> bool:
        """True when `other` lies inside this scope (by path; management groups can't be seen)."""
        return other.path != self.path and other.path.startswith(self.path + "/")


def parse_scope(text: str) -> Scope:
    """Parse one scope; a bare subscription GUID is accepted for convenience."""
    raw = text.strip().rstrip("/").lower()
    if re.fullmatch(_GUID, raw):
        raw = f"/subscriptions/{raw}"
    if raw and not raw.startswith("/"):
        raw = "/" + raw
    for kind, pattern in _PATTERNS:
        if pattern.match(raw):
            return Scope(path=raw, kind=kind)
    raise UserInputError(f"'{text}' is not an Azure cost scope.", accepted=ACCEPTED_FORMS)


def check_no_overlap(scopes: Iterable[Scope]) -> list[str]:
    """Problems with a set of scopes to ingest: duplicates and nesting would count costs twice."""
    problems: list[str] = []
    seen: list[Scope] = []
    for scope in scopes:
        if scope in seen:
            problems.append(f"scope {scope} is listed twice")
            continue
        for other in seen:
            if other.contains(scope) or scope.contains(other):
                outer, inner = (other, scope) if other.contains(scope) else (scope, other)
                problems.append(
                    f"scope {inner} lies inside {outer}: its costs would be counted twice"
                )
        seen.append(scope)
    return problems
