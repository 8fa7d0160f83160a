"""Each button changes what is flagged (or posted) next; stored with who and when."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.anomalies.actions import AnomaliesAction
from core.anomalies.store import FEEDBACK, Route, save_route
from core.app import create_core
from core.costs.actions import CostsAction
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Actions, Table
from core.kernel.context import CoreConfig, Requester
from tests.anomalies.support import FIRST, at, outbox, put_costs, scan, service_incidents

ADMIN = Requester("slack", "UADMIN", "Ada", conversation_id="C0FINOPS1", workspace_id="T1")
VIEWER = Requester("slack", "UBOB", "Bob", conversation_id="C0FINOPS1", workspace_id="T1")
SHIFT = date(2026, 11, 10)


def app(engine, clock):
    return create_core(engine, clock, CoreConfig(admins=frozenset({"slack:T1:UADMIN"})))


def shifted(day_from: date):
    """WEB costs 80% more from `day_from` on (a new normal)."""
    return {
        date.fromordinal(o): 1.8 for o in range(day_from.toordinal(), date(2026, 12, 1).toordinal())
    }


def test_expected_re_baselines_the_series_so_the_new_level_is_not_flagged(engine):
    early = at(date(2026, 11, 13), 13)  # Nov 10 and 11 are final
    put_costs(engine, early, FIRST, date(2026, 11, 26), shifted(SHIFT))
    scan(engine, early)
    [incident] = service_incidents(engine)
    assert incident.first_day == SHIFT

    reply = app(engine, early).handle_action(AnomaliesAction.EXPECTED, str(incident.id), ADMIN)
    assert "re-baselined" in " ".join(getattr(b, "text", "") for b in reply.card.blocks)
    later = at(date(2026, 11, 27))
    scan(engine, later)

    [after] = service_incidents(engine)
    assert after.id == incident.id and after.status == "expected"
    assert after.last_day <= date(2026, 11, 11)  # the days since were not flagged
    with engine.connect() as conn:
        [row] = conn.execute(select(FEEDBACK)).all()
    assert (row.kind, row.principal, row.name, row.from_day) == (
        "expected", "slack:T1:UADMIN", "Ada", SHIFT,
    )  # fmt: skip


def test_without_feedback_the_same_shift_keeps_flagging(engine):
    early = at(date(2026, 11, 13), 13)
    put_costs(engine, early, FIRST, date(2026, 11, 26), shifted(SHIFT))
    scan(engine, early)
    scan(engine, at(date(2026, 11, 27)))
    assert max(i.last_day for i in service_incidents(engine)) > date(2026, 11, 11)


def test_too_small_raises_the_series_floor(engine, clock):
    first_spike, second_spike, big_spike = date(2026, 11, 3), date(2026, 11, 17), date(2026, 11, 24)
    early = at(date(2026, 11, 6))
    put_costs(
        engine, early, FIRST, date(2026, 11, 26),
        {first_spike: 1.6, second_spike: 1.6, big_spike: 3},
    )  # fmt: skip
    scan(engine, early)
    [small] = service_incidents(engine)
    app(engine, early).handle_action(AnomaliesAction.TOO_SMALL, str(small.id), ADMIN)

    scan(engine, clock)

    days = sorted(i.first_day for i in service_incidents(engine))
    assert days == [first_spike, big_spike]  # the same-sized spike is no longer news


def test_acknowledge_stops_updates_but_keeps_watching(engine):
    target = Target(TargetKind.SLACK, "C0ANOMALY1")
    early = at(date(2026, 11, 24), 13)
    put_costs(
        engine, early, FIRST, date(2026, 11, 26), {date(2026, 11, 22): 3, date(2026, 11, 23): 3}
    )
    save_route(engine, Route(target), "slack:U1", early.now())
    scan(engine, early)
    [incident] = service_incidents(engine)

    reply = app(engine, early).handle_action(AnomaliesAction.ACKNOWLEDGE, str(incident.id), VIEWER)
    assert reply.replace_original
    scan(engine, at(date(2026, 11, 25), 13))

    [after] = service_incidents(engine)
    assert after.days == 2 and after.acknowledged_name == "Bob"  # still watched
    assert [m.updates_key for m in outbox(engine)] == [None]  # no more pings


def test_expected_and_too_small_need_an_admin(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 20): 3})
    scan(engine, clock)
    [incident] = service_incidents(engine)
    reply = app(engine, clock).handle_action(AnomaliesAction.TOO_SMALL, str(incident.id), VIEWER)
    assert "not allowed to tune anomaly detection" in reply.card.summary + str(reply.card.blocks)


def test_investigate_opens_costs_for_the_series_and_days(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 20): 3})
    scan(engine, clock)
    [incident] = service_incidents(engine)
    core = app(engine, clock)
    shown = core.handle_text(f"anomaly {incident.id}", VIEWER)
    [actions] = [b for b in shown.card.blocks if isinstance(b, Actions)]
    investigate = next(b for b in actions.buttons if b.label == "Investigate")
    assert investigate.action_id == CostsAction.DRILLDOWN

    reply = core.handle_action(investigate.action_id, investigate.value, VIEWER)

    assert "2026-11-20" in reply.card.title + reply.card.summary or "Nov 20" in str(reply.card)
    [table] = [b for b in reply.card.blocks if isinstance(b, Table)]
    assert any("Virtual Machines-0" in row[0] for row in table.rows)


def test_anomalies_lists_incidents_and_notify_routes_here(engine, clock):
    put_costs(engine, clock, FIRST, date(2026, 11, 26), {date(2026, 11, 20): 3})
    core = app(engine, clock)
    routed = core.handle_text("anomalies notify here rg:rg-web min 100", VIEWER)
    assert "C0FINOPS1" in str(routed.card)
    scan(engine, clock)

    listed = core.handle_text("anomalies 30d rg:rg-web", VIEWER)

    [table] = [b for b in listed.card.blocks if isinstance(b, Table)]
    assert [row[2] for row in table.rows] == ["Virtual Machines in rg-web (Production)"]
    assert [m.target_address for m in outbox(engine)] == ["C0FINOPS1"]
    refused = core.handle_text("anomalies 30d location:westeurope", VIEWER)
    assert "not one of those" in refused.card.summary + str(refused.card.blocks)
