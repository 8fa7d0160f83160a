"""The scoring pass on the real store (both databases): incidents, finality, restatements,
routes and the messages they queue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.anomalies.model import AnomaliesConfig, Status, is_final, last_final_day
from core.anomalies.store import Route, save_route
from core.delivery.targets import Target, TargetKind
from tests.anomalies.support import (
    FIRST,
    at,
    incidents,
    outbox,
    put_costs,
    scan,
    service_incidents,
)
from tests.support.cost_rows import put_day

CHANNEL = Target(TargetKind.SLACK, "C0ANOMALY1")


def route_all(engine, clock) -> None:
    save_route(engine, Route(CHANNEL), "slack:U1", clock.now())


def test_a_spike_is_one_incident_with_its_drivers_posted_once(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 20): 3})
    route_all(engine, clock)

    first = scan(engine, clock)
    again = scan(engine, clock)

    found = service_incidents(engine)
    assert [(i.resource_group, i.first_day, i.last_day, i.direction) for i in found] == [
        ("rg-web", date(2026, 11, 20), date(2026, 11, 20), "spike")
    ]
    assert found[0].impact > 1500 and found[0].status is Status.CLOSED
    assert first.new_incidents >= 1 and again.new_incidents == again.updated_incidents == 0
    messages = outbox(engine)
    # One post: the subscription-level incident is explained by the service one, not posted.
    assert [(m.idempotency_key, m.updates_key) for m in messages] == [
        (f"anomaly:{found[0].id}:slack:C0ANOMALY1", None)
    ]
    card = messages[0].card
    assert "Virtual Machines-0" in str(card)  # the driver: the resource that changed
    [chart] = [b for b in card["blocks"] if b["type"] == "Chart"]
    assert len(chart["points"]) == 60 and chart["band"]  # 60 days, with the expected range


def test_later_days_update_the_same_message(engine):
    spike = {date(2026, 11, 22): 3, date(2026, 11, 23): 3}
    early = at(date(2026, 11, 24), 13)  # Nov 22 final (36 h after it ended), Nov 23 not yet
    put_costs(engine, early, FIRST, date(2026, 11, 26), spike)
    route_all(engine, early)

    scan(engine, early)
    scan(engine, at(date(2026, 11, 25), 13))

    [incident] = service_incidents(engine)
    assert (incident.first_day, incident.last_day, incident.days) == (
        date(2026, 11, 22),
        date(2026, 11, 23),
        2,
    )
    first_post = f"anomaly:{incident.id}:slack:C0ANOMALY1"
    assert [(m.idempotency_key, m.updates_key) for m in outbox(engine)] == [
        (first_post, None),
        (f"{first_post}:r{incident.revision}", first_post),
    ]


def test_a_day_is_scored_only_once_final(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 25): 4})

    scan(engine, at(date(2026, 11, 27), 11, 59))  # Nov 25 ended 35 h 59 min ago
    assert service_incidents(engine) == []
    scan(engine, at(date(2026, 11, 27), 12, 0))
    assert [i.first_day for i in service_incidents(engine)] == [date(2026, 11, 25)]


def test_month_end_days_wait_72_hours():
    config = AnomaliesConfig()
    assert not is_final(date(2026, 11, 30), at(date(2026, 12, 2), 13).now(), config)
    assert is_final(date(2026, 11, 30), at(date(2026, 12, 4), 0, 0).now(), config)
    assert last_final_day(at(date(2026, 12, 2), 13).now(), config) == date(2026, 11, 28)
    quick = AnomaliesConfig(finality_hours=12, month_end_finality_hours=12)
    assert is_final(date(2026, 11, 30), at(date(2026, 12, 1), 12, 0).now(), quick)


def test_a_restated_day_is_scored_again(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 18): 3})
    route_all(engine, clock)
    scan(engine, clock)
    [spike] = service_incidents(engine)

    # Azure restates: the spike was a data error, and an earlier day was really a drop.
    put_costs(engine, clock, date(2026, 11, 18), date(2026, 11, 18))
    put_costs(engine, clock, date(2026, 11, 16), date(2026, 11, 16), {date(2026, 11, 16): 0.1})
    summary = scan(engine, clock)

    by_day = {i.first_day: i for i in service_incidents(engine)}
    assert by_day[date(2026, 11, 18)].status is Status.WITHDRAWN
    assert by_day[date(2026, 11, 16)].direction == "drop"
    assert summary.withdrawn >= 1
    keys = [m.idempotency_key for m in outbox(engine)]
    # The withdrawal updates the message that was posted.
    assert f"anomaly:{spike.id}:slack:C0ANOMALY1:r{by_day[date(2026, 11, 18)].revision}" in keys


def test_routes_filter_by_scope_and_minimum(engine, clock):
    put_costs(
        engine,
        clock,
        FIRST,
        date(2026, 11, 26),
        {date(2026, 11, 20): 3},
        data_factors={date(2026, 11, 21): 3},
    )
    save_route(engine, Route(CHANNEL, resource_group="rg-data"), "slack:U1", clock.now())
    big_only = Target(TargetKind.SLACK, "C0BIGONLY1")
    save_route(engine, Route(big_only, min_impact=Decimal(1500)), "slack:U1", clock.now())

    scan(engine, clock)

    posted = {(m.target_address, m.source_id) for m in outbox(engine)}
    by_rg = {i.resource_group: i.id for i in service_incidents(engine)}
    assert (CHANNEL.address, str(by_rg["rg-data"])) in posted
    assert (CHANNEL.address, str(by_rg["rg-web"])) not in posted
    assert (big_only.address, str(by_rg["rg-web"])) in posted  # +2,000 EUR
    assert (big_only.address, str(by_rg["rg-data"])) not in posted  # +800 EUR


def test_a_new_series_needs_14_days_of_history(engine, clock):
    put_costs(engine, clock, date(2026, 11, 12), date(2026, 11, 26), {date(2026, 11, 24): 3})
    scan(engine, clock)
    assert incidents(engine) == []
    put_day(engine, clock, date(2026, 11, 26), "1")  # unrelated: nothing else to see
