"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from core.models.costs import CostRecord, CostScope, CostType, IngestionRun, RunStatus
from core.models.events import ProcessedEvent

__all__ = ["CostRecord", "CostScope", "CostType", "IngestionRun", "ProcessedEvent", "RunStatus"]
