"""Costs: ingestion from a `CostSource` into a star schema, breakdowns, and the `costs` command.

`commands.register(router, config)` adds the feature to a CloudOptima instance.
"""
