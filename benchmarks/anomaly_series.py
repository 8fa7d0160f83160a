"""Generated daily cost series with anomalies of known size and place: the detector's evaluation.

Every series has a level (20-5,000 EUR a day), weekly seasonality (weekends at 100%, 90%, 60% or
30% of weekdays), growth (0-0.3% a day), multiplicative noise (2-8%), public holidays (a weekday
half-way to the weekend level, in series whose weekends are at 60% or more) and month-end
purchases (1-6 days of spend, amortized: spread over a year from the purchase day, a
small step up, never a spike). Then, at known places at least three weeks apart:

- spikes of 1-3 days, +60% to +400% of the level;
- drops of 1-5 days, -45% to -100% (a service that stopped);
- level shifts, +50% to +150% or -40% to -60% from that day on (news once, then the new normal).

`clean=True` leaves the anomalies out; `seasonal_only=True` also the holidays, with 2-5% noise:
a plain seasonal series, on which nothing may be raised. Deterministic per seed.
Matching (`evaluate`): an incident is a true positive when it overlaps an injected event's days
(for a level shift: its first 14 days) and the event was not matched yet; every other incident is
false. Recall counts events matched.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from core.anomalies.detect import DetectorConfig, runs, score_series
from core.kernel.money import to_storage_units

FIRST_DAY = date(2026, 1, 5)  # a Monday
DAYS = 150
#: Days before the first injected event (history for the detector).
WARM_UP = 42
SHIFT_MATCH_DAYS = 14


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # spike | drop | shift
    first: int
    last: int
    change: float

    def matches(self, first: int, last: int) -> bool:
        end = self.first + SHIFT_MATCH_DAYS - 1 if self.kind == "shift" else self.last
        return first <= end and last >= self.first


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    #: Daily cost in storage units (1e-8 EUR), one per day from `FIRST_DAY`.
    values: tuple[int, ...]
    events: tuple[Event, ...] = ()

    def amounts(self) -> list[Decimal]:
        return [Decimal(v) / Decimal(10**8) for v in self.values]


def _holidays(days: int) -> set[int]:
    """A fixed calendar of weekday holidays (indices from FIRST_DAY)."""
    holidays = set()
    for month, day in ((1, 1), (4, 6), (5, 1), (5, 25), (12, 25), (12, 26)):
        index = (date(FIRST_DAY.year, month, day) - FIRST_DAY).days
        if 0 <= index < days and (FIRST_DAY + timedelta(days=index)).weekday() < 5:
            holidays.add(index)
    return holidays


def _events(rng: random.Random, days: int) -> list[Event]:
    events: list[Event] = []
    t = WARM_UP + rng.randrange(0, 10)
    while t < days - 10:
        kind = rng.choices(("spike", "drop", "shift"), weights=(5, 3, 1))[0]
        if kind == "spike":
            length, change = rng.randint(1, 3), rng.uniform(0.6, 4.0)
        elif kind == "drop":
            length, change = rng.randint(1, 5), -rng.uniform(0.45, 1.0)
        else:
            length = days - t
            change = rng.uniform(0.5, 1.5) if rng.random() < 0.6 else -rng.uniform(0.4, 0.6)
        events.append(Event(kind, t, min(t + length, days) - 1, change))
        if kind == "shift":
            break
        t += length + rng.randrange(21, 45)
    return events


def generate(
    seed: int, *, clean: bool = False, seasonal_only: bool = False, days: int = DAYS
) -> Series:
    """One series; `clean` drops the injected anomalies (the rest is identical);
    `seasonal_only` also drops holidays and keeps the noise at 2-5% (a plain seasonal series)."""
    rng = random.Random(seed)
    level = rng.uniform(20, 5000)
    weekend = rng.choice((1.0, 0.9, 0.6, 0.3))
    growth = rng.uniform(0, 0.003)
    noise = rng.uniform(0.02, 0.05 if seasonal_only else 0.08)
    clean = clean or seasonal_only
    holidays = _holidays(days) if weekend >= 0.6 and not seasonal_only else set()
    purchases = [
        t
        for t in range(days)
        if (FIRST_DAY + timedelta(days=t + 1)).day == 1 and rng.random() < 0.3
    ]
    events = _events(rng, days)
    values = []
    step = 0.0
    for t in range(days):
        weekday = (FIRST_DAY + timedelta(days=t)).weekday()
        value = level * (1 + growth) ** t
        if weekday >= 5:
            value *= weekend
        elif t in holidays:
            value *= 1 - (1 - weekend) / 2
        if t in purchases:
            step += level * rng.uniform(1.0, 6.0) / 365  # days of spend, amortized over a year
        value += step
        value *= max(rng.gauss(1, noise), 0.5)
        if not clean:
            for event in events:
                if event.first <= t <= event.last:
                    value *= 1 + event.change
        values.append(to_storage_units(Decimal(repr(round(max(value, 0.0), 6)))))
    return Series(f"series-{seed}", tuple(values), () if clean else tuple(events))


def generate_set(
    count: int, *, seed: int = 13, clean: bool = False, seasonal_only: bool = False
) -> list[Series]:
    return [
        generate(seed * 100_003 + n, clean=clean, seasonal_only=seasonal_only) for n in range(count)
    ]


@dataclass
class Evaluation:
    incidents: int = 0
    true_positives: int = 0
    events: int = 0
    events_found: int = 0
    scored_days: int = 0
    misses: list[tuple[str, Event]] = field(default_factory=list)
    false: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.incidents if self.incidents else 1.0

    @property
    def recall(self) -> float:
        return self.events_found / self.events if self.events else 1.0

    @property
    def false_per_30_series_days(self) -> float:
        false = self.incidents - self.true_positives
        return false / (self.scored_days / 30) if self.scored_days else 0.0


def evaluate(
    series: Sequence[Series],
    config: DetectorConfig,
    detect: Callable[[Series, DetectorConfig], list[tuple[int, int]]] | None = None,
) -> Evaluation:
    """Incident-level precision and recall of the detector over `series`."""
    detect = detect or detect_incidents
    result = Evaluation()
    for s in series:
        found = detect(s, config)
        result.scored_days += max(len(s.values) - config.min_history_days, 0)
        result.events += len(s.events)
        matched: set[int] = set()
        for first, last in found:
            result.incidents += 1
            hit = next(
                (i for i, e in enumerate(s.events) if i not in matched and e.matches(first, last)),
                None,
            )
            if hit is None:
                result.false.append((s.name, first, last))
            else:
                matched.add(hit)
                result.true_positives += 1
        result.events_found += len(matched)
        result.misses += [(s.name, e) for i, e in enumerate(s.events) if i not in matched]
    return result


def detect_incidents(s: Series, config: DetectorConfig) -> list[tuple[int, int]]:
    """The detector over the whole series: (first, last) day index of each incident."""
    scores = score_series(s.values, start=0, first_scored=0, config=config)
    return [(r.first, r.last) for r in runs(scores)]
