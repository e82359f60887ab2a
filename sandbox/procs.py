"""Starting and stopping the sandbox's processes safely.

Every process gets a pidfile under ``<state>/run`` and a log under ``<state>/logs``. Before a
pid is signalled its command line is checked to contain the state directory, so a stale
pidfile whose pid was reused by an unrelated process is never killed. That is what lets
``down`` clean up after a crashed controller.

A process group is not the whole of a component: every Postgres backend, the WAL senders
included, calls ``setsid()``, so killing the postmaster's group leaves them behind, and one
that a replication stall has SIGSTOPped outlives its postmaster for good (issue 24). So a
stop also ends the process tree collected before the signal, SIGCONT first (a stopped process
acts on SIGTERM only once continued) and SIGKILL after a bound; and ``sweep`` ends, last,
every process of the state directory that is still alive, by command line, by working
directory (a Postgres backend's is its data directory) and by descent.
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .layout import Layout

SERVICE_USER = "postgres"


class SandboxError(RuntimeError):
    """A sandbox operation failed; the message says which component and why."""


@dataclass(frozen=True)
class RunAs:
    """Who a process runs as: Postgres and PgBouncer refuse root."""

    user: str | None
    uid: int
    gid: int

    @classmethod
    def service(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls(None, os.getuid(), os.getgid())
        try:
            pw = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise SandboxError(
                f"user {SERVICE_USER!r} not found: install the Debian package postgresql-15 "
                "(scripts/bootstrap does)"
            ) from None
        return cls(SERVICE_USER, pw.pw_uid, pw.pw_gid)

    def chown(self, *paths: Path) -> None:
        if self.user is None:
            return
        for p in paths:
            os.chown(p, self.uid, self.gid, follow_symlinks=False)  # a symlink: itself, never its target
            if p.is_dir() and not p.is_symlink():
                for sub in p.rglob("*"):  # rglob does not descend into symlinked directories
                    os.chown(sub, self.uid, self.gid, follow_symlinks=False)


def which(binary: str, package: str) -> str:
    """Full path of a binary, or a SandboxError naming the Debian package that provides it."""
    candidates = [binary, f"/usr/lib/postgresql/15/bin/{binary}", f"/usr/sbin/{binary}"]
    for c in candidates:
        found = shutil.which(c)
        if found:
            return found
    raise SandboxError(f"{binary} not found: install the Debian package {package} (make bootstrap)")


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts connections or holds the port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE or exc.errno == errno.EACCES
    return False


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Wait until something listens on ``port``; stop early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive for our purposes
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def owned(pid: int, marker: str) -> bool:
    """Is ``pid`` a live process of this sandbox (its command line names ``marker``)?"""
    return alive(pid) and marker in cmdline(pid)


def spawn(
    layout: Layout,
    name: str,
    argv: Sequence[str],
    *,
    run_as: RunAs | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session, log to ``logs/<name>.log``, record its pidfile."""
    if str(layout.root) not in " ".join(argv):
        raise SandboxError(f"{name}: command line must name the state directory (for safe cleanup)")
    log = open(layout.log(name), "ab", buffering=0)
    kwargs: dict[str, object] = {}
    if run_as is not None and run_as.user is not None:
        kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc: subprocess.Popen[bytes] = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=full_env,
            cwd=str(cwd) if cwd else None,
            **kwargs,  # type: ignore[call-overload]
        )
    finally:
        log.close()
    layout.pidfile(name).write_text(f"{proc.pid}\n")
    return proc


