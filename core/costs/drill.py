"""Drilling into a row of a breakdown, and back out.

Opening a row filters by its value and regroups by the next natural dimension: subscription →
resource group → resource; service → meter → resource; location → service; a tag's value →
resource group; charge type → service. The way back drops the last filter and groups by its
dimension again. Every button carries the whole command (period pinned with `asof:`), so a
press works the same in any channel and on any replica, whenever it comes.
"""

from __future__ import annotations

from core.costs.actions import CostsAction
from core.costs.breakdown import NO_VALUE, UNTAGGED, BreakdownRow
from core.costs.grammar import CostsRequest, command_text
from core.costs.model import CostFilter, Dimension, DimensionKind, FilterKind
from core.kernel.cards import Button

#: Where a row of each dimension leads (None: a resource is as far as it goes).
NEXT: dict[DimensionKind, DimensionKind | None] = {
    DimensionKind.SUBSCRIPTION: DimensionKind.RESOURCE_GROUP,
    DimensionKind.RESOURCE_GROUP: DimensionKind.RESOURCE,
    DimensionKind.SERVICE: DimensionKind.METER,
    DimensionKind.METER: DimensionKind.RESOURCE,
    DimensionKind.LOCATION: DimensionKind.SERVICE,
    DimensionKind.TAG: DimensionKind.RESOURCE_GROUP,
    DimensionKind.CHARGE_TYPE: DimensionKind.SERVICE,
    DimensionKind.RESOURCE: None,
}
#: The filter a row's value becomes.
FILTER_OF: dict[DimensionKind, FilterKind] = {
    DimensionKind.SUBSCRIPTION: FilterKind.SUBSCRIPTION,
    DimensionKind.RESOURCE_GROUP: FilterKind.RESOURCE_GROUP,
    DimensionKind.SERVICE: FilterKind.SERVICE,
    DimensionKind.METER: FilterKind.METER,
    DimensionKind.LOCATION: FilterKind.LOCATION,
    DimensionKind.TAG: FilterKind.TAG,
    DimensionKind.CHARGE_TYPE: FilterKind.CHARGE_TYPE,
}
#: The dimension a filter narrows to one value.
FILTERED_DIMENSION = {kind: dim for dim, kind in FILTER_OF.items()}
#: Button labels are cut here (Slack allows 75 characters).
LABEL_MAX = 60


def _same_filter(a: CostFilter, b: CostFilter) -> bool:
    return a.kind is b.kind and a.tag_key == b.tag_key


def row_action(request: CostsRequest, row: BreakdownRow) -> Button | None:
    """The button that opens `row`, or None when there is nothing behind it (a resource) or
    nothing to filter on (no value, untagged)."""
    dimension = request.dimension
    following = NEXT[dimension.kind]
    if following is None or row.key in (UNTAGGED, NO_VALUE):
        return None
    opened = CostFilter(FILTER_OF[dimension.kind], row.key, dimension.tag_key)
    filters = (*(f for f in request.filters if not _same_filter(f, opened)), opened)
    label = row.label if len(row.label) <= LABEL_MAX else row.label[: LABEL_MAX - 1] + "…"
    return Button(
        label=f"{label} ›",
        action_id=CostsAction.DRILLDOWN,
        value=command_text(request, Dimension(following), filters),
    )


def back_button(request: CostsRequest) -> Button | None:
    """Back out of the last filter: without it, grouped by its dimension; None unfiltered."""
    if not request.filters:
        return None
    last = request.filters[-1]
    dimension = Dimension(FILTERED_DIMENSION[last.kind], last.tag_key)
    return Button(
        label=f"‹ Back to all {dimension.plural}",
        action_id=CostsAction.DRILLDOWN,
        value=command_text(request, dimension, request.filters[:-1]),
    )
