"""Cost Management export files for tests, written the way Azure writes them.

Headers are the documented column lists of EA and MCA Cost Details (actual and amortized share
them) and of FOCUS 1.0 as Cost Management exports it; values are plausible and messy where real
exports are: `MM/DD/YYYY` dates, subscription ids in mixed case, tags without braces, amounts
with 28 decimals, quoted JSON in AdditionalInfo, reservation purchases beside usage.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

EA_HEADER = [
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "Date",
    "ProductName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "MeterRegion",
    "UnitOfMeasure",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "CostCenter",
    "ConsumedService",
    "ResourceId",
    "Tags",
    "OfferId",
    "AdditionalInfo",
    "ServiceInfo1",
    "ServiceInfo2",
    "ResourceName",
    "ReservationId",
    "ReservationName",
    "UnitPrice",
    "ProductOrderId",
    "ProductOrderName",
    "Term",
    "PublisherType",
    "PublisherName",
    "ChargeType",
    "Frequency",
    "PricingModel",
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrencyCode",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "InvoiceSectionId",
    "IsAzureCreditEligible",
    "PartNumber",
    "PayGPrice",
    "PlanName",
    "ServiceFamily",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
]

MCA_HEADER = [
    "invoiceId",
    "previousInvoiceId",
    "billingAccountId",
    "billingAccountName",
    "billingProfileId",
    "billingProfileName",
    "invoiceSectionId",
    "invoiceSectionName",
    "resellerName",
    "resellerMpnId",
    "costCenter",
    "billingPeriodEndDate",
    "billingPeriodStartDate",
    "servicePeriodEndDate",
    "servicePeriodStartDate",
    "date",
    "serviceFamily",
    "productOrderId",
    "productOrderName",
    "consumedService",
    "meterId",
    "meterName",
    "meterCategory",
    "meterSubCategory",
    "meterRegion",
    "ProductId",
    "ProductName",
    "SubscriptionId",
    "subscriptionName",
    "publisherType",
    "publisherId",
    "publisherName",
    "resourceGroupName",
    "ResourceId",
    "resourceLocation",
    "location",
    "effectivePrice",
    "quantity",
    "unitOfMeasure",
    "chargeType",
    "billingCurrency",
    "pricingCurrency",
    "costInBillingCurrency",
    "costInPricingCurrency",
    "costInUsd",
    "paygCostInBillingCurrency",
    "paygCostInUsd",
    "exchangeRatePricingToBilling",
    "exchangeRateDate",
    "isAzureCreditEligible",
    "serviceInfo1",
    "serviceInfo2",
    "additionalInfo",
    "tags",
    "PayGPrice",
    "frequency",
    "term",
    "reservationId",
    "reservationName",
    "pricingModel",
    "unitPrice",
    "costAllocationRuleName",
    "benefitId",
    "benefitName",
    "provider",
]

FOCUS_HEADER = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
    "x_BilledCostInUsd",
    "x_EffectiveCostInUsd",
    "x_ResourceGroupName",
    "x_SkuMeterCategory",
    "x_SkuMeterName",
]


@dataclass
class Line:
    """One line of an export (one meter of one resource on one day)."""

    day: date
    subscription_id: str
    subscription_name: str
    resource_group: str
    resource: str
    meter_category: str
    cost: str
    currency: str = "EUR"
    location: str = "westeurope"
    charge_type: str = "Usage"
    quantity: str = "24"
    cost_usd: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: FOCUS: the amortized (effective) cost when it differs from the billed one.
    effective_cost: str | None = None
    billing_account: str = "12345678"
    meter_name: str = "D2s v5"

    @property
    def resource_id(self) -> str:
        if not self.resource:
            return ""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachines/{self.resource}"
        )


def tags_text(tags: dict[str, str], braces: bool) -> str:
    """Cost Details write tags as JSON members without the braces; some files have them."""
    if not tags:
        return ""
    inner = ",".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in tags.items())
    return "{" + inner + "}" if braces else inner


ADDITIONAL_INFO = json.dumps(
    {"UsageType": "ComputeHR", "ImageType": "Canonical", "ServiceType": "Standard_D2s_v5",
     "VCPUs": 2, "Note": 'a "quoted", comma-laden value'}
)  # fmt: skip


def ea_values(line: Line, *, braces: bool = False) -> dict[str, str]:
    return {
        "InvoiceSectionName": "Engineering",
        "AccountName": "Platform",
        "AccountOwnerId": "owner@example.com",
        "SubscriptionId": line.subscription_id.upper(),  # exports mix the case
        "SubscriptionName": line.subscription_name,
        "ResourceGroup": line.resource_group.upper(),
        "ResourceLocation": line.location,
        "Date": line.day.strftime("%m/%d/%Y"),
        "ProductName": f"{line.meter_category} {line.meter_name}",
        "MeterCategory": line.meter_category,
        "MeterSubCategory": "",
        "MeterId": "11111111-2222-3333-4444-555555555555",
        "MeterName": line.meter_name,
        "MeterRegion": "EU West",
        "UnitOfMeasure": "1 Hour",
        "Quantity": line.quantity,
        "EffectivePrice": "0.1",
        "CostInBillingCurrency": line.cost,
        "CostCenter": "",
        "ConsumedService": "Microsoft.Compute",
        "ResourceId": line.resource_id,
        "Tags": tags_text(line.tags, braces),
        "OfferId": "MS-AZR-0017P",
        "AdditionalInfo": ADDITIONAL_INFO,
        "ServiceInfo1": "",
        "ServiceInfo2": "",
        "ResourceName": line.resource,
        "ReservationId": "",
        "ReservationName": "",
        "UnitPrice": "0.1",
        "ProductOrderId": "",
        "ProductOrderName": "",
        "Term": "",
        "PublisherType": "Azure",
        "PublisherName": "Microsoft",
        "ChargeType": line.charge_type,
        "Frequency": "UsageBased",
        "PricingModel": "OnDemand",
        "AvailabilityZone": "",
        "BillingAccountId": line.billing_account,
        "BillingAccountName": "Contoso",
        "BillingCurrencyCode": line.currency,
        "BillingPeriodStartDate": line.day.replace(day=1).strftime("%m/%d/%Y"),
        "BillingPeriodEndDate": line.day.strftime("%m/%d/%Y"),
        "BillingProfileId": line.billing_account,
        "BillingProfileName": "Contoso",
        "InvoiceSectionId": "123",
        "IsAzureCreditEligible": "True",
        "PartNumber": "AAA-00001",
        "PayGPrice": "0.12",
        "PlanName": "",
        "ServiceFamily": "Compute",
        "CostAllocationRuleName": "",
        "benefitId": "",
        "benefitName": "",
    }


def mca_values(line: Line, *, braces: bool = False) -> dict[str, str]:
    return {
        **{name: "" for name in MCA_HEADER},
        "invoiceId": "",
        "billingAccountId": "aaaaaaaa-0000-0000-0000-000000000000:bbbbbbbb_2019-05-31",
        "billingAccountName": "Contoso",
        "billingProfileId": "ABCD-EFGH-XYZ-PQR",
        "billingProfileName": "Contoso EU",
        "invoiceSectionId": "IS01-XYZ",
        "invoiceSectionName": "Engineering",
        "date": line.day.strftime("%m/%d/%Y"),
        "serviceFamily": "Compute",
        "meterName": line.meter_name,
        "meterCategory": line.meter_category,
        "SubscriptionId": line.subscription_id.upper(),
        "subscriptionName": line.subscription_name,
        "resourceGroupName": line.resource_group,
        "ResourceId": line.resource_id,
        "resourceLocation": line.location,
        "location": "EU West",
        "effectivePrice": "0.1",
        "quantity": line.quantity,
        "unitOfMeasure": "1 Hour",
        "chargeType": line.charge_type,
        "billingCurrency": line.currency,
        "pricingCurrency": "USD",
        "costInBillingCurrency": line.cost,
        "costInPricingCurrency": line.cost,
        "costInUsd": line.cost_usd or "",
        "exchangeRatePricingToBilling": "1",
        "additionalInfo": ADDITIONAL_INFO,
        "tags": tags_text(line.tags, braces),
        "pricingModel": "OnDemand",
        "provider": "Azure",
    }


def focus_values(line: Line, *, braces: bool = True) -> dict[str, str]:
    effective = line.effective_cost if line.effective_cost is not None else line.cost
    return {
        **{name: "" for name in FOCUS_HEADER},
        "BilledCost": line.cost,
        "BillingAccountId": f"/providers/Microsoft.Billing/billingAccounts/{line.billing_account}",
        "BillingAccountName": "Contoso",
        "BillingAccountType": "Billing Account",
        "BillingCurrency": line.currency,
        "ChargeCategory": line.charge_type,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": f"{line.day.isoformat()}T00:00:00Z",
        "ChargePeriodEnd": f"{line.day.isoformat()}T23:59:59Z",
        "ConsumedQuantity": line.quantity,
        "EffectiveCost": effective,
        "ProviderName": "Microsoft",
        "RegionName": line.location,
        "ResourceId": line.resource_id,
        "ServiceName": line.meter_category,
        "SubAccountId": f"/subscriptions/{line.subscription_id.upper()}",
        "SubAccountName": line.subscription_name,
        "SubAccountType": "Subscription",
        "Tags": tags_text(line.tags, braces),
        "x_BilledCostInUsd": line.cost_usd or "",
        "x_ResourceGroupName": line.resource_group,
        "x_SkuMeterCategory": line.meter_category,
        "x_SkuMeterName": line.meter_name,
    }


FORMATS = {
    "ea": (EA_HEADER, ea_values),
    "mca": (MCA_HEADER, mca_values),
    "focus": (FOCUS_HEADER, focus_values),
}


def export_csv(
    kind: str,
    lines: list[Line],
    *,
    bom: bool = False,
    braces: bool | None = None,
    header: list[str] | None = None,
    crlf: bool = True,
) -> bytes:
    """The CSV bytes of an export of `kind` (ea, mca, focus)."""
    names, values = FORMATS[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header or names)
    for line in lines:
        row = values(line) if braces is None else values(line, braces=braces)
        writer.writerow([row[name] for name in names])
    data = out.getvalue().encode()
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_export(path: Path, data: bytes, *, gzipped: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def write_parquet(path: Path, kind: str, lines: list[Line]) -> Path:
    """The export as Parquet (string columns, amounts as decimal128 where it holds them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, values = FORMATS[kind]
    rows = [values(line) for line in lines]
    columns = {name: [row[name] for row in rows] for name in names}
    arrays = {}
    for name, column in columns.items():
        if name in ("BilledCost", "EffectiveCost", "CostInBillingCurrency"):
            arrays[name] = pa.array([Decimal(v) for v in column], pa.decimal128(38, 30))
        elif name in ("ConsumedQuantity", "x_BilledCostInUsd"):
            arrays[name] = pa.array([float(v) if v else None for v in column], pa.float64())
        elif name == "ChargePeriodStart":
            arrays[name] = pa.array(
                [datetime.fromisoformat(v) for v in column], pa.timestamp("us", tz="UTC")
            )
        else:
            arrays[name] = pa.array(column, pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path, row_group_size=max(1, len(lines) // 3 or 1))
    return path


# -- independent expectations ------------------------------------------------------------------


def totals(lines: list[Line], *, effective: bool = False) -> dict[str, Decimal]:
    """Sum per currency, straight from the lines (no code of the importer involved)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        amount = line.effective_cost if effective and line.effective_cost else line.cost
        out[line.currency] += Decimal(amount)
    return dict(out)


def totals_by_subscription(lines: list[Line]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        out[line.subscription_id.lower()] += Decimal(line.cost)
    return dict(out)


def decimal_sum_of_csv(data: bytes, column: str) -> Decimal:
    """An independent reading of a CSV export: the Decimal sum of one column."""
    text = data.decode("utf-8-sig")
    return sum((Decimal(r[column]) for r in csv.DictReader(io.StringIO(text))), Decimal(0))
