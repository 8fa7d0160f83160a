"""The second line of defence: whatever reaches a log line is redacted and bounded, and
tracebacks never show local variables (which hold tokens and client secrets in the SDKs)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import LINE_LIMIT, TRUNCATED, configure_logging, flush_logs
from bot.redaction import redact, redact_text, register_secret

SAMPLES = {
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx": "xoxb",
    "xoxp-1-2-3-abcdef0123456789": "xoxp",
    "xapp-1-A0123-456-0123456789abcdef": "0123456789abcdef",
    "Authorization: Bearer abc.DEF-123_ghi~jkl": "abc.DEF",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl": "eyJzdWIi",
    "client_secret=Q~abc123.def456": "Q~abc",
    "{'client_credential': 'my-client-secret-value'}": "my-client-secret",
    '"password": "hunter2hunter2"': "hunter2",
    "https://hooks.slack.com/commands/T1/123/AbCdEfGh": "AbCdEfGh",
    "https://hooks.example.com/services/T1/B2/XYZSECRET": "XYZSECRET",
    "https://example.com/hook?sig=SIGVALUE&x=1": "SIGVALUE",
    "https://management.azure.com/subscriptions/1/x?api-version=2023&code=TOPSECRET": "TOPSECRET",
}


@pytest.mark.parametrize("text", SAMPLES)
def test_secrets_in_text_are_redacted(text):
    assert SAMPLES[text] not in redact_text(f"failed: {text} (retrying)")


def test_safe_api_paths_stay_readable():
    shown = redact_text("POST https://management.azure.com/subscriptions/s1/providers/x/query")
    assert "/subscriptions/s1/providers/x/query" in shown
    assert redact_text("https://hooks.example.com/a/b") == "https://hooks.example.com/…"


def test_values_under_secret_keys_and_registered_values_are_redacted():
    register_secret("a-registered-secret-value")
    event = {
        "headers": {"Authorization": "Basic Zm9vOmJhcg==", "Content-Type": "text/plain"},
        "response_url": "https://hooks.slack.com/x",
        "message": "got a-registered-secret-value back",
        "items": [{"client_secret": "x" * 12}],
    }
    redacted = json.dumps(redact(event))
    for secret in ("Zm9vOmJhcg", "hooks.slack.com/x", "a-registered-secret-value", "x" * 12):
        assert secret not in redacted
    assert "text/plain" in redacted


@pytest.fixture(params=["console", "json"])
def log_format(request):
    yield request.param
    logging.getLogger().handlers[:] = []


def failing_call(token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}  # a local, as in slack_sdk's req_args
    raise RuntimeError(f"the API answered 500 ({len(headers)} headers)")


@pytest.mark.parametrize("background", [False, True])
def test_tracebacks_show_no_locals_and_lines_are_bounded(log_format, background):
    stream = io.StringIO()
    configure_logging("DEBUG", log_format, background=background, stream=stream)
    log = logging.getLogger("tests.redaction")
    token = "-".join(("SECRET", "LOCAL", "TOKEN", "VALUE"))  # not in any source line shown
    try:
        failing_call(token)
    except RuntimeError:
        log.exception("the call failed")
    log.info("a large answer: %s", "x" * 300_000)
    flush_logs()

    lines = stream.getvalue().splitlines()
    text = stream.getvalue()
    assert "SECRET-LOCAL-TOKEN-VALUE" not in text
    assert "failing_call" in text and "the API answered 500" in text  # the traceback is there
    assert all(len(line.encode()) <= LINE_LIMIT for line in lines)
    assert TRUNCATED in text or "\\u2026[truncated]" in text
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert any(r.get("truncated") for r in records)
        assert all('"locals":' not in json.dumps(r) for r in records)
