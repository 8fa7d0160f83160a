"""One catalogue of neutral cards and one hypothesis strategy of arbitrary ones, for every renderer.

`CATALOGUE` names the cards the renderer contract (tests/contracts/renderer.py) runs on every
renderer: every block type, empty and blank parts, long and wide tables, many buttons, unicode
and the markup characters of every medium, charts of 0, 1 and many points, every severity. The
golden-file tests render some of the same cards (`every_block_slack`, `every_block_teams`,
`costs_by_service`, `long_table`).

`neutral_cards()` draws arbitrary cards; `presentable(button)` says which buttons every medium
with buttons must keep.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from core.kernel.cards import (
    Actions,
    Align,
    Button,
    Card,
    Chart,
    ChartBand,
    ChartLine,
    ChartPoint,
    ChartSeries,
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
    channel_reference,
)

#: Core's documented limit on a button's value (`core.kernel.cards.Button.value`).
MAX_BUTTON_VALUE = 2000


def presentable(button: Button) -> bool:
    """A button every medium with buttons must show: a label, and a value within core's limit.

    (Slack leaves out a button whose value it would have to cut, or that has no label.)
    """
    return bool(button.label.strip()) and len(button.value) <= MAX_BUTTON_VALUE


# -- series -------------------------------------------------------------------------------------


def daily(n: int, start: date = date(2026, 11, 1)) -> tuple[ChartPoint, ...]:
    """`n` days of plausible, varying costs from `start`."""
    return tuple(
        ChartPoint(start + timedelta(days=i), Decimal(100 + (i * 37) % 50)) for i in range(n)
    )


def teams_series(days: int = 30, *, overlaid: bool = False) -> Chart:
    """The series of the Adaptive Cards golden files (it crosses a month boundary); overlaid:
    with the period before and a budget line."""
    points = tuple(
        ChartPoint(date(2026, 10, 28 + i) if i < 4 else date(2026, 11, i - 3), Decimal(100 + i))
        for i in range(days)
    )
    if not overlaid:
        return Chart(title="Daily actual cost", points=points, unit="EUR")
    previous = tuple(ChartPoint(p.day, p.value - 10) for p in points)
    return Chart(
        title="Daily actual cost",
        points=points,
        unit="EUR",
        name="this period",
        series=(ChartSeries("period before", previous, summary="dashed: the period before"),),
        lines=(ChartLine("budget", Decimal(150)),),
    )


# -- the cards of the golden files --------------------------------------------------------------


def every_block_slack() -> Card:
    """Every block type, as the Block Kit golden file `every_block.json` renders it."""
    return card(
        "Budget prod-monthly at 80%",
        "Budget prod-monthly reached 80% (€8,000.00 of €10,000.00)",
        Header("Budget prod-monthly at 80%"),
        Text("Spend is *ahead* of plan for <team-a> & friends.\nSecond line with `code`."),
        Facts(
            (
                Fact("Spent", "€8,000.00"),
                Fact("Budget", "€10,000.00"),
                Fact("Forecast", "€11,200.00"),
                Fact("Notifies", f"Slack {channel_reference('C0FINOPS1')}, Teams General"),
            )
        ),
        Divider(),
        Table(
            columns=(Column("Resource group"), Column("Cost", Align.RIGHT)),
            rows=(("rg-web", "€5,000.00"), ("rg-data-platform-eu-west", "€3,000.00")),
            footer="… 4 more resource groups: €120.00",
            row_actions=(
                Button("rg-web ›", "costs.drilldown", "costs by resource rg:rg-web"),
                None,
            ),
        ),
        Table(  # the second table of a message: Slack allows one table block, so a code block
            columns=(Column("Service"), Column("Spent", Align.RIGHT)),
            rows=(("Virtual Machines", "€6,000.00"), ("Storage", "€2,000.00")),
        ),
        Chart(
            "Cumulative actual spend vs budget €10,000.00",
            daily(30),
            "EUR",
            name="spent",
            series=(
                ChartSeries(
                    "forecast",
                    tuple(ChartPoint(p.day, p.value + 20) for p in daily(30)),
                    summary="dashed: forecast €11,200.00 by Nov 30",
                ),
            ),
            lines=(ChartLine("budget", Decimal(140)),),
        ),
        Context("Data through 2026-11-26 · actual cost"),
        Actions(
            (
                Button("Acknowledge", "alert.ack", "alert:17", style="primary"),
                Button("Snooze 7 days", "alert.snooze", "alert:17:7d"),
                Button(
                    "Delete budget",
                    "budget.delete",
                    "budget:3",
                    style="danger",
                    confirm="Delete budget prod-monthly and its alerts?",
                ),
            )
        ),
        severity=Severity.WARNING,
    )


def every_block_teams() -> Card:
    """Every block type, as the Adaptive Cards golden files render it."""
    return card(
        "Budget warning",
        "Team budget at 85%",
        Header("Budget rg_prod_data at 85%"),
        Text("Spend is *ahead* of plan.\nForecast: €1,234.56 by month end.\n1. not a list"),
        Facts(
            (
                Fact("Budget", "€1,000.00"),
                Fact("Scope", "rg:rg_prod_data"),
                Fact("Notifies", f"Slack {channel_reference('C0FINOPS1')}"),
            )
        ),
        Table(
            columns=(Column("Service"), Column("Cost", Align.RIGHT)),
            rows=(("Virtual Machines", "€700.00"), ("Storage [hot]", "€150.00")),
            footer="… 3 more services: €12.00",
            row_actions=(Button("Virtual Machines ›", "costs.drilldown", "costs by meter"), None),
        ),
        Divider(),
        teams_series(overlaid=True),
        Actions(
            (
                Button("Raise budget", "budget.raise", "b-1:1200", style="primary"),
                Button("Delete budget", "budget.delete", "b-1", style="danger", confirm="Sure?"),
            )
        ),
        Context("Data through 2026-11-26"),
        severity=Severity.WARNING,
    )


def costs_by_service() -> Card:
    """A costs answer, as the console golden file renders it."""
    points = tuple(
        ChartPoint(date(2026, 11, 1) + timedelta(days=i), Decimal(100 + (i % 7) * 10))
        for i in range(14)
    )
    return card(
        "Costs by service — last 14 days",
        "€4,321.00 actual cost",
        Header("Costs by service — last 14 days"),
        Facts((Fact("Total", "€4,321.00"), Fact("vs previous 14 days", "€4,000.00 (+8.0%)"))),
        Text("A plain paragraph."),
        Table(
            (Column("Service"), Column("Cost", Align.RIGHT), Column("Share", Align.RIGHT)),
            (("Virtual Machines", "€3,000.00", "69.4%"), ("Storage", "€1,321.00", "30.6%")),
            footer="… 2 more service group(s): €0.00",
        ),
        Chart("Daily actual cost", points, "EUR"),
        Context("Data through 2026-11-14"),
        Actions(
            (
                Button("By resource-group", "costs.drilldown", "costs 14d by rg"),
                Button("By location", "costs.drilldown", "costs 14d by location"),
            )
        ),
    )


def long_table() -> Card:
    """120 long rows and 14 facts, as the Block Kit golden file `long_table.json` renders it."""
    rows = tuple((f"resource-{i:03d}-" + "x" * 60, f"€{i},000.00") for i in range(120))
    return card(
        "Costs by resource",
        "Many rows",
        Header("Costs by resource"),
        Facts(tuple(Fact(f"Fact {i}", f"value {i}") for i in range(14))),
        Table(columns=(Column("Resource"), Column("Cost", Align.RIGHT)), rows=rows),
    )


# -- the rest of the catalogue ------------------------------------------------------------------


def huge_table() -> Card:
    """1,200 rows: more than a Slack message holds, and over the Adaptive Card size budget."""
    rows = tuple((f"resource-{i:05d}-" + "x" * 60, f"€{i}.00") for i in range(1200))
    return card(
        "Costs",
        "Twelve hundred resources",
        Table(columns=(Column("Resource"), Column("Cost", Align.RIGHT)), rows=rows),
    )


def wide_table() -> Card:
    """Six columns of long words and figures: wider than any screen, so media clip or fold."""
    columns = (
        Column("Resource"),
        Column("Resource group"),
        Column("Service"),
        Column("Location"),
        Column("Cost", Align.RIGHT),
        Column("Share", Align.RIGHT),
    )
    rows = tuple(
        (
            f"/subscriptions/0000/resourcegroups/rg-{i}/providers/microsoft.compute/vm-{i:03d}",
            f"rg-data-platform-analytics-eu-west-{i}",
            "Azure Database for PostgreSQL flexible server",
            "westeurope",
            f"€{i * 1000:,}.00",
            f"{i}.0%",
        )
        for i in range(12)
    )
    return card("Wide", "A wide table", Table(columns, rows, footer="Twelve resources"))


def words_table() -> Card:
    """Only left-aligned columns of long text (Slack shows such a table as a list)."""
    rows = tuple(
        (f"Recommendation {i}: " + "resize the virtual machine " * 4, "Owner team " * 6)
        for i in range(8)
    )
    return card(
        "Advice",
        "Eight recommendations",
        Table((Column("Recommendation"), Column("Owner")), rows),
    )


def ragged_table() -> Card:
    """Rows with fewer and more cells than columns (the missing ones are blank)."""
    return card(
        "Ragged",
        "Rows of every length",
        Table(
            (Column("Name"), Column("Cost", Align.RIGHT), Column("Note")),
            (("only a name",), ("vm-1", "€1.00"), ("vm-2", "€2.00", "spot"), ()),
        ),
    )


def empty_card() -> Card:
    """No title, no summary, no blocks."""
    return Card(title="", summary="")


def empty_parts() -> Card:
    """Every block type with nothing in it."""
    return card(
        "",
        "Every part empty",
        Header(""),
        Text(""),
        Facts(()),
        Table((), ()),
        Table((Column("Name"), Column("Cost", Align.RIGHT)), ()),
        Chart("Nothing to draw", (), "EUR"),
        Actions(()),
        Context(""),
        Divider(),
    )


def blank_parts() -> Card:
    """Parts of whitespace only (Slack refuses empty text objects)."""
    return card(
        "   ",
        " ",
        Header("  "),
        Chart("c", (), "EUR"),
        Text(""),
        Text(" \n\t "),
        Facts((Fact(" ", " "), Fact("", "value without a label"), Fact("label without value", ""))),
        Table((Column(" "),), ((" ",), ("",))),
        Context("\t"),
        Actions((Button("   ", "blank.label", "v"),)),
    )


def many_buttons() -> Card:
    """32 buttons in two action blocks: more than one Slack actions block holds."""
    buttons = tuple(Button(f"Option {i}", "costs.drilldown", f"costs by {i}") for i in range(30))
    return card(
        "Choose",
        "Thirty-two choices",
        Header("Pick a breakdown"),
        Actions(buttons),
        Actions(
            (
                Button("Approve", "rec.approve", "rec:1", style="primary", confirm="Approve it?"),
                Button("Reject", "rec.reject", "rec:1", style="danger"),
            )
        ),
    )


def decision_buttons_card() -> Card:
    """A recommendation's Approve / Dismiss / Snooze: buttons that ask (a reason, a duration)
    before they act, as every card showing a recommendation draws them."""
    from core.recommendations.actions import decision_buttons

    return card(
        "Recommendation #12",
        "#12 Deallocate idle VM vm-web-1: €100.00 a month.",
        Header("#12 Deallocate idle VM vm-web-1"),
        Facts((Fact("Monthly saving", "€100.00"), Fact("Decision", "open"))),
        Actions(decision_buttons(12, 3)),
    )


def oversized_buttons() -> Card:
    """A button whose value exceeds core's limit, and one without a label, next to good ones."""
    return card(
        "Buttons",
        "Good and bad buttons",
        Actions(
            (
                Button("ok", "a.ok", "v"),
                Button("too long", "a.long", "x" * (MAX_BUTTON_VALUE + 1)),
                Button("", "a.nolabel", "v"),
                Button("also ok", "a.fine", "y" * MAX_BUTTON_VALUE),
                Button("L" * 120, "a.longlabel", "v"),
            )
        ),
    )


