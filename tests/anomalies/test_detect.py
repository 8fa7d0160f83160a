"""The detector's properties, and its precision and recall on the generated evaluation set."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from benchmarks.anomaly_series import evaluate, generate_set
from core.anomalies.detect import DetectorConfig, Direction, runs, score_series

WEEKEND = 0.6


def seasonal(days: int, level: float = 1000.0, *, seed: int = 1, noise: float = 0.03) -> list[int]:
    """Weekdays at `level`, weekends at 60% of it, multiplicative noise; units of 1e-8."""
    rng = random.Random(seed)
    out = []
    for t in range(days):
        value = level * (WEEKEND if t % 7 in (5, 6) else 1.0) * rng.gauss(1, noise)
        out.append(int(value * 10**8))
    return out


def incidents(values: list[int], config: DetectorConfig | None = None) -> list[tuple[int, int]]:
    scores = score_series(values, start=0, first_scored=0, config=config or DetectorConfig())
    return [(r.first, r.last) for r in runs(scores)]


def test_weekly_seasonality_raises_nothing():
    assert incidents(seasonal(150)) == []


def test_a_spike_is_flagged_as_one_incident_with_its_days():
    values = seasonal(120)
    for t in (90, 91):
        values[t] *= 3
    assert incidents(values) == [(90, 91)]


def test_scores_do_not_depend_on_the_currency_scale():
    values = seasonal(120)
    values[95] *= 2
    config = DetectorConfig(min_impact=Decimal(0))
    small = score_series(values, start=0, first_scored=0, config=config)
    large = score_series([v * 1000 for v in values], start=0, first_scored=0, config=config)
    assert [s.direction for s in small] == [s.direction for s in large]
    assert [round(s.score, 3) for s in small] == [round(s.score, 3) for s in large]


def test_a_weekend_at_its_usual_level_is_normal_but_a_weekday_at_it_is_a_drop():
    values = seasonal(120, noise=0.02)
    saturday = next(t for t in range(100, 110) if t % 7 == 5)
    monday = saturday + 2
    values[monday] = values[saturday]  # a weekday that costs like a weekend: -40%
    found = incidents(values)
    assert found == [(monday, monday)]
    scores = {
        s.index: s for s in score_series(values, start=0, first_scored=0, config=DetectorConfig())
    }
    assert scores[saturday].direction is None
    assert scores[monday].direction is Direction.DROP


def test_a_level_shift_alerts_once_then_settles():
    values = seasonal(160)
    for t in range(90, 160):
        values[t] = int(values[t] * 1.5)
    found = incidents(values)
    assert len(found) == 1
    first, last = found[0]
    assert first == 90
    assert last < 90 + 28  # settled within the 28-day window


def test_new_normal_settles_a_level_shift_at_once():
    from core.anomalies.detect import SeriesTuning

    values = seasonal(160)
    for t in range(90, 160):
        values[t] = int(values[t] * 1.5)
    scores = score_series(
        values, start=0, first_scored=0, config=DetectorConfig(),
        tuning=SeriesTuning(rebaseline_from=90),
    )  # fmt: skip
    flagged = [s.index for s in scores if s.direction is not None]
    assert flagged == [90]


def test_spikes_and_drops_can_each_be_switched_off():
    values = seasonal(120)
    values[95] *= 3
    values[105] = 0
    assert incidents(values) == [(95, 95), (105, 105)]
    assert incidents(values, DetectorConfig(spikes=False)) == [(105, 105)]
    assert incidents(values, DetectorConfig(drops=False)) == [(95, 95)]


def test_a_deviation_below_the_absolute_floor_is_not_flagged():
    values = seasonal(120, level=50.0)
    values[95] = int(values[95] * 1.3)  # +15 EUR: a real change, but under the 20 EUR floor
    assert incidents(values) == []
    assert incidents(values, DetectorConfig(min_impact=Decimal(5))) == [(95, 95)]


def test_days_without_enough_history_are_not_scored():
    scores = score_series(seasonal(40), start=10, first_scored=0, config=DetectorConfig())
    assert scores[0].index == 10 + 14


def test_incident_precision_and_recall_are_above_90_percent_on_the_generated_set():
    result = evaluate(generate_set(150), DetectorConfig())
    assert result.events > 300
    assert result.precision >= 0.9, result.false[:10]
    assert result.recall >= 0.9, result.misses[:10]


@pytest.mark.parametrize("seed", [13, 21])
def test_seasonal_series_without_anomalies_raise_no_incident(seed):
    result = evaluate(generate_set(100, seed=seed, seasonal_only=True), DetectorConfig())
    assert result.incidents == 0, result.false
