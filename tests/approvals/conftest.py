from __future__ import annotations

import pytest

from core.app import FeatureConfigs, create_core
from core.approvals.model import ApprovalRole, ApprovalsConfig, RoleGrant
from core.kernel.clock import FixedClock
from core.kernel.context import CoreConfig
from tests.support.decisions import HOME_WORKSPACES, NOW, SUB_A, store_recs

#: Ann approves everything in subscription A; Bob in subscription A too; Vic views only.
GRANTS = (
    RoleGrant(ApprovalRole.APPROVER, "slack:UANN", f"/subscriptions/{SUB_A}"),
    RoleGrant(ApprovalRole.APPROVER, "slack:UBOB", f"/subscriptions/{SUB_A}"),
    RoleGrant(ApprovalRole.VIEWER, "slack:UVIC", "*"),
    RoleGrant(ApprovalRole.ADMIN, "slack:UADA", "*"),
)


@pytest.fixture
def fixed_clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ids(engine) -> dict[str, int]:
    return store_recs(engine)


def make_core(engine, clock, *, grants=GRANTS, groups=None, **config):
    features = FeatureConfigs(approvals=ApprovalsConfig(grants=grants, **config))
    config_ = CoreConfig(home_workspaces=HOME_WORKSPACES)
    return create_core(engine, clock, config_, features=features, groups=groups)


@pytest.fixture
def core(engine, fixed_clock, ids):
    return make_core(engine, fixed_clock)