UNICODE = "Kosten 成本 コスト تكلفة 💶🚀 e\u0301 👩\u200d💻 Ωmega ü ß ‰ –—"
#: The markup of every medium: Slack mrkdwn and mentions, Markdown, HTML, rich console markup,
#: emoji codes, e-mail header injection.
MARKUP = (
    "<!channel> <@U123> <https://evil.example|click> *bold* _it_ ~strike~ `code` ```block``` "
    "**strong** [link](https://x.example) \\ 1. item # heading "
    "<script>alert(1)</script> &amp; &lt; \"quotes\" 'single' "
    "[bold]rich[/bold] [/] [red]x :warning: :smile:"
)


def unicode_everywhere() -> Card:
    """Non-Latin scripts, emoji, combining marks and joiners in every part."""
    return card(
        f"Title {UNICODE}",
        f"Summary {UNICODE}",
        Header(f"Header {UNICODE}"),
        Text(f"Text {UNICODE}\nsecond line {UNICODE}"),
        Facts((Fact(f"Label {UNICODE}", f"Value {UNICODE}"),)),
        Table(
            (Column(f"Col {UNICODE[:12]}"), Column("€", Align.RIGHT)),
            ((f"Cell {UNICODE}", "€1,234.56"), ("成本中心", "¥9,876")),
            footer=f"Footer {UNICODE}",
        ),
        Chart(f"Chart {UNICODE[:20]}", daily(10), "JPY"),
        Context(f"Context {UNICODE}"),
        Actions((Button(f"Button {UNICODE[:20]}", "costs.drilldown", f"value {UNICODE}"),)),
    )


