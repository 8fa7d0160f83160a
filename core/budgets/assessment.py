"""A budget assessed in one period window: what was spent, what is forecast, which thresholds
are crossed. Evaluation builds them; presenters and commands read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.budgets.model import BudgetRecord, ThresholdKind
from core.budgets.windows import BudgetWindow
from core.costs.forecasting import Forecast
from core.kernel.money import to_storage_units


@dataclass(frozen=True, slots=True)
class Assessment:
    """A budget in one period window: what was spent, what is forecast."""

    budget: BudgetRecord
    window: BudgetWindow
    #: False for the previous window while in its grace days (actual thresholds only).
    current: bool
    today: date
    last_complete: date
    spent: Decimal
    forecast: Forecast
    #: The scope's spend in storage units per bucket (`series[i]` from `firsts[i]`): calendar
    #: months before `boundary`, days from it (see core.budgets.spend). Shared, read-only.
    series: Sequence[int] = field(repr=False)
    firsts: Sequence[date] = field(repr=False)
    boundary: date = date.min

    @property
    def daily(self) -> dict[date, int]:
        """Spend per bucket, keyed by the bucket's first day (buckets without spend left out)."""
        # An empty series (the scope matches nothing) has no units at all.
        pairs = zip(self.firsts, self.series, strict=False)
        return {first: units for first, units in pairs if units}

    @property
    def percent_spent(self) -> Decimal:
        return self.spent / self.budget.amount * 100

    @property
    def percent_forecast(self) -> Decimal | None:
        if self.forecast.total is None:
            return None
        return self.forecast.total / self.budget.amount * 100

    def crossed(self) -> list[tuple[int, ThresholdKind]]:
        """Thresholds reached in this window: spend (or forecast) ≥ percent × amount."""
        amount_units = to_storage_units(self.budget.amount)
        spent_units = to_storage_units(self.spent)
        out: list[tuple[int, ThresholdKind]] = [
            (t.percent, t.kind)
            for t in self.budget.thresholds
            if t.kind is ThresholdKind.ACTUAL and spent_units * 100 >= amount_units * t.percent
        ]
        if self.current and self.forecast.total is not None:
            forecast_units = to_storage_units(self.forecast.total)
            out.extend(
                (t.percent, t.kind)
                for t in self.budget.thresholds
                if t.kind is ThresholdKind.FORECAST
                and forecast_units * 100 >= amount_units * t.percent
            )
        return out
