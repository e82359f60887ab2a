"""The HTTP side both pods share: probes, /metrics, and serving with a graceful end.

Termination follows Kubernetes: on SIGTERM the pod turns not-ready at once, keeps answering
while the ingress may still route to it, then stops listening and lets in-flight requests
finish before it exits 0. The controller takes a pod out of the ingress before it signals
it; the quiet period covers the moment nginx needs to notice.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field

from aiohttp import web

from .metrics import CONTENT_TYPE, PodMetrics


@dataclass
class Lifecycle:
    """What the probes report, and the traffic the drain waits on."""

    healthy: bool = True  # an --unhealthy build answers 503 to both probes
    terminating: bool = False
    in_flight: int = 0
    last_request: float = field(default_factory=time.monotonic)

    def request_started(self) -> None:
        self.in_flight += 1
        self.last_request = time.monotonic()

    def request_finished(self) -> None:
        self.in_flight -= 1


LIFECYCLE = web.AppKey("lifecycle", Lifecycle)


def add_probe_routes(app: web.Application, lifecycle: Lifecycle, metrics: PodMetrics) -> None:
    """/healthz, /readyz and /metrics, identical in every pod."""
    app[LIFECYCLE] = lifecycle

    async def healthz(request: web.Request) -> web.Response:
        if not lifecycle.healthy:
            return web.json_response({"status": "unhealthy"}, status=503)
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        if not lifecycle.healthy:
            return web.json_response({"status": "unhealthy"}, status=503)
        if lifecycle.terminating:
            return web.json_response({"status": "terminating"}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics_handler(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)


async def start(app: web.Application, port: int, *, shutdown_timeout_s: float) -> web.AppRunner:
    """Listen on 127.0.0.1:port. Signals are ours to handle (see ``wait_for_termination``)."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def wait_for_termination() -> str:
    """Block until SIGTERM or SIGINT; return the signal's name."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[str] = loop.create_future()

    def on_signal(sig: signal.Signals) -> None:
        if not received.done():
            received.set_result(sig.name)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await received
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def drain(lifecycle: Lifecycle, *, min_s: float, quiet_s: float, max_s: float) -> float:
    """Keep serving for ``min_s``, then until no request has started for ``quiet_s``.

    At most ``max_s``; returns the seconds spent. ``min_s`` lets anything that polls
    /readyz at the controller's probe interval see the 503 before the port closes. Requests
    that arrive meanwhile are served normally: the ingress is only finishing its switch.
    """
    lifecycle.terminating = True
    t0 = time.monotonic()
    while True:
        now = time.monotonic()
        if now - t0 >= max_s:
            break
        if now - t0 >= min_s and now - lifecycle.last_request >= quiet_s:
            break
        await asyncio.sleep(0.05)
    return time.monotonic() - t0
