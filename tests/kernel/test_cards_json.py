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
