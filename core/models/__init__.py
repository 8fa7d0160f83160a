"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from core.models.conversations import ConversationRef, ConversationScope
from core.models.costs import CostRecord, CostScope, CostType, IngestionRun, RunStatus
from core.models.events import ProcessedEvent

__all__ = [
    "ConversationRef",
    "ConversationScope",
    "CostRecord",
    "CostScope",
    "CostType",
    "IngestionRun",
    "ProcessedEvent",
    "RunStatus",
]
