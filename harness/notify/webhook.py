"""One JSON POST with its timeout; any failure becomes a :class:`DeliveryFailed` whose text never
carries the URL (a Slack webhook URL is a secret)."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

USER_AGENT = "gameday-notify/1"


class DeliveryFailed(Exception):
    """A notification that did not arrive: HTTP status, refused, timed out... (no URL in the text)."""


def describe(exc: BaseException, timeout_s: float) -> str:
    """A short reason for a failed POST, without the URL."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"timed out after {timeout_s:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__}: {reason.strerror}"
    if isinstance(reason, http.client.HTTPException):
        return f"bad HTTP answer ({type(reason).__name__})"
    return type(reason).__name__


def post_json(url: str, body: Mapping[str, Any], timeout_s: float, headers: Mapping[str, str] | None = None) -> int:
    """POST ``body`` as JSON; the HTTP status of a 2xx answer, else :class:`DeliveryFailed`."""
    data = json.dumps(body, default=str).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": USER_AGENT,
                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            resp.read(65536)
            status = int(resp.status)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryFailed(describe(exc, timeout_s)) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}")
    return status


def send_webhook(url: str, message: Mapping[str, Any], timeout_s: float) -> None:
    post_json(url, message, timeout_s)
