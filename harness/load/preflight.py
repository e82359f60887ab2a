"""Checks before any load starts: a bad locustfile or an unreachable host is bad input (64).

Nothing is started if a check fails. Locust itself tells whether a locustfile defines a User
class (``locust -f FILE --list``), so a user's file is judged the way Locust will judge it.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.parse
from pathlib import Path

from gameday.harness.errors import BadInput
from gameday.harness.load.runner import locust_binary


def check_locustfile(path: Path) -> list[str]:
    """The User classes Locust finds in ``path``; BadInput if none or the file does not load."""
    if not path.is_file():
        raise BadInput(f"locustfile {path}: no such file")
    try:
        out = subprocess.run([locust_binary(), "-f", str(path), "--list"], capture_output=True, text=True,
                             timeout=60, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadInput(f"locustfile {path}: Locust did not load it within 60 s") from None
    text = (out.stdout + out.stderr).strip()
    if out.returncode != 0:
        last = text.splitlines()[-1] if text else f"exit {out.returncode}"
        if "No User class found" in text:
            raise BadInput(f"locustfile {path}: no User class found (define a subclass of locust.HttpUser)")
        raise BadInput(f"locustfile {path}: Locust cannot load it: {last}")
    classes = [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]
    if not classes:
        raise BadInput(f"locustfile {path}: no User class found (define a subclass of locust.HttpUser)")
    return classes


def check_host(url: str, timeout: float = 3.0) -> None:
    """The target's host:port accepts TCP connections; BadInput naming it otherwise."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadInput(f"host {url!r}: expected an http(s) URL such as http://127.0.0.1:17000")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return
    except OSError as exc:
        raise BadInput(f"host {url}: unreachable ({exc.strerror or exc})") from None


def check_duration(seconds: float) -> None:
    if not seconds > 0:
        raise BadInput(f"duration {seconds:g}: expected a positive number of seconds")
    if seconds > 24 * 3600:
        raise BadInput(f"duration {seconds:g}: at most one day")
