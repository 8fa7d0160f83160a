"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from core.models.budgets import (
    Alert,
    AlertAck,
    Budget,
    BudgetPeriod,
    BudgetTarget,
    BudgetThreshold,
    ThresholdKind,
)
from core.models.conversations import ConversationRef, ConversationScope
from core.models.costs import (
    CostForecast,
    CostGroup,
    CostRecord,
    CostScope,
    CostType,
    ForecastProvider,
    IngestionRun,
    RunStatus,
)
from core.models.events import ProcessedEvent
from core.models.jobs import JobRun, JobRunStatus
from core.models.outbox import OutboxMessage, OutboxStatus

__all__ = [
    "Alert",
    "AlertAck",
    "Budget",
    "BudgetPeriod",
    "BudgetTarget",
    "BudgetThreshold",
    "ConversationRef",
    "ConversationScope",
    "CostForecast",
    "CostGroup",
    "CostRecord",
    "CostScope",
    "CostType",
    "ForecastProvider",
    "IngestionRun",
    "JobRun",
    "JobRunStatus",
    "OutboxMessage",
    "OutboxStatus",
    "ProcessedEvent",
    "RunStatus",
    "ThresholdKind",
]
