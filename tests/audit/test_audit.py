"""The audit trail: append-only (the application never updates or deletes a row, and the
database refuses it), `audit [rec <id> | user <id> | last 30d]` from chat, and
`cloudoptima audit export --since … --format csv|jsonl` in a real process."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DatabaseError

from core.app import FeatureConfigs, create_core
from core.approvals.model import ApprovalRole, ApprovalsConfig, RoleGrant
from core.audit.export import ExportFormat, write
from core.audit.store import AuditQuery, entries, stream
from core.kernel.cards import ASK_TEXT
from core.kernel.cards_text import render_text as plain_text
from core.kernel.clock import FixedClock
from core.kernel.context import CoreConfig
from core.recommendations.actions import RecsAction
from tests.bot.test_cli import run
from tests.support.decisions import HOME_WORKSPACES, NOW, slack, store_recs
from tests.support.paths import REPO

ADA = slack("UADA", "Ada")
ANN = slack("UANN", "Ann")
VIC = slack("UVIC", "Vic")


def make(engine, clock):
    features = FeatureConfigs(
        approvals=ApprovalsConfig(grants=(RoleGrant(ApprovalRole.APPROVER, "slack:UANN", "*"),))
    )
    config = CoreConfig(admins=frozenset({"slack:UADA"}), home_workspaces=HOME_WORKSPACES)
    return create_core(engine, clock, config, features)


def busy_day(engine, clock):
    """Every kind of entry: decisions, a lost race, a refusal, a request, a snooze that ends."""
    ids = store_recs(engine)
    core = make(engine, clock)
    core.handle_action(RecsAction.APPROVE, f"{ids['vm-web-1']}:0", ANN)
    core.handle_action(RecsAction.APPROVE, f"{ids['vm-web-1']}:0", ADA)  # lost
    core.handle_action(RecsAction.DISMISS, f"{ids['vm-web-2']}:0", VIC, {ASK_TEXT: "no"})  # refused
    core.handle_text(f"rec {ids['vm-data-1']} request-approval", ANN)
    core.handle_text(f"rec {ids['vm-b-1']} snooze 7d quarter end", ANN)
    clock.current += timedelta(days=8)
    core.handle_text("recs", ANN)  # the snooze ended: re-opened
    core.handle_text(f"rec {ids['vm-b-1']} dismiss keep it", ANN)
    core.handle_text(f"rec {ids['vm-b-1']} reopen mistake", ADA)
    return core, ids


def test_nothing_in_the_application_updates_or_deletes_an_audit_row(engine):
    """Statically: no UPDATE or DELETE of the audit table anywhere in the product's code; and
    while every kind of entry is written, no such statement reaches the database."""
    product = [
        *REPO.glob("core/**/*.py"),
        *REPO.glob("bot/**/*.py"),
        *REPO.glob("adapters/**/*.py"),
    ]
    offenders = []
    for path in product:
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(
                node.func, "id", getattr(node.func, "attr", "")
            ) in ("update", "delete"):
                args = ast.unparse(node)
                if re.search(r"AUDIT|AuditRow|audit_event", args):
                    offenders.append(f"{path}: {args}")
        if re.search(r"(UPDATE|DELETE FROM|TRUNCATE)\s+audit_event", source, re.IGNORECASE):
            offenders.append(str(path))
    assert offenders == []

    seen: list[str] = []

    def watch(conn, cursor, statement, params, context, executemany):
        if re.search(r"\b(UPDATE|DELETE FROM|TRUNCATE)\b[^;]*\baudit_event\b", statement, re.I):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        busy_day(engine, FixedClock(NOW))
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert seen == []
    assert len(entries(engine, AuditQuery())) >= 8


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_or_delete_audit_rows(engine, statement):
    busy_day(engine, FixedClock(NOW))
    before = len(entries(engine, AuditQuery()))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert len(entries(engine, AuditQuery())) == before


def test_every_entry_says_who_from_where_when_what_why_and_the_states(engine):
    clock = FixedClock(NOW)
    _, ids = busy_day(engine, clock)
    history = [s.entry for s in entries(engine, AuditQuery(rec_id=ids["vm-b-1"]))]
    kinds = [(e.action, e.outcome, e.previous_state, e.new_state) for e in reversed(history)]
    assert kinds == [
        ("snooze", "done", "open", "snoozed"),
        ("re-open", "done", "snoozed", "open"),
        ("dismiss", "done", "open", "dismissed"),
        ("re-open", "done", "dismissed", "open"),
    ]
    snooze = history[-1]
    assert snooze.reason == "quarter end" and snooze.request_id
    assert (snooze.actor.platform, snooze.actor.user_id, snooze.actor.user_name) == (
        "slack",
        "UANN",
        "UANN" if False else "Ann",
    )
    assert (snooze.actor.workspace_id, snooze.actor.channel_id) == ("T1", "C0APPROVE")
    assert history[-2].actor.platform == "system"  # the snooze's end
    lost = [
        s.entry for s in entries(engine, AuditQuery(user="UADA")) if s.entry.outcome == "refused"
    ]
    assert lost and lost[0].reason.startswith("lost: already approved by Ann")


def test_the_audit_command_answers_by_rec_by_user_and_by_window(engine):
    clock = FixedClock(NOW)
    core, ids = busy_day(engine, clock)
    by_rec = plain_text(core.handle_text(f"audit rec {ids['vm-web-1']}", ADA).card)
    assert "approve" in by_rec and "lost: already approved by Ann" in by_rec
    by_user = plain_text(core.handle_text("audit user UVIC", ADA).card)
    assert "refused" in by_user and "not allowed to dismiss" in by_user
    assert "UANN" not in by_user
    clock.current += timedelta(days=40)
    assert "Nothing recorded" in plain_text(core.handle_text("audit last 30d", ADA).card)
    assert "approve" in plain_text(core.handle_text("audit last 90d", ADA).card)
    refused = core.handle_text("audit", VIC)
    assert refused.failed and "not allowed to read the audit trail" in plain_text(refused.card)
    assert core.handle_text("audit rec x", ADA).failed
    assert core.handle_text("audit last 1000d", ADA).failed


def test_export_writes_csv_and_jsonl_oldest_first(engine):
    busy_day(engine, FixedClock(NOW))
    rows = list(stream(engine, AuditQuery(since=NOW - timedelta(days=1)), batch=3))
    assert [r.id for r in rows] == sorted(r.id for r in rows) and len(rows) >= 8
    out = io.StringIO()
    assert write(rows, out, ExportFormat.CSV) == len(rows)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert table[0]["action"] == "approve" and table[0]["user_name"] == "Ann"
    out = io.StringIO()
    write(rows, out, ExportFormat.JSONL)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == len(rows) and lines[0]["principal"] == "slack:T1:UANN"


def test_a_csv_cell_never_becomes_a_formula():
    from core.audit.export import _csv_safe

    assert _csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _csv_safe("fine") == "fine"


@pytest.mark.slow
def test_cloudoptima_audit_export_in_a_real_process(tmp_path):
    from core.kernel.db.engine import make_engine
    from core.kernel.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = make_engine(url)
    upgrade(engine)
    busy_day(engine, FixedClock(NOW))
    engine.dispose()
    result = run(
        ["audit", "export", "--since", "2026-11-01", "--format", "csv", "-o", "audit.csv"],
        tmp_path,
        CLOUDOPTIMA_DATABASE_URL=url,
        CLOUDOPTIMA_DEMO="true",
    )
    assert result.returncode == 0, result.stderr
    assert "audit entries exported" in result.stderr
    table = list(csv.DictReader((tmp_path / "audit.csv").open()))
    assert len(table) >= 8 and {"approve", "refused", "re-open"} <= {r["action"] for r in table}
    jsonl = run(
        ["audit", "export", "--since", "2026-12-01"],
        tmp_path,
        CLOUDOPTIMA_DATABASE_URL=url,
        CLOUDOPTIMA_DEMO="true",
    )
    assert jsonl.returncode == 0 and all(
        json.loads(x)["at"] >= "2026-12" for x in jsonl.stdout.splitlines()
    )
    bad = run(
        ["audit", "export", "--since", "soon"],
        tmp_path,
        CLOUDOPTIMA_DATABASE_URL=url,
        CLOUDOPTIMA_DEMO="true",
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