def markup_everywhere() -> Card:
    """Text that means something to some medium, in every part: it must arrive as text."""
    return card(
        f"Title {MARKUP[:80]}\r\nBcc: victim@example.test",
        f"Summary {MARKUP}",
        Header(f"Header {MARKUP[:100]}"),
        Text(f"Text {MARKUP}\n2. second line"),
        Facts((Fact(f"Label {MARKUP[:60]}", f"Value {MARKUP}"),)),
        Table(
            (Column("[bold]Name[/bold]"), Column("<Cost>", Align.RIGHT)),
            (("[/]", "&amp;"), ("*x*", "<!here>"), ("rg_prod_data", ":warning:")),
            footer=f"Footer {MARKUP[:60]}",
        ),
        Chart(f"Chart {MARKUP[:30]}", daily(5), "EUR"),
        Context(f"Context {MARKUP}"),
        Actions(
            (
                Button("[bold]Press[/bold] <me> & *now*", "costs.drilldown", "<x>&[/]"),
                Button("Confirm :warning:", "budget.delete", "b&1", confirm=f"Sure? {MARKUP}"),
            )
        ),
    )


def charts() -> Card:
    """Charts of 0, 1 and many points, a flat one, negative values and a percentage."""
    flat = tuple(ChartPoint(date(2026, 11, 1) + timedelta(days=i), Decimal(5)) for i in range(7))
    credits = tuple(
        ChartPoint(date(2026, 11, 1) + timedelta(days=i), Decimal(i - 3)) for i in range(7)
    )
    return card(
        "Charts",
        "Every kind of series",
        Chart("No points", (), "EUR"),
        Chart("One point", daily(1), "EUR"),
        Chart("A year of days", daily(366, date(2025, 11, 27)), "USD"),
        Chart("Flat", flat, "EUR"),
        Chart("Credits", credits, "EUR"),
        Chart("Utilisation", daily(14), "%"),
        Chart("With its expected band", daily(20), "EUR", band=band(daily(20)[-5:])),
        Chart("A band without points", (), "EUR", band=band(daily(3))),
    )


