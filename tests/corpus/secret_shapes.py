"""The secret shapes planted by the secrets tests (issue 14): each is (shape, a text carrying it, the
secret part that must not survive redaction), plus the environment the ``env-*`` shapes come from."""

from __future__ import annotations

import base64
import json
import urllib.parse

DECLARED = 'de"cl\\ared/p@ss+w0rd'  # a declared secret, with characters every encoding changes
ENV = {"DATABASE_URL": "postgresql://app:env-db-pw-77@db:5432/hc", "SLACK_WEBHOOK_URL":
       "https://hooks.slack.com/services/T0AAA/B0BBB/slackenvsecret99", "DB_PASS": "env-db-pass-31",
       "GRAFANA_SA": "glsa_envgrafanasecret_0123456789", "KUBE_BEARER": "kube-bearer-secret-55",
       "AUTH_HEADER": "Bearer env-auth-header-secret-12"}

# (shape, text carrying it, the secret part that must not survive)
SHAPES: list[tuple[str, str, str]] = [
    ("postgres-userinfo", "connect postgresql://app:pg-url-pw-1@db:5432/x failed", "pg-url-pw-1"),
    ("https-userinfo", "GET https://admin:https-url-pw-2@api.example/v1 refused", "https-url-pw-2"),
    ("token-only-userinfo", "clone https://ghp_tokenonlyuser33@github.com/x", "ghp_tokenonlyuser33"),
    ("redis-password-only", "redis://:redis-url-pw-4@cache:6379/0 down", "redis-url-pw-4"),
    ("amqp-userinfo", "amqp://guest:amqp-url-pw-5@mq//", "amqp-url-pw-5"),
    ("url-in-query-encoded", "next=https%3A%2F%2Fu%3Aenc-url-pw-6%40host%2F", "enc-url-pw-6"),
    ("authorization-bearer", "Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.sig-bearer-7", "sig-bearer-7"),
    ("bare-bearer", "sent Bearer bare-bearer-token-8 to the API", "bare-bearer-token-8"),
    ("basic", "Authorization: Basic dXNlcjpiYXNpYy1wdy05", "dXNlcjpiYXNpYy1wdy05"),
    ("authorization-token", "authorization=Token tok-auth-10abcdef", "tok-auth-10abcdef"),
    ("authorization-json", '{"Authorization": "raw-auth-value-11"}', "raw-auth-value-11"),
    ("aws-akia", "key AKIAIOSFODNN7EXAMPL2 rejected", "AKIAIOSFODNN7EXAMPL2"),
    ("aws-asia", "session ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A"),
    ("aws-secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-secret-json", '"aws_secret_access_key": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"',
     "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
    ("slack-webhook", "posted to https://hooks.slack.com/services/T111/B222/slackhooksecret16", "slackhooksecret16"),
    ("slack-token", "xoxb-123456789012-slacktokensecret17", "slacktokensecret17"),
    ("grafana-token", "token glsa_grafanaSAtokensecret_18abcdef", "glsa_grafanaSAtokensecret_18abcdef"),
    ("declared-plain", f"the API said {DECLARED}", DECLARED),
    ("declared-json-escaped", f"body {json.dumps(DECLARED)}", json.dumps(DECLARED)[1:-1]),
    ("declared-url-encoded", f"?p={urllib.parse.quote(DECLARED, safe='')}", urllib.parse.quote(DECLARED, safe="")),
    ("declared-form-encoded", f"p={urllib.parse.quote_plus(DECLARED)}", urllib.parse.quote_plus(DECLARED)),
    ("declared-base64", f"blob {base64.b64encode(DECLARED.encode()).decode()}",
     base64.b64encode(DECLARED.encode()).decode()),
    ("declared-base64-url", f"blob {base64.urlsafe_b64encode(DECLARED.encode()).decode().rstrip('=')}",
     base64.urlsafe_b64encode(DECLARED.encode()).decode().rstrip("=")),
    ("env-database-url", f"db {ENV['DATABASE_URL']}", "env-db-pw-77"),
    ("env-slack-webhook", f"hook {ENV['SLACK_WEBHOOK_URL']}", "slackenvsecret99"),
    ("env-db-pass", f"pass {ENV['DB_PASS']}", ENV["DB_PASS"]),
    ("env-grafana-sa", f"sa {ENV['GRAFANA_SA']}", ENV["GRAFANA_SA"]),
    ("env-kube-bearer", f"kube {ENV['KUBE_BEARER']}", ENV["KUBE_BEARER"]),
    ("env-auth-header", f"header {ENV['AUTH_HEADER']}", "env-auth-header-secret-12"),
]
