"""The `audit` answer: a table of entries, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from core.audit.model import Outcome, StoredAuditEntry
from core.kernel.cards import Card, Column, Context, Header, Table, Text, card

MAX_ROWS = 25


def _change(s: StoredAuditEntry) -> str:
    e = s.entry
    if e.previous_state is None and e.new_state is None:
        return "—"
    return f"{e.previous_state or '—'} → {e.new_state or '—'}"


def _who(s: StoredAuditEntry) -> str:
    a = s.entry.actor
    name = f"{a.user_name} " if a.user_name and a.user_name != a.user_id else ""
    return f"{name}({a.principal})"


def audit_card(title: str, found: Sequence[StoredAuditEntry], total: int) -> Card:
    if not found:
        return card(title, "No audit entries.", Header(title), Text("Nothing recorded here yet."))
    rows = tuple(
        (
            f"{s.entry.at:%Y-%m-%d %H:%M}",
            _who(s),
            str(s.entry.action)
            + (
                " (refused)"
                if s.entry.outcome is Outcome.REFUSED and s.entry.action != "refused"
                else ""
            ),
            s.entry.subject,
            _change(s),
            s.entry.reason or "—",
        )
        for s in found[:MAX_ROWS]
    )
    footer = f"… {total - len(rows)} more" if total > len(rows) else None
    return card(
        title,
        f"{total} audit entr{'y' if total == 1 else 'ies'}.",
        Header(title),
        Table(
            columns=(
                Column("When (UTC)"),
                Column("Who"),
                Column("What"),
                Column("Subject"),
                Column("State"),
                Column("Reason"),
            ),
            rows=rows,
            footer=footer,
        ),
        Context(
            "Newest first; entries are never changed or deleted. "
            "`cloudoptima audit export --since … --format csv|jsonl` for all of them."
        ),
    )
