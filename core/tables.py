"""Every feature's tables, on one metadata: what the migrations and their tests compare."""

from sqlmodel import SQLModel

from core.anomalies import tables as anomaly_tables
from core.approvals import tables as approval_tables
from core.audit import tables as audit_tables
from core.budgets import tables as budget_tables
from core.costs import tables as cost_tables
from core.delivery import tables as delivery_tables
from core.digests import tables as digest_tables
from core.kernel.db import tables as kernel_tables
from core.recommendations import tables as recommendation_tables

#: Importing the modules above registered their tables here.
metadata = SQLModel.metadata
MODULES = (
    kernel_tables,
    cost_tables,
    budget_tables,
    delivery_tables,
    anomaly_tables,
    recommendation_tables,
    audit_tables,
    approval_tables,
    digest_tables,
)
