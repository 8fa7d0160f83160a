"""Budgets: spend and forecast per budget, exactly-once threshold alerts, and the `budget` and
`alerts` commands.

The composition root calls `evaluate.evaluate_budgets(engine, clock)` after each ingestion and on
a schedule; `commands.register(router, config)` adds the commands to a CloudOptima instance.
"""
