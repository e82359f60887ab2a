"""Config files and command lines for PgBouncer, Redis, Sentinel and nginx.

Pure renderers plus the argv for each; the controller's supervisor starts them. PgBouncer's
settings are the checklist's (§2.1); Redis's are the queue role's (§2.2).
"""

from __future__ import annotations

import grp
from pathlib import Path

from . import procs
from .config import REDIS_INSTANCES, SENTINELS, SandboxConfig
from .layout import DB_NAME, DB_USER, PGBOUNCER_ADMIN, REDIS_MASTER_NAME, Layout

PGBOUNCER_SETTINGS = {
    "pool_mode": "transaction",
    "max_client_conn": "1000",
    "default_pool_size": "20",
}


# Redis rewrites its process title; keep the config path (under the state dir) in it, so
# procs.owned() can still tell our processes from others before signalling them.
PROC_TITLE = 'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"'


def pgbouncer_ini(layout: Layout, cfg: SandboxConfig, db_port: int) -> str:
    d = layout.pgbouncer
    settings = "\n".join(f"{k} = {v}" for k, v in PGBOUNCER_SETTINGS.items())
    return f"""[databases]
{DB_NAME} = host=127.0.0.1 port={db_port} dbname={DB_NAME}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {cfg.ports.pgbouncer}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {d}/userlist.txt
admin_users = {PGBOUNCER_ADMIN}
stats_users = {PGBOUNCER_ADMIN}
{settings}
server_login_retry = 1
server_connect_timeout = 2
query_wait_timeout = 10
server_check_delay = 5
ignore_startup_parameters = extra_float_digits,options
log_connections = 0
log_disconnections = 0
"""


def write_pgbouncer(layout: Layout, cfg: SandboxConfig, db_port: int, secrets: dict[str, str],
                    run_as: procs.RunAs) -> Path:
    """Write pgbouncer.ini pointing at ``db_port``; a SIGHUP makes a running one re-read it."""
    d = layout.pgbouncer
    d.mkdir(parents=True, exist_ok=True)
    users = (f'"{DB_USER}" "{secrets["db_password"]}"\n'
             f'"{PGBOUNCER_ADMIN}" "{secrets["pgbouncer_admin_password"]}"\n')
    userlist = d / "userlist.txt"
    userlist.write_text(users)
    userlist.chmod(0o600)
    ini = d / "pgbouncer.ini"
    tmp = d / ".pgbouncer.ini.tmp"
    tmp.write_text(pgbouncer_ini(layout, cfg, db_port))
    tmp.replace(ini)
    run_as.chown(d)
    return ini


def pgbouncer_argv(layout: Layout) -> list[str]:
    return [procs.which("pgbouncer", "pgbouncer"), str(layout.pgbouncer / "pgbouncer.ini")]


def redis_conf(layout: Layout, cfg: SandboxConfig, instance: str, replica_of: str | None) -> str:
    d = layout.redis(instance)
    lines = [
        "bind 127.0.0.1",
        f"port {cfg.ports.redis(instance)}",
        PROC_TITLE,
        "protected-mode yes",
        "daemonize no",
        f"dir {d}",
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory 256mb",
        "maxmemory-policy noeviction",
        'save ""',
        "replica-read-only yes",
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
    ]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {cfg.ports.redis(replica_of)}")
    return "\n".join(lines) + "\n"


def write_redis(layout: Layout, cfg: SandboxConfig) -> None:
    primary, replica = REDIS_INSTANCES
    for inst, of in ((primary, None), (replica, primary)):
        d = layout.redis(inst)
        d.mkdir(parents=True, exist_ok=True)
        (d / "redis.conf").write_text(redis_conf(layout, cfg, inst, of))


def redis_argv(layout: Layout, instance: str) -> list[str]:
    return [procs.which("redis-server", "redis-server"), str(layout.redis(instance) / "redis.conf")]


