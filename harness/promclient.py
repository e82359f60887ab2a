"""One client for the target's Prometheus, as clusters expose it: every caller goes through here.

The evidence snapshot (:mod:`gameday.harness.evidence`), the audits (:mod:`gameday.harness.audits`), the scrape
interval (:mod:`gameday.harness.scrape`), the target's readiness (:mod:`gameday.harness.drivers`) and the SLA
probes of the Chaos Toolkit extension (:mod:`gameday.harness.chaosext.sla`) read the same Prometheus; a
second HTTP client is a second place where certificate checks can be forgotten, so there is one.

* **TLS is verified**, always: with the system's CAs, or with ``ca_bundle`` (a self-signed or
  private CA). There is no switch to turn the check off: evidence read through a connection
  anyone in between could answer is no evidence.
* **Auth**: a bearer token (``bearer_token_file`` or ``bearer_token_env``), basic auth
  (``basic_auth.username`` with ``password_env`` or ``password_file``), or SigV4 for Amazon
  Managed Prometheus (``sigv4.region``, ``sigv4.service``: botocore signs each request with the
  default credential chain, or ``sigv4.aws_profile``).
* **Secrets are references.** The profile and the experiments' configuration name a file or an
  environment variable, never the secret; it is read when a client is built, kept in memory,
  and declared to :mod:`gameday.contract.redact`, so every file and message gameday writes masks it.

Every failure is one of :class:`PrometheusError`'s kinds, with a message that names the profile
field to fix (the certificate, the token, the URL): before a run the CLI makes it exit 64
(:func:`check`); during judging the evidence records it and the check says INCONCLUSIVE.

Prometheus is prometheus-api-client's ``PrometheusConnect`` (queries), on the same
``requests.Session`` that reads the status endpoints it does not wrap.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from gameday.contract.exitcodes import ExitCode
from gameday.contract.redact import declare
from gameday.harness.errors import BadInput, GamedayError
from gameday.harness.profile import PrometheusAccess, Target

FIELD = "target.prometheus"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# configuration keys the SLA probes read (flat strings: chaoslib treats a dict as an env/probe entry)
CONFIG_KEYS: dict[str, str] = {
    "ca_bundle": "prometheus_ca_bundle",
    "bearer_token_file": "prometheus_bearer_token_file",
    "bearer_token_env": "prometheus_bearer_token_env",
    "basic_auth.username": "prometheus_basic_auth_username",
    "basic_auth.password_env": "prometheus_basic_auth_password_env",
    "basic_auth.password_file": "prometheus_basic_auth_password_file",
    "sigv4.region": "prometheus_sigv4_region",
    "sigv4.service": "prometheus_sigv4_service",
    "sigv4.aws_profile": "prometheus_sigv4_aws_profile",
}


class PrometheusError(GamedayError):
    """Prometheus could not be read; the message says why and which setting to look at."""

    exit_code = ExitCode.NOT_COMPLETED  # the run could not be completed (never 1, NO-GO)

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PrometheusTLSError(PrometheusError):
    """The server's certificate does not verify (no CA bundle, or the wrong one)."""


class PrometheusAuthError(PrometheusError):
    """Prometheus answered 401 or 403: the credentials are missing or wrong."""


class PrometheusUnreachable(PrometheusError):
    """Connection refused, timed out, name not resolved."""


class CredentialsError(BadInput):
    """A secret the profile points at cannot be read (variable unset, file missing or empty): exit 64."""


@dataclass(frozen=True)
class Access:
    """Where a Prometheus is and how to reach it; references to secrets, never a secret.
    ``where`` names the settings in messages: ``target.prometheus`` (profile), or
    ``configuration.prometheus_*`` (an experiment run alone)."""

    url: str
    settings: PrometheusAccess = PrometheusAccess()
    where: str = FIELD

    def field(self, name: str) -> str:
        if self.where == FIELD:
            return f"{FIELD}.{name}"
        return f"configuration.{CONFIG_KEYS[name]}"

    def auth_field(self) -> str | None:
        """The setting that holds the credentials, for a message about a 401."""
        s = self.settings
        if s.bearer_token_file is not None:
            return self.field("bearer_token_file")
        if s.bearer_token_env is not None:
            return f"{self.field('bearer_token_env')} (${s.bearer_token_env})"
        if s.basic_auth is not None:
            which = "basic_auth.password_env" if s.basic_auth.password_env else "basic_auth.password_file"
            return self.field(which)
        if s.sigv4 is not None:
            return f"{self.field('sigv4.region')} / the AWS credentials"
        return None


