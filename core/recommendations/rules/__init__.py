"""The built-in rules, each small and registered by name into a `RuleRegistry` instance.

`default_registry()` builds a registry holding every built-in rule; nothing registers by being
imported, so a deployment (or a test) can build a registry with other rules or parameters.
"""

from core.recommendations.rules.base import Facts, Parameter, Rule, RuleRegistry
from core.recommendations.rules.commitments import register as _register_commitments
from core.recommendations.rules.compute import register as _register_compute
from core.recommendations.rules.orphans import register as _register_orphans


def default_registry() -> RuleRegistry:
    """A registry with every built-in rule at its default parameters."""
    registry = RuleRegistry()
    _register_compute(registry)
    _register_orphans(registry)
    _register_commitments(registry)
    return registry


__all__ = ["Facts", "Parameter", "Rule", "RuleRegistry", "default_registry"]
