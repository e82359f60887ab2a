"""Secret *shapes* masked in any text gameday writes or prints, whether or not anyone declared
them: URL user-info, ``Authorization`` / ``Bearer`` / ``Basic`` values, AWS key ids and secret
keys, Slack webhook paths; and known secret *values* in every form they travel in (as is,
JSON-escaped, URL-encoded, base64). Standard library only: the writers on both sides and the
Locust plugin use it (``gameday.harness.redact.Redactor`` adds the profile's declared secrets).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from functools import lru_cache

MASK = "***REDACTED***"
MIN_LEN = 4  # shorter "secrets" are not searched for inside text (they would mangle it)

# names whose values are secrets, wherever they appear (environment, configuration keys)
SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|(^|[_.-])PASS($|[_.-])|(^|[_.-])PWD($|[_.-])|API[_-]?KEY|"
    r"PRIVATE[_-]?KEY|CREDENTIAL|ACCESS[_-]?KEY|SESSION[_-]?KEY|AUTHORIZATION|AUTH[_-]?HEADER|BEARER|COOKIE|"
    r"WEBHOOK|DATABASE[_-]?URL|(^|[_.-])DB[_-]?URL|(^|[_.-])DSN($|[_.-])|CONN(ECTION)?[_-]?STR(ING)?|"
    r"(^|[_.-])SA($|[_.-])|SERVICE[_-]?ACCOUNT[_-]?(TOKEN|KEY)|SIGNING[_-]?KEY)",
    re.IGNORECASE,
)

_SHELL_DIRS = frozenset({"PWD", "OLDPWD"})

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://***REDACTED***@host (user-info is a credential)
    (re.compile(r"(?<=://)[^/\s@'\"<>\\]+@"), MASK + "@"),
    # the same URL-encoded (a URL inside a query string)
    (re.compile(r"(?<=%3A%2F%2F)[^/\s@'\"<>%]*(?:%[0-9A-Fa-f]{2}[^/\s@'\"<>%]*)*(?:@|%40)", re.IGNORECASE),
     MASK + "%40"),
    (re.compile(r"(?i)\b(authorization\\?[\"']?\s*[:=]\s*\\?[\"']?)(?:(bearer|basic|token|digest)\s+)?[^\s'\",;}\\]+"),
     r"\1\2 " + MASK),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=:-]{6,}"), r"\1\2" + MASK),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"(?i)(aws_secret_access_key|secret_access_key|aws_session_token)(\W{1,8})[A-Za-z0-9/+=]{16,}"),
     r"\1\2" + MASK),
    (re.compile(r"(?<=hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bglsa_[A-Za-z0-9_]{16,}"), MASK),  # Grafana service-account tokens
)


@lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """Whether a key or variable *name* marks its value as secret. Cached: every ``scrub`` asks it of
    each environment variable's name again (hundreds of times in one judge)."""
    return bool(SECRET_NAME.search(name))


def env_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables whose names look secret (and their URL passwords)."""
    env = os.environ if environ is None else environ
    # the shell's PWD/OLDPWD are the working directory, not a password: masking them blanked every
    # path in the run directory (``***REDACTED***/experiments/...``)
    out = {v for k, v in env.items() if v and secret_name(k) and k not in _SHELL_DIRS}
    return out | {p for v in list(out) for p in url_passwords(v)}


def url_passwords(text: str) -> set[str]:
    """The user-info passwords of the URLs in ``text`` (so their other copies are known too)."""
    out = set()
    for m in re.finditer(r"://([^/\s@:]*):([^/\s@]+)@", text):
        out.add(urllib.parse.unquote(m.group(2)))
        out.add(m.group(2))
    return {p for p in out if len(p) >= MIN_LEN}


def forms(value: str) -> set[str]:
    """The forms a secret value travels in: as is, JSON-escaped (and that JSON-escaped again), URL-encoded,
    HTML/XML-escaped, base64."""
    escaped = json.dumps(value)[1:-1]
    out = {value, escaped, json.dumps(escaped)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
           html.escape(value), html.escape(value, quote=False), html.escape(escaped),
           urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)}
    raw = value.encode()
    for enc in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        s = enc.decode()
        out |= {s, s.rstrip("=")}
    return {f for f in out if len(f) >= MIN_LEN}


@lru_cache(maxsize=64)
def _pattern(values: frozenset[str]) -> re.Pattern[str] | None:
    every = sorted({f for v in values if len(v) >= MIN_LEN for f in forms(v)}, key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in every)) if every else None


def mask_values(text: str, values: Iterable[str]) -> str:
    """``text`` with every form of every known value masked."""
    p = _pattern(frozenset(values))
    return p.sub(MASK, text) if p is not None else text


def mask_shapes(text: str) -> str:
    """``text`` with every secret *shape* masked (no value needs to be known)."""
    for pattern, repl in _SHAPES:
        text = pattern.sub(repl, text)
    return text


# Secret values declared in this process (the profile's ``secrets:``, an experiment's resolved
# secrets), registered by every ``gameday.harness.redact.Redactor`` that learns them. Process-wide on
# purpose: a writer deep in a collector (read-back, audits, evidence) cannot forget a secret it
# was never handed. Only ever grows; values are never written anywhere.
_DECLARED: set[str] = set()


def declare(values: Iterable[str]) -> None:
    """Make ``values`` known to every later :func:`scrub` in this process."""
    _DECLARED.update(v for v in values if v)


def scrub(text: str, values: Iterable[str] = ()) -> str:
    """Known values (``values``, the declared ones and the environment's secret-named variables)
    and secret shapes masked: what every written file and printed message passes through."""
    return mask_shapes(mask_values(text, set(values) | _DECLARED | env_secrets()))
