"""Money is Decimal end to end, always with its currency.

Storage keeps amounts as integers of 1e-8 (Azure's precision): SQLite would otherwise store a
`Numeric` as a float and a month of sums would no longer reconcile to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

#: Amounts are stored as integer multiples of this quantum.
STORAGE_QUANTUM = Decimal("0.00000001")
_UNITS_PER_ONE = 10**8

ZERO = Decimal(0)


def to_storage_units(amount: Decimal) -> int:
    """Decimal → integer 1e-8 units (banker's rounding beyond Azure's 8 decimals)."""
    return int(amount.quantize(STORAGE_QUANTUM, rounding=ROUND_HALF_EVEN).scaleb(8))


def from_storage_units(units: int) -> Decimal:
    """Integer 1e-8 units → Decimal, exact."""
    return Decimal(units).scaleb(-8)


def decimal_from_json_number(value: object) -> Decimal:
    """Azure sends amounts as JSON numbers (floats): go through `str` to keep their digits."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (2 for EUR, 0 for JPY)."""
    digits = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def format_money(amount: Decimal, currency: str) -> str:
    """`1234.5, "EUR"` → `€1,234.50`; unknown codes fall back to `1,234.50 XYZ`."""
    try:
        return str(format_currency(amount, currency, locale="en_US"))
    except (ValueError, KeyError):
        return f"{amount:,.2f} {currency}"


def format_percent(value: Decimal | None, *, signed: bool = False) -> str:
    """`12.345` → `12.3%`; `None` (no base to compare with) → `n/a`."""
    if value is None:
        return "n/a"
    text = f"{value:+.1f}%" if signed else f"{value:.1f}%"
    return text.replace("-", "−") if signed else text


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    """Change of `current` against `previous` in percent; `None` with nothing to compare."""
    if previous == 0:
        return None
    return (current - previous) / abs(previous) * 100


def share(part: Decimal, total: Decimal) -> Decimal:
    """`part` as a percentage of `total` (0 when the total is 0)."""
    return ZERO if total == 0 else part / total * 100
