"""Rules and their registry (in the manner of cloud-custodian's: a name, parameters with
defaults and help, a help text), as an instance rather than a module-level global."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.recommendations.catalog import PriceTable
from core.recommendations.effective import EffectiveCosts
from core.recommendations.model import Action, Category, Recommendation, RecommendationsConfig
from core.recommendations.ports import Inventory, ReservationUsage, SavingsPlanOffer
from core.recommendations.utilization import Utilization

ParameterValue = Decimal | int | str


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    default: ParameterValue
    help: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one refresh knows, as the rules read it."""

    today: date
    inventory: Inventory
    #: VM id (lower-cased) → its utilization over the look-back.
    utilization: Mapping[str, Utilization]
    costs: EffectiveCosts
    prices: PriceTable
    config: RecommendationsConfig
    reservations: tuple[ReservationUsage, ...] = ()
    savings_plans: tuple[SavingsPlanOffer, ...] = ()


@dataclass(frozen=True, slots=True)
class Params:
    """A rule's parameter values (defaults, overridden by configuration)."""

    values: Mapping[str, ParameterValue]

    def decimal(self, name: str) -> Decimal:
        return Decimal(str(self.values[name]))

    def int(self, name: str) -> int:
        return int(self.values[name])


Evaluate = Callable[[Facts, Params], Iterable[Recommendation]]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: Category
    action: Action
    summary: str
    help: str
    evaluate: Evaluate
    parameters: tuple[Parameter, ...] = ()

    def params(self, overrides: Mapping[str, ParameterValue] | None = None) -> Params:
        values: dict[str, ParameterValue] = {p.name: p.default for p in self.parameters}
        for name, value in (overrides or {}).items():
            if name not in values:
                known = ", ".join(values) or "none"
                raise ValueError(f"rule {self.name}: unknown parameter {name!r} (known: {known})")
            values[name] = value
        return Params(values)


@dataclass(slots=True)
class RuleRegistry:
    """Rules by name. Register each once; evaluate them all over one refresh's facts."""

    _rules: dict[str, Rule] = field(default_factory=dict)
    #: Rule name → parameter overrides.
    overrides: dict[str, dict[str, ParameterValue]] = field(default_factory=dict)

    def register(self, rule: Rule) -> Rule:
        if rule.name in self._rules:
            raise ValueError(f"rule {rule.name!r} registered twice")
        self._rules[rule.name] = rule
        return rule

    def rule(
        self,
        name: str,
        *,
        category: Category,
        action: Action,
        summary: str,
        help: str,
        parameters: tuple[Parameter, ...] = (),
    ) -> Callable[[Evaluate], Evaluate]:
        """Decorator form of `register`."""

        def add(evaluate: Evaluate) -> Evaluate:
            self.register(Rule(name, category, action, summary, help, evaluate, parameters))
            return evaluate

        return add

    def configure(self, name: str, **values: ParameterValue) -> None:
        """Override parameters of a registered rule (checked against its declared ones)."""
        self.get(name).params(values)
        self.overrides.setdefault(name, {}).update(values)

    def get(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise KeyError(f"no rule {name!r}; rules: {', '.join(self._rules)}") from None

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __contains__(self, name: str) -> bool:
        return name in self._rules

    def names(self) -> tuple[str, ...]:
        return tuple(self._rules)

    def evaluate(self, facts: Facts) -> list[Recommendation]:
        """Every rule over `facts`, in registration order."""
        found: list[Recommendation] = []
        for rule in self._rules.values():
            found.extend(rule.evaluate(facts, rule.params(self.overrides.get(rule.name))))
        return found
