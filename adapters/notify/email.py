"""E-mail over SMTP with STARTTLS: a plain-text body rendered from the card, plus an HTML one.

The standard library's `smtplib` runs in a worker thread (no extra dependency; each send opens
one short connection). The `Message-ID` is derived from the outbox idempotency key, so a message
resent after an uncertain attempt carries the same id and mail clients can fold the copies.
SMTP cannot be asked whether a message arrived: `was_delivered` is always False.

Failures: authentication, a refused sender or recipient with a 5xx code, a server without
STARTTLS when it is required, or a certificate that does not verify → permanent; 4xx replies,
refused connections and dropped connections → retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import TargetKind
from core.kernel.cards import (
    Block,
    Card,
    Chart,
    Context,
    Divider,
    Facts,
    Header,
    Table,
    Text,
    plain_references,
)
from core.kernel.cards_text import chart_lines, render_text

__all__ = ["EmailNotifier", "SmtpConfig", "make_message_id", "render_html", "render_text"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    from_address: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    #: Upgrade the connection with STARTTLS before authenticating or sending (refuse without).
    starttls: bool = True
    timeout_seconds: float = 15.0
    #: Certificate checks; the default trusts the system's CAs (tests pass their own CA).
    ssl_context: ssl.SSLContext | None = None


def make_message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt of one outbox message."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class EmailNotifier:
    """Sends each card to the target's address(es) (comma separated) through one SMTP server."""

    kind = TargetKind.EMAIL

    def __init__(
        self, config: SmtpConfig, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.config = config
        self._now = now
        self._ssl_context = config.ssl_context or ssl.create_default_context()
        domain = config.from_address.rpartition("@")[2].strip(" >")
        self._domain = domain or "cloudoptima.invalid"

    async def send(self, delivery: Delivery) -> str:
        recipients = [address for _, address in getaddresses([delivery.target.address])]
        if not recipients or not all("@" in address for address in recipients):
            raise DeliveryError(
                "the e-mail target is not a valid address", permanent=True, code="refused_address"
            )
        message = self.build_message(delivery, recipients)
        await asyncio.to_thread(self._send_sync, message, recipients)
        return str(message["Message-ID"])

    async def update(self, delivery: Delivery, message_id: str) -> str:
        """Sent mail cannot change: the update is a new e-mail."""
        return await self.send(delivery)

    async def was_delivered(self, delivery: Delivery) -> bool:
        return False  # SMTP has no way to ask.

    def build_message(self, delivery: Delivery, recipients: list[str]) -> EmailMessage:
        card = delivery.card
        message = EmailMessage()
        message["Subject"] = _one_line(card.title)
        message["From"] = self.config.from_address
        message["To"] = ", ".join(recipients)
        message["Date"] = format_datetime(self._now().astimezone(UTC))
        message["Message-ID"] = make_message_id(delivery.idempotency_key, self._domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message["X-CloudOptima-Idempotency-Key"] = delivery.idempotency_key
        message.set_content(render_text(card))
        message.add_alternative(render_html(card), subtype="html")
        return message

    def _send_sync(self, message: EmailMessage, recipients: list[str]) -> None:
        on_the_wire = [False]  # True once the message itself is being sent
        try:
            self._converse(message, recipients, on_the_wire)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise _delivery_error(exc, sending=on_the_wire[0]) from None

    def _converse(
        self, message: EmailMessage, recipients: list[str], on_the_wire: list[bool]
    ) -> None:
        """One SMTP session: EHLO, STARTTLS (required unless disabled), login, send."""
        config = self.config
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
            smtp.ehlo()
            if config.starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        "the SMTP server does not offer STARTTLS; refusing to send in clear",
                        permanent=True,
                        code="smtp_no_starttls",
                    )
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if config.username:
                smtp.login(config.username, config.password or "")
            on_the_wire[0] = True
            refused = smtp.send_message(message, config.from_address, recipients)
            if refused:  # some recipients got it: resending would duplicate for them
                log.warning("SMTP server refused some recipients: %s", sorted(refused))


def _delivery_error(exc: BaseException, *, sending: bool) -> DeliveryError:
    """What an SMTP failure means for the outbox: permanent, or worth another attempt."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        temporary = bool(codes) and all(400 <= code < 500 for code in codes)
        return DeliveryError(
            f"the SMTP server refused the recipient (code {codes[0] if codes else '?'})",
            permanent=not temporary,
            code=f"smtp_{codes[0] if codes else 'rcpt'}",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"the SMTP server rejected the credentials (code {exc.smtp_code})",
            permanent=True,
            code=f"smtp_{exc.smtp_code}",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        # Sender refused, data refused, HELO refused, connect greeting refused …
        return DeliveryError(
            f"the SMTP server refused the message (code {exc.smtp_code})",
            permanent=not 400 <= exc.smtp_code < 500,
            code=f"smtp_{exc.smtp_code}",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(
            "the SMTP server does not support authentication as configured",
            permanent=True,
            code="smtp_auth_unsupported",
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(
            f"TLS with the SMTP server failed ({exc.reason or 'handshake'})",
            permanent=True,
            code="smtp_tls",
        )
    if not sending:
        return DeliveryError(
            f"could not reach the SMTP server ({type(exc).__name__})",
            permanent=False,
            code="refused_connect",
        )
    return DeliveryError(
        f"the SMTP connection failed while sending ({type(exc).__name__})",
        permanent=False,
        code="timeout" if isinstance(exc, TimeoutError) else "connection_lost",
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _e(text: str) -> str:
    return html.escape(plain_references(text))


def render_html(card: Card) -> str:
    """The card as a small, inline-styled HTML document (mail clients ignore stylesheets)."""
    colour = {"info": "#2563eb", "success": "#16a34a", "warning": "#d97706", "error": "#dc2626"}[
        str(card.severity)
    ]
    parts = [
        '<html><body style="font-family:sans-serif;color:#111">',
        f'<h2 style="border-left:4px solid {colour};padding-left:8px">{_e(card.title)}</h2>',
        f"<p>{_e(card.summary)}</p>",
    ]
    parts += [html_block for block in card.blocks if (html_block := _html_block(block))]
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_block(block: Block) -> str:
    """One block as HTML ('' for what mail cannot do: buttons)."""
    e = _e
    match block:
        case Header(text):
            return f"<h3>{e(text)}</h3>"
        case Text(text):
            return f"<p>{e(text)}</p>"
        case Facts(facts):
            rows = "".join(
                f'<tr><th style="text-align:left;padding-right:12px">{e(f.label)}</th>'
                f"<td>{e(f.value)}</td></tr>"
                for f in facts
            )
            return f"<table>{rows}</table>"
        case Table():
            return _html_table(block)
        case Chart():
            if not block.points:
                return ""
            lines = "<br>".join(e(line) for line in chart_lines(block))
            return f'<p style="font-family:monospace">{lines}</p>'
        case Context(text):
            return f'<p style="color:#666"><small>{e(text)}</small></p>'
        case Divider():
            return "<hr>"
    return ""


def _html_table(table: Table) -> str:
    e, columns = _e, table.columns
    head = "".join(
        f'<th style="text-align:{c.align};padding:2px 8px">{e(c.title)}</th>' for c in columns
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:{c.align};padding:2px 8px">{e(cell)}</td>'
            for c, cell in zip(columns, row, strict=False)
        )
        + "</tr>"
        for row in table.rows
    )
    footer = f"<p><small>{e(table.footer)}</small></p>" if table.footer else ""
    return f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>{footer}'
