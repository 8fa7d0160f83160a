"""Budget periods: monthly, quarterly or yearly blocks of months repeating from a start date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.budgets.model import BudgetPeriod

#: After a period ends, its actual-spend thresholds are still checked this many days: Azure
#: restates the closing days for a while, and an alert crossed by late data must not be lost.
GRACE_DAYS = 7


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """One occurrence of a budget's period: [start, end], both inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self, period: BudgetPeriod) -> str:
        if period is BudgetPeriod.MONTHLY:
            return f"{self.start:%B %Y}"
        if period is BudgetPeriod.YEARLY and self.start.month == 1:
            return f"{self.start:%Y}"
        return f"{self.start:%b %Y} – {self.end:%b %Y}"


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month (day must be the 1st)."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def window_containing(start: date, period: BudgetPeriod, day: date) -> BudgetWindow | None:
    """The period occurrence containing `day`, or None before the budget's start."""
    if day < start:
        return None
    months = (day.year - start.year) * 12 + (day.month - start.month)
    first = add_months(start, months - months % period.months)
    following = add_months(first, period.months)
    return BudgetWindow(first, following - timedelta(days=1))


def previous_window(window: BudgetWindow, period: BudgetPeriod) -> BudgetWindow:
    first = add_months(window.start, -period.months)
    return BudgetWindow(first, window.start - timedelta(days=1))


def default_start(period: BudgetPeriod, today: date) -> date:
    """The start of the current calendar month, quarter or year."""
    if period is BudgetPeriod.MONTHLY:
        return today.replace(day=1)
    if period is BudgetPeriod.QUARTERLY:
        return date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return date(today.year, 1, 1)
