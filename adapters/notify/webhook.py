"""Signed JSON webhooks: the generic target for anything that is not Slack, Teams or e-mail.

Request: `POST <target address>` with the JSON body
`{idempotency_key, title, summary, severity, card, sent_at}` (`card` is the core.kernel.cards_json
document) and the headers

- `Idempotency-Key`: stable across retries of one message — receivers deduplicate on it;
- `X-CloudOptima-Timestamp`: Unix seconds when this attempt was signed;
- `X-CloudOptima-Signature`: `v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`.

Receivers check the signature with `verify_signature` (or its few lines in their language) and
reject timestamps outside a tolerance, which stops replays.

Outcomes: 2xx → sent; 408, 425, 429, 5xx and network errors → retried (Retry-After honoured);
other statuses → permanent (redirects included: configure the final URL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import TargetKind
from core.kernel.cards_json import card_to_dict

SIGNATURE_HEADER = "X-CloudOptima-Signature"
TIMESTAMP_HEADER = "X-CloudOptima-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
DEFAULT_TOLERANCE_SECONDS = 300
#: Bodies of error answers are cut to this in error messages (receivers may echo anything).
ERROR_BODY_MAX = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` signed at `timestamp` (Unix seconds, as text)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when `signature` signs `body` at `timestamp` with `secret`, within `tolerance` s.

    Never raises on malformed input (a missing, non-numeric or non-ASCII header is just False).
    `signature` may list several comma-separated `v1=` values (secret rotation).
    """
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(
        hmac.compare_digest(candidate.strip().encode(), expected.encode())
        for candidate in signature.split(",")
        if candidate.strip().isascii()
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def webhook_body(delivery: Delivery, sent_at: datetime) -> bytes:
    """The JSON document a receiver gets (compact, keys sorted: the signed bytes are stable)."""
    card = delivery.card
    document: dict[str, Any] = {
        "idempotency_key": delivery.idempotency_key,
        "title": card.title,
        "summary": card.summary,
        "severity": str(card.severity),
        "card": card_to_dict(card),
        "sent_at": sent_at.astimezone(UTC).isoformat(),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookNotifier:
    """POSTs signed JSON to each target's URL.

    `check_deliveries`: the receivers implement `GET {url}/deliveries/{idempotency key}` (200 when
    that key was received, 404 when not), so a retry after an uncertain send (a timeout) asks
    first instead of sending again. Without it `was_delivered` answers False and receivers
    deduplicate on the `Idempotency-Key` header.
    """

    kind = TargetKind.WEBHOOK

    def __init__(
        self,
        secret: str,
        *,
        timeout_seconds: float = 10.0,
        check_deliveries: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        user_agent: str = "CloudOptima-Webhook/1",
    ) -> None:
        if not secret:
            raise ValueError("a webhook signing secret is required")
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=timeout_seconds)
        self._check_deliveries = check_deliveries
        self._now = now
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"User-Agent": self._user_agent}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, delivery: Delivery) -> str:
        sent_at = self._now()
        body = webhook_body(delivery, sent_at)
        timestamp = str(int(sent_at.timestamp()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        url = delivery.target.address
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return await self._message_id(response, delivery)
                raise await self._status_error(response)
        except aiohttp.ClientConnectorError as exc:
            # The connection was never made: nothing can have arrived.
            raise DeliveryError(
                f"could not connect to the webhook host ({exc.os_error.strerror or 'refused'})",
                permanent=False,
                code="refused_connect",
            ) from None
        except TimeoutError:
            raise DeliveryError(
                "the webhook did not answer in time", permanent=False, code="timeout"
            ) from None
        except aiohttp.InvalidURL:
            raise DeliveryError(
                "the webhook URL is not valid", permanent=True, code="invalid_url"
            ) from None
        except aiohttp.ClientError as exc:
            # Disconnected after the request may have been read: the outcome is unknown.
            raise DeliveryError(
                f"the connection to the webhook failed ({type(exc).__name__})",
                permanent=False,
                code="connection_lost",
            ) from None

    async def update(self, delivery: Delivery, message_id: str) -> str:
        """A webhook cannot edit what it delivered: the update is a new delivery (its own
        idempotency key; receivers see the newer card)."""
        return await self.send(delivery)

    async def was_delivered(self, delivery: Delivery) -> bool:
        if not self._check_deliveries:
            return False
        key = quote(delivery.idempotency_key, safe="")
        url = f"{delivery.target.address.rstrip('/')}/deliveries/{key}"
        timestamp = str(int(self._now().timestamp()))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, b""),
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
        }
        try:
            async with self._client().get(url, headers=headers, allow_redirects=False) as response:
                if response.status == 200:
                    return True
                if response.status == 404:
                    return False
                raise DeliveryError(
                    f"the webhook's delivery check answered HTTP {response.status}",
                    permanent=False,
                    code="check_failed",
                )
        except (aiohttp.ClientError, TimeoutError):
            raise DeliveryError(
                "the webhook's delivery check failed", permanent=False, code="check_failed"
            ) from None

    @staticmethod
    async def _message_id(response: aiohttp.ClientResponse, delivery: Delivery) -> str:
        """The receiver's id for the message: a JSON `id`, an `X-Request-Id`, else our key."""
        if response.content_type == "application/json":
            try:
                payload = await response.json()
            except (ValueError, aiohttp.ContentTypeError):
                payload = None
            if isinstance(payload, dict) and isinstance(payload.get("id"), str | int):
                return str(payload["id"])[:255]
        return response.headers.get("X-Request-Id", delivery.idempotency_key)[:255]

    @staticmethod
    async def _status_error(response: aiohttp.ClientResponse) -> DeliveryError:
        status = response.status
        text = (await response.text(errors="replace"))[:ERROR_BODY_MAX].strip()
        detail = f"the webhook answered HTTP {status}" + (f": {text}" if text else "")
        if status in RETRYABLE_STATUSES or status >= 500:
            return DeliveryError(
                detail,
                permanent=False,
                retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
                code=f"http_{status}",
            )
        if 300 <= status < 400:
            detail = f"the webhook URL redirects (HTTP {status}); configure the final URL"
        return DeliveryError(detail, permanent=True, code=f"http_{status}")