def sentinel_conf(layout: Layout, cfg: SandboxConfig, name: str) -> str:
    primary = REDIS_INSTANCES[0]
    t = cfg.timings
    return f"""bind 127.0.0.1
port {cfg.ports.sentinel(name)}
{PROC_TITLE}
daemonize no
dir {layout.sentinel(name)}
sentinel resolve-hostnames no
sentinel monitor {REDIS_MASTER_NAME} 127.0.0.1 {cfg.ports.redis(primary)} 2
sentinel down-after-milliseconds {REDIS_MASTER_NAME} {t.redis_down_after_ms}
sentinel failover-timeout {REDIS_MASTER_NAME} 10000
sentinel parallel-syncs {REDIS_MASTER_NAME} 1
"""


def write_sentinels(layout: Layout, cfg: SandboxConfig) -> None:
    for name in SENTINELS:
        d = layout.sentinel(name)
        d.mkdir(parents=True, exist_ok=True)
        (d / "sentinel.conf").write_text(sentinel_conf(layout, cfg, name))


def sentinel_argv(layout: Layout, name: str) -> list[str]:
    binary = procs.which("redis-sentinel", "redis-sentinel")
    return [binary, str(layout.sentinel(name) / "sentinel.conf")]


def nginx_conf(layout: Layout, cfg: SandboxConfig) -> str:
    d = layout.nginx
    # Run as root, nginx's workers drop to ``nobody`` by default, which cannot enter the state
    # directory (0710, the service user's group: gameday.sandbox.statedir) to spool a large request body
    # (a read-back of 1000 ids) into tmp/: they run as the service user instead.
    service = procs.RunAs.service()
    user = f"user {service.user} {grp.getgrgid(service.gid).gr_name};\n" if service.user is not None else ""
    return f"""{user}worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {layout.logs}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    # every request with its server-side time (ms resolution): an exact server-side latency
    log_format gameday '$msec $request_time $upstream_response_time $status $request_method $request_uri';
    access_log {layout.logs}/ingress-access.log gameday buffer=256k flush=1s;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    upstream core_api {{
        include {d}/upstreams.conf;
        keepalive 64;
    }}
    # Pods coming and going reload nginx (SIGHUP). A cloud load balancer or ingress-nginx changes
    # its endpoints without dropping a client connection; a reloading nginx closes its idle
    # keep-alive connections under the clients (a request sent at that moment fails: "Remote
    # end closed connection") and, with reuseport, drops connections queued on its old
    # workers' sockets. So: one shared listening socket, and no client keep-alive (a new
    # connection per request on the loopback costs ~0.1 ms) — drains fail no request.
    server {{
        listen 127.0.0.1:{cfg.ports.ingress} backlog=4096;
        keepalive_timeout 0;
        location = /ingress-healthz {{ return 200 "ok\\n"; }}
        location / {{
            proxy_pass http://core_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""


def upstreams(ports: list[int]) -> str:
    """Only ready pods; with none, a server marked down so nginx answers 502 at once."""
    if not ports:
        return "server 127.0.0.1:9 down;\n"
    return "".join(f"server 127.0.0.1:{p} max_fails=0;\n" for p in sorted(ports))


def write_nginx(layout: Layout, cfg: SandboxConfig) -> None:
    d = layout.nginx
    (d / "tmp").mkdir(parents=True, exist_ok=True)
    (d / "nginx.conf").write_text(nginx_conf(layout, cfg))
    write_upstreams(layout, [])


def write_upstreams(layout: Layout, ports: list[int]) -> None:
    tmp = layout.nginx / ".upstreams.tmp"
    tmp.write_text(upstreams(ports))
    tmp.replace(layout.nginx / "upstreams.conf")


def nginx_argv(layout: Layout) -> list[str]:
    nginx = procs.which("nginx", "nginx-light")
    return [nginx, "-p", str(layout.nginx), "-c", str(layout.nginx / "nginx.conf"), "-e",
            str(layout.logs / "nginx-error.log")]
