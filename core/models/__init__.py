"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from core.models.costs import CostRecord, CostScope, CostType, IngestionRun, RunStatus

__all__ = ["CostRecord", "CostScope", "CostType", "IngestionRun", "RunStatus"]
