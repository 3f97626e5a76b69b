"""Typed, one-line, secret-free errors of the Supabase backend.

Every message is a single line an operator can read in a status bar; the
token and keys are scrubbed from anything a server echoed back.
"""

from __future__ import annotations

from collections.abc import Iterable

from cs_console.domain.redaction import Redactor

MAX_DETAIL = 200


def safe_detail(text: str, secrets: Iterable[str | None] = ()) -> str:
    """One printable line, secrets replaced by ***, cut to a readable length."""
    redactor = Redactor(secrets)
    text = redactor.text(text)
    text = " ".join(text.split())  # newlines, tabs, runs of spaces -> one space
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    text = redactor.text(text)  # again: joining the lines may have spelled a secret anew
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


class SupabaseError(Exception):
    """Base of every expected fault talking to Supabase. str() is one safe line."""

    short = "error"  # a word for status dots: "401", "timeout", "429", ...

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotConfigured(SupabaseError):
    """A secret or URL the request needs is missing from the profile/environment."""

    short = "not configured"


class Unauthorized(SupabaseError):
    short = "401"


class Forbidden(SupabaseError):
    short = "403"


class RateLimited(SupabaseError):
    """429 from Supabase, or our own budget refusing to send (reset_s = wait)."""

    short = "429"

    def __init__(self, message: str, reset_s: float, *, local: bool = False) -> None:
        super().__init__(message)
        self.reset_s = reset_s
        self.local = local  # True: refused by the console's budget, nothing was sent
        self.short = "waiting for budget" if local else "429"


class ServerError(SupabaseError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.short = str(status)


class ClientError(SupabaseError):
    """Any other 4xx (400 bad SQL or window, 402 plan, 404 unknown endpoint)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.short = str(status)


class Timeout(SupabaseError):
    short = "timeout"


class Unreachable(SupabaseError):
    """Connection refused, DNS failure, TLS failure: nothing answered."""

    short = "unreachable"


class BadResponse(SupabaseError):
    """The answer is not JSON, or not the shape the endpoint documents."""

    short = "bad response"


class AnalyticsError(SupabaseError):
    """A non-empty `error` in an AnalyticsResponse (even with HTTP 200)."""

    short = "query error"

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status  # 200 or the 4xx it came with


# ---------------------------------------------------------------- which key a request needs

AUTH_ADMIN_KEY_NEED = (
    "the Auth admin API needs the legacy service_role key (a JWT, eyJ…) in the Authorization header; "
    "an sb_secret_ key is not a JWT and is refused with 401 (Dashboard > Project Settings > API Keys > Legacy API keys)"
)


def is_auth_admin(url: str) -> bool:
    return "/auth/v1/admin/" in url.split("?", 1)[0]


def key_mismatch(url: str, headers: dict[str, str]) -> str | None:
    """Why the key in `headers` cannot work for `url`, before spending a request; else None.

    The metrics endpoint and the gateway take sb_secret_ keys; the Auth admin
    API checks the bearer as a JWT with an admin role, so a secret key there
    is a certain 401.
    """
    if not is_auth_admin(url):
        return None
    bearer = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    token = bearer.split(" ", 1)[1].strip() if bearer.lower().startswith("bearer ") else bearer.strip()
    if token.startswith("sb_secret_") or token.startswith("sb_publishable_"):
        return AUTH_ADMIN_KEY_NEED
    return None
