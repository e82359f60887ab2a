"""AWS stand-ins: moto's server (RDS, STS) as a child process, and an ElastiCache stub for
``DescribeReplicationGroups`` and ``TestFailover`` (moto has no TestFailover).

boto3 reaches moto through ``AWS_ENDPOINT_URL`` and the ElastiCache stub through the
service-specific ``AWS_ENDPOINT_URL_ELASTICACHE``, exactly as chaosaws and gameday create
their clients; nothing in the code under test knows it is not AWS.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import psutil

from tests.stubs import free_port, serve

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-not-a-secret",
                    "AWS_SESSION_TOKEN": "testing-session", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


@contextmanager
def moto_server() -> Iterator[str]:
    """``moto_server`` on 127.0.0.1 (a free port below 32768); its URL. Stopped on exit."""
    exe = Path(sys.executable).parent / "moto_server"
    for _ in range(5):  # bounded: another process may grab the port between check and bind
        port = free_port()
        # moto's request recorder (/moto-api/recorder/...) writes here, not into the working directory
        env = {**os.environ, **FAKE_CREDENTIALS,
               "MOTO_RECORDER_FILEPATH": os.path.join(tempfile.gettempdir(), f"gameday-moto-{port}.jsonl")}
        proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            if listens(proc.pid, port):
                try:
                    urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
                    up = True
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        if up:
            try:
                yield url
            finally:
                _stop(proc)
            return
        _stop(proc)
    raise RuntimeError("moto_server did not start")


def listens(pid: int, port: int) -> bool:
    """Whether the process ``pid`` (or a child of it) listens on ``port``: an answer on the port alone
    may come from another worker's server that took the port first (ours then fails to bind and exits,
    maybe only after the answer was read)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
        return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for p in procs for c in p.net_connections(kind="tcp"))
    except psutil.Error:
        return False


def start_recording(endpoint: str) -> None:
    """Forget what moto recorded so far and record every request from now on."""
    for step in ("stop-recording", "reset-recording", "start-recording"):
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/recorder/{step}", method="POST"),
                               timeout=5).read()


def recorded_calls(endpoint: str) -> list[str]:
    """The API operations moto received since :func:`start_recording`, as ``Service:Action``
    (query protocol: the form's ``Action``; JSON protocol: ``X-Amz-Target``)."""
    import base64
    import json

    text = urllib.request.urlopen(f"{endpoint}/moto-api/recorder/download-recording", timeout=5).read().decode()
    calls = []
    for line in text.splitlines():
        entry = json.loads(line)
        url = str(entry.get("url", ""))
        if "/moto-api/" in url:
            continue
        headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
        auth = str(headers.get("authorization", ""))
        service = auth.split("Credential=")[1].split("/")[3] if "Credential=" in auth else "?"
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        action = parse_qs(str(body)).get("Action", [""])[0] or parse_qs(url.partition("?")[2]).get("Action", [""])[0]
        action = action or str(headers.get("x-amz-target", "")).rpartition(".")[2] or f"{entry.get('method')} {url}"
        calls.append(f"{service}:{action}")
    return calls


