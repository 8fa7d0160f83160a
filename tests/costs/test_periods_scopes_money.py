from decimal import Decimal

import pytest

from core.kernel.errors import UserInputError
from core.kernel.money import format_money, from_storage_units, percent_change, to_storage_units
from core.kernel.scopes import ScopeKind, check_no_overlap, parse_scope


def test_scopes_are_normalized_and_classified():
    sub = parse_scope("8F1C2B9E-4D3A-4E6B-9A7C-2F5D1E0B3C4A")
    assert sub.path == "/subscriptions/8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a"
    assert sub.kind is ScopeKind.SUBSCRIPTION
    rg = parse_scope(sub.path + "/resourceGroups/RG-Web/")
    assert rg.kind is ScopeKind.RESOURCE_GROUP and not rg.path.endswith("/")
    mg = parse_scope("/providers/Microsoft.Management/managementGroups/finance")
    assert mg.kind is ScopeKind.MANAGEMENT_GROUP
    ba = parse_scope("providers/Microsoft.Billing/billingAccounts/1234567")
    assert ba.kind is ScopeKind.BILLING_ACCOUNT
    assert check_no_overlap([sub, rg, sub]) == [
        f"scope {rg.path} lies inside {sub.path}: its costs would be counted twice",
        f"scope {sub.path} is listed twice",
    ]


@pytest.mark.parametrize("text", ["", "nonsense", "/subscriptions/not-a-guid", "/resourceGroups/x"])
def test_bad_scopes_list_the_accepted_forms(text):
    with pytest.raises(UserInputError) as info:
        parse_scope(text)
    assert "/subscriptions/<guid>" in info.value.user_message()


def test_money_is_stored_exactly_and_formatted_with_its_currency():
    amount = Decimal("41.77312045")
    assert from_storage_units(to_storage_units(amount)) == amount
    assert to_storage_units(Decimal("0.000000005")) == 0  # beyond Azure's 8 decimals: banker's
    assert format_money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_money(Decimal("1234.5"), "JPY") == "¥1,234"
    assert percent_change(Decimal(110), Decimal(100)) == Decimal(10)
    assert percent_change(Decimal(5), Decimal(0)) is None
