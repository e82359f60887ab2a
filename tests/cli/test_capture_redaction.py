"""Secrets in what the load records (issue 14): an exception's text goes into the ``error`` column
of every request row, and a locustfile may name requests by their full URL. The Locust plugin masks
both when the row is made, before it is written or shipped to a master, so the recorded rows never
hold a secret that only a report's redactor would have caught.

Every undeclared shape of the secrets corpus (URL user-info, Authorization / Bearer / Basic values,
AWS keys, Slack and Grafana tokens, the environment's secret-named variables) is planted as a
request failure through Locust's own ``request`` event, in a separate Python process (Locust
monkey-patches on import); the rows are read back with the judge's reader, whatever the file
format, and searched: none survives. Declared secrets (the profile's ``secrets:``) are not known
inside Locust's processes: they are the reports' redactor's to mask (tests/unit/test_secrets_redaction.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gameday.analysis.recorded import read_requests_checked
from gameday.contract.redact import MASK
from tests.corpus.secret_shapes import ENV, SHAPES
from tests.helpers import ROOT

URL_NAME_SECRET = "name-url-pw-41"
SCRIPT = """
import json, sys
from locust import events
import gameday.harness.load.plugin as plugin

texts = json.loads(open(sys.argv[2]).read())
plugin._recorder = rec = plugin._Recorder(sys.argv[1], "local-1")
for i, text in enumerate(texts):
    events.request.fire(request_type="GET", name="/v1/missions/[id]", response_time=5.0, response_length=0,
                        response=None, context={}, exception=RuntimeError(text), start_time=1000.0 + i)
events.request.fire(request_type="GET", name="https://u:%s@api.example/v1/crews", response_time=5.0,
                    response_length=0, response=None, context={}, exception=None, start_time=2000.0)
rec.close()
"""


def test_error_text_is_masked_when_the_row_is_written(tmp_path: Path) -> None:
    shapes = [(s, text, secret) for s, text, secret in SHAPES if not s.startswith("declared")]
    assert len(shapes) >= 20
    texts = tmp_path / "texts.json"
    # the secret in a longer message, as a client library words it
    texts.write_text(json.dumps([f"ConnectionError: {text} (after 3 retries)" for _, text, _ in shapes]))
    run = tmp_path / "run"
    run.mkdir()
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT % URL_NAME_SECRET, str(run), str(texts)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]

    rows, damage = read_requests_checked(run)
    assert damage == [] and len(rows) == len(shapes) + 1
    errors = rows["error"].fillna("").astype(str).tolist()
    names = rows["name"].astype(str).tolist()
    left = [s for s, _, secret in shapes if any(secret in e for e in errors)]
    assert left == [], f"secret shapes left in the error column: {left}"
    assert all(MASK in e for e in errors[:len(shapes)])  # masked, not dropped: the rest of the message stays
    assert all("after 3 retries" in e for e in errors[:len(shapes)])
    assert not any(URL_NAME_SECRET in n for n in names) and any(MASK in n for n in names)
    raw = b"".join(f.read_bytes() for f in run.iterdir() if f.is_file())
    assert not any(secret.encode() in raw for _, _, secret in shapes)  # nor in the bytes on disk
