"""Where notifications go: a target (Slack channel, Teams conversation, webhook, e-mail
address), parsed strictly from what people type and described safely for display."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from core.kernel.cards import channel_reference
from core.kernel.context import Requester
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
        return f"{self.kind}:{self.address}"


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


def _webhook(url: str) -> Target:
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
        raise UserInputError(f"'{url[:60]}' is not a valid URL.", accepted=accepted) from None
    local = host in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise UserInputError(
            "Webhooks must use https:// (plain http only to localhost).", accepted=accepted
        )
    if not host:
        raise UserInputError(f"'{url[:60]}' has no host name.", accepted=accepted)
    if parts.username or parts.password:
        raise UserInputError(
            "Put no user name or password in the webhook URL; the webhook is signed instead.",
            accepted=accepted,
        )
    return Target(TargetKind.WEBHOOK, url)


def _email(address: str) -> Target:
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise UserInputError(
            f"'{address[:60]}' is not an e-mail address.", accepted=["email:name@example.com"]
        )
    local, _, domain = address.rpartition("@")
    return Target(TargetKind.EMAIL, f"{local}@{domain.lower()}")


def parse_target(token: str, requester: Requester) -> Target:
    """One notification target (see `ACCEPTED_TARGETS`)."""
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
        return _webhook(text)
    if sep and kind == "webhook":
        return _webhook(value)
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


def parse_targets(tokens: list[str], requester: Requester) -> list[Target]:
    """Targets from words and comma lists (`here,email:a@b.example`), duplicates dropped."""
    targets: list[Target] = []
    for token in tokens:
        for part in token.split(","):
            if not part.strip():
                continue
            target = parse_target(part, requester)
            if target not in targets:
                targets.append(target)
    if len(targets) > MAX_TARGETS:
        raise UserInputError(
            f"{len(targets)} targets given; a budget notifies at most {MAX_TARGETS}."
        )
    return targets


def describe_target(target: Target, name: str | None = None) -> str:
    """A target for display: a Slack channel as a channel reference (a link in Slack), a Teams
    conversation by its `name` when known, webhook URLs without path and query (they often
    carry keys)."""
    if target.kind is TargetKind.WEBHOOK:
        parts = urlsplit(target.address)
        return f"webhook {parts.scheme}://{parts.netloc}/…"
    if target.kind is TargetKind.SLACK:
        if _SLACK_CHANNEL.fullmatch(target.address):
            return f"Slack {channel_reference(target.address)}"
        return f"Slack channel {target.address}"
    if target.kind is TargetKind.TEAMS:
        return f"Teams: {name}" if name else "a Teams conversation (not seen since it was named)"
    return f"e-mail {target.address}"
