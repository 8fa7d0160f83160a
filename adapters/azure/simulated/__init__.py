"""A simulated Azure tenant served to the real SDK clients through an azure-core transport."""

from adapters.azure.simulated.cost_query import (
    THROTTLED_HEADERS,
    CostQueryEndpoint,
    drop_column,
    set_column,
)
from adapters.azure.simulated.model import Line, SimRow, Spike, Subscription, TenantView
from adapters.azure.simulated.tenant import SimulatedTenant
from adapters.azure.simulated.transport import (
    Fault,
    Router,
    SimulatedResponse,
    SimulatedTransport,
    StaticTokenCredential,
    arm_error,
)

__all__ = [
    "THROTTLED_HEADERS",
    "CostQueryEndpoint",
    "Fault",
    "Line",
    "Router",
    "SimRow",
    "SimulatedResponse",
    "SimulatedTenant",
    "SimulatedTransport",
    "Spike",
    "StaticTokenCredential",
    "Subscription",
    "TenantView",
    "arm_error",
    "drop_column",
    "set_column",
]