def band(points: tuple[ChartPoint, ...]) -> tuple[ChartBand, ...]:
    """An expected range around each point (anomaly cards draw one)."""
    return tuple(
        ChartBand(p.day, p.value * Decimal("0.8"), p.value * Decimal("1.2")) for p in points
    )


def long_texts() -> Card:
    """Texts longer than a Slack section, a header longer than Slack's, a line without breaks."""
    paragraph = "\n".join(f"Line {i}: " + "spend went up because " * 8 for i in range(60))
    return card(
        "Long " * 60,
        "A long summary " * 250,
        Header("A very long header " * 20),
        Text(paragraph),
        Text("x" * 7000),
        Facts((Fact("Long label " * 30, "Long value " * 300),)),
        Context("Long small print " * 200),
    )


def too_many_blocks() -> Card:
    """More blocks than a Slack message holds, with buttons at the end."""
    blocks = [Header("Many")] + [Text(f"paragraph {i}") for i in range(80)]
    return card(
        "Many blocks",
        "Eighty paragraphs",
        *blocks,
        Actions((Button("Again", "costs.drilldown", "costs"),)),
    )


def many_facts() -> Card:
    """25 facts: more than one Slack section holds."""
    return card(
        "Facts",
        "Twenty-five facts",
        Facts(tuple(Fact(f"Fact {i}", f"€{i},000.00") for i in range(25))),
    )


