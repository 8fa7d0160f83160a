"""Slack request signatures, checked strictly before Bolt sees a request.

slack_sdk's verifier raises (and the server would answer 500) on a malformed timestamp (`abc`,
`1.5`) or a non-ASCII signature. This check never raises: any request that is not exactly what
Slack sends is refused, and the caller answers 401.

Signature: `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`); the timestamp is
whole seconds since the epoch and must be within five minutes of now (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
#: Slack's own rule: requests older (or newer) than this are replays or a broken clock.
MAX_CLOCK_SKEW_SECONDS = 300

_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` Slack would send (used by tests and the benchmark too)."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


class RequestVerifier:
    """Checks the signature headers of one raw request; `now` is injectable for tests."""

    def __init__(self, signing_secret: str, *, now: Callable[[], float] = time.time) -> None:
        if not signing_secret:
            raise ValueError("a Slack signing secret is required")
        self._secret = signing_secret
        self._now = now

    def problem(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the request is genuine; otherwise what is wrong (for the log, not Slack)."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if timestamp is None or signature is None:
            return "missing signature headers"
        if not _TIMESTAMP.fullmatch(timestamp):
            return "malformed timestamp"
        if abs(self._now() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return "stale or future timestamp"
        if not _SIGNATURE.fullmatch(signature):
            return "malformed signature"
        if not hmac.compare_digest(sign(self._secret, timestamp, body), signature):
            return "signature mismatch"
        return None