def at(url: str, settings: PrometheusAccess | None = None) -> Access:
    """``url`` reached with ``settings`` (an :class:`gameday.harness.target.Endpoints`' URL and access)."""
    return Access(url.rstrip("/"), settings or PrometheusAccess())


def access_for(target: Target, url: str | None = None) -> Access:
    """The profile's Prometheus (``url`` overrides the URL, e.g. the sandbox's own)."""
    return Access((url or target.prometheus_url or "").rstrip("/"), target.prometheus)


def configuration(settings: PrometheusAccess) -> dict[str, str]:
    """The probes' configuration keys for these settings (references only: paths, variable names)."""
    flat: dict[str, Any] = {
        "ca_bundle": settings.ca_bundle, "bearer_token_file": settings.bearer_token_file,
        "bearer_token_env": settings.bearer_token_env}
    if settings.basic_auth is not None:
        b = settings.basic_auth
        flat.update({"basic_auth.username": b.username, "basic_auth.password_env": b.password_env,
                     "basic_auth.password_file": b.password_file})
    if settings.sigv4 is not None:
        flat.update({"sigv4.region": settings.sigv4.region, "sigv4.service": settings.sigv4.service,
                     "sigv4.aws_profile": settings.sigv4.aws_profile})
    return {CONFIG_KEYS[k]: str(v) for k, v in flat.items() if v is not None}


def from_configuration(cfg: Mapping[str, Any]) -> Access:
    """The SLA probes' Prometheus, from an experiment's configuration (``prometheus_url`` and the
    keys of :data:`CONFIG_KEYS`). ValueError names the key when the settings do not fit."""
    from pydantic import ValidationError

    url = str(cfg.get("prometheus_url") or "").rstrip("/")
    nested: dict[str, Any] = {}
    for name, key in CONFIG_KEYS.items():
        value = cfg.get(key)
        if value in (None, "") or (isinstance(value, str) and value.startswith(("${", "<unset"))):
            continue
        head, _, tail = name.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    try:
        settings = PrometheusAccess.model_validate(nested)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"configuration.{CONFIG_KEYS.get(loc, 'prometheus_*')}: {first['msg']}") from None
    return Access(url, settings, where="configuration")


# --- secrets --------------------------------------------------------------------------------------


def _read_file(path: Path, field: str) -> str:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        raise CredentialsError(f"{field}: {path}: no such file") from None
    except OSError as exc:
        raise CredentialsError(f"{field}: {path}: cannot read ({exc.strerror})") from None
    if not value:
        raise CredentialsError(f"{field}: {path} is empty")
    return value


def _read_env(name: str, field: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise CredentialsError(f"{field}: the environment variable {name} is not set (or empty)")
    return value


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class SigV4Auth(AuthBase):
    """AWS Signature Version 4 for Amazon Managed Prometheus, signed by botocore. Only ``host``
    (and botocore's ``x-amz-date`` / session token) are signed: the other headers may change in
    transit (proxies) and AMP does not ask for them."""

    def __init__(self, region: str, service: str, credentials: Any) -> None:
        self.region, self.service, self.credentials = region, service, credentials

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth as Signer
        from botocore.awsrequest import AWSRequest

        body = r.body if r.body is not None else b""
        aws = AWSRequest(method=r.method, url=r.url, data=body)
        Signer(self.credentials, self.service, self.region).add_auth(aws)
        for key in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"):
            if key in aws.headers:
                r.headers[key] = aws.headers[key]
        return r


def _sigv4_credentials(access: Access) -> Any:
    import botocore.exceptions
    import botocore.session

    s = access.settings.sigv4
    assert s is not None
    try:
        session = botocore.session.Session(profile=s.aws_profile) if s.aws_profile else botocore.session.Session()
        creds = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"{access.field('sigv4.aws_profile')}: {exc}") from None
    if creds is None:
        raise CredentialsError(f"{access.field('sigv4.region')}: SigV4 needs AWS credentials and none were found "
                               f"(environment, shared credentials file, instance role)")
    frozen = creds.get_frozen_credentials()
    declare([frozen.secret_key, frozen.token or ""])
    return frozen