def severity_card(severity: Severity) -> Card:
    return card(
        f"A {severity} card",
        f"Something of severity {severity}",
        Header(f"{str(severity).capitalize()} header"),
        Text("Body."),
        severity=severity,
    )


def _catalogue() -> dict[str, Card]:
    cards = {
        "every_block_slack": every_block_slack(),
        "every_block_teams": every_block_teams(),
        "costs_by_service": costs_by_service(),
        "long_table": long_table(),
        "huge_table": huge_table(),
        "wide_table": wide_table(),
        "words_table": words_table(),
        "ragged_table": ragged_table(),
        "empty_card": empty_card(),
        "empty_parts": empty_parts(),
        "blank_parts": blank_parts(),
        "many_buttons": many_buttons(),
        "decision_buttons": decision_buttons_card(),
        "oversized_buttons": oversized_buttons(),
        "unicode": unicode_everywhere(),
        "markup": markup_everywhere(),
        "charts": charts(),
        "long_texts": long_texts(),
        "too_many_blocks": too_many_blocks(),
        "many_facts": many_facts(),
    }
    for severity in Severity:
        cards[f"severity_{severity}"] = severity_card(severity)
    return cards


#: Every catalogue card by name (summaries differ: receivers may tell messages apart by them).
CATALOGUE: dict[str, Card] = _catalogue()


# -- arbitrary cards ------------------------------------------------------------------------------

_CHARACTERS = st.characters(blacklist_categories=("Cs",))  # any text a str can hold in JSON
_text = st.text(_CHARACTERS, max_size=4000)
_short = st.text(_CHARACTERS, max_size=300)
_values = st.decimals(
    min_value=-1_000_000, max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def _series(draw: st.DrawFn) -> tuple[ChartPoint, ...]:
    """0-400 consecutive days: the Slack strategy's shapes, or drawn values."""
    n = draw(st.integers(0, 400))
    if draw(st.booleans()):
        return daily(n)
    values = draw(st.lists(_values, min_size=n, max_size=n))
    start = date(2026, 11, 1) - timedelta(days=n)
    return tuple(ChartPoint(start + timedelta(days=i), v) for i, v in enumerate(values))


_button = st.builds(
    Button,
    _short,
    st.from_regex(r"[a-z]{1,10}\.[a-z]{1,10}", fullmatch=True),
    st.text(max_size=MAX_BUTTON_VALUE + 100),
    st.sampled_from([None, "primary", "danger", "weird"]),
    st.one_of(st.none(), _text),
)

_block = st.one_of(
    st.builds(Header, _short),
    st.builds(Text, _text),
    st.builds(Context, _text),
    st.builds(Divider),
    st.builds(Facts, st.lists(st.builds(Fact, _short, _text), max_size=25).map(tuple)),
    st.builds(
        Table,
        st.lists(
            st.builds(Column, _short, st.sampled_from(list(Align))), min_size=1, max_size=6
        ).map(tuple),
        st.lists(st.lists(_short, max_size=6).map(tuple), max_size=200).map(tuple),
        st.one_of(st.none(), _short),
    ),
    st.builds(Actions, st.lists(_button, max_size=40).map(tuple)),
    st.builds(Chart, _short, _series(), st.sampled_from(["EUR", "USD", "%"])),
)


def neutral_cards() -> st.SearchStrategy[Card]:
    """Arbitrary cards: any characters, up to 70 blocks of every type, every severity."""
    return st.builds(
        Card,
        title=_short,
        summary=_text,
        blocks=st.lists(_block, max_size=70).map(tuple),
        severity=st.sampled_from(list(Severity)),
    )