def read_pid(layout: Layout, name: str) -> int | None:
    try:
        return int(layout.pidfile(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (we start everything in its own session)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def descendants(pid: int) -> list[psutil.Process]:
    """Every live descendant of ``pid``, collected now (before a signal re-parents them)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def end(victims: Sequence[psutil.Process], grace: float) -> list[psutil.Process]:
    """End processes, stopped ones included: SIGCONT and SIGTERM, then SIGKILL after ``grace`` s.

    psutil checks each process's start time before signalling it, so a pid reused meanwhile
    by another program is left alone. Returns the processes that were still alive to signal.
    """
    live = [p for p in victims if _running(p)]
    for sig in (signal.SIGCONT, signal.SIGTERM):
        for p in live:
            try:
                p.send_signal(sig)
            except psutil.Error:
                pass
    _, left = psutil.wait_procs(live, timeout=grace)
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=2.0)
    return live


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s group and every descendant, as a host crash would: nothing outlives it."""
    tree = descendants(pid)
    signal_group(pid, signal.SIGKILL)
    for p in tree:
        try:
            p.kill()
        except psutil.Error:
            pass


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_pid(pid: int, marker: str, grace: float = 5.0, sig: int = signal.SIGTERM) -> bool:
    """Stop a process of ours, its group and its tree: ``sig``, then SIGKILL after ``grace`` seconds.

    The group is sent SIGCONT first, so a stopped member can act on ``sig``; descendants
    that left the group and outlive the leader are ended afterwards (see :func:`end`).
    Returns False without signalling anything if ``pid`` is not ours any more.
    """
    if not owned(pid, marker):
        return False
    tree = descendants(pid)
    for p in tree:
        try:
            p.resume()
        except psutil.Error:
            pass
    signal_group(pid, signal.SIGCONT)
    signal_group(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            _reap(pid)
            break
        _reap(pid)
        time.sleep(0.05)
    else:
        signal_group(pid, signal.SIGKILL)
        for _ in range(100):
            _reap(pid)
            if not alive(pid):
                break
            time.sleep(0.02)
    end(tree, grace=min(grace, 2.0))
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_named(layout: Layout, name: str, grace: float = 5.0, sig: int = signal.SIGTERM) -> bool:
    pid = read_pid(layout, name)
    stopped = False
    if pid is not None:
        stopped = stop_pid(pid, str(layout.root), grace, sig)
    layout.pidfile(name).unlink(missing_ok=True)
    return stopped


COMPONENT_MARKERS = ("gameday.sandbox.controller", "gameday.sandbox.app.", "postgres", "pgbouncer", "redis-server",
                     "redis-sentinel", "prometheus", "nginx")
# process names (comm) of the programs the sandbox runs; a Postgres backend keeps "postgres"
COMPONENT_NAMES = frozenset(COMPONENT_MARKERS[2:])


def _is_component(line: str) -> bool:
    """Only programs the sandbox runs: never, say, a ``tail -f`` of one of its logs."""
    argv0 = line.split(" ", 1)[0]
    return any(m in argv0 for m in COMPONENT_MARKERS[2:]) or any(m in line for m in COMPONENT_MARKERS[:2])


def _names(line: str, marker: str) -> bool:
    return marker + "/" in line or line.rstrip().endswith(marker)


def _under(path: str, marker: str) -> bool:
    path = path.removesuffix(" (deleted)")
    return path == marker or path.startswith(marker + "/")


def members(layout: Layout) -> list[psutil.Process]:
    """Every live process of this sandbox, stopped ones included, zombies not.

    A member is a program the sandbox runs (never a shell or a ``tail`` of a log) whose command
    line names the state directory, or whose working directory is inside it (Postgres backends:
    their title names no directory, but they run in their data directory), and every
    descendant of one. The calling process and its ancestors are never members.
    """
    marker = str(layout.root)
    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}
    found: dict[int, psutil.Process] = {}
    for p in psutil.process_iter(["name", "cmdline", "cwd"]):
        if p.pid in spared:
            continue
        line = " ".join(p.info["cmdline"] or [])
        cwd = p.info["cwd"] or ""
        if (_names(line, marker) and _is_component(line)) or (
                p.info["name"] in COMPONENT_NAMES and _under(cwd, marker)):
            found[p.pid] = p
    for p in list(found.values()):
        try:
            for child in p.children(recursive=True):
                if child.pid not in spared:
                    found.setdefault(child.pid, child)
        except psutil.Error:
            pass
    return [p for p in found.values() if _running(p)]


def describe(p: psutil.Process) -> str:
    """``pid 123 postgres (stopped)``: for messages about leftovers."""
    try:
        return f"pid {p.pid} {p.name()} ({p.status()})"
    except psutil.Error:
        return f"pid {p.pid} (gone)"


def sweep(layout: Layout) -> list[str]:
    """Kill every process of this sandbox left behind: by pidfile, then every member left.

    The second pass catches children whose pidfile is gone (e.g. after SIGKILL of the
    controller) and processes that left their group (a Postgres backend, stopped or not,
    whose postmaster was killed): see :func:`members`.
    """
    killed: list[str] = []
    if layout.run.exists():
        for pidfile in sorted(layout.run.glob("*.pid")):
            name = pidfile.stem
            if stop_named(layout, name, grace=3.0):
                killed.append(name)
    left = members(layout)
    killed.extend(describe(p) for p in left)
    end(left, grace=2.0)
    return killed
