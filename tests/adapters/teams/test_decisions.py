"""Approve / Dismiss / Snooze in Teams over real HTTP: the inputs are in the card (Input.Text
and Input.ChoiceSet inside an Action.ShowCard with an Action.Execute), their values arrive with
the invoke, and the answer is the updated card (Adaptive Cards 1.5 schema)."""

from __future__ import annotations

from tests.support.decisions import store_recs
from tests.support.teams import (
    TENANT_ID,
    assert_valid_card,
    buttons,
    invoke,
    message,
    nodes,
    sqlite_only,
    texts,
)


@sqlite_only
async def test_snooze_inputs_in_the_card_and_the_updated_card(start_teams, connector, engine):
    ids = store_recs(engine)
    server = await start_teams(approval_roles=[f"approver=teams:{TENANT_ID}:aad-ann@*"])
    await server.post(message(f"rec {ids['vm-web-1']}", connector.url))
    [card] = connector.cards()
    assert_valid_card(card)
    shows = {n["title"]: n for n in nodes(card) if n.get("type") == "Action.ShowCard"}
    snooze = shows["Snooze"]["card"]
    inputs = {i["id"]: i for i in snooze["body"]}
    assert inputs["choice"]["type"] == "Input.ChoiceSet"
    assert [c["value"] for c in inputs["choice"]["choices"]] == ["7", "14", "30", "60", "90"]
    assert inputs["text"]["type"] == "Input.Text" and inputs["text"]["isRequired"] is True
    [execute] = snooze["actions"]
    assert execute["type"] == "Action.Execute" and execute["verb"] == "rec.snooze"

    press = invoke(execute["verb"], execute["data"]["value"], connector.url)
    press["value"]["action"]["data"].update(choice="30", text="budget freeze")
    status, body = await server.post(press)
    assert status == 200
    updated = body["value"]
    assert_valid_card(updated)
    shown = " ".join(texts(updated))
    assert "Snoozed by Ann Admin on" in shown and "until 2026-12-27" in shown
    assert "budget freeze" in shown
    assert "Approve" not in buttons(updated)


@sqlite_only
async def test_a_teams_refusal_names_the_aad_object_id(start_teams, connector, engine):
    ids = store_recs(engine)
    server = await start_teams()
    status, body = await server.post(invoke("rec.approve", f"{ids['vm-web-1']}:0", connector.url))
    assert status == 200 and texts(body["value"])[0] == "Not allowed"
    assert f"teams:{TENANT_ID}:aad-ann" in " ".join(texts(body["value"]))
