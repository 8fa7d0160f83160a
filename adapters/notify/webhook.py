"""Signed JSON webhooks: the generic target for anything that is not Slack, Teams or e-mail.

Request: `POST <target address>` with a JSON body documented by `webhook_payload.schema.json`
(next to this module): `{type, timestamp, data, idempotency_key, title, summary, severity, card,
sent_at}`. `data` holds the machine-readable fields (for a budget alert: budget id and name,
period, threshold and kind, amount, spent and forecast as decimal strings, currency, scope, top
contributors); `card` is the core.kernel.cards_json document people's renderers draw.

It is signed the Standard Webhooks way (standardwebhooks.com), so receivers can use an
off-the-shelf verifier:

- `webhook-id`: the message's idempotency key — stable across retries, receivers deduplicate on
  it (also sent as `Idempotency-Key`);
- `webhook-timestamp`: Unix seconds when this attempt was signed;
- `webhook-signature`: `v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`, where the key
  is the base64-decoded part of a `whsec_…` secret, or any other secret's UTF-8 bytes.

With `legacy_signature` (`CLOUDOPTIMA_WEBHOOK_LEGACY_SIGNATURE`, for one release) the headers of
0.1 come too: `X-CloudOptima-Timestamp` and `X-CloudOptima-Signature: v1=<hex HMAC-SHA256(secret,
f"{timestamp}.{body}")>` (`verify_signature`). Receivers reject timestamps outside a tolerance,
which stops replays.

Outcomes: 2xx → sent; 408, 425, 429, 5xx and network errors → retried (Retry-After honoured);
other statuses → permanent (redirects included: configure the final URL; none is followed).

No request forgery: a URL must be `https` to a public address (`WebhookPolicy`). Its host name
is resolved when each request is made, by the connection's own resolver (`GuardedResolver`), and
the request is refused — permanently, before any byte is sent — when any of its addresses is
loopback, private, link-local, multicast or reserved (IPv4 or IPv6, mapped forms included), so a
name that re-points to an internal address between checks (DNS rebinding) is caught where the
connection is made. Internal receivers are allowed by name, address or network with
`CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import TargetKind, WebhookPolicy
from core.kernel.cards_json import card_to_dict

#: Standard Webhooks headers.
ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
#: The headers of 0.1, sent too with `legacy_signature`.
SIGNATURE_HEADER = "X-CloudOptima-Signature"
TIMESTAMP_HEADER = "X-CloudOptima-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"
_SECRET_PREFIX = "whsec_"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
DEFAULT_TOLERANCE_SECONDS = 300
#: Bodies of error answers are cut to this in error messages (receivers may echo anything).
ERROR_BODY_MAX = 200


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the bytes a `whsec_<base64>` secret encodes (Standard
    Webhooks), else the secret's UTF-8 bytes."""
    if secret.startswith(_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(_SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """`webhook-signature`'s value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when the Standard Webhooks headers sign `body` with `secret` within `tolerance` s.

    Header names are case-insensitive; `webhook-signature` may list several space-separated
    `v1,…` signatures (secret rotation). Never raises on malformed input.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get(ID_HEADER)
    timestamp = lowered.get(STANDARD_TIMESTAMP_HEADER)
    signatures = lowered.get(STANDARD_SIGNATURE_HEADER)
    if not message_id or not signatures or not _fresh(timestamp, tolerance, now):
        return False
    assert timestamp is not None
    expected = standard_signature(secret, message_id, timestamp, body)
    return any(
        hmac.compare_digest(candidate.encode(), expected.encode())
        for candidate in signatures.split(" ")
        if candidate.isascii()
    )


def _fresh(timestamp: str | None, tolerance: float, now: float | None) -> bool:
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    return abs(current - int(timestamp)) <= tolerance


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The 0.1 signature header's value for `body` signed at `timestamp` (Unix seconds)."""
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
    if not signature or not _fresh(timestamp, tolerance, now):
        return False
    assert timestamp is not None
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
    """The JSON document a receiver gets (compact, keys sorted: the signed bytes are stable);
    `webhook_payload.schema.json` describes it."""
    card = delivery.card
    when = sent_at.astimezone(UTC).isoformat()
    data = dict(card.data)
    document: dict[str, Any] = {
        "type": str(data.get("type") or "card"),
        "timestamp": when,
        "data": data,
        "idempotency_key": delivery.idempotency_key,
        "title": card.title,
        "summary": card.summary,
        "severity": str(card.severity),
        "card": card_to_dict(card),
        "sent_at": when,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class ForbiddenAddress(OSError):
    """A webhook host resolved to an address webhooks may not go to."""


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses a host with any address the
    policy forbids — at connection time, so the checked addresses are the ones connected to."""

    def __init__(self, policy: WebhookPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        addresses = [ipaddress.ip_address(str(r["host"]).split("%", 1)[0]) for r in results]
        refusal = self._policy.refusal(host, addresses)
        if refusal is not None:
            raise ForbiddenAddress(refusal)
        return results

    async def close(self) -> None:
        await self._inner.close()


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
        legacy_signature: bool = False,
        allowed_hosts: tuple[str, ...] = (),
        trace_configs: list[aiohttp.TraceConfig] | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        if not secret:
            raise ValueError("a webhook signing secret is required")
        self._secret = secret
        self.policy = WebhookPolicy(allowed_hosts)
        self._trace_configs = trace_configs
        #: Name resolution under the guard (tests pass one that answers chosen addresses).
        self._resolver = resolver
        self._legacy = legacy_signature
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=timeout_seconds)
        self._check_deliveries = check_deliveries
        self._now = now
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"User-Agent": self._user_agent},
                connector=aiohttp.TCPConnector(
                    resolver=GuardedResolver(self.policy, self._resolver)
                ),
                trace_configs=self._trace_configs,
            )
        return self._session

    def _refuse_forbidden(self, url: str) -> None:
        """Refuse (permanently) a URL the policy forbids without resolving it (its scheme, an
        address literal); names are checked by the resolver when connecting."""
        problem = self.policy.url_refusal(url)
        if problem is not None:
            raise DeliveryError(f"refused: {problem}", permanent=True, code="forbidden_address")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def signed_headers(self, message_id: str, timestamp: str, body: bytes) -> dict[str, str]:
        """The signature headers of one attempt (Standard Webhooks, plus 0.1's if asked)."""
        headers = {
            IDEMPOTENCY_HEADER: message_id,
            ID_HEADER: message_id,
            STANDARD_TIMESTAMP_HEADER: timestamp,
            STANDARD_SIGNATURE_HEADER: standard_signature(
                self._secret, message_id, timestamp, body
            ),
        }
        if self._legacy:
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self._secret, timestamp, body)
        return headers

    async def send(self, delivery: Delivery) -> str:
        sent_at = self._now()
        body = webhook_body(delivery, sent_at)
        timestamp = str(int(sent_at.timestamp()))
        headers = {
            "Content-Type": "application/json",
            **self.signed_headers(delivery.idempotency_key, timestamp, body),
        }
        url = delivery.target.address
        self._refuse_forbidden(url)
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return await self._message_id(response, delivery)
                raise await self._status_error(response)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ForbiddenAddress):
                raise DeliveryError(
                    f"refused: {exc.os_error}", permanent=True, code="forbidden_address"
                ) from None
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
        self._refuse_forbidden(url)
        timestamp = str(int(self._now().timestamp()))
        headers = self.signed_headers(delivery.idempotency_key, timestamp, b"")
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
