"""`whoami`: the principal to list in the settings, and the roles the policy gives."""

from __future__ import annotations

from core.app import create_core
from core.kernel.cards import Facts
from core.kernel.context import CoreConfig, Requester


def facts(reply) -> dict[str, str]:
    return {f.label: f.value for b in reply.card.blocks if isinstance(b, Facts) for f in b.facts}


def test_whoami_shows_the_principal_with_its_workspace_and_the_roles(sqlite_engine, clock):
    config = CoreConfig(admins=frozenset({"slack:T1:UADMIN"}), viewers=frozenset({"slack:T1:*"}))
    core = create_core(sqlite_engine, clock, config)
    ada = Requester("slack", "U1", "ada", conversation_id="C1", workspace_id="T1")

    shown = facts(core.handle_text("whoami", ada))
    assert shown["Principal"] == "slack:T1:U1"
    assert (shown["Workspace"], shown["User"]) == ("T1", "ada (U1)")
    assert shown["Roles"] == "viewer"
    assert (
        facts(core.handle_text("whoami", Requester("slack", "UADMIN", workspace_id="T1")))["Roles"]
        == "viewer, admin"
    )
    # Anyone may ask, even someone with no role at all.
    stranger = core.handle_text("whoami", Requester("slack", "U1", workspace_id="T2"))
    assert facts(stranger)["Roles"].startswith("none")
    assert "slack:T2:U1" in stranger.card.summary
    teams = Requester("teams", "oid-7", "Tess", workspace_id="tenant-1")
    assert facts(core.handle_text("whoami", teams))["Principal"] == "teams:tenant-1:oid-7"
