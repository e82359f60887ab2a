"""Delivery off the run's path: one daemon thread and one bounded queue per sink.

``submit`` never blocks (a full queue drops the notification and records it); each delivery has
its own timeout; ``finish`` waits for what is left only until a shared deadline. Every failure
is handed to ``record`` (the run's ``notify_failed`` event) and otherwise ignored: a sink that
is down, slow or answering 500 never fails or stalls the run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from gameday.harness.notify.webhook import DeliveryFailed

Send = Callable[[], None]
Record = Callable[[str, str, str], None]  # (sink, notification, error)
QUEUE_SIZE = 200


class Channel:
    """One sink (a webhook, Grafana): its notifications delivered in order, in the background."""

    def __init__(self, sink: str, record: Record, maxsize: int = QUEUE_SIZE) -> None:
        self.sink = sink
        self._record = record
        self._q: queue.Queue[tuple[str, Send]] = queue.Queue(maxsize)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._busy = self._abandoned = False
        self.sent = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"notify {sink}", daemon=True)
        self._thread.start()

    def submit(self, notification: str, send: Send) -> None:
        """Queue one delivery; never blocks, never raises."""
        if self._stopping.is_set():
            self.dropped += 1
            return
        try:
            self._q.put_nowait((notification, send))
        except queue.Full:
            self.dropped += 1
            self._record(self.sink, notification, f"queue full ({self._q.maxsize}): dropped")

    def _run(self) -> None:
        while True:
            try:
                notification, send = self._q.get(timeout=0.05)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            with self._lock:
                if self._abandoned:
                    return
                self._busy = True
            error = None
            try:
                send()
            except DeliveryFailed as exc:
                error = str(exc)
            except Exception as exc:  # a bug of ours must not kill the channel either; recorded
                error = f"{type(exc).__name__} while sending"
            with self._lock:
                self._busy = False
                if self._abandoned:  # already counted as undelivered by finish()
                    return
                if error is None:
                    self.sent += 1
                else:
                    self.failed += 1
            if error is not None:
                self._record(self.sink, notification, error)

    def finish(self, deadline: float) -> int:
        """Deliver what is queued until ``deadline`` (time.monotonic()); the number left undelivered,
        abandoned (a delivery still in flight then is neither counted nor recorded again)."""
        self._stopping.set()
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._abandoned = True
            return self._q.qsize() + (1 if self._busy else 0)
