"""The export schemas we read, recognized by their header: EA and MCA Cost Details (actual and
amortized share one layout each) and FOCUS 1.0 (both cost types in one file).

Column names are matched without regard to case or surrounding spaces (EA files have been seen
in PascalCase and camelCase, with and without a byte-order mark); each field lists the names it
is found under, first match wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.kernel.errors import UserInputError


class ExportFormat(StrEnum):
    EA = "ea"
    MCA = "mca"
    FOCUS = "focus"


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each field of a cost row is found: alternatives, lower-cased."""

    usage_date: tuple[str, ...]
    subscription_id: tuple[str, ...]
    subscription_name: tuple[str, ...]
    resource_group: tuple[str, ...]
    resource_id: tuple[str, ...]
    service_name: tuple[str, ...]
    meter_category: tuple[str, ...]
    location: tuple[str, ...]
    charge_type: tuple[str, ...]
    currency: tuple[str, ...]
    cost: tuple[str, ...]
    cost_usd: tuple[str, ...]
    quantity: tuple[str, ...]
    tags: tuple[str, ...]
    billing_account: tuple[str, ...]
    billing_profile: tuple[str, ...] = ()
    #: FOCUS only: the amortized view beside the billed one.
    amortized_cost: tuple[str, ...] = ()
    amortized_cost_usd: tuple[str, ...] = ()
    commitment_status: tuple[str, ...] = ()
    commitment_type: tuple[str, ...] = ()


#: Fields a file must have (the others default to '' or None).
REQUIRED = ("usage_date", "cost", "currency")

COLUMNS: dict[ExportFormat, Columns] = {
    ExportFormat.EA: Columns(
        usage_date=("date", "usagedatetime"),
        subscription_id=("subscriptionid", "subscriptionguid"),
        subscription_name=("subscriptionname",),
        resource_group=("resourcegroup", "resourcegroupname"),
        resource_id=("resourceid", "instanceid"),
        # The Query API's ServiceName is the meter category of these files.
        service_name=("servicename", "metercategory"),
        meter_category=("metercategory",),
        location=("resourcelocation", "location"),
        charge_type=("chargetype",),
        currency=("billingcurrencycode", "billingcurrency", "currency"),
        cost=("costinbillingcurrency", "cost", "pretaxcost"),
        cost_usd=("costinusd",),
        quantity=("quantity", "consumedquantity"),
        tags=("tags",),
        billing_account=("billingaccountid", "enrollmentnumber"),
    ),
    ExportFormat.MCA: Columns(
        usage_date=("date",),
        subscription_id=("subscriptionid",),
        subscription_name=("subscriptionname",),
        resource_group=("resourcegroupname", "resourcegroup"),
        resource_id=("resourceid", "instanceid"),
        service_name=("servicename", "metercategory"),
        meter_category=("metercategory",),
        location=("resourcelocation", "location"),
        charge_type=("chargetype",),
        currency=("billingcurrency", "billingcurrencycode"),
        cost=("costinbillingcurrency",),
        cost_usd=("costinusd",),
        quantity=("quantity",),
        tags=("tags",),
        billing_account=("billingaccountid",),
        billing_profile=("billingprofileid",),
    ),
    ExportFormat.FOCUS: Columns(
        usage_date=("chargeperiodstart",),
        subscription_id=("subaccountid",),
        subscription_name=("subaccountname",),
        resource_group=("x_resourcegroupname",),
        resource_id=("resourceid",),
        service_name=("servicename",),
        meter_category=("x_skumetercategory",),
        location=("regionname", "regionid"),
        charge_type=("chargecategory",),
        currency=("billingcurrency",),
        cost=("billedcost",),
        cost_usd=("x_billedcostinusd",),
        quantity=("consumedquantity",),
        tags=("tags",),
        billing_account=("billingaccountid",),
        amortized_cost=("effectivecost",),
        amortized_cost_usd=("x_effectivecostinusd",),
        commitment_status=("commitmentdiscountstatus",),
        commitment_type=("commitmentdiscounttype",),
    ),
}

#: Columns only MCA files have (EA files have an account owner instead).
_MCA_ONLY = {"resourcegroupname", "pricingcurrency", "invoiceid", "paygcostinbillingcurrency"}
_EA_ONLY = {"accountownerid", "accountname", "billingcurrencycode", "resourcegroup"}


def normalize_header(names: list[str]) -> list[str]:
    """Lower-cased, stripped names (a UTF-8 byte-order mark on the first one removed)."""
    return [name.lstrip("\ufeff").strip().strip('"').lower() for name in names]


def detect_format(header: list[str], source: str) -> ExportFormat:
    """EA, MCA or FOCUS from a normalized header; refuses a header that is none of them."""
    names = set(header)
    if {"billedcost", "effectivecost", "chargeperiodstart"} <= names:
        return ExportFormat.FOCUS
    has_date = "date" in names or "usagedatetime" in names
    if (
        has_date
        and "costinbillingcurrency" in names
        and names & _MCA_ONLY
        and not (names & _EA_ONLY)
    ):
        return ExportFormat.MCA
    if has_date and names & {"costinbillingcurrency", "cost", "pretaxcost"}:
        return ExportFormat.EA
    shown = ", ".join(header[:8]) + (" …" if len(header) > 8 else "")
    raise UserInputError(
        f"{source}: the header ({shown or 'empty'}) is not a Cost Management export.",
        hint="Accepted: EA or MCA cost details (actual or amortized, with Date and "
        "CostInBillingCurrency columns) and FOCUS 1.0 (BilledCost, EffectiveCost, "
        "ChargePeriodStart); or name the format with --format ea|mca|focus.",
    )
