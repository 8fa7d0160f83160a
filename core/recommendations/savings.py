"""The savings arithmetic: pure, Decimal, one function per formula.

Each returns the amount and the formula text the card shows, so what is computed and what is
explained can never drift apart. Amounts are monthly (730 hours) and kept at 1e-8 (the store's
precision); the formula text rounds to the currency's minor unit for reading.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import get_currency_precision

from core.kernel.money import STORAGE_QUANTUM
from core.kernel.money import format_money as babel_money
from core.recommendations.model import HOURS_PER_MONTH, Saving

#: The cost window read for "the last 30 days".
COST_WINDOW_DAYS = 30
HOURS_PER_YEAR = Decimal(8760)


_SAMPLE = Decimal("1234567.5")


@functools.cache
def _pattern(currency: str) -> tuple[str, str, int] | None:
    """(prefix, suffix, decimals) around the number in babel's rendering of `currency`."""
    digits = int(get_currency_precision(currency))
    sample = babel_money(_SAMPLE, currency)
    number = f"{_SAMPLE:,.{digits}f}"
    at = sample.find(number)
    return None if at < 0 else (sample[:at], sample[at + len(number) :], digits)


def format_money(amount: Decimal, currency: str) -> str:
    """`core.kernel.money.format_money`, fast: a refresh formats tens of thousands of amounts
    (babel takes ~150 µs each)."""
    pattern = _pattern(currency)
    if pattern is None or amount < 0:
        return babel_money(amount, currency)
    prefix, suffix, digits = pattern
    return f"{prefix}{amount:,.{digits}f}{suffix}"


def exact(amount: Decimal) -> Decimal:
    """Quantized to the store's 1e-8, banker's rounding (what is stored is what was computed)."""
    return amount.quantize(STORAGE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _num(value: Decimal) -> str:
    """A price or ratio as written in a formula: no trailing zeros, at least one digit."""
    return format(value.normalize(), "f")


def monthly_effective_cost(cost: Decimal, days: int, currency: str) -> Saving:
    """`days` of effective (amortized) cost normalised to a month: cost × 730 h ÷ (days × 24 h).

    Deallocating or deleting a resource saves this.
    """
    hours = Decimal(days * 24)
    amount = exact(cost * HOURS_PER_MONTH / hours)
    formula = (
        f"{format_money(cost, currency)} effective over the last {days} days "
        f"× 730 h ÷ {_num(hours)} h = {format_money(amount, currency)}/mo"
    )
    return Saving(amount, currency, formula)


def rightsize(
    monthly: Decimal,
    currency: str,
    *,
    current_sku: str,
    target_sku: str,
    current_price: Decimal,
    target_price: Decimal,
) -> Saving:
    """current effective monthly cost × (1 − target price ÷ current price).

    The price ratio is applied to the effective cost, so reservations, savings plans and
    negotiated discounts stay in the figure (retail prices alone would overstate it).
    """
    if current_price <= 0:
        raise ValueError("the current price must be positive")
    ratio = target_price / current_price
    amount = exact(monthly * (1 - ratio))
    formula = (
        f"{_short(current_sku)} → {_short(target_sku)}: {format_money(monthly, currency)}/mo "
        f"effective × (1 − {_num(target_price)} ÷ {_num(current_price)}) = "
        f"{format_money(amount, currency)}/mo"
    )
    return Saving(amount, currency, formula)


def rightsize_by_vcpus(
    monthly: Decimal,
    currency: str,
    *,
    current_sku: str,
    target_sku: str,
    current_vcpus: int,
    target_vcpus: int,
) -> Saving:
    """No price for one of the sizes: the vCPU ratio stands in, labelled an estimate."""
    if current_vcpus <= 0:
        raise ValueError("the current vCPU count must be positive")
    ratio = Decimal(target_vcpus) / Decimal(current_vcpus)
    amount = exact(monthly * (1 - ratio))
    formula = (
        f"{_short(current_sku)} → {_short(target_sku)}: {format_money(monthly, currency)}/mo "
        f"effective × (1 − {target_vcpus} vCPU ÷ {current_vcpus} vCPU) = "
        f"{format_money(amount, currency)}/mo (estimate: no catalog price for both sizes)"
    )
    return Saving(amount, currency, formula, estimate=True)


def benefit_per_month(savings: Decimal, total_hours: int, currency: str) -> Saving:
    """A benefit recommendation's look-back saving per month: savings ÷ totalHours × 730.

    Cost Management reports the saving over the look-back window (`totalHours`), not per month.
    """
    if total_hours <= 0:
        raise ValueError("totalHours must be positive")
    amount = exact(savings / Decimal(total_hours) * HOURS_PER_MONTH)
    formula = (
        f"{format_money(savings, currency)} saved over {total_hours} h of look-back "
        f"÷ {total_hours} h × 730 h = {format_money(amount, currency)}/mo"
    )
    return Saving(amount, currency, formula)


def unused_reservation(
    term_price: Decimal,
    quantity: Decimal,
    term_years: int,
    utilization: Decimal,
    currency: str,
) -> Saving:
    """What the unused share of a reservation costs a month: the whole-term price spread over
    its hours (term price ÷ (years × 8,760 h) × 730 h) × quantity × (1 − utilization)."""
    hours = HOURS_PER_YEAR * term_years
    monthly = term_price / hours * HOURS_PER_MONTH * quantity
    unused = 1 - utilization / 100
    amount = exact(monthly * unused)
    formula = (
        f"{format_money(term_price, currency)} per {term_years}-year term ÷ {_num(hours)} h "
        f"× 730 h × {_num(quantity)} × (1 − {_num(utilization)}% used) = "
        f"{format_money(amount, currency)}/mo unused"
    )
    return Saving(amount, currency, formula)


def total_of(parts: list[tuple[str, Decimal]], days: int, currency: str) -> Saving:
    """Several resources' effective cost (e.g. a deallocated VM's disks) normalised to a month."""
    cost = sum((amount for _name, amount in parts), Decimal(0))
    hours = Decimal(days * 24)
    amount = exact(cost * HOURS_PER_MONTH / hours)
    listed = " + ".join(f"{name} {format_money(value, currency)}" for name, value in parts)
    formula = (
        f"({listed}) effective over the last {days} days × 730 h ÷ {_num(hours)} h = "
        f"{format_money(amount, currency)}/mo"
    )
    return Saving(amount, currency, formula)


def advisor_amount(
    amount: Decimal, currency: str, billing_currency: str | None, rate: Decimal | None
) -> Saving:
    """Advisor's monthly `savingsAmount`: converted to the billing currency only with a stated
    rate, otherwise kept in Advisor's currency (and never summed with other currencies)."""
    if billing_currency is None or currency == billing_currency or rate is None:
        formula = f"Advisor's figure (retail rates): {format_money(amount, currency)}/mo"
        return Saving(exact(amount), currency, formula)
    converted = exact(amount * rate)
    formula = (
        f"Advisor's {format_money(amount, currency)}/mo (retail rates) × {_num(rate)} "
        f"{billing_currency}/{currency} (configured rate) = "
        f"{format_money(converted, billing_currency)}/mo"
    )
    return Saving(converted, billing_currency, formula)


def _short(sku: str) -> str:
    """`Standard_D4s_v5` → `D4s_v5` (how people say it)."""
    return sku.removeprefix("Standard_").removeprefix("standard_")