def auth_for(access: Access) -> AuthBase | None:
    """The requests auth of these settings, its secret read now and declared to the redactor.
    CredentialsError (exit 64) names the field when a secret cannot be read."""
    s = access.settings
    if s.bearer_token_file is not None:
        token = _read_file(s.bearer_token_file, access.field("bearer_token_file"))
    elif s.bearer_token_env is not None:
        token = _read_env(s.bearer_token_env, access.field("bearer_token_env"))
    elif s.basic_auth is not None:
        b = s.basic_auth
        password = (_read_env(b.password_env, access.field("basic_auth.password_env")) if b.password_env
                    else _read_file(Path(str(b.password_file)), access.field("basic_auth.password_file")))
        declare([password])
        return HTTPBasicAuth(b.username, password)
    elif s.sigv4 is not None:
        return SigV4Auth(s.sigv4.region, s.sigv4.service, _sigv4_credentials(access))
    else:
        return None
    declare([token])
    return BearerAuth(token)


# --- the client -----------------------------------------------------------------------------------


class Client:
    """One Prometheus: a verified session with the credentials, and PrometheusConnect on it."""

    def __init__(self, access: Access, timeout_s: float | None = None) -> None:
        if not access.url:
            raise BadInput(f"{FIELD}: no Prometheus URL (target.prometheus_url or {FIELD}.url)")
        ca = access.settings.ca_bundle
        if ca is not None and not Path(ca).is_file():
            raise CredentialsError(f"{access.field('ca_bundle')}: {ca}: no such file")
        self.access = access
        self.url = access.url
        self.timeout = float(timeout_s if timeout_s is not None else access.settings.timeout_s)
        self.auth = auth_for(access)
        self.session = requests.Session()
        self.session.verify = str(ca) if ca is not None else True
        if urlsplit(self.url).hostname in LOOPBACK:
            self.session.trust_env = False  # never send loopback calls through a proxy

    def close(self) -> None:
        self.session.close()

    def connect(self) -> Any:
        """prometheus-api-client's PrometheusConnect on this session: certificates verified, auth set."""
        from prometheus_api_client import PrometheusConnect

        return PrometheusConnect(url=self.url, disable_ssl=False, session=self.session, auth=self.auth,
                                 timeout=self.timeout)

    # every request goes through here: foreign exceptions become PrometheusError (the adapter's edge)
    def request(self, path: str, params: Mapping[str, str] | None = None,
                timeout_s: float | None = None) -> requests.Response:
        url = f"{self.url}{path}"
        try:
            resp = self.session.get(url, params=dict(params or {}), auth=self.auth,
                                    timeout=timeout_s if timeout_s is not None else self.timeout)
        except requests.exceptions.SSLError as exc:
            raise self.tls_error(exc) from None
        except requests.exceptions.RequestException as exc:
            raise PrometheusUnreachable(f"Prometheus at {self.url} unreachable ({type(exc).__name__})",
                                        "target.prometheus_url") from None
        if resp.status_code in (401, 403):
            raise self.auth_error(resp.status_code)
        return resp

    def tls_error(self, exc: BaseException) -> PrometheusTLSError:
        reason = _ssl_reason(exc)
        ca = self.access.settings.ca_bundle
        field = self.access.field("ca_bundle")
        hint = (f"the CA bundle {field} ({ca}) does not verify it" if ca is not None
                else f"give the CA that signed it in {field}")
        return PrometheusTLSError(f"Prometheus at {self.url}: its TLS certificate cannot be verified ({reason}); "
                                  f"{hint}", field)

    def auth_error(self, status: int) -> PrometheusAuthError:
        field = self.access.auth_field()
        word = "Unauthorized" if status == 401 else "Forbidden"
        if field is None:
            field = f"{self.access.field('bearer_token_file')} / bearer_token_env / basic_auth / sigv4"
            return PrometheusAuthError(f"Prometheus at {self.url} answered {status} {word}: it wants credentials "
                                       f"and none are configured; set one of {field}", field)
        return PrometheusAuthError(f"Prometheus at {self.url} answered {status} {word}: the credentials of "
                                   f"{field} were refused", field)

    def api(self, path: str, params: Mapping[str, str] | None = None, timeout_s: float | None = None) -> Any:
        """``data`` of a Prometheus API answer (``{"status": "success", "data": ...}``)."""
        resp = self.request(path, params, timeout_s)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else resp.text[:200]
            raise PrometheusError(f"Prometheus at {self.url} answered {resp.status_code} to {path}: {detail}")
        return body.get("data")

    def query(self, promql: str, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        data = self.api("/api/v1/query", {"query": promql}, timeout_s)
        return list((data or {}).get("result") or [])

    def query_range(self, promql: str, start: float, end: float, step: str) -> list[dict[str, Any]]:
        """A range query through PrometheusConnect, its exceptions translated."""
        from prometheus_api_client.exceptions import PrometheusApiClientException

        prom = self.connect()
        try:
            result: list[dict[str, Any]] = prom.custom_query_range(
                promql, start_time=dt.datetime.fromtimestamp(start, tz=dt.UTC),
                end_time=dt.datetime.fromtimestamp(end, tz=dt.UTC), step=step)
        except requests.exceptions.SSLError as exc:
            raise self.tls_error(exc) from None
        except requests.exceptions.RequestException as exc:
            raise PrometheusUnreachable(f"Prometheus at {self.url} unreachable ({type(exc).__name__})",
                                        "target.prometheus_url") from None
        except PrometheusApiClientException as exc:
            m = re.search(r"HTTP Status Code (\d+)", str(exc))
            status = int(m.group(1)) if m else 0
            if status in (401, 403):
                raise self.auth_error(status) from None
            raise PrometheusError(f"Prometheus at {self.url} answered {status or 'an error'} to a range query: "
                                  f"{str(exc)[:200]}") from None
        return result

    def ready(self) -> None:
        """Prometheus answers ``/-/ready`` with 200 (AMP has no such page: a query of ``1`` stands in)."""
        if self.access.settings.sigv4 is not None:
            self.query("vector(1)")
            return
        resp = self.request("/-/ready", timeout_s=min(self.timeout, 5.0))
        if resp.status_code != 200:
            raise PrometheusError(f"Prometheus at {self.url}/-/ready answered {resp.status_code}")


def client(access: Access, timeout_s: float | None = None) -> Client:
    return Client(access, timeout_s)


def check(access: Access) -> None:
    """Before a run: the secrets can be read, and Prometheus accepts the certificate and the
    credentials. BadInput (exit 64) naming the field for anything the profile can fix; an
    unreachable Prometheus is not bad input (the run's own readiness check says so)."""
    c = Client(access, timeout_s=5.0)
    try:
        c.query("vector(1)")
    except (PrometheusTLSError, PrometheusAuthError) as exc:
        raise BadInput(f"{exc.field}: {exc}") from None
    except PrometheusError:
        return
    finally:
        c.close()


def preflight(target: Target, *, contact: bool = True) -> None:
    """Before anything starts: the secrets ``target.prometheus`` points at can be read (any kind),
    and, with ``contact``, a Prometheus someone else runs accepts the certificate and the
    credentials (the sandbox's is not up yet). BadInput (exit 64) naming the field otherwise."""
    access = access_for(target)
    if contact and target.kind != "sandbox" and access.url:
        check(access)
        return
    auth_for(access)
    ca = access.settings.ca_bundle
    if ca is not None and not Path(ca).is_file():
        raise CredentialsError(f"{access.field('ca_bundle')}: {ca}: no such file")


def with_url(access: Access, url: str) -> Access:
    return replace(access, url=url.rstrip("/"))


def _ssl_reason(exc: BaseException) -> str:
    text = str(exc)
    m = re.search(r"\[SSL: ([A-Z_]+)\][^()'\"]*?([a-z][^()'\"]*)?\(_ssl", text)
    if m:
        return (m.group(2) or m.group(1)).strip().rstrip(" (").strip()
    for marker in ("certificate verify failed", "self-signed certificate", "hostname mismatch", "unable to get"):
        if marker in text:
            start = text.index(marker)
            return text[start:start + 80].split("(")[0].strip(" :")
    return type(exc).__name__
