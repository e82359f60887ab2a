"""A Prometheus HTTP API over https with a self-signed certificate, that wants credentials: what a
cluster's Prometheus (behind an ingress, or Amazon Managed Prometheus) looks like to gameday.

The certificate is made here with ``cryptography`` (a self-signed CA certificate for 127.0.0.1,
written to a temporary directory), the server is Python's ``http.server`` wrapped in ``ssl``. It
answers ``/-/ready``, ``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/status/config``,
``/api/v1/rules`` and ``/api/v1/targets``, each only with the right ``Authorization``:

* ``bearer``: ``Bearer <token>``;
* ``basic``: ``Basic base64(user:password)``;
* ``sigv4``: ``AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request, ...``
  whose signature the stub recomputes with botocore from the known test credentials.

Anything else is answered 401, as Prometheus behind an auth proxy answers it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stubs import PORTS, _Server, _start

SIGV4_KEY_ID = "AKIDEXAMPLESTUB00001"
SIGV4_SECRET = "stub-secret-key/wJalrXUtnFEMI/K7MDENG"


def make_cert(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for ``host``, and its key: (cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gameday test prometheus")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "prometheus-ca.pem", folder / "prometheus-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Wants:
    """What the stub accepts, and what it saw."""

    mode: str = "bearer"  # bearer | basic | sigv4 | none
    token: str = "stub-token-3f9c2a7e"
    username: str = "gameday"
    password: str = "stub-basic-pw-91be"
    region: str = "eu-west-1"
    service: str = "aps"
    seen: list[dict[str, Any]] = field(default_factory=list)  # path, authorization scheme, accepted, why
    scrape_interval: str = "15s"

    def check(self, handler: BaseHTTPRequestHandler, body: bytes) -> str | None:
        """None if the request carries the right credentials, else why not."""
        auth = handler.headers.get("Authorization") or ""
        if self.mode == "none":
            return None
        if self.mode == "bearer":
            return None if auth == f"Bearer {self.token}" else "wrong or missing bearer token"
        if self.mode == "basic":
            want = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return None if auth == f"Basic {want}" else "wrong or missing basic credentials"
        return self._sigv4(handler, auth, body)

    def _sigv4(self, handler: BaseHTTPRequestHandler, auth: str, body: bytes) -> str | None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "no AWS4-HMAC-SHA256 Authorization header"
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        key_id, date, region, service, term = parts["Credential"].split("/")
        if (key_id, region, service, term) != (SIGV4_KEY_ID, self.region, self.service, "aws4_request"):
            return f"credential scope {key_id}/{region}/{service} is not {SIGV4_KEY_ID}/{self.region}/{self.service}"
        amz_date = handler.headers.get("X-Amz-Date") or ""
        if not amz_date.startswith(date):
            return "X-Amz-Date does not match the credential scope"
        # recompute the signature over the headers it says it signed
        signed = parts["SignedHeaders"].split(";")
        headers = {h: handler.headers.get(h, "") for h in signed}
        url = f"https://{handler.headers.get('Host')}{handler.path}"
        req = AWSRequest(method=handler.command, url=url, data=body, headers=headers)
        req.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(SIGV4_KEY_ID, SIGV4_SECRET), self.service, self.region)
        want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        return None if want == parts["Signature"] else "SigV4 signature does not verify"


class _TLSServer(_Server):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ssl.SSLError):
            return  # a client that refused the certificate: what some tests want to see
        super().handle_error(request, client_address)


def _answer(path: str, query: str, wants: Wants) -> tuple[int, dict[str, Any]]:
    if path == "/-/ready":
        return 200, {"status": "success"}
    if path == "/api/v1/status/config":
        return 200, {"status": "success", "data": {"yaml": f"global:\n  scrape_interval: {wants.scrape_interval}\n"}}
    if path == "/api/v1/targets":
        return 200, {"status": "success", "data": {"activeTargets": [{"scrapeInterval": wants.scrape_interval}]}}
    if path == "/api/v1/rules":
        rule = {"name": "HyperCodeApiDown", "labels": {"severity": "P1"}, "health": "ok"}
        return 200, {"status": "success", "data": {"groups": [{"name": "g", "rules": [rule]}]}}
    if path == "/api/v1/query":
        if query.startswith("histogram_quantile"):
            value = 0.040
        elif 'status=~"5' in query:
            return 200, {"status": "success", "data": {"resultType": "vector", "result": []}}
        else:
            value = 1200.0
        metric = {"__name__": "deployment_revision"} if "__name__" in query else {}
        return 200, {"status": "success", "data": {"resultType": "vector",
                                                    "result": [{"metric": metric, "value": [1.0, repr(value)]}]}}
    if path == "/api/v1/query_range":
        values = [[1000.0 + i, "1"] for i in range(5)]
        return 200, {"status": "success", "data": {"resultType": "matrix",
                                                    "result": [{"metric": {"job": "core-api"}, "values": values}]}}
    return 404, {"status": "error", "error": "not found"}


def handler(wants: Wants) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, body: bytes) -> None:
            url = urlsplit(self.path)
            params = parse_qs(url.query) or parse_qs(body.decode(errors="replace"))
            why = wants.check(self, body)
            wants.seen.append({"path": url.path, "scheme": (self.headers.get("Authorization") or "").split(" ")[0],
                               "accepted": why is None, "why": why})
            code, doc = (401, {"status": "error", "error": f"unauthorized: {why}"}) if why else \
                _answer(url.path, params.get("query", [""])[0], wants)
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    return Handler


@contextmanager
def running(folder: Path, wants: Wants | None = None) -> Iterator[tuple[Wants, str, Path]]:
    """(what it wants, its https URL, the CA bundle that verifies it)."""
    wants = wants or Wants()
    cert, key = make_cert(folder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server: _TLSServer | None = None
    for port in PORTS:
        try:
            server = _TLSServer(("127.0.0.1", port), handler(wants))
            break
        except OSError:
            continue
    assert server is not None, f"no free port in {PORTS}"
    # the handshake happens in the request's thread: a client that refuses the certificate
    # does not hold up the server
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    stop = _start(server)
    try:
        yield wants, f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        stop()
