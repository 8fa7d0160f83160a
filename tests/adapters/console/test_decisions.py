"""The terminal asks a button's questions inline (a duration, a reason) before pressing it."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from adapters.console.chat import ConsoleChat
from core.app import FeatureConfigs, create_core
from core.approvals.model import ApprovalRole, ApprovalsConfig, RoleGrant
from core.approvals.store import decisions
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from tests.support.decisions import NOW, store_recs


def test_snooze_asks_how_long_and_why_inline(sqlite_engine):
    ids = store_recs(sqlite_engine)
    me = Requester(platform="console", user_id="ops", user_name="ops")
    features = FeatureConfigs(
        approvals=ApprovalsConfig(grants=(RoleGrant(ApprovalRole.APPROVER, "console:ops", "*"),))
    )
    core = create_core(sqlite_engine, FixedClock(NOW), features=features)
    answers = iter(["2", "waiting for the migration"])
    asked: list[str] = []

    def read_line(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    out = StringIO()
    chat = ConsoleChat(
        core, console=Console(file=out, width=120), requester=me, read_line=read_line
    )
    chat.ask(f"rec {ids['vm-web-1']}")
    snooze = next(i for i, b in enumerate(chat._buttons, 1) if b.label == "Snooze")
    reply = chat.ask(str(snooze))
    assert reply is not None and not reply.failed
    assert "7 days" in asked[0] and "14 days" in asked[0] and asked[1].startswith("Why?")
    d = decisions(sqlite_engine)[ids["vm-web-1"]]
    assert d.state == "snoozed" and d.reason == "waiting for the migration"
    assert "Snoozed by ops" in out.getvalue()
