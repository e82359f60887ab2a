"""``python -m gameday.sandbox up|down|status|logs`` (also ``gameday sandbox ...``).

Exit codes: 0 done · 1 the sandbox could not be started or is not healthy (busy port, missing
Debian package, a component that failed: one line names it) · 64 bad input (unknown knob,
bad value, unreadable config file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from . import config, procs, statedir
from .config import ConfigError, SandboxConfig
from .layout import Layout, load_or_create_secrets

EX_USAGE = 64
BINARIES = [  # binary, Debian package
    ("postgres", "postgresql-15"), ("initdb", "postgresql-15"), ("pg_basebackup", "postgresql-15"),
    ("psql", "postgresql-client-15"), ("pgbouncer", "pgbouncer"), ("redis-server", "redis-server"),
    ("redis-sentinel", "redis-sentinel"), ("prometheus", "prometheus"), ("nginx", "nginx-light"),
    ("prometheus-alertmanager", "prometheus-alertmanager"),
]
DATA_DIRS = ["pg", "pgbouncer", "redis", "sentinel", "nginx", "prometheus", "alerting", "run"]


def _fail(msg: str, code: int = 1) -> int:
    print(f"sandbox: {msg}", file=sys.stderr)
    return code


def _state_dir(args: argparse.Namespace) -> Path:
    """Absolute, never resolved: a symlink is refused (gameday.sandbox.statedir), not followed."""
    d: Path = args.state_dir or config.DEFAULT_STATE_DIR
    return statedir.absolute(d)


def resolve_config(args: argparse.Namespace) -> SandboxConfig:
    raw: dict[str, Any] = {}
    if args.config is not None:
        raw = config.load_file(args.config)
    raw = config.merge(raw, config.parse_set(args.set or []))
    raw["state_dir"] = str(_state_dir(args))
    source = str(args.config) if args.config else "--set"
    return config.build(raw, source)


def controller_status(cfg_or_port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    url = f"http://127.0.0.1:{cfg_or_port}/status"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _controller_pid(layout: Layout) -> int | None:
    pid = procs.read_pid(layout, "controller")
    if pid is not None and procs.owned(pid, str(layout.root)):
        return pid
    return None


def _preflight(cfg: SandboxConfig) -> str | None:
    for binary, package in BINARIES:
        if binary == "prometheus-alertmanager" and not cfg.alerting.enabled:
            continue
        try:
            procs.which(binary, package)
        except procs.SandboxError as exc:
            return str(exc)
    try:
        run_as = procs.RunAs.service()
    except procs.SandboxError as exc:
        return str(exc)
    if run_as.user is not None:
        # postgres must be able to reach its data dir: every parent needs o+x (the state dir
        # itself is 0710 with postgres's group: gameday.sandbox.statedir)
        for parent in cfg.state_dir.parents:
            if parent.exists() and not (parent.stat().st_mode & 0o001):
                return (f"state directory {cfg.state_dir}: {parent} is not traversable by the "
                        f"{run_as.user} user; choose another --state-dir")
            if parent == Path("/"):
                break
    names = {v: k for k, v in cfg.ports.fixed().items()}
    for port, name in sorted(names.items()):
        if procs.port_busy(port):
            return f"port {port} ({name}) is already in use on 127.0.0.1; set ports.base to move the sandbox"
    return None


def cmd_up(args: argparse.Namespace) -> int:
    try:
        cfg = resolve_config(args)
    except ConfigError as exc:
        return _fail(str(exc), EX_USAGE)
    try:  # before anything in it is read: its pidfiles, its configuration
        statedir.secure(cfg.state_dir, procs.RunAs.service())
    except statedir.StateDirError as exc:
        return _fail(str(exc), EX_USAGE)
    except (procs.SandboxError, OSError) as exc:
        return _fail(f"state directory {cfg.state_dir}: {exc}")
    layout = Layout(cfg.state_dir)
    if _controller_pid(layout) is not None:
        try:
            current = config.load(cfg.state_dir)
        except ConfigError:
            current = None
        running: dict[str, Any] | None = None
        if current == cfg:
            running = controller_status(cfg.ports.controller)
            if running and running.get("state") == "ready":
                print(f"sandbox already up in {cfg.state_dir}")
                return 0
        state = repr(running and running.get("state"))
        return _fail(f"a sandbox is already running on {cfg.state_dir} with "
                     f"{'another configuration' if current != cfg else 'state ' + state}; "
                     "run 'gameday sandbox down' first")
    procs.sweep(layout)  # leftovers of a crashed run on this state dir
    problem = _preflight(cfg)
    if problem:
        return _fail(problem)
    t0 = time.monotonic()
    try:  # a symlink planted among them is removed, never followed
        for d in DATA_DIRS:
            statedir.remove_entry(layout.root / d)
        for f in ("status.json", "events.jsonl"):
            statedir.remove_entry(layout.root / f)
        layout.ensure()
    except OSError as exc:
        return _fail(f"state directory {layout.root}: cannot clean it up ({exc})")
    config.save(cfg)
    load_or_create_secrets(layout)
    # libpq in every psql, pg_basebackup and wal receiver the controller starts reads the superuser's
    # password there (gameday.sandbox.postgres)
    proc = procs.spawn(layout, "controller",
                       [sys.executable, "-m", "gameday.sandbox.controller", "--state", str(layout.root)],
                       env={"PGPASSFILE": str(layout.pgpass)})
    deadline = time.monotonic() + args.timeout
    st: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        st = controller_status(cfg.ports.controller, timeout=1.0)
        if st and st.get("state") in ("ready", "failed"):
            break
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    if not st or st.get("state") != "ready":
        if st is None and layout.status_file.exists():
            st = json.loads(layout.status_file.read_text())
        why = (st or {}).get("error") or (
            f"controller exited (code {proc.poll()})" if proc.poll() is not None
            else f"not ready after {args.timeout:.0f} s")
        _down(layout, cfg)
        return _fail(f"up failed: {why} (logs in {layout.logs})")
    took = time.monotonic() - t0
    print(f"sandbox up in {took:.1f} s: API {st['endpoints']['api']}  Prometheus "
          f"{st['endpoints']['prometheus']}  state {cfg.state_dir}")
    return 0


def _down(layout: Layout, cfg: SandboxConfig | None) -> list[str]:
    pid = _controller_pid(layout)
    if pid is not None and cfg is not None:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{cfg.ports.controller}/shutdown",
                                         method="POST")
            urllib.request.urlopen(req, timeout=2).close()
        except (urllib.error.URLError, OSError):
            pass
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and procs.alive(pid):
            time.sleep(0.1)
    return procs.sweep(layout)


def cmd_down(args: argparse.Namespace) -> int:
    try:
        layout = Layout(statedir.check(_state_dir(args)))
    except statedir.StateDirError as exc:
        return _fail(str(exc), EX_USAGE)
    if not layout.root.exists():
        print(f"no sandbox in {layout.root}")
        return 0
    try:
        cfg: SandboxConfig | None = config.load(layout.root)
    except ConfigError:
        cfg = None
    leftovers = _down(layout, cfg)
    busy = []
    if cfg is not None:
        ports = list(cfg.ports.fixed().values()) + list(cfg.ports.pod_range)
        busy = [p for p in ports if procs.port_busy(p)]
    if busy:
        return _fail(f"down: ports still in use: {busy}")
    # a stopped process listens on nothing: check the processes themselves too (issue 24)
    left = procs.members(layout)
    if left:
        return _fail(f"down: processes still alive: {', '.join(procs.describe(p) for p in left)}")
    extra = f" (cleaned up {len(leftovers)} leftover process(es))" if leftovers else ""
    print(f"sandbox down: nothing listening, no process left{extra}")
    return 0


def _role_table(st: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    db = st.get("db", {})
    for name, i in db.get("instances", {}).items():
        rows.append((f"postgres {name}", "up" if i["up"] else "DOWN", f"{i['role']} :{i['port']}"))
    for name, i in st.get("redis", {}).get("instances", {}).items():
        rows.append((f"redis {name}", "up" if i["up"] else "DOWN", f"{i['role']} :{i['port']}"))
    for name, s in st.get("redis", {}).get("sentinels", {}).items():
        rows.append((name, "up" if s["up"] else "DOWN", f":{s['port']}"))
    for name, comp in st.get("components", {}).items():
        rows.append((name, "up" if comp["up"] else "DOWN", ""))
    for p in st.get("pods", []):
        rows.append((f"pod {p['name']}", p["phase"], f"{p['deployment']} r{p['revision']} on {p['node']} :{p['port']}"))
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    try:
        layout = Layout(statedir.check(_state_dir(args)))
    except statedir.StateDirError as exc:
        return _fail(str(exc), EX_USAGE)
    try:
        cfg = config.load(layout.root)
        st = controller_status(cfg.ports.controller) if _controller_pid(layout) else None
    except ConfigError:
        st = None
    if st is None:
        st = {"state": "down", "state_dir": str(layout.root)}
    if args.json:
        print(json.dumps(st, indent=2, default=str))
    else:
        print(f"sandbox {st['state']}  ({layout.root})")
        if st["state"] != "down":
            dep = st["deployments"]["core-api"]
            print(f"  DB primary {st['db']['primary']} (standby {st['db']['standby']}, "
                  f"{st['db']['replication']}, streaming {st['db']['standby_streaming']})   "
                  f"Redis primary {st['redis']['primary']}   revision {dep['good_revision']} "
                  f"serving ({dep['phase']})")
            for n in st["nodes"]:
                print(f"  {n['name']} ({n['az']}) {'schedulable' if n['schedulable'] else 'CORDONED'}: "
                      f"{', '.join(n['pods']) or '-'}")
            for comp, health, detail in _role_table(st):
                print(f"  {comp:<22} {health:<12} {detail}")
            for k, v in st["endpoints"].items():
                print(f"  {k:<11} {v}")
    return 0 if st["state"] == "ready" else 1


def cmd_logs(args: argparse.Namespace) -> int:
    try:
        layout = Layout(statedir.check(_state_dir(args)))
    except statedir.StateDirError as exc:
        return _fail(str(exc), EX_USAGE)
    if not layout.logs.exists():
        return _fail(f"no logs in {layout.logs}")
    if not args.component:
        for f in sorted(layout.logs.glob("*.log")):
            print(f"{f.stem:<16} {f.stat().st_size:>10} bytes  {f}")
        return 0
    path = layout.log(args.component)
    if not path.exists():
        names = ", ".join(sorted(f.stem for f in layout.logs.glob("*.log")))
        return _fail(f"no log for {args.component!r}; there are: {names}", EX_USAGE)
    lines = path.read_text(errors="replace").splitlines()
    print("\n".join(lines[-args.lines:]))
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="gameday sandbox", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state-dir", type=Path, default=None,
                    help=f"state directory (default {config.DEFAULT_STATE_DIR}, or GAMEDAY_SANDBOX_DIR)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the sandbox (idempotent)")
    up.add_argument("--config", type=Path, default=None, help="YAML file of sandbox settings")
    up.add_argument("--set", action="append", metavar="FIELD=VALUE",
                    help="override a setting, e.g. knobs.extra_latency_ms=250 (repeatable)")
    up.add_argument("--timeout", type=float, default=90.0)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop everything, leave no process and nothing listening")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="health and role of each component")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="list the logs, or print the tail of one")
    logs.add_argument("component", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.set_defaults(func=cmd_logs)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return EX_USAGE if exc.code not in (0, None) else 0
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
