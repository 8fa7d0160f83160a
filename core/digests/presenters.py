"""Cards of the digests feature: the digest itself, the channel's subscriptions, confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from core.digests.actions import DigestAction
from core.digests.content import DigestContent, Mover, SpendLine
from core.digests.model import Subscription
from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartPoint,
    ChartSeries,
    ChartTick,
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
from core.kernel.money import format_money, format_percent
from core.recommendations.actions import RecsAction

MAX_RESOURCE_NAME = 60


@lru_cache(maxsize=4096)
def _money(amount: Decimal | None, currency: str | None) -> str:
    """Formatted once per figure (subscriptions over one scope share their figures)."""
    if amount is None:
        return "—"
    return format_money(amount, currency) if currency else f"{amount:,.2f}"


def _signed(amount: Decimal, currency: str | None) -> str:
    text = _money(abs(amount), currency)
    return f"+{text}" if amount > 0 else (f"−{text}" if amount < 0 else text)


def _spend_fact(line: SpendLine, currency: str | None) -> Fact:
    if line.total is None:
        return Fact(line.label, f"— ({line.note})" if line.note else "—")
    value = _money(line.total, currency)
    if line.previous is not None:
        change = format_percent(line.change, signed=True)
        against = _money(line.previous, currency)
        how = f", {line.comparison}" if line.comparison else ""
        value += f" ({change} against {against}{how})"
    return Fact(line.label, value)


def _mover_rows(movers: Sequence[Mover], currency: str | None) -> tuple[tuple[str, ...], ...]:
    rows = []
    for m in movers:
        behind = ", ".join(
            f"{name[:MAX_RESOURCE_NAME]} {_signed(delta, currency)}" for name, delta in m.resources
        )
        rows.append(
            (
                f"{m.label} ({m.dimension})",
                _money(m.cost, currency),
                _signed(m.delta, currency),
                behind or "—",
            )
        )
    return tuple(rows)


def _chart(content: DigestContent) -> Chart | None:
    if not content.chart:
        return None
    series: tuple[ChartSeries, ...] = ()
    if content.chart_previous:
        aligned = tuple(
            ChartPoint(day, value)
            for (day, _), (_, value) in zip(content.chart, content.chart_previous, strict=False)
        )
        first, last = content.chart_previous[0][0], content.chart_previous[-1][0]
        total = sum((v for _, v in content.chart_previous), Decimal(0))
        name = f"{first:%b} {first.day} – {last:%b} {last.day}"
        series = (
            ChartSeries(
                name,
                aligned,
                dashed=True,
                summary=f"dashed: the 30 days before ({name}), total "
                f"{_money(total, content.currency)}",
            ),
        )
    start, end = content.chart[0][0], content.chart[-1][0]
    return Chart(
        title="Daily cost, last 30 days",
        points=tuple(ChartPoint(day, value) for day, value in content.chart),
        unit=content.currency or "",
        name=f"{start:%b} {start.day} – {end:%b} {end.day}",
        series=series,
        tick=ChartTick.WEEK,
    )


def _budget_blocks(content: DigestContent) -> list[Block]:
    if not content.budgets:
        return []
    rows = []
    for b in content.budgets:
        percent = None if b.forecast is None else b.forecast / b.amount * 100
        rows.append(
            (
                b.name,
                _money(b.amount, b.currency),
                _money(b.spent, b.currency),
                f"{_money(b.forecast, b.currency)} ({format_percent(percent)})"
                if b.forecast is not None
                else "no forecast yet",
            )
        )
    return [
        Text("Budgets in scope: spent so far and projected to the period end"),
        Table(
            columns=(
                Column("Budget"),
                Column("Amount", Align.RIGHT),
                Column("Spent", Align.RIGHT),
                Column("Projected", Align.RIGHT),
            ),
            rows=tuple(rows),
        ),
    ]


def _incident_blocks(content: DigestContent) -> list[Block]:
    if not content.incidents:
        return [Text("Open anomalies: none.")]
    lines = [
        f"#{i.id} {i.describe()}: {_signed(i.impact, i.currency)} since {i.first_day:%Y-%m-%d}"
        + (" (acknowledged)" if i.acknowledged_at else "")
        for i in content.incidents
    ]
    return [Text("Open anomalies:\n" + "\n".join(f"• {line}" for line in lines))]


def rec_buttons(rec_id: int, version: str) -> tuple[Button, ...]:
    """The decision buttons of one recommendation (the recommendations feature's action ids)."""
    value = f"{rec_id}:{version}"
    return (
        Button("Approve", RecsAction.APPROVE, value, style="primary"),
        Button("Dismiss", RecsAction.DISMISS, value),
        Button("Snooze", RecsAction.SNOOZE, value),
    )


def _rec_blocks(content: DigestContent) -> list[Block]:
    if not content.recommendations:
        return [Text("Recommendations: none open in this scope.")]
    blocks: list[Block] = [
        Text(
            f"Top recommendations ({len(content.recommendations)} of "
            f"{content.open_recommendations} open)"
        )
    ]
    for r in content.recommendations:
        saving = f"{_money(r.saving, r.currency)}/mo" if r.saving is not None else "saving unknown"
        blocks.append(Text(f"#{r.id} {r.title} — {r.resource[:MAX_RESOURCE_NAME]}: {saving}"))
        blocks.append(Actions(rec_buttons(r.id, r.version)))
    return blocks


def _realized_blocks(content: DigestContent) -> list[Block]:
    if content.realized is None:
        return []
    if not content.realized:
        return [Facts((Fact("Realized savings to date", "none yet"),))]
    facts = tuple(
        Fact(
            "Realized savings to date",
            f"{_money(r.amount, r.currency)}/mo"
            + (f" from {r.count} decisions" if r.count else ""),
        )
        for r in content.realized
    )
    return [Facts(facts)]


def _freshness(content: DigestContent) -> str:
    parts = []
    if content.latest_day is not None:
        parts.append(f"costs through {content.latest_day:%Y-%m-%d}")
    else:
        parts.append("no cost data yet")
    if content.last_ingested is not None:
        parts.append(f"ingested {content.last_ingested:%Y-%m-%d %H:%M} UTC")
    if content.recs_refreshed is not None:
        parts.append(f"recommendations refreshed {content.recs_refreshed:%Y-%m-%d %H:%M} UTC")
    return "Data: " + ", ".join(parts) + "."


def digest_card(content: DigestContent, *, preview: bool = False) -> Card:
    sub = content.subscription
    currency = content.currency
    title = f"CloudOptima digest — {content.slot:%A %Y-%m-%d}"
    yesterday = content.spend[0]
    summary = (
        f"Yesterday {_money(yesterday.total, currency)}"
        + (
            f" ({format_percent(yesterday.change, signed=True)})"
            if yesterday.change is not None
            else ""
        )
        + f" · {sub.describe_scope()}"
    )
    blocks: list[Block] = [Header(title)]
    if preview:
        blocks.append(Context("Preview: only you see this; the channel gets it on schedule."))
    if sub.missed_note:
        blocks.append(Context(sub.missed_note))
    blocks.append(Text(f"Scope: {sub.describe_scope()} · {sub.schedule.describe()}"))
    blocks.append(Facts(tuple(_spend_fact(line, currency) for line in content.spend)))
    chart = _chart(content)
    if chart is not None:
        blocks.append(chart)
    if content.movers:
        blocks.append(Text(f"Top movers, {content.movers_span}"))
        blocks.append(
            Table(
                columns=(
                    Column("What"),
                    Column("Last 7 days", Align.RIGHT),
                    Column("Change", Align.RIGHT),
                    Column("Behind it"),
                ),
                rows=_mover_rows(content.movers, currency),
            )
        )
    blocks.extend(_budget_blocks(content))
    blocks.extend(_incident_blocks(content))
    blocks.extend(_rec_blocks(content))
    blocks.extend(_realized_blocks(content))
    blocks.append(Divider())
    notes = " ".join(f"Note: {n}." for n in content.notes)
    blocks.append(Context(_freshness(content) + (f" {notes}" if notes else "")))
    over = any(b.forecast is not None and b.forecast > b.amount for b in content.budgets)
    data = {
        "subscription": sub.id,
        "slot": f"{content.slot:%Y-%m-%d}",
        "currency": currency,
        "spend": {
            line.label: None if line.total is None else str(line.total) for line in content.spend
        },
    }
    return card(
        title,
        summary,
        *blocks,
        severity=Severity.WARNING if over or content.incidents else Severity.INFO,
        data=data,
    )


def skipped_note(days: Sequence[date], local_time: str) -> str:
    listed = ", ".join(f"{d:%Y-%m-%d}" for d in days[:5])
    more = f" and {len(days) - 5} more" if len(days) > 5 else ""
    word = "digest was" if len(days) == 1 else "digests were"
    return (
        f"The {local_time} {word} not sent on {listed}{more}: no CloudOptima replica was running "
        "then, and a late digest is sent only within the grace period."
    )


def list_card(subscriptions: Sequence[Subscription], where: str, today: date) -> Card:
    if not subscriptions:
        return card(
            "Digests",
            f"No digest in {where}",
            Text(f"No digest is scheduled in {where}."),
            Context("Start one with `digest daily 09:00 Europe/Berlin` or `digest weekly mon`."),
        )
    rows = []
    buttons = []
    for s in subscriptions:
        paused = s.paused_until is not None and s.paused_until > today
        state = f"paused until {s.paused_until:%Y-%m-%d}" if paused and s.paused_until else "active"
        rows.append(
            (
                str(s.id),
                s.schedule.describe(),
                s.describe_scope(),
                state,
                f"{s.next_slot:%Y-%m-%d}",
            )
        )
        if paused:
            buttons.append(Button(f"Resume #{s.id}", DigestAction.RESUME, str(s.id)))
    blocks: list[Block] = [
        Table(
            columns=(
                Column("#"),
                Column("When"),
                Column("Scope"),
                Column("State"),
                Column("Next"),
            ),
            rows=tuple(rows),
        )
    ]
    if buttons:
        blocks.append(Actions(tuple(buttons)))
    blocks.append(Context("`digest off [#id]`, `digest pause until YYYY-MM-DD`, `digest now`."))
    return card("Digests", f"{len(subscriptions)} digests in {where}", *blocks)


def confirmation(title: str, text: str, *extra: str) -> Card:
    blocks: list[Block] = [Text(text)]
    blocks.extend(Context(e) for e in extra)
    return card(title, text, *blocks, severity=Severity.SUCCESS)
