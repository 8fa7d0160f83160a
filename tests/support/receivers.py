"""Real receivers on 127.0.0.1 (port 0): a webhook endpoint and an SMTP server with STARTTLS.

Both count accepted deliveries by idempotency key and can be told to answer the next requests
with failures (`script`): "throttle" (429 + Retry-After / SMTP 451), "error" (500 / SMTP 451),
"reject" (400 / SMTP 550). Each also has a target it always refuses: the webhook's `gone_url`
(410 Gone) and the SMTP server's `unknown_mailboxes` (550 at RCPT).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook, WebhookVerificationError

from adapters.notify.email import SmtpConfig
from adapters.notify.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)

WEBHOOK_SECRET = "test-signing-secret"
#: The receivers listen on 127.0.0.1, which webhooks may reach only when allow-listed
#: (`CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS`).
LOCAL_RECEIVERS = ("127.0.0.1",)
SMTP_USER = "cloudoptima"
SMTP_PASSWORD = "smtp-password"


class FakeWebhookReceiver:
    """Verifies every signature with an off-the-shelf Standard Webhooks verifier (the
    `standardwebhooks` package: what a receiver would use), counts accepted posts per
    idempotency key. `legacy=True` checks the 0.1 headers instead."""

    def __init__(
        self, secret: str = WEBHOOK_SECRET, *, delay_seconds: float = 0.0, legacy: bool = False
    ) -> None:
        self.secret = secret
        self.legacy = legacy
        # A secret that is not `whsec_<base64>` is the key itself: pass its bytes.
        self.verifier = Webhook(secret if secret.startswith("whsec_") else secret.encode())
        self.headers: dict[str, dict[str, str]] = {}
        self.delay_seconds = delay_seconds
        self.accepted: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        #: Idempotency key → the id this receiver answered for it.
        self.message_ids: dict[str, str] = {}
        self.requests = 0
        self.bad_signatures = 0
        self.answers: list[str] = []
        self.retry_after = "1"
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, answers: list[str]) -> None:
        """Answer the next requests with these failures, in order, then accept again."""
        self.answers.extend(answers)

    def count(self, key: str) -> int:
        return self.accepted[key]

    async def start(self) -> FakeWebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._post)
        app.router.add_get("/hook/deliveries/{key}", self._delivered)
        app.router.add_post("/gone", self._gone)
        app.router.add_post("/moved", self._moved)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        self.gone_url = f"http://127.0.0.1:{port}/gone"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def signed(self, request: web.Request, body: bytes) -> bool:
        if self.legacy:
            return verify_signature(
                self.secret,
                request.headers.get(TIMESTAMP_HEADER),
                body,
                request.headers.get(SIGNATURE_HEADER),
            )
        try:
            self.verifier.verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError:
            return False
        return True

    async def _post(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        if not self.signed(request, body):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)  # widens race windows, asserts nothing
        if self.answers:
            answer = self.answers.pop(0)
            if answer == "throttle":
                return web.json_response(
                    {"error": "slow down"}, status=429, headers={"Retry-After": self.retry_after}
                )
            if answer == "error":
                return web.json_response({"error": "boom"}, status=500)
            if answer == "reject":
                return web.json_response({"error": "no such channel"}, status=400)
        document = json.loads(body)
        key = request.headers[IDEMPOTENCY_HEADER]
        assert document["idempotency_key"] == key
        self.accepted[key] += 1
        self.bodies[key] = document
        self.headers[key] = dict(request.headers)
        self.message_ids[key] = f"msg-{self.requests}"
        return web.json_response({"id": self.message_ids[key]})

    async def _moved(self, request: web.Request) -> web.Response:
        """Redirects to the real endpoint (a sender must not follow it)."""
        await request.read()
        raise web.HTTPFound("/hook")

    async def _gone(self, request: web.Request) -> web.Response:
        """An endpoint that was removed: every post is refused for good."""
        await request.read()
        return web.json_response({"error": "this webhook was deleted"}, status=410)

    async def _delivered(self, request: web.Request) -> web.Response:
        if not self.signed(request, b""):
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.match_info["key"]
        if self.accepted[key]:
            return web.json_response({"delivered": True})
        return web.json_response({"delivered": False}, status=404)


@dataclass
class SelfSignedCert:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_path))


def make_self_signed_cert(directory: Path) -> SelfSignedCert:
    """A certificate for 127.0.0.1, made on the spot (never a key checked into the repository)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return SelfSignedCert(cert_path, key_path)


@dataclass
class FakeSmtpServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS before AUTH; counts messages per idempotency key."""

    cert: SelfSignedCert
    require_starttls: bool = True
    offer_starttls: bool = True
    messages: list[Message] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    answers: list[str] = field(default_factory=list)
    #: Recipients refused at RCPT with 550 (no such mailbox).
    unknown_mailboxes: set[str] = field(default_factory=set)
    tls_sessions: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    def script(self, answers: list[str]) -> None:
        self.answers.extend(answers)

    def count(self, key: str) -> int:
        return self.accepted[key]

    async def start(self) -> FakeSmtpServer:
        loop = asyncio.get_running_loop()
        tls = self.cert.server_context() if self.offer_starttls else None

        def factory() -> SMTP:
            return SMTP(
                self,
                hostname="127.0.0.1",
                tls_context=tls,
                require_starttls=self.require_starttls and self.offer_starttls,
                authenticator=self._authenticate,
                auth_require_tls=self.offer_starttls,
            )

        self._server = await loop.create_server(factory, host="127.0.0.1", port=0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        # handled=False: aiosmtpd answers "535 Authentication failed" itself.
        return AuthResult(success=ok, handled=ok, auth_data=auth_data if ok else None)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower() in self.unknown_mailboxes:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd hook
        if self.answers:
            answer = self.answers.pop(0)
            if answer in ("throttle", "error"):
                return "451 4.3.0 Try again later"
            if answer == "reject":
                return "550 5.1.1 Mailbox unavailable"
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.messages.append(message)
        if session.ssl is not None:
            self.tls_sessions += 1  # accepted over TLS
        self.accepted[message["X-CloudOptima-Idempotency-Key"]] += 1
        return "250 2.0.0 Queued"


def smtp_config(server: FakeSmtpServer, **overrides) -> SmtpConfig:
    """SMTP settings that reach `server` with its credentials and trust its certificate."""
    values = {
        "host": "127.0.0.1",
        "port": server.port,
        "from_address": "CloudOptima <alerts@cloudoptima.test>",
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "starttls": True,
        "timeout_seconds": 5.0,
        "ssl_context": server.cert.client_context(),
    }
    values.update(overrides)
    return SmtpConfig(**values)