def moto_state(endpoint: str, regions: tuple[str, ...] = (REGION, "us-east-1")) -> str:
    """Every RDS instance and cluster moto holds in ``regions`` (status, AZs, members, writer...),
    as one comparable string. (moto's ``/moto-api/data.json`` answers 500 for some backends.)"""
    import json

    import boto3

    out = {}
    for region in regions:
        rds = boto3.client("rds", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        found = {"instances": rds.describe_db_instances()["DBInstances"],
                 "clusters": rds.describe_db_clusters()["DBClusters"]}
        for items in found.values():
            for item in items:
                item.pop("LatestRestorableTime", None)  # moto answers "now": not a change of state
        out[region] = found
    return json.dumps(out, default=str, sort_keys=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def seed_rds(endpoint: str) -> None:
    """A Multi-AZ Postgres instance, an Aurora cluster with a writer and a reader, and prod-db (outside
    the allow-list)."""
    import boto3

    rds = boto3.client("rds", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    rds.create_db_instance(DBInstanceIdentifier="hypercode-db", DBInstanceClass="db.r6g.large", Engine="postgres",
                           AllocatedStorage=100, MultiAZ=True, MasterUsername="hypercode",
                           MasterUserPassword="not-a-real-password-1")
    # outside the allow-list's hypercode-*: what a refused experiment tries to reach (must stay untouched)
    rds.create_db_instance(DBInstanceIdentifier="prod-db", DBInstanceClass="db.r6g.large", Engine="postgres",
                           AllocatedStorage=100, MultiAZ=True, MasterUsername="prod",
                           MasterUserPassword="not-a-real-password-3")
    rds.create_db_cluster(DBClusterIdentifier="hypercode-aurora", Engine="aurora-postgresql",
                          MasterUsername="hypercode", MasterUserPassword="not-a-real-password-2")
    for name in ("hypercode-aurora-1", "hypercode-aurora-2"):
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.r6g.large", Engine="aurora-postgresql",
                               DBClusterIdentifier="hypercode-aurora")


# ---- ElastiCache --------------------------------------------------------------------------
@dataclass
class CacheGroup:
    id: str
    members: dict[str, str]  # cache cluster id -> primary | replica
    status: str = "available"
    failovers: int = 0
    failover_after_s: float = 0.5
    calls: list[str] = field(default_factory=list)
    _due: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> None:
        if self._due is not None and time.monotonic() >= self._due:
            primary = next(m for m, r in self.members.items() if r == "primary")
            replica = next(m for m, r in sorted(self.members.items()) if r != "primary")
            self.members[primary], self.members[replica] = "replica", "primary"
            self.status, self._due = "available", None

    def test_failover(self) -> None:
        self.failovers += 1
        self.status = "modifying"
        self._due = time.monotonic() + self.failover_after_s


def _group_xml(g: CacheGroup) -> str:
    members = "".join(f"<NodeGroupMember><CacheClusterId>{escape(m)}</CacheClusterId><CacheNodeId>0001</CacheNodeId>"
                      f"<CurrentRole>{r}</CurrentRole></NodeGroupMember>" for m, r in sorted(g.members.items()))
    clusters = "".join(f"<ClusterId>{escape(m)}</ClusterId>" for m in sorted(g.members))
    return (f"<ReplicationGroup><ReplicationGroupId>{escape(g.id)}</ReplicationGroupId>"
            f"<Description>HyperCode Redis</Description><Status>{g.status}</Status>"
            f"<AutomaticFailover>enabled</AutomaticFailover><MultiAZ>enabled</MultiAZ>"
            f"<MemberClusters>{clusters}</MemberClusters>"
            f"<NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>{g.status}</Status>"
            f"<NodeGroupMembers>{members}</NodeGroupMembers></NodeGroup></NodeGroups></ReplicationGroup>")


NS = "http://elasticache.amazonaws.com/doc/2015-02-02/"


def _error(code: str, message: str) -> str:
    return (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>stub</RequestId></ErrorResponse>")


def elasticache_handler(groups: dict[str, CacheGroup]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
            action, gid = form.get("Action", ""), form.get("ReplicationGroupId", "")
            g = groups.get(gid)
            if g is None:
                code, body = 404, _error("ReplicationGroupNotFoundFault", f"ReplicationGroup {gid} not found.")
            else:
                with g.lock:
                    g.calls.append(action)
                    g.tick()
                    if action == "DescribeReplicationGroups":
                        code, body = 200, (f'<DescribeReplicationGroupsResponse xmlns="{NS}">'
                                           f"<DescribeReplicationGroupsResult><ReplicationGroups>{_group_xml(g)}"
                                           f"</ReplicationGroups></DescribeReplicationGroupsResult>"
                                           f"<ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata>"
                                           f"</DescribeReplicationGroupsResponse>")
                    elif action == "TestFailover" and form.get("NodeGroupId") == "0001":
                        g.test_failover()
                        code, body = 200, (f'<TestFailoverResponse xmlns="{NS}"><TestFailoverResult>{_group_xml(g)}'
                                           f"</TestFailoverResult><ResponseMetadata><RequestId>stub</RequestId>"
                                           f"</ResponseMetadata></TestFailoverResponse>")
                    else:
                        code, body = 400, _error("InvalidParameterValue", f"{action} {form}")
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def elasticache(groups: dict[str, CacheGroup] | None = None) -> Iterator[tuple[dict[str, CacheGroup], str]]:
    groups = groups or {"hypercode-redis": CacheGroup("hypercode-redis", {"hypercode-redis-001": "primary",
                                                                          "hypercode-redis-002": "replica"})}
    server, stop = serve(elasticache_handler(groups))
    try:
        yield groups, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop()
