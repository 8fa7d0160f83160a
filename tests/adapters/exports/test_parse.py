"""Reading export files: header variants, values as exports write them, errors by line and
column, and memory that stays flat whatever the file's size."""

from __future__ import annotations

import csv
import gc
import io
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest

from adapters.exports.formats import ExportFormat
from adapters.exports.parse import ExportReader, MalformedExportError, parse_tags
from core.costs.model import CostType
from tests.support.exports import EA_HEADER, Line, export_csv

SUB = "8F1C2B9E-4D3A-4E6B-9A7C-2F5D1E0B3C4A"


def line(**overrides) -> Line:
    values = {
        "day": date(2026, 10, 3),
        "subscription_id": SUB,
        "subscription_name": "Production",
        "resource_group": "RG-Web",
        "resource": "vm-1",
        "meter_category": "Virtual Machines",
        "cost": "1.2345678901234567890123456789",
        "tags": {"CostCenter": "42", "env": "prod"},
    }
    values.update(overrides)
    return Line(**values)


def read(data: bytes, **kw) -> list:
    kw.setdefault("cost_type", CostType.ACTUAL)
    return list(ExportReader(io.BytesIO(data), "x.csv", **kw))


@pytest.mark.parametrize(
    "rename",
    [
        str,  # PascalCase, as documented
        lambda n: n[0].lower() + n[1:],  # camelCase, as newer EA exports write it
        str.upper,
        lambda n: f" {n} ",
    ],
)
def test_ea_header_variants_read_the_same(rename):
    header = [rename(n) for n in EA_HEADER]
    ((scope, kind, row),) = read(export_csv("ea", [line()], header=header, bom=True))
    assert scope.path == f"/subscriptions/{SUB.lower()}" and kind is CostType.ACTUAL
    assert row.usage_date == date(2026, 10, 3)
    assert row.subscription_id == SUB.lower() and row.resource_group == "rg-web"
    assert row.cost == Decimal("1.2345678901234567890123456789")  # every decimal kept
    assert row.tags == {"costcenter": "42", "env": "prod"}
    assert row.currency == "EUR" and row.quantity == Decimal(24)


def test_legacy_ea_columns_are_read():
    header = ["SubscriptionGuid", "Date", "MeterCategory", "Cost", "BillingCurrency", "Tags"]
    data = (",".join(header) + '\n8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a,2026-10-03,Storage,'
            '0.5,eur,"""env"": ""dev"""\n').encode()  # fmt: skip
    ((_, _, row),) = read(data)
    assert (row.cost, row.currency, row.service_name, row.tags) == (
        Decimal("0.5"), "EUR", "Storage", {"env": "dev"},
    )  # fmt: skip


def test_the_format_can_be_named():
    data = export_csv("mca", [line()])
    ((_, _, row),) = read(data, export_format=ExportFormat.MCA)
    assert row.resource_group == "rg-web"


def test_tags_with_and_without_braces():
    assert parse_tags('"a": "1","B": "2"') == (("a", "1"), ("b", "2"))
    assert parse_tags('{"a": "1"}') == (("a", "1"),)
    assert parse_tags("") == ()


def test_focus_unused_commitments_and_charges_outside_any_subscription():
    lines = [line(charge_type="Usage"), line(subscription_id="", resource="", charge_type="Tax")]
    data = export_csv("focus", lines).decode().split("\r\n")
    header = data[0].split(",")
    first = data[1].split(",")
    first[header.index("CommitmentDiscountStatus")] = "Unused"
    first[header.index("CommitmentDiscountType")] = "Savings Plan"
    data[1] = ",".join(first)
    records = read("\r\n".join(data).encode(), cost_type=None)
    charges = [(kind, row.charge_type, scope.path) for scope, kind, row in records]
    billing = "/providers/microsoft.billing/billingaccounts/12345678"
    assert charges == [
        (CostType.ACTUAL, "UnusedSavingsPlan", f"/subscriptions/{SUB.lower()}"),
        (CostType.AMORTIZED, "UnusedSavingsPlan", f"/subscriptions/{SUB.lower()}"),
        (CostType.ACTUAL, "Tax", billing),
        (CostType.AMORTIZED, "Tax", billing),
    ]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("Tags", '"env": prod', 'is not a list of "key": "value" tags'),
        ("BillingCurrencyCode", "EURO", "is not a currency code"),
        ("SubscriptionId", "not-a-guid", "is not a subscription id"),
        ("Quantity", "NaN", "is not a finite number"),
    ],
)
def test_a_bad_value_names_its_line_and_column(column, value, problem):
    lines = [line(), line(), line()]
    data = export_csv("ea", lines).decode().split("\r\n")
    fields = next(iter(csv.reader([data[3]])))
    fields[EA_HEADER.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    data[3] = out.getvalue()
    with pytest.raises(MalformedExportError) as caught:
        read("\r\n".join(data).encode())
    assert f"x.csv line 4, column {column}: " in caught.value.message
    assert problem in caught.value.message


def test_a_short_row_is_refused_with_its_line():
    data = export_csv("ea", [line()]) + b"1,2,3\r\n"
    with pytest.raises(MalformedExportError, match=r"line 3: the row has 3 values where the "):
        read(data)


def test_a_header_without_the_cost_is_refused():
    data = b"Date,SubscriptionId,CostInBillingCurrency\n"
    with pytest.raises(MalformedExportError, match="lacks billingcurrencycode"):
        read(data)


def _peak_reading(n: int) -> int:
    data = export_csv("ea", [line(resource=f"vm-{i % 500}") for i in range(n)])
    gc.collect()
    tracemalloc.start()
    try:
        count = sum(1 for _ in ExportReader(io.BytesIO(data), "x.csv", cost_type=CostType.ACTUAL))
        assert count == n
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_is_streamed_memory_does_not_grow_with_the_file():
    small, large = _peak_reading(2_000), _peak_reading(16_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)
