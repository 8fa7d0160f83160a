"""Anything not signed by Slack gets 401 (never 500) over real HTTP, and runs nothing."""

from __future__ import annotations

import time

import pytest

from adapters.slack.verify import RequestVerifier, sign
from tests.adapters.slack.conftest import SIGNING_SECRET, signed_headers, slash_body

NOW = 1_800_000_000


def _bad_headers(case: str, body: bytes) -> dict[str, str]:
    now = str(int(time.time()))
    good = signed_headers(body, timestamp=now)
    match case:
        case "wrong secret":
            return signed_headers(body, secret="not-the-secret", timestamp=now)
        case "stale timestamp":
            old = str(int(time.time()) - 301)
            return signed_headers(body, timestamp=old)
        case "future timestamp":
            ahead = str(int(time.time()) + 360)  # beyond the 300 s allowed, however slow the run
            return signed_headers(body, timestamp=ahead)
        case "timestamp abc":
            return {**good, "X-Slack-Request-Timestamp": "abc"}
        case "timestamp 1.5":
            return {**good, "X-Slack-Request-Timestamp": "1.5"}
        case "negative timestamp":
            return {**good, "X-Slack-Request-Timestamp": f"-{now}"}
        case "empty timestamp":
            return {**good, "X-Slack-Request-Timestamp": ""}
        case "non-ascii signature":
            return {**good, "X-Slack-Signature": "v0=" + "é" * 64}
        case "signature without v0":
            return {**good, "X-Slack-Signature": good["X-Slack-Signature"][3:]}
        case "truncated signature":
            return {**good, "X-Slack-Signature": good["X-Slack-Signature"][:-1]}
        case "missing signature":
            return {k: v for k, v in good.items() if k != "X-Slack-Signature"}
        case "missing timestamp":
            return {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"}
        case "missing both":
            return {"Content-Type": "application/x-www-form-urlencoded"}
        case "body altered":
            return signed_headers(body + b"&text=costs")
    raise AssertionError(case)


BAD_CASES = [
    "wrong secret",
    "stale timestamp",
    "future timestamp",
    "timestamp abc",
    "timestamp 1.5",
    "negative timestamp",
    "empty timestamp",
    "non-ascii signature",
    "signature without v0",
    "truncated signature",
    "missing signature",
    "missing timestamp",
    "missing both",
    "body altered",
]


@pytest.mark.parametrize("case", BAD_CASES)
async def test_unsigned_or_badly_signed_request_is_refused_with_401(server, case):
    body = slash_body("help", server.fake.response_url("r1"))
    headers = _bad_headers(case, body)

    if case == "non-ascii signature":
        # aiohttp's client refuses non-ASCII header values: send the raw bytes ourselves.
        status = await _raw_post(server.url, body, headers)
    else:
        status = (await server.post(body, headers)).status
    await server.bot.drain()

    assert status == 401
    assert server.fake.answers == {}


async def test_non_utf8_body_with_valid_signature_is_refused_without_error(server):
    body = b"text=\xff\xfe&command=%2Foptima"
    response = await server.post(body, signed_headers(body))
    assert response.status == 400


async def _raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = f"POST /slack/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    raw = head.encode() + b"".join(
        f"{k}: ".encode() + v.encode("utf-8") + b"\r\n" for k, v in headers.items()
    )
    writer.write(raw + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


# -- the verifier itself -----------------------------------------------------------------------


def test_verifier_accepts_exactly_what_slack_signs():
    verifier = RequestVerifier(SIGNING_SECRET, now=lambda: NOW)
    body = b"command=%2Foptima&text=help"
    headers = {
        "X-Slack-Request-Timestamp": str(NOW - 299),
        "X-Slack-Signature": sign(SIGNING_SECRET, str(NOW - 299), body),
    }
    assert verifier.problem(headers, body) is None


@pytest.mark.parametrize(
    "timestamp", ["abc", "1.5", "", " 1", "1e9", "١٢٣", "99999999999999999999", "0x10"]
)
def test_verifier_never_raises_on_malformed_timestamps(timestamp):
    verifier = RequestVerifier(SIGNING_SECRET, now=lambda: NOW)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    assert verifier.problem(headers, b"") is not None
