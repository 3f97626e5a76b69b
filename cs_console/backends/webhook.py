"""Stakeholder updates posted to a Slack-compatible incoming webhook.

The URL is a secret (Slack embeds its token in the path): it comes from the env
var the profile names, and never appears in an error message or a log line —
httpx logs every request URL at INFO, so that logger gets a filter dropping
any record that mentions a URL we posted to.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from cs_console.domain.redaction import redact

USER_AGENT = "cs-console (stakeholder update)"


class WebhookError(Exception):
    """Delivery failed; the message never contains the URL."""


class _HideUrls(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        return not any(url in text for url in self.urls)


_hide = _HideUrls()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_hide)


def slack_payload(text: str) -> dict[str, object]:
    """Slack's incoming-webhook body; Mattermost, Rocket.Chat and Teams' Slack mode accept it."""
    return {"text": text, "mrkdwn": False}


async def post_text(url: str, text: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """POST the update; raise WebhookError (URL-free message) unless a 2xx comes back."""
    if not url.startswith(("https://", "http://")):
        raise WebhookError("the webhook URL is not an http(s) URL")
    _hide.urls.add(url)
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False) as client:
            response = await client.post(url, json=slack_payload(text), headers={"User-Agent": USER_AGENT})
    except httpx.TimeoutException:
        raise WebhookError(f"the webhook did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        # str(exc) may quote the URL: name the kind of failure only.
        raise WebhookError(f"the webhook could not be reached ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        body = response.text.strip().splitlines()[0][:120] if response.text.strip() else ""
        # The URL (its path is Slack's token) in any spelling, and any credential shape: redacted.
        body = redact(body, [url, urlsplit(url).path])
        raise WebhookError(f"the webhook answered HTTP {response.status_code}" + (f": {body}" if body else ""))
