"""Secrets out of everything logged: the second line of defence behind "never log a secret".

The first line is not to log them (tracebacks are rendered without local variables, see
`bot.logs`); this catches what slips through anyway — an SDK's exception message quoting a
header, a URL with a key in its path, a token pasted into a command:

- Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`, every `xox?-` kind), bearer and basic
  `Authorization` values, JWTs (Bot Framework and Entra tokens);
- values of keys that name a secret (`client_secret`, `password`, `authorization`,
  `response_url`, …), in dicts and in `key=value` / `"key": "value"` text;
- URLs: the query string always (`?…`), and the path unless the host is a well-known API whose
  paths carry no secret (Azure Resource Manager, Entra, Slack's Web API, the Bot Framework);
  webhook and Slack response URLs keep only scheme and host;
- the deployment's own secret values, registered at start (`register_secret`), wherever they
  appear.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

#: Hosts whose URL paths are safe to log (ids of Azure resources, Slack API method names);
#: exact names (hooks.slack.com, a response URL's host, is not one of them).
SAFE_PATH_HOSTS = (
    "management.azure.com",
    "management.usgovcloudapi.net",
    "management.chinacloudapi.cn",
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.botframework.com",
    "api.botframework.com",
    "prices.azure.com",
    "slack.com",
)

_SECRET_KEYS = re.compile(
    r"(?i)^(authorization|proxy-authorization|cookie|set-cookie|x-slack-signature|"
    r".*(secret|password|passwd|credential|token|api[_-]?key|signature)s?|"
    r"response_url|response-url|webhook_url|assertion)$"
)
_TOKEN_KEY_NAMES = (
    r"client_secret|client_credential|secret|password|passwd|access_token|refresh_token|"
    r"id_token|token|api_key|apikey|signing_secret|assertion|response_url"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack: bot/user/app/config/refresh tokens.
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), "xox?-" + REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), "xapp-" + REDACTED),
    # Authorization header values.
    (re.compile(r"(?i)\b(bearer|basic)(\s+|%20)[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # JWTs: header.payload.signature, each base64url (the header always starts with `{"`).
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
        "[JWT " + REDACTED + "]",
    ),
    # key=value and "key": "value" forms (form bodies, dict reprs, JSON).
    (
        re.compile(
            r"(?i)(['\"]?\b(?:" + _TOKEN_KEY_NAMES + r")['\"]?\s*[:=]\s*)(['\"]?)[^'\"\s,&;}\]]+"
        ),
        r"\1\2" + REDACTED,
    ),
)
_URL = re.compile(r"(?i)\b(https?|wss?)://([^\s/?#'\"<>\\]+)([^\s?#'\"<>\\]*)(\?[^\s#'\"<>\\]*)?")

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears from now on (settings' secrets, at start).
    Values shorter than 8 characters are ignored: they would redact ordinary words."""
    global _known_pattern
    if not value or len(value) < 8:
        return
    with _known_lock:
        if value in _known:
            return
        _known.add(value)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def registered_secrets() -> frozenset[str]:
    with _known_lock:
        return frozenset(_known)


def _safe_path(host: str) -> bool:
    name = host.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return name in SAFE_PATH_HOSTS


def _url(match: re.Match[str]) -> str:
    scheme, host, path, query = match.group(1), match.group(2), match.group(3), match.group(4)
    host = host.rsplit("@", 1)[-1]  # user:password@host
    keep_path = _safe_path(host) or not path.strip("/")
    shown_path = path if keep_path else "/…"
    return f"{scheme}://{host}{shown_path}{'?…' if query else ''}"


def redact_text(text: str) -> str:
    """`text` with every secret-looking part replaced (see the module docstring)."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return _URL.sub(_url, text)


def redact(value: Any, *, depth: int = 0) -> Any:
    """Strings redacted, dict values under secret-naming keys replaced, containers walked."""
    if isinstance(value, str):
        return redact_text(value)
    if depth > 20:
        return value
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and _SECRET_KEYS.match(key) and item not in (None, "")
                else redact(item, depth=depth + 1)
            )
            for key, item in value.items()
        }
    if type(value) in (list, tuple):
        return type(value)(redact(item, depth=depth + 1) for item in value)
    return value


def contains_any(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets found in `text` (tests)."""
    return [s for s in secrets if s and s in text]
