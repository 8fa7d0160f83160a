"""Every savings formula, exact in Decimal, with the text the card shows."""

from decimal import Decimal

import pytest

from core.recommendations import savings


def test_thirty_days_of_effective_cost_normalised_to_a_730_hour_month():
    s = savings.monthly_effective_cost(Decimal("720"), 30, "EUR")
    assert s.amount == Decimal("730")  # 720 × 730 h ÷ 720 h
    assert s.formula == "€720.00 effective over the last 30 days × 730 h ÷ 720 h = €730.00/mo"
    assert not s.estimate


def test_a_month_of_uneven_cost_keeps_eight_decimals():
    s = savings.monthly_effective_cost(Decimal("100"), 30, "EUR")
    assert s.amount == Decimal("101.38888889")  # 100 × 730 ÷ 720, at the store's 1e-8


def test_rightsizing_applies_the_price_ratio_to_the_effective_cost():
    s = savings.rightsize(
        Decimal("140.16"),
        "EUR",
        current_sku="Standard_D4s_v5",
        target_sku="Standard_D2s_v5",
        current_price=Decimal("0.192"),
        target_price=Decimal("0.096"),
    )
    assert s.amount == Decimal("70.08")
    assert s.formula == "D4s_v5 → D2s_v5: €140.16/mo effective × (1 − 0.096 ÷ 0.192) = €70.08/mo"
    assert not s.estimate


def test_rightsizing_with_an_uneven_ratio_is_exact():
    s = savings.rightsize(
        Decimal("300"),
        "EUR",
        current_sku="a",
        target_sku="b",
        current_price=Decimal("0.384"),
        target_price=Decimal("0.096"),
    )
    assert s.amount == Decimal("225")  # 300 × (1 − 0.25)


def test_without_prices_the_vcpu_ratio_is_an_estimate_and_says_so():
    s = savings.rightsize_by_vcpus(
        Decimal("200"),
        "EUR",
        current_sku="Standard_D8s_v5",
        target_sku="Standard_D2s_v5",
        current_vcpus=8,
        target_vcpus=2,
    )
    assert s.amount == Decimal("150")
    assert s.estimate
    assert "estimate" in s.formula and "2 vCPU ÷ 8 vCPU" in s.formula


def test_benefit_savings_over_total_hours_become_per_month():
    # The sample's savings plan: 2,326.58 saved over 1,440 h of look-back.
    s = savings.benefit_per_month(Decimal("2326.58"), 1440, "EUR")
    assert s.amount == Decimal("1179.44680556")  # 2326.58 ÷ 1440 × 730
    assert "÷ 1440 h × 730 h" in s.formula


def test_benefit_savings_are_not_taken_as_monthly_or_yearly():
    s = savings.benefit_per_month(Decimal("720"), 720, "EUR")
    assert s.amount == Decimal("730")


def test_an_unused_reservation_costs_its_term_price_spread_over_the_hours():
    # 1,043 for a one-year term, 3 instances, used 64.25%.
    s = savings.unused_reservation(Decimal("1043"), Decimal(3), 1, Decimal("64.25"), "EUR")
    assert s.amount == Decimal("93.218125")  # 1043 ÷ 8760 × 730 × 3 × 0.3575
    assert "÷ 8760 h × 730 h × 3 × (1 − 64.25% used)" in s.formula


def test_a_three_year_term_spreads_over_26280_hours():
    s = savings.unused_reservation(Decimal("26280"), Decimal(1), 3, Decimal(50), "EUR")
    assert s.amount == Decimal("365")  # 26280 ÷ 26280 × 730 × 0.5


def test_advisor_figures_in_another_currency_stay_in_it_without_a_stated_rate():
    s = savings.advisor_amount(Decimal("118.26"), "USD", "EUR", None)
    assert (s.amount, s.currency) == (Decimal("118.26"), "USD")


def test_advisor_figures_convert_only_with_a_stated_rate():
    s = savings.advisor_amount(Decimal("100"), "USD", "EUR", Decimal("0.92"))
    assert (s.amount, s.currency) == (Decimal("92"), "EUR")
    assert "configured rate" in s.formula


def test_several_resources_cost_add_up_in_one_currency():
    s = savings.total_of([("disk-a", Decimal("360")), ("disk-b", Decimal("360"))], 30, "EUR")
    assert s.amount == Decimal("730")
    assert "disk-a €360.00 + disk-b €360.00" in s.formula


@pytest.mark.parametrize("hours", [0, -5])
def test_a_benefit_without_hours_is_refused(hours):
    with pytest.raises(ValueError):
        savings.benefit_per_month(Decimal(1), hours, "EUR")
