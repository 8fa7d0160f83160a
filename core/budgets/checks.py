"""Checks that keep a budget able to fire: a scope that matches stored costs, `sub:` resolved to
the subscription meant, targets this deployment can deliver to.

A budget on a typo (`rg:rg-prod-wbe`) would be created silently and never fire; here it is
created with a warning naming the closest values the costs have ("did you mean rg-prod-web?").
A target whose channel is not configured (no SMTP relay, no webhook secret, no Slack or Teams
credentials) would stay "queued" forever; here it is refused with the setting to set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from sqlalchemy import Engine

from core.budgets.model import BudgetScope
from core.costs.breakdown import filter_predicate
from core.costs.catalog import Groups
from core.costs.model import CostFilter, FilterKind
from core.costs.values import (
    closest_values,
    current_groups,
    did_you_mean,
    matches_anything,
    resolve_subscription,
)
from core.delivery.targets import Target, TargetKind, describe_target
from core.kernel.errors import UserInputError

#: How each target kind is named in a refusal.
_KIND_NAMES = {
    TargetKind.SLACK: "Slack",
    TargetKind.TEAMS: "Microsoft Teams",
    TargetKind.WEBHOOK: "Webhook",
    TargetKind.EMAIL: "E-mail",
}


def scope_filters(scope: BudgetScope) -> list[CostFilter]:
    """The costs filters a budget scope is made of (the ingested-scope filter aside)."""
    plain = [
        (FilterKind.SUBSCRIPTION, scope.subscription),
        (FilterKind.RESOURCE_GROUP, scope.resource_group),
        (FilterKind.SERVICE, scope.service),
        (FilterKind.LOCATION, scope.location),
        (FilterKind.METER, scope.meter),
    ]
    filters = [CostFilter(kind, value) for kind, value in plain if value]
    filters += [CostFilter(FilterKind.TAG, value, key) for key, value in scope.tags]
    return filters


def resolve_scope(engine: Engine, scope: BudgetScope) -> BudgetScope:
    """`sub:` as the subscription it means: an id, a name, a unique prefix of an id or (any
    case) of a name; stored lower-cased like every budget filter. Unknown values stay as typed
    (`scope_warnings` says so)."""
    if not scope.subscription:
        return scope
    found = resolve_subscription(current_groups(engine), scope.subscription)
    return scope if found is None else replace(scope, subscription=found.lower())


def scope_warnings(engine: Engine, scope: BudgetScope) -> list[str]:
    """Why the scope may never fire: a filter value no stored cost has (with the closest ones),
    or filters that each match but match nothing together. Empty without cost data."""
    filters = scope_filters(scope)
    if not filters:
        return []
    groups = current_groups(engine)
    if not groups.by_id:
        return []
    warnings = [_unknown(groups, f) for f in filters if not matches_anything(groups, f)]
    if not warnings and not _any_group_matches(groups, filters):
        warnings.append(
            f"No stored cost matches all of {scope.describe()} together: this budget counts "
            "nothing yet and cannot fire until such costs arrive."
        )
    return warnings


def _unknown(groups: Groups, f: CostFilter) -> str:
    shown = f.describe()
    close = did_you_mean(f"{f.kind}:{v}" if f.kind is not FilterKind.TAG else v for v in
                         closest_values(groups, f))  # fmt: skip
    text = f"No stored cost has {shown}: this budget counts nothing and cannot fire."
    return f"{text} {close}" if close else text


def _any_group_matches(groups: Groups, filters: Iterable[CostFilter]) -> bool:
    passes = [filter_predicate(f) for f in filters]
    return any(all(p(g) for p in passes) for g in groups.by_id.values())


def check_targets(targets: Iterable[Target], unconfigured: Mapping[TargetKind, str]) -> None:
    """Refuse targets this deployment cannot deliver to, saying what to set."""
    for target in targets:
        setting = unconfigured.get(target.kind)
        if setting is not None:
            kind = _KIND_NAMES[target.kind]
            raise UserInputError(
                f"{kind} alerts are not configured in this deployment, so "
                f"{describe_target(target)} would never receive one.",
                hint=f"Whoever runs CloudOptima can set {setting}; until then choose another "
                "target.",
            )
