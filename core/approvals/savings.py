"""`savings [period]`: approved, implemented and realized totals per currency, expected against
realized, and the items approved but never implemented."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.approvals.grammar import SavingsPeriod
from core.approvals.model import Decision, DecisionState
from core.approvals.presenters import money
from core.kernel.cards import (
    Align,
    Block,
    Card,
    Column,
    Context,
    Fact,
    Facts,
    Header,
    Table,
    Text,
    card,
)
from core.recommendations.model import StoredRecommendation

MAX_ROWS = 15


@dataclass
class CurrencyTotals:
    approved: int = 0
    approved_expected: Decimal = Decimal(0)
    implemented: int = 0
    implemented_expected: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    #: Implemented items with a realized figure yet.
    measured: int = 0


@dataclass
class SavingsReport:
    period: SavingsPeriod
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)
    implemented: list[tuple[Decision, StoredRecommendation]] = field(default_factory=list)
    never: list[tuple[Decision, StoredRecommendation]] = field(default_factory=list)
    no_figure: int = 0


def savings_report(
    period: SavingsPeriod,
    decisions: Iterable[Decision],
    recs: Mapping[int, StoredRecommendation],
) -> SavingsReport:
    report = SavingsReport(period)
    totals: dict[str, CurrencyTotals] = defaultdict(CurrencyTotals)
    for d in sorted(decisions, key=lambda d: d.rec_id):
        if d.approved_at is None or d.state not in (
            DecisionState.APPROVED,
            DecisionState.IMPLEMENTED,
        ):
            continue
        day = d.approved_at.date()
        if (period.start is not None and day < period.start) or day > period.end:
            continue
        rec = recs.get(d.rec_id)
        if rec is None:
            continue
        if d.currency is None or d.expected_monthly is None:
            report.no_figure += 1
            continue
        t = totals[d.currency]
        t.approved += 1
        t.approved_expected += d.expected_monthly
        if d.state is DecisionState.IMPLEMENTED:
            t.implemented += 1
            t.implemented_expected += d.expected_monthly
            if d.realized_monthly is not None:
                t.realized += d.realized_monthly
                t.measured += 1
            report.implemented.append((d, rec))
        else:
            report.never.append((d, rec))
    report.totals = dict(sorted(totals.items(), key=lambda kv: -kv[1].approved_expected))
    return report


def realized_by_currency(
    decisions: Iterable[Decision], recs: Mapping[int, StoredRecommendation]
) -> dict[str, tuple[Decimal, int]]:
    """Realized savings to date per currency (a month's worth) and how many implemented items
    add up to it, over the recommendations in `recs` (e.g. one digest's scope)."""
    found: dict[str, tuple[Decimal, int]] = {}
    for d in decisions:
        measured = d.state is DecisionState.IMPLEMENTED and d.realized_monthly is not None
        if not measured or d.rec_id not in recs or d.currency is None:
            continue
        total, count = found.get(d.currency, (Decimal(0), 0))
        found[d.currency] = (total + (d.realized_monthly or Decimal(0)), count + 1)
    return found


def _ratio(realized: Decimal, expected: Decimal) -> str:
    if expected <= 0:
        return "—"
    return f"{(realized / expected * 100).quantize(Decimal(1))}%"


def savings_card(report: SavingsReport) -> Card:
    title = f"Savings from decisions — {report.period.label}"
    if not report.totals:
        text = "No recommendation was approved in this period."
        return card(
            title,
            text,
            Header(title),
            Text(text),
            Context("`rec <id> approve` or the Approve button decides."),
        )
    blocks: list[Block] = [Header(title)]
    for currency, t in report.totals.items():
        facts = [
            Fact(
                f"Approved ({currency})",
                f"{t.approved} · expected {money(t.approved_expected, currency)}/mo",
            ),
            Fact(
                f"Implemented ({currency})",
                f"{t.implemented} · expected {money(t.implemented_expected, currency)}/mo",
            ),
            Fact(
                f"Realized ({currency})",
                f"{money(t.realized, currency)}/mo · "
                f"{_ratio(t.realized, t.implemented_expected)} of expected ({t.measured} measured)",
            ),
        ]
        blocks.append(Facts(tuple(facts)))
    if len(report.totals) > 1:
        blocks.append(
            Context("Totals are per currency: amounts in different currencies are never added up.")
        )
    if report.implemented:
        rows = tuple(
            (
                f"#{d.rec_id}",
                rec.recommendation.title,
                money(d.expected_monthly, d.currency),
                money(d.realized_monthly, d.currency),
                f"{d.implemented_how or '—'} ({d.implemented_at:%Y-%m-%d})"
                if d.implemented_at
                else "—",
            )
            for d, rec in report.implemented[:MAX_ROWS]
        )
        blocks += [
            Text("Implemented"),
            Table(
                columns=(
                    Column("Id"),
                    Column("Recommendation"),
                    Column("Expected/mo", Align.RIGHT),
                    Column("Realized/mo", Align.RIGHT),
                    Column("How, since"),
                ),
                rows=rows,
                footer=f"… {len(report.implemented) - MAX_ROWS} more"
                if len(report.implemented) > MAX_ROWS
                else None,
            ),
        ]
    if report.never:
        rows = tuple(
            (
                f"#{d.rec_id}",
                rec.recommendation.title,
                money(d.expected_monthly, d.currency),
                f"{d.approved_at:%Y-%m-%d}" if d.approved_at else "—",
                d.decided_by_name or d.decided_by or "—",
            )
            for d, rec in report.never[:MAX_ROWS]
        )
        blocks += [
            Text("Approved but not implemented"),
            Table(
                columns=(
                    Column("Id"),
                    Column("Recommendation"),
                    Column("Expected/mo", Align.RIGHT),
                    Column("Approved"),
                    Column("By"),
                ),
                rows=rows,
                footer=f"… {len(report.never) - MAX_ROWS} more"
                if len(report.never) > MAX_ROWS
                else None,
            ),
        ]
    blocks.append(
        Context(
            "Realized = mean daily effective cost of the 30 days before approval − mean of the "
            "days since implementation (up to 90), × 730 ÷ 24."
            + (
                f" {report.no_figure} approved item(s) had no saving figure."
                if report.no_figure
                else ""
            )
        )
    )
    first = next(iter(report.totals.items()))
    summary = (
        f"{first[1].approved} approved, {first[1].implemented} implemented, realized "
        f"{money(first[1].realized, first[0])}/mo ({report.period.label})."
    )
    return card(title, summary, *blocks)
