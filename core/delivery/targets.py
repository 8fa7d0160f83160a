"""Where notifications go: a target (Slack channel, Teams conversation, webhook, e-mail
address), parsed strictly from what people type and described safely for display."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from core.kernel.authz import Role, require
from core.kernel.cards import channel_reference
from core.kernel.context import CommandContext, Requester
from core.kernel.errors import UserInputError


class TargetKind(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    #: Slack channel id, Teams conversation id, webhook URL, or e-mail address.
    address: str

    def __str__(self) -> str:
        """`kind:address`; a webhook as `webhook:<scheme>://<host>/...#<digest>` (ASCII: it is
        sent as the `webhook-id` header) — its path and query often carry a key, and this form
        names it in outbox keys, logs and the CLI."""
        if self.kind is TargetKind.WEBHOOK:
            shown = redacted_url(self.address, ellipsis="...")
            return f"webhook:{shown}#{_digest(self.address)}"
        return f"{self.kind}:{self.address}"


def redacted_url(url: str, *, ellipsis: str = "…") -> str:
    """`scheme://host[:port]/…`: a URL without its path, query and credentials."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(invalid URL)"
    tail = "/" + ellipsis if (parts.path.strip("/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{netloc}{tail}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- where webhooks may go (no server-side request forgery) --------------------------------------

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Special-purpose blocks refused whatever the Python version's `is_global` says of them.
_SPECIAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001::/23",
        "2001:db8::/32",
        "64:ff9b:1::/48",
        "fc00::/7",
        "fec0::/10",
    )
)


