"""Notifications of a run: Slack-compatible webhooks and Grafana annotations (the profile's ``notify:``).

    notifier = Notifier.for_profile(profile)       # ${ENV_VAR}s resolved: bad input (64) before anything starts
    with notifier.started(run_dir, say):            # one background channel per sink
        certify(..., listeners=[notifier.on_event])  # derived from the events the timeline records
        ... judge ...
        notifier.verdict()                          # from results.json; an exception → run_failed
    # leaving: what is left is delivered within notify.flush_s, then abandoned

Nothing here fails or stalls the run: deliveries run in daemon threads with their own timeouts,
and every failure is recorded on the timeline as ``notify_failed`` (sink, notification, reason;
never a URL or a token) and otherwise ignored. See :mod:`gameday.harness.notify.config` for the secrets.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday.contract.events import Event
from gameday.harness.notify import messages
from gameday.harness.notify.config import NotifyEvent, resolve, resolve_url
from gameday.harness.notify.dispatch import Channel
from gameday.harness.notify.grafana import Annotator, post_annotation
from gameday.harness.notify.webhook import send_webhook
from gameday.harness.redact import Redactor, env_secrets
from gameday.harness.timeline import Timeline

if TYPE_CHECKING:
    from gameday.harness.profile import Profile

Say = Callable[[str], None]


@dataclass(frozen=True)
class _Hook:
    sink: str
    url: str
    events: frozenset[NotifyEvent]
    timeout_s: float


@dataclass(frozen=True)
class _Grafana:
    url: str
    token: str
    timeout_s: float


class Notifier:
    """A run's notifications (see the module docstring). Without sinks every call is a no-op."""

    def __init__(self, profile: str, hooks: list[_Hook], grafana: _Grafana | None, annotator: Annotator | None,
                 report_url: str | None, flush_s: float, redactor: Redactor) -> None:
        self.profile, self._hooks, self._grafana, self._annotator = profile, hooks, grafana, annotator
        self._report_url, self._flush_s, self._redactor = report_url, flush_s, redactor
        self._ctx: messages.Context | None = None
        self._channels: dict[str, Channel] = {}
        self._lock = threading.Lock()
        self._timeline: Timeline | None = None
        self._closed = False
        self._warned: set[str] = set()
        self._say: Say = lambda s: None

    @classmethod
    def for_profile(cls, profile: Profile, environ: Mapping[str, str] | None = None) -> Notifier:
        """Resolve the profile's sinks; an unset ``${ENV_VAR}`` or a non-http(s) URL raises BadInput."""
        env = os.environ if environ is None else environ
        n = profile.notify
        hooks = [_Hook(f"notify.webhooks.{i}", resolve_url(w.url, f"notify.webhooks.{i}.url", env),
                       frozenset(w.events), w.timeout_s) for i, w in enumerate(n.webhooks)]
        grafana, annotator = None, None
        if n.grafana is not None:
            g = n.grafana
            grafana = _Grafana(resolve_url(g.url, "notify.grafana.url", env),
                               resolve(g.token, "notify.grafana.token", env), g.timeout_s)
            tags = g.tags if g.tags is not None else ["gameday", profile.name]
            annotator = Annotator(profile.name, tags, g.dashboard_uid)
        redactor = Redactor(profile.secrets.values())
        redactor.add(env_secrets(env))
        redactor.add(n.secret_values(env))
        return cls(profile.name, hooks, grafana, annotator, n.report_url, n.flush_s, redactor)

    @property
    def enabled(self) -> bool:
        return bool(self._hooks or self._grafana)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, run_dir: Path, say: Say | None = None) -> None:
        self._ctx = messages.Context(self.profile, run_dir, self._report_url)
        self._say = say or self._say
        for h in self._hooks:
            self._channels[h.sink] = Channel(h.sink, self._record)
        if self._grafana is not None:
            self._channels["notify.grafana"] = Channel("notify.grafana", self._record)

    def close(self) -> dict[str, int]:
        """Deliver what is left within ``flush_s`` (all sinks together), then abandon it."""
        deadline = time.monotonic() + self._flush_s
        total = {"sent": 0, "failed": 0, "undelivered": 0}
        for ch in self._channels.values():
            left = ch.finish(deadline)
            if left:
                self._record(ch.sink, "flush", f"{left} not delivered within the {self._flush_s:g} s flush bound")
            total["sent"] += ch.sent
            total["failed"] += ch.failed
            total["undelivered"] += left + ch.dropped
        with self._lock:
            self._closed = True
            if self._timeline is not None:
                self._timeline.close()
        if self._channels:
            self._say(f"notifications: {total['sent']} sent, {total['failed']} failed, "
                      f"{total['undelivered']} not delivered")
        return total

    @contextmanager
    def started(self, run_dir: Path, say: Say | None = None) -> Iterator[Notifier]:
        """start(); on an exception, announce run_failed; always close()."""
        self.start(run_dir, say)
        try:
            yield self
        except Exception as exc:
            self.failed(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.close()

    # -- what is announced ---------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        """The run timeline's listener: the event as recorded (redacted). Never blocks, never raises."""
        if self._ctx is None or not self._channels:
            return
        try:
            found = messages.for_event(event, self._ctx)
            if found is not None:
                self._webhooks(*found)
            if self._annotator is not None:
                with self._lock:
                    annotations = self._annotator.feed(event)
                for a in annotations:
                    self._annotate(str(event.get("event")), a)
        except Exception as exc:  # never into the run; but not silently
            self._record("notify", str(event.get("event")), f"{type(exc).__name__} while preparing")

    def verdict(self) -> None:
        """The verdict from the run directory's results.json, with the report's location."""
        if self._ctx is None:
            return
        try:
            results: dict[str, Any] | None = json.loads((self._ctx.run_dir / "results.json").read_text())
        except (OSError, ValueError):
            results = None
        self._webhooks("verdict", messages.verdict(results, self._ctx))
        if self._annotator is not None:
            self._annotate("verdict", self._annotator.verdict(results, time.time(), self._ctx.report))

    def failed(self, error: str) -> None:
        """The run stopped with an exception before its verdict."""
        if self._ctx is None:
            return
        error = self._redactor.text(error)
        self._webhooks("run_failed", messages.failed(error, self._ctx))
        if self._annotator is not None:
            self._annotate("run_failed", self._annotator.failed(error, time.time()))

    # -- plumbing ------------------------------------------------------------------------------
    def _webhooks(self, name: NotifyEvent, message: dict[str, Any]) -> None:
        message = self._redactor(message)
        for h in self._hooks:
            if name in h.events and h.sink in self._channels:
                self._channels[h.sink].submit(name, partial(send_webhook, h.url, message, h.timeout_s))

    def _annotate(self, name: str, annotation: dict[str, Any]) -> None:
        g, ch = self._grafana, self._channels.get("notify.grafana")
        if g is not None and ch is not None:
            ch.submit(name, partial(post_annotation, g.url, g.token, self._redactor(annotation), g.timeout_s))

    def _record(self, sink: str, notification: str, error: str) -> None:
        """A failed delivery: ``notify_failed`` on the run's timeline (redacted, no URL), once on the terminal."""
        with self._lock:
            if self._closed or self._ctx is None:
                return
            if self._timeline is None:
                self._timeline = Timeline(self._ctx.run_dir / "timeline.jsonl", redact=self._redactor)
            try:
                self._timeline.append(Event.NOTIFY_FAILED, sink=sink, notification=notification, error=error)
            except (OSError, ValueError):
                pass  # the run directory is gone or closed: nothing else to tell
            first = sink not in self._warned
            self._warned.add(sink)
        if first:
            self._say(f"notify: {sink}: {notification} not delivered ({self._redactor.text(error)}); "
                      "further failures only on the timeline")
