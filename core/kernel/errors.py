"""One exception hierarchy. Every error knows the message a user may see.

Adapters catch `CloudOptimaError` and show `user_message()`; anything else is a bug, logged with its
traceback and answered with a generic apology, never with the exception's text.
"""

from __future__ import annotations

from collections.abc import Sequence


class CloudOptimaError(Exception):
    """Base of every error the product expects and can explain."""

    #: A short title for cards ("Bad input", "Throttled by Azure" ...).
    title = "Something went wrong"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_message(self) -> str:
        """What to show a person: what was wrong, and what to do about it."""
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UserInputError(CloudOptimaError):
    """The request itself was wrong; `accepted` lists what would have worked."""

    title = "I could not understand that"

    def __init__(
        self, message: str, *, accepted: Sequence[str] = (), hint: str | None = None
    ) -> None:
        if accepted and hint is None:
            hint = "Accepted: " + ", ".join(accepted)
        super().__init__(message, hint=hint)
        self.accepted = tuple(accepted)


class NotFoundError(CloudOptimaError):
    title = "Not found"


class PermissionDeniedError(CloudOptimaError):
    title = "Not allowed"


class ThrottledError(CloudOptimaError):
    """An upstream API asked us to slow down and the retry budget is spent."""

    title = "Throttled"

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        hint = (
            f"Try again in about {round(retry_after_seconds)} s."
            if retry_after_seconds is not None
            else "Try again in a few minutes."
        )
        super().__init__(message, hint=hint)
        self.retry_after_seconds = retry_after_seconds


class UpstreamError(CloudOptimaError):
    """Azure (or another service) answered with an error we cannot fix by retrying now."""

    title = "Azure returned an error"

    def __init__(
        self, message: str, *, service: str, code: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.service = service
        self.code = code

    def user_message(self) -> str:
        code = f" ({self.code})" if self.code else ""
        base = f"{self.service}{code}: {self.message}"
        return f"{base}\n{self.hint}" if self.hint else base


class MalformedResponseError(UpstreamError):
    """An upstream payload did not have the shape we rely on; nothing of it was stored."""

    title = "Unexpected response from Azure"


class ConfigurationError(CloudOptimaError):
    """The deployment is misconfigured; lists every problem at once."""

    title = "Configuration error"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid configuration ({len(self.problems)} problem(s)):\n{listing}")
