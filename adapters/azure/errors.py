"""Azure SDK exceptions → `core.kernel.errors`, with messages that tell a person what to do.

Exception texts from Azure are not shown as they are: only the status, the ARM error code and a
short, known-safe part of the message make it into the user-facing error.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from adapters.azure.retry import retry_after_seconds
from core.kernel.errors import (
    CloudOptimaError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    UpstreamError,
)
from core.kernel.scopes import Scope, ScopeKind

COST_MANAGEMENT = "Azure Cost Management"
_AADSTS = re.compile(r"AADSTS\d+")


def _is_sign_in_failure(exc: AzureError) -> bool:
    """A credential's failure (Entra, managed identity, CLI …) rather than an API's 401.

    Both are `ClientAuthenticationError`s; a credential's has no response, or one from a token
    endpoint (`login.microsoftonline.com/…/oauth2/…`, the managed identity endpoint).
    """
    if not isinstance(exc, ClientAuthenticationError):
        return False
    if exc.response is None:
        return True
    url = str(getattr(exc.response.request, "url", "")).lower()
    host = urlsplit(url).hostname or ""
    return "/oauth2/" in url or "/msi/" in url or host.startswith("login.")


def reader_role_for(scope: Scope) -> str:
    """The least-privileged role that lets an identity query costs at `scope`."""
    if scope.kind is ScopeKind.BILLING_ACCOUNT:
        return "Billing account reader"
    if scope.kind is ScopeKind.BILLING_PROFILE:
        return "Billing profile reader"
    return "Cost Management Reader"


def error_code(exc: HttpResponseError) -> str:
    """The ARM error code (`AuthorizationFailed` …) or else the HTTP status."""
    code = getattr(exc.error, "code", None) if exc.error is not None else None
    if code:
        return str(code)[:80]
    return str(exc.status_code) if exc.status_code is not None else "unknown"


def map_azure_error(
    exc: AzureError, *, scope: Scope, service: str = COST_MANAGEMENT, what: str = "cost query"
) -> CloudOptimaError:
    """Translate one Azure SDK error raised while working on `scope`."""
    return map_api_error(
        exc,
        service=service,
        what=what,
        target=str(scope),
        role=reader_role_for(scope),
        unknown=f"the scope {scope}",
    )


def map_api_error(
    exc: AzureError,
    *,
    service: str,
    what: str,
    target: str,
    role: str,
    unknown: str | None = None,
) -> CloudOptimaError:
    """Translate one Azure SDK error: `target` names what was asked about (a scope, a
    subscription, a region …), `role` the least-privileged role that grants the call."""
    if _is_sign_in_failure(exc):
        # The credential itself failed (bad secret, no managed identity …), not Azure's API.
        found = _AADSTS.search(str(exc.message or ""))
        code = found.group(0) if found else "authentication"
        return PermissionDeniedError(
            f"CloudOptima could not sign in to Azure to run the {what} for {target} ({code}).",
            hint="Check the Azure credentials it is configured with (auth method, tenant id, "
            "client id and secret, or the managed identity).",
        )
    if isinstance(exc, DecodeError):
        return MalformedResponseError(
            f"the answer to the {what} for {target} is not valid JSON.",
            service=service,
            code="malformed_response",
        )
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return _http_error(exc, exc.status_code, service, what, target, role, unknown or target)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return UpstreamError(
            f"could not reach Azure for the {what} for {target} ({type(exc).__name__}).",
            service=service,
            code="network",
            hint="Check the network path to Azure's endpoints; try again in a minute.",
        )
    return UpstreamError(
        f"the {what} for {target} failed ({type(exc).__name__}).",
        service=service,
        code="azure_error",
        hint="Try again in a few minutes.",
    )


def _http_error(
    exc: HttpResponseError,
    status: int,
    service: str,
    what: str,
    target: str,
    role: str,
    unknown: str,
) -> CloudOptimaError:
    code = error_code(exc)
    if status in (401, 403):
        return PermissionDeniedError(
            f"Azure refused the {what} for {target} (HTTP {status}, {code}).",
            hint=f"Grant CloudOptima's identity the '{role}' role on {target}, "
            "then try again (role assignments can take a few minutes to apply).",
        )
    if status == 404:
        return NotFoundError(
            f"Azure does not know {unknown} (HTTP 404, {code}).",
            hint="Check the id and that the identity can see it.",
        )
    if status in (429, 529):
        headers = getattr(exc.response, "headers", None) or {}
        return ThrottledError(
            f"{service} throttled the {what} for {target} and the retries are spent.",
            retry_after_seconds=retry_after_seconds(headers),
        )
    hint = (
        "Azure had a problem on its side; try again in a few minutes."
        if status >= 500
        else "The request was rejected; this is likely a bug in CloudOptima, please report it."
    )
    return UpstreamError(
        f"the {what} for {target} failed with HTTP {status}.",
        service=service,
        code=code,
        hint=hint,
    )
