"""`BenefitSource` over Cost Management's savings plan recommendations
(`CostManagementClient.benefit_recommendations.list`).

Asked for the configured term and look-back (`properties/term`, `properties/lookBackPeriod`).
The amounts cover the look-back window (`totalHours`), not a month: the rule converts them.
Answers are read as JSON (the 5.0.0 models are mappings over it), numbers through `str`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from azure.core.exceptions import AzureError, DeserializationError
from azure.mgmt.costmanagement.aio import CostManagementClient

from adapters.azure.client import OwnsCostManagementClient
from adapters.azure.errors import COST_MANAGEMENT, map_api_error
from core.kernel.errors import MalformedResponseError
from core.kernel.money import decimal_from_json_number
from core.recommendations.ports import SavingsPlanOffer


def _malformed(scope: str, what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (savings plan recommendations for {scope}).",
        service=COST_MANAGEMENT,
        code="malformed_response",
        hint="Nothing of this refresh was stored. Report it if it persists.",
    )


def _money(data: Mapping[str, Any], name: str, scope: str, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    try:
        return decimal_from_json_number(value)
    except ValueError:
        raise _malformed(scope, f"'{name}' holds {value!r} where a number was expected") from None


def parse_offer(raw: Any, scope: str) -> SavingsPlanOffer:
    props = raw.get("properties") if isinstance(raw, Mapping) else None
    if not isinstance(props, Mapping):
        raise _malformed(scope, "a recommendation has no properties")
    details = props.get("recommendationDetails")
    if not isinstance(details, Mapping):
        raise _malformed(scope, "a recommendation has no recommendationDetails")
    hours = props.get("totalHours")
    if isinstance(hours, bool) or not isinstance(hours, int) or hours <= 0:
        raise _malformed(
            scope, f"'totalHours' holds {hours!r} where a positive number was expected"
        )
    currency = props.get("currencyCode")
    if not isinstance(currency, str) or len(currency) != 3:
        raise _malformed(scope, f"'currencyCode' holds {currency!r}")
    return SavingsPlanOffer(
        scope=scope.lower(),
        benefit_scope=str(props.get("scope") or "Shared"),
        term=str(props.get("term") or ""),
        look_back=str(props.get("lookBackPeriod") or ""),
        total_hours=hours,
        currency=currency.upper(),
        commitment_per_hour=_money(details, "commitmentAmount", scope),
        savings_amount=_money(details, "savingsAmount", scope),
        cost_without_benefit=_money(props, "costWithoutBenefit", scope),
        total_cost_with_benefit=_money(details, "totalCost", scope),
        savings_percentage=_money(details, "savingsPercentage", scope, optional=True),
        coverage_percentage=_money(details, "coveragePercentage", scope, optional=True),
    )


class AzureBenefitSource(OwnsCostManagementClient):
    """Savings plan recommendations of a billing scope (subscription, billing account …)."""

    def __init__(self, client: CostManagementClient) -> None:
        super().__init__(client)

    async def savings_plans(self, scope: str, term: str, look_back: str) -> list[SavingsPlanOffer]:
        wanted = f"properties/lookBackPeriod eq '{look_back}' AND properties/term eq '{term}'"
        offers: list[SavingsPlanOffer] = []
        try:
            async for raw in self._client.benefit_recommendations.list(scope, filter=wanted):
                offers.append(parse_offer(raw, scope))
        except DeserializationError:
            raise _malformed(scope, "the answer does not have the expected shape") from None
        except AzureError as exc:
            raise map_api_error(
                exc,
                service=COST_MANAGEMENT,
                what="savings plan recommendations",
                target=scope,
                role="Cost Management Reader",
            ) from exc
        return [o for o in offers if o.savings_amount > Decimal(0)]
