"""Fixtures for the Azure adapter: the simulated tenant, and a fake Cost Management API that
answers canned pages. Both are served to the real SDK client through an azure-core transport."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.azure import build_cost_source
from adapters.azure.cost_source import AzureCostSource
from adapters.azure.simulated import (
    Router,
    SimulatedResponse,
    SimulatedTenant,
    SimulatedTransport,
    StaticTokenCredential,
)
from adapters.azure.simulated.transport import request_json

TODAY = date(2026, 11, 27)  # the `clock` fixture's day
SAMPLES = Path(__file__).parent / "samples"
SAMPLE_SUB = "8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a"
QUERY_URL = r"/providers/Microsoft\.CostManagement/query"


def sample(name: str) -> dict[str, Any]:
    """A payload from the samples folder (real-shaped Azure answers), `_comment` stripped."""
    data = json.loads((SAMPLES / name).read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


@pytest.fixture
def tenant() -> SimulatedTenant:
    return SimulatedTenant(seed=7, today=TODAY)


class FakeCostManagement:
    """Answers Query API calls with the given responses in order (the last one repeats).

    Records each request's URL, `$skiptoken` (exactly as received) and JSON body.
    """

    def __init__(self, *responses: SimulatedResponse) -> None:
        self.responses = list(responses)
        self.urls: list[str] = []
        self.bodies: list[Any] = []
        self.router = Router()
        self.router.add("POST", QUERY_URL, self._answer, name="query")

    def _answer(self, request, match) -> SimulatedResponse:
        self.urls.append(request.url)
        self.bodies.append(request_json(request))
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return copy.deepcopy(answer)

    @property
    def skiptokens(self) -> list[str | None]:
        tokens: list[str | None] = []
        for url in self.urls:
            query = url.split("?", 1)[1]
            pairs = dict(p.split("=", 1) for p in query.split("&"))
            tokens.append(pairs.get("$skiptoken"))
        return tokens


def source_for(
    transport: SimulatedTransport, *, chunk_days: int = 7, max_retries: int = 3, cap: float = 300
) -> AzureCostSource:
    return build_cost_source(
        credential=StaticTokenCredential(),
        chunk_days=chunk_days,
        max_retries=max_retries,
        max_retry_wait_seconds=cap,
        transport=transport,
    )


def page(name: str, **overrides: Any) -> SimulatedResponse:
    return SimulatedResponse(200, sample(name), {"Content-Type": "application/json"})
