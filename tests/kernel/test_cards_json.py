from datetime import date
from decimal import Decimal

from core.kernel.cards import (
    Actions,
    Align,
    Button,
    Chart,
    ChartPoint,
    Column,
    Context,
    Divider,
    Fact,
    Facts,
    Header,
    Severity,
    Table,
    Text,
    card,
)
from core.kernel.cards_json import card_from_dict, card_to_dict


def test_every_block_type_survives_a_round_trip_through_json():
    import json

    original = card(
        "Budget alert",
        "Prod is at 81%",
        Header("Budget prod: 81% used"),
        Text("Spend crossed 80%."),
        Facts((Fact("Spent", "€8,100.00"), Fact("Budget", "€10,000.00"))),
        Table(
            (Column("Service"), Column("Cost", Align.RIGHT)), (("VMs", "€5,000.00"),), "… 2 more"
        ),
        Chart("Burn", (ChartPoint(date(2026, 11, 1), Decimal("12.34567891")),), "EUR"),
        Divider(),
        Context("Evaluated 2026-11-27 09:30 UTC"),
        Actions((Button("Acknowledge", "alert.ack", "42", style="primary", confirm="Sure?"),)),
        severity=Severity.WARNING,
    )
    assert card_from_dict(json.loads(json.dumps(card_to_dict(original)))) == original


def test_overlays_lines_ticks_row_actions_and_data_survive_a_round_trip():
    import json

    from core.kernel.cards import ChartLine, ChartSeries, ChartTick

    nov = [date(2026, 11, d) for d in (1, 2, 3)]
    original = card(
        "Burn",
        "Prod at 81%",
        Table(
            (Column("Service"), Column("Cost", Align.RIGHT)),
            (("VMs", "€5,000.00"), ("(none)", "€1.00")),
            row_actions=(Button("VMs ›", "costs.drilldown", "costs by meter"), None),
        ),
        Chart(
            "Cumulative spend",
            tuple(ChartPoint(d, Decimal(i)) for i, d in enumerate(nov)),
            "EUR",
            name="spent",
            series=(
                ChartSeries("forecast", (ChartPoint(nov[-1], Decimal("2.5")),), summary="fc"),
                ChartSeries("October", (ChartPoint(nov[0], Decimal(1)),), dashed=False),
            ),
            lines=(ChartLine("budget", Decimal("10.00")),),
            tick=ChartTick.DAY,
            until=date(2026, 11, 30),
        ),
        data={"budget": {"id": 3, "name": "prod"}, "spent": "8100.00"},
    )
    assert card_from_dict(json.loads(json.dumps(card_to_dict(original)))) == original


def test_a_card_written_before_overlays_and_data_still_reads():
    written = {
        "v": 1,
        "title": "t",
        "summary": "s",
        "severity": "info",
        "blocks": [
            {"type": "Chart", "title": "c", "unit": "EUR", "points": [["2026-11-01", "1"]]},
            {"type": "Table", "columns": [["A", "left"]], "rows": [["x"]], "footer": None},
        ],
    }
    view = card_from_dict(written)
    assert view.data == {}
    chart, table = view.blocks
    assert chart.series == () and chart.lines == () and chart.until is None
    assert table.row_actions == ()


def test_buttons_that_ask_first_survive_a_round_trip_and_old_documents_still_read():
    import json

    from core.recommendations.actions import decision_buttons

    original = card("Decide", "Approve, dismiss or snooze", Actions(decision_buttons(7, 2)))
    document = card_to_dict(original)
    assert card_from_dict(json.loads(json.dumps(document))) == original
    [approve] = [b for b in document["blocks"][0]["buttons"] if b["label"] == "Approve"]
    assert "ask" not in approve  # written only when set: documents of before still read
