"""Stored recommendations for presenter and command tests."""

from __future__ import annotations

from datetime import UTC, datetime

from core.recommendations.model import Recommendation, Status, StoredRecommendation

SEEN = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def stored(rec_id: int, rec: Recommendation, status: Status = Status.OPEN) -> StoredRecommendation:
    return StoredRecommendation(rec_id, rec, status, SEEN, SEEN, None, None)
