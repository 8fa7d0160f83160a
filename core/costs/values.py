"""The values the stored costs have, per filter: resolving what people type (a subscription id
prefix, a unique name prefix) and suggesting the closest when a filter matches nothing.

Read from the cost group catalogue (`core.costs.catalog`), memoized per version of the groups:
a check costs no query beyond the catalogue's own version check.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Engine

from core.costs.catalog import Group, Groups, catalog_for
from core.costs.model import CostFilter, FilterKind
from core.kernel.db.engine import read_snapshot
from core.kernel.errors import UserInputError

#: Suggestions offered when a filter matches nothing.
SUGGESTIONS = 3


def current_groups(engine: Engine) -> Groups:
    """The cost groups as stored now."""
    with read_snapshot(engine) as conn:
        return catalog_for(engine).groups(conn)


def _value(kind: FilterKind, tag_key: str | None, group: Group) -> str | None:
    match kind:
        case FilterKind.SUBSCRIPTION:
            return group.subscription_name
        case FilterKind.RESOURCE_GROUP:
            return group.resource_group
        case FilterKind.SERVICE:
            return group.service_name
        case FilterKind.LOCATION:
            return group.location
        case FilterKind.METER:
            return group.meter_category
        case FilterKind.CHARGE_TYPE:
            return group.charge_type
        case FilterKind.TAG:
            return group.tags.get(tag_key or "")
    raise AssertionError(kind)


def known_values(groups: Groups, kind: FilterKind, tag_key: str | None = None) -> frozenset[str]:
    """Every non-empty value of a filter in the stored costs (subscriptions: their names)."""

    def build(groups: Groups) -> frozenset[str]:
        found = (_value(kind, tag_key, g) for g in groups.by_id.values())
        return frozenset(v for v in found if v)

    return groups.derived(("known values", kind, tag_key), build)


def _subscriptions(groups: Groups) -> dict[str, set[str]]:
    """Subscription id (lower-case) → its names, as stored."""

    def build(groups: Groups) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for g in groups.by_id.values():
            out[g.subscription_id.lower()].add(g.subscription_name)
        return dict(out)

    return groups.derived("subscription names by id", build)


def resolve_subscription(groups: Groups, value: str) -> str | None:
    """What `sub:<value>` means: the id or name as stored when `value` is one (any case), a
    prefix of exactly one id, or a case-insensitive prefix of exactly one name; None when it
    matches no subscription. Several matches are refused, naming them."""
    wanted = value.strip().lower()
    by_id = _subscriptions(groups)
    names = {name.lower(): name for found in by_id.values() for name in found}
    if wanted in by_id:
        return wanted
    if wanted in names:
        return names[wanted]
    ids = sorted(i for i in by_id if i.startswith(wanted))
    named = sorted(n for key, n in names.items() if key.startswith(wanted))
    matches = [*ids, *named]
    if len(matches) > 1:
        listed = ", ".join(matches[:5])
        raise UserInputError(
            f"'sub:{value[:40]}' matches several subscriptions: {listed}.",
            hint="Give more of the name or id, e.g. `sub:" + matches[0] + "`.",
        )
    return matches[0] if matches else None


def matches_anything(groups: Groups, f: CostFilter) -> bool:
    """Whether any stored cost has this filter's value (values ignore case, except tags)."""
    if f.kind is FilterKind.SUBSCRIPTION:
        return resolve_subscription(groups, f.value) is not None
    values = known_values(groups, f.kind, f.tag_key)
    if f.kind is FilterKind.TAG:
        return f.value in values
    return f.value.lower() in {v.lower() for v in values}


def closest_values(groups: Groups, f: CostFilter, limit: int = SUGGESTIONS) -> list[str]:
    """The stored values closest to a filter's (for "did you mean …?")."""
    values = sorted(known_values(groups, f.kind, f.tag_key))
    lowered = {v.lower(): v for v in values}
    close = difflib.get_close_matches(f.value.lower(), list(lowered), n=limit, cutoff=0.5)
    return [lowered[c] for c in close]


def did_you_mean(values: Iterable[str]) -> str:
    found = list(values)
    if not found:
        return ""
    return "Did you mean " + " or ".join(f"`{v}`" for v in found) + "?"
