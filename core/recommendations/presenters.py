"""Recommendation cards: the `recs` list (sorted by monthly saving, totals per currency) and one
recommendation's card (evidence, metric chart, prices, formula, Advisor's text and link)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartPoint,
    Column,
    Context,
    Fact,
    Facts,
    Header,
    Table,
    Text,
    card,
)
from core.kernel.money import format_money, round_to_currency
from core.recommendations.actions import RecsAction
from core.recommendations.grammar import RecsQuery
from core.recommendations.model import DecisionView, Source, Status, StoredRecommendation
from core.recommendations.store import RefreshInfo

#: Where Approve / Dismiss / Snooze will go (the approvals feature adds them).
APPROVALS_PLACE = (
    "Approve · Dismiss · Snooze will appear here with the approvals feature; nothing on this "
    "card changes anything in Azure."
)
_DETAIL_BUTTONS = 5
_SOURCES = {Source.CLOUDOPTIMA: "CloudOptima", Source.ADVISOR: "Azure Advisor"}


def saving_text(s: StoredRecommendation) -> str:
    saving = s.recommendation.saving
    if saving is None:
        return "—"
    text = format_money(round_to_currency(saving.amount, saving.currency), saving.currency)
    return f"~{text}" if saving.estimate else text


def fit_text(s: StoredRecommendation) -> str:
    score = s.recommendation.fit_score
    return "—" if score is None else f"{score.normalize():f}/5"


def sources_text(s: StoredRecommendation) -> str:
    return " + ".join(_SOURCES[src] for src in s.recommendation.sources)


def totals(items: Sequence[StoredRecommendation]) -> dict[str, Decimal]:
    """Monthly savings per currency (currencies are never added together)."""
    found: dict[str, Decimal] = defaultdict(Decimal)
    for s in items:
        if s.recommendation.saving is not None:
            found[s.recommendation.saving.currency] += s.recommendation.saving.amount
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def freshness_text(last: RefreshInfo | None, ok: RefreshInfo | None) -> str:
    if ok is None:
        return "No refresh yet: run `cloudoptima recs refresh`"
    text = f"Refreshed {ok.started_at:%Y-%m-%d %H:%M} UTC"
    if last is not None and last.status != "succeeded":
        text += f" · the last refresh ({last.started_at:%Y-%m-%d %H:%M}) failed: {last.error}"
    return text


def list_card(
    query: RecsQuery,
    shown: Sequence[StoredRecommendation],
    matching: Sequence[StoredRecommendation],
    freshness: str,
) -> Card:
    title = "Savings recommendations" + (
        f" — {query.describe()}" if query.describe() != "all" else ""
    )
    if not matching:
        return card(
            title,
            f"No open recommendations ({query.describe()}).",
            Header(title),
            Text("Nothing to recommend with these filters."),
            Context(freshness),
        )
    sums = totals(matching)
    total = " + ".join(format_money(round_to_currency(v, c), c) for c, v in sums.items()) or "—"
    rows = tuple(
        (
            f"#{s.id}",
            s.recommendation.title,
            saving_text(s),
            fit_text(s),
            sources_text(s),
        )
        for s in shown
    )
    footer = f"… {len(matching) - len(shown)} more" if len(matching) > len(shown) else None
    blocks: list[Block] = [
        Header(title),
        Facts(
            (
                Fact("Monthly saving", total),
                Fact("Recommendations", str(len(matching))),
            )
        ),
        Table(
            columns=(
                Column("Id"),
                Column("Recommendation"),
                Column("Saving/mo", Align.RIGHT),
                Column("Fit", Align.RIGHT),
                Column("Source"),
            ),
            rows=rows,
            footer=footer,
        ),
    ]
    if len(sums) > 1:
        blocks.append(
            Context("Totals are per currency: amounts in different currencies are never added up.")
        )
    if any(s.recommendation.saving and s.recommendation.saving.estimate for s in shown):
        blocks.append(Context("~ marks an estimate (the vCPU ratio, where a price was missing)."))
    blocks.append(Context(f"{freshness} · `rec <id>` for the evidence and the arithmetic"))
    buttons = tuple(
        Button(label=f"Details #{s.id}", action_id=RecsAction.SHOW, value=str(s.id))
        for s in shown[:_DETAIL_BUTTONS]
    )
    if buttons:
        blocks.append(Actions(buttons))
    summary = f"{len(matching)} recommendation(s) saving {total} a month."
    return card(title, summary, *blocks)


def _dates(s: StoredRecommendation) -> str:
    def day(when: datetime) -> str:
        return f"{when:%Y-%m-%d}"

    text = f"first seen {day(s.first_seen)}, last seen {day(s.last_seen)}"
    if s.status is Status.RESOLVED and s.resolved_at is not None:
        text += f"; {s.resolution} on {day(s.resolved_at)}"
    return text


def _advisor_blocks(s: StoredRecommendation) -> list[Block]:
    note = s.recommendation.evidence.advisor
    if note is None:
        return []
    said = note.solution if note.solution == note.problem else f"{note.problem} {note.solution}"
    blocks: list[Block] = [Text(f"Azure Advisor: {said}")]
    facts = [Fact(k, v) for k, v in note.details]
    if note.amount is not None and note.currency:
        facts.append(
            Fact(
                "Advisor's saving", f"{format_money(note.amount, note.currency)}/mo (retail rates)"
            )
        )
    if facts:
        blocks.append(Facts(tuple(facts)))
    if note.link:
        blocks.append(Context(f"Learn more: {note.link}"))
    return blocks


def detail_card(s: StoredRecommendation, decision: DecisionView | None = None) -> Card:
    """One recommendation's card; with its `decision` (the approvals feature's view), the
    decision, who made it and when, and the buttons its state offers."""
    rec = s.recommendation
    title = f"Recommendation #{s.id}"
    saving = rec.saving
    facts = [
        Fact("Resource", rec.resource_name or rec.resource_id),
        Fact(
            "Where",
            " · ".join(x for x in (rec.subscription_id, rec.resource_group, rec.location) if x)
            or "—",
        ),
        Fact("Rule", f"{rec.rule} ({rec.category}, {rec.action})"),
        Fact("Monthly saving", saving_text(s)),
        Fact("Fit score", fit_text(s)),
        Fact("Sources", sources_text(s)),
        Fact("Status", f"{s.status}: {_dates(s)}"),
    ]
    if decision is not None:
        facts.append(Fact("Decision", decision.summary or str(decision.state)))
    blocks: list[Block] = [Header(f"#{s.id} {rec.title}"), Facts(tuple(facts))]
    blocks.append(
        Text(
            f"How: {saving.formula}"
            if saving
            else "How: no saving figure — no cost "
            "was recorded for this resource in the last 30 days."
        )
    )
    evidence = rec.evidence
    if evidence.facts:
        blocks += [Text("Evidence"), Facts(tuple(Fact(k, v) for k, v in evidence.facts))]
    if evidence.series:
        blocks.append(
            Chart(
                title=evidence.series_title,
                points=tuple(ChartPoint(d, v) for d, v in evidence.series),
                unit=evidence.series_unit,
            )
        )
    if evidence.prices:
        blocks.append(
            Table(
                columns=(
                    Column("Size"),
                    Column("vCPUs", Align.RIGHT),
                    Column("Memory GB", Align.RIGHT),
                    Column("Price", Align.RIGHT),
                ),
                rows=evidence.prices,
            )
        )
    blocks += _advisor_blocks(s)
    if decision is None:
        blocks.append(Context(f"{rec.resource_id} · {APPROVALS_PLACE}"))
    else:
        blocks.append(Context(rec.resource_id))
        if decision.buttons and s.status is Status.OPEN:
            blocks.append(Actions(decision.buttons))
    summary = f"#{s.id} {rec.title}: {saving_text(s)} a month."
    return card(title, summary, *blocks)
