"""Budgets: model helpers, strict argument parsing, spend and forecast, exactly-once alerts.

The composition root calls `evaluate_budgets(engine, clock)` after each ingestion and on a
schedule; commands live in `core.commands.budgets`.
"""

from core.budgets.evaluate import Assessment, EvaluationSummary, assess, evaluate_budgets
from core.budgets.forecast import Forecast
from core.budgets.store import BudgetCache, budget_cache_for

__all__ = [
    "Assessment",
    "BudgetCache",
    "EvaluationSummary",
    "Forecast",
    "assess",
    "budget_cache_for",
    "evaluate_budgets",
]