def forbidden_address(address: IpAddress) -> bool:
    """True unless `address` is a public unicast address: loopback, private, link-local
    (169.254/16 holds cloud metadata services), shared, multicast, reserved and unspecified
    addresses are refused, IPv4 and IPv6 alike, including IPv4 inside IPv6 (mapped, 6to4,
    Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # the IPv4 address itself, in IPv6 form
            return forbidden_address(address.ipv4_mapped)
        embedded: list[IpAddress] = []
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(forbidden_address(inner) for inner in embedded):
            return True
    return (
        not address.is_global
        or any(address in net for net in _SPECIAL if net.version == address.version)
        or address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Where webhooks may be delivered: `https` to public addresses, plus the receivers an
    operator allowed explicitly (`CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS`: host names, addresses or
    networks such as `10.1.0.0/16`), which may also use plain `http`."""

    allowed: tuple[str, ...] = ()

    @property
    def _names(self) -> frozenset[str]:
        return frozenset(a.lower().rstrip(".") for a in self.allowed if not _network(a))

    @property
    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [net for a in self.allowed if (net := _network(a)) is not None]

    def host_allowed(self, host: str) -> bool:
        """An allow-listed name, or an address literal inside an allow-listed network."""
        host = host.lower().rstrip(".").strip("[]")
        if host in self._names:
            return True
        address = _address(host)
        return address is not None and any(address in net for net in self._networks)

    def address_allowed(self, host: str, address: IpAddress) -> bool:
        """May a connection for `host` go to `address` (one of the addresses it resolved to)?"""
        if self.host_allowed(host):
            return True
        plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if any(address in net or (plain is not None and plain in net) for net in self._networks):
            return True
        return not forbidden_address(address)

    def refusal(self, host: str, addresses: Iterable[IpAddress]) -> str | None:
        """Why a delivery to `host`, resolved to `addresses`, is refused (None: it may go)."""
        found = list(addresses)
        if not found:
            return f"{host[:80]} has no address"
        bad = [a for a in found if not self.address_allowed(host, a)]
        if bad:
            return (
                f"{host[:80]} resolves to a non-public address ({bad[0]}); internal receivers "
                "must be listed in CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS"
            )
        return None

    def url_refusal(self, url: str) -> str | None:
        """Checks that need no name resolution: the scheme, and an address literal's class."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return "the webhook URL is not valid"
        if not host:
            return "the webhook URL has no host name"
        allowed = self.host_allowed(host)
        if parts.scheme != "https" and not (parts.scheme == "http" and allowed):
            return "webhooks must use https:// (plain http only to allow-listed internal hosts)"
        address = _address(host)
        if address is not None and not allowed and not self.address_allowed(host, address):
            return (
                f"{address} is not a public address; internal receivers must be listed in "
                "CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS"
            )
        if address is None and not allowed and _local_name(host):
            return f"{host[:60]} names this machine or a local network, not a public host"
        return None


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip().strip("[]"), strict=False)
    except ValueError:
        return None


def _address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _local_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return (
        name == "localhost"
        or name.endswith((".localhost", ".local", ".internal", ".localdomain"))
        or "." not in name
    )


MAX_TARGETS = 10
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{4,30}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TEAMS_ID = re.compile(r"[\x21-\x7e]{1,512}")
ACCEPTED_TARGETS = (
    "here (this channel)",
    "slack:<channel id, e.g. C0123ABCD>",
    "teams:<conversation id>",
    "webhook:https://…",
    "email:<address>",
)


def here_target(requester: Requester) -> Target | None:
    """The conversation a request came from, when alerts can be delivered there."""
    if requester.conversation_id and requester.platform == "slack":
        return Target(TargetKind.SLACK, requester.conversation_id)
    if requester.conversation_id and requester.platform == "teams":
        return Target(TargetKind.TEAMS, requester.conversation_id)
    return None


def _webhook(url: str, policy: WebhookPolicy | None) -> Target:
    """A webhook target that must also be a place webhooks may go under `policy`; without one
    (a target named to remove it) only its form is checked."""
    accepted = ["webhook:https://host/path"]
    if len(url) > 1024:
        raise UserInputError("The webhook URL is longer than 1024 characters.", accepted=accepted)
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UserInputError(
            "The webhook URL contains spaces or non-ASCII characters; percent-encode them.",
            accepted=accepted,
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise UserInputError(
            f"'{redacted_url(url)[:60]}' is not a valid URL.", accepted=accepted
        ) from None
    if parts.scheme not in ("https", "http"):
        raise UserInputError("Webhooks must use https://.", accepted=accepted)
    if not host:
        raise UserInputError(f"'{url[:60]}' has no host name.", accepted=accepted)
    if parts.username or parts.password:
        raise UserInputError(
            "Put no user name or password in the webhook URL; the webhook is signed instead.",
            accepted=accepted,
        )
    problem = policy.url_refusal(url) if policy is not None else None
    if problem is not None:
        raise UserInputError(problem[0].upper() + problem[1:] + ".", accepted=accepted)
    return Target(TargetKind.WEBHOOK, url)


def _email(address: str) -> Target:
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise UserInputError(
            f"'{address[:60]}' is not an e-mail address.", accepted=["email:name@example.com"]
        )
    local, _, domain = address.rpartition("@")
    return Target(TargetKind.EMAIL, f"{local}@{domain.lower()}")


_STRICT = WebhookPolicy()


def parse_target(
    token: str, requester: Requester, policy: WebhookPolicy | None = _STRICT
) -> Target:
    """One notification target (see `ACCEPTED_TARGETS`); a webhook must be allowed by `policy`
    (None: only its form is checked, for naming a target to remove)."""
    text = token.strip()
    lowered = text.lower()
    if lowered in ("here", "this-channel", "this"):
        target = here_target(requester)
        if target is None:
            raise UserInputError(
                "'here' means this Slack channel or Teams conversation, and this conversation "
                "cannot receive alerts.",
                accepted=ACCEPTED_TARGETS,
            )
        return target
    kind, sep, value = text.partition(":")
    kind = kind.lower()
    if lowered.startswith(("https://", "http://")):
        return _webhook(text, policy)
    if sep and kind == "webhook":
        return _webhook(value, policy)
    if sep and kind == "slack":
        if value.startswith("#"):
            raise UserInputError(
                f"Use the Slack channel id, not its name ({value[:40]}): run the command in the "
                "channel with `here`, or copy the id from the channel details.",
                accepted=ACCEPTED_TARGETS,
            )
        if not _SLACK_CHANNEL.fullmatch(value):
            raise UserInputError(
                f"'{value[:40]}' is not a Slack channel id.", accepted=ACCEPTED_TARGETS
            )
        return Target(TargetKind.SLACK, value)
    if sep and kind == "teams":
        if not _TEAMS_ID.fullmatch(value):
            raise UserInputError(
                "A Teams conversation id is 1-512 printable ASCII characters without spaces.",
                accepted=ACCEPTED_TARGETS,
            )
        return Target(TargetKind.TEAMS, value)
    if sep and kind in ("email", "mailto"):
        return _email(value)
    if "@" in text and not sep:
        return _email(text)
    raise UserInputError(f"'{text[:60]}' is not a notification target.", accepted=ACCEPTED_TARGETS)


def parse_targets(
    tokens: list[str], requester: Requester, policy: WebhookPolicy | None = _STRICT
) -> list[Target]:
    """Targets from words and comma lists (`here,email:a@b.example`), duplicates dropped."""
    targets: list[Target] = []
    for token in tokens:
        for part in token.split(","):
            if not part.strip():
                continue
            target = parse_target(part, requester, policy)
            if target not in targets:
                targets.append(target)
    if len(targets) > MAX_TARGETS:
        raise UserInputError(
            f"{len(targets)} targets given; a budget notifies at most {MAX_TARGETS}."
        )
    return targets


def parse_new_targets(tokens: list[str], ctx: CommandContext) -> list[Target]:
    """Targets being added: webhooks must go where the policy allows, and only admins may add
    one (the server makes the request, so a webhook is the admin's decision)."""
    policy = WebhookPolicy(tuple(ctx.config.webhook_allowed_hosts))
    targets = parse_targets(tokens, ctx.requester, policy)
    if any(t.kind is TargetKind.WEBHOOK for t in targets):
        require(ctx, Role.ADMIN, "add webhook targets")
    return targets


def require_may_add(ctx: CommandContext, added: Iterable[Target]) -> None:
    """Only admins may add webhook targets (see `parse_new_targets`)."""
    if any(t.kind is TargetKind.WEBHOOK for t in added):
        require(ctx, Role.ADMIN, "add webhook targets")


def describe_target(target: Target, name: str | None = None) -> str:
    """A target for display: a Slack channel as a channel reference (a link in Slack), a Teams
    conversation by its `name` when known, webhook URLs without path and query (they often
    carry keys)."""
    if target.kind is TargetKind.WEBHOOK:
        return f"webhook {redacted_url(target.address)}"
    if target.kind is TargetKind.SLACK:
        if _SLACK_CHANNEL.fullmatch(target.address):
            return f"Slack {channel_reference(target.address)}"
        return f"Slack channel {target.address}"
    if target.kind is TargetKind.TEAMS:
        return f"Teams: {name}" if name else "a Teams conversation (not seen since it was named)"
    return f"e-mail {target.address}"
