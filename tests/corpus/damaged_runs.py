"""Named damages done to a healthy synthetic run directory (``tests.helpers.healthy_run``): the corpus of
``tests/unit/test_damaged_runs.py`` (issue 14). Each damage is one thing a CI artifact, a full disk, a
killed writer or a hand edit can do to one file; each says which checks it must make
INCONCLUSIVE (at least) and which file the reason must name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers import REQ_HEADER

CLIENT = ("latency_p95", "error_rate_5xx", "operation_p95", "operation_errors")
ACKED = ("lost_acks", "mission_success", "missions_stuck")


@dataclass(frozen=True)
class Damage:
    name: str
    do: Callable[[Path], None]
    inconclusive: tuple[str, ...]  # checks that must come out INCONCLUSIVE
    names: str  # the file the reason must name
    exit_code: int = 2
    bad_input: bool = False  # not a run at all: exit 64


def _lines(path: Path, fn: Callable[[list[str]], list[str]]) -> None:
    path.write_text("".join(fn(path.read_text().splitlines(keepends=True))))


def _set_line(file: str, index: int, text: str) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        def f(lines: list[str]) -> list[str]:
            lines[index] = text if text.endswith("\n") else text + "\n"
            return lines
        _lines(d / file, f)
    return do


def _insert(file: str, index: int, text: str) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        _lines(d / file, lambda ls: ls[:index] + [text + "\n"] + ls[index:])
    return do


def _write(file: str, data: str | bytes) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        p = d / file
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return do


def _profile(update: Callable[[dict], None]) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        prof = yaml.safe_load((d / "profile.yaml").read_text())
        update(prof)
        (d / "profile.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    return do


def _checks(key: str, value: object) -> Callable[[Path], None]:
    return _profile(lambda p: p["checks"].__setitem__(key, value))


def _replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        p = d / file
        p.write_text(p.read_text().replace(old, new, 1))
    return do


def _remove(file: str) -> Callable[[Path], None]:
    return lambda d: (d / file).unlink()


def _readback(data: object) -> Callable[[Path], None]:
    return _write("readback.json", json.dumps(data))


TL, RQ, AK, RB, PF = "timeline.jsonl", "requests.local-1.csv", "acks.local-1.csv", "readback.json", "profile.yaml"
EVERYTHING = ("latency_p95", "error_rate_5xx", "lost_acks")

DAMAGES: list[Damage] = [
    # the thirteen of issue 14
    Damage("acks-empty-file", _write(AK, ""), ACKED, AK),
    Damage("timeline-json-array-line", _insert(TL, 3, "[1, 2, 3]"), EVERYTHING, TL),
    Damage("timeline-event-without-t", _insert(TL, 3, '{"event": "phase_started", "phase": "x"}'), EVERYTHING, TL),
    Damage("timeline-t-is-text", _insert(TL, 3, '{"t": "abc", "event": "note"}'), EVERYTHING, TL),
    Damage("timeline-phase-is-object", _insert(TL, 3, '{"t": 1001, "event": "phase_started", "phase": {"a": 1}}'),
           EVERYTHING, TL),
    Damage("requests-not-utf8", lambda d: _bytes(RQ, b"/v1/crews", b"/v1/\xff\xfe")(d), CLIENT, RQ),
    Damage("requests-latency-abc", _set_line(RQ, 7, "1000.6,abc,/v1/crews,POST,201,1,,m6,,"), CLIENT, RQ),
    Damage("requests-renamed-column", _replace(RQ, "latency_ms", "latency"), CLIENT, RQ),
    Damage("readback-list", _readback([]), ACKED, RB),
    Damage("readback-found-list", _readback({"found": ["a"]}), ACKED, RB),
    Damage("checks-required-null", _checks("required", None), (), PF),
    Damage("checks-p95-with-unit", _checks("p95_ms", "200ms"), ("latency_p95",), PF),
    Damage("prometheus-series-list", lambda d: (_write("prometheus/latency_p95.json", "[]")(d),
                                                _write("prometheus/latency_p95.csv",
                                                       "timestamp,value,labels\n1010,0.05,{}\n")(d)),
           (), "", exit_code=0),  # the client samples judge p95; the Prometheus p95 is only shown beside
]


def _bytes(file: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        p = d / file
        p.write_bytes(p.read_bytes().replace(old, new, 1))
    return do


def _append_raw(file: str, data: str) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        with open(d / file, "a") as f:
            f.write(data)
    return do


def _drop_column(file: str, col: str) -> Callable[[Path], None]:
    def do(d: Path) -> None:
        lines = (d / file).read_text().splitlines()
        i = lines[0].split(",").index(col)
        (d / file).write_text("".join(",".join(c for j, c in enumerate(x.split(",")) if j != i) + "\n"
                                      for x in lines))
    return do


def _not_a_run(d: Path) -> None:
    (d / TL).unlink()


def _timeline_dir(d: Path) -> None:
    (d / TL).unlink()
    (d / TL).mkdir()


ALL_CLIENT_AND_ACKED = (*CLIENT, *ACKED)
DAMAGES += [
    # the timeline
    Damage("timeline-not-utf8", _bytes(TL, b'"phase": "baseline"', b'"phase": "base\xffline"'), EVERYTHING, TL),
    Damage("timeline-garbage-middle-line", _insert(TL, 4, "{not json"), EVERYTHING, TL),
    Damage("timeline-t-nan", _insert(TL, 4, '{"t": NaN, "event": "note"}'), EVERYTHING, TL),
    Damage("timeline-t-1e300", _insert(TL, 4, '{"t": 1e300, "event": "note"}'), EVERYTHING, TL),
    Damage("timeline-t-negative", _insert(TL, 4, '{"t": -5, "event": "note"}'), EVERYTHING, TL),
    Damage("timeline-t-bool", _insert(TL, 4, '{"t": true, "event": "note"}'), EVERYTHING, TL),
    Damage("timeline-event-is-number", _insert(TL, 4, '{"t": 1001, "event": 5}'), EVERYTHING, TL),
    Damage("timeline-line-is-string", _insert(TL, 4, '"phase_started"'), EVERYTHING, TL),
    Damage("timeline-torn-last-line", _append_raw(TL, '{"t": 1131.5, "ev'), (), "", exit_code=0),
    # no run_finished: interrupted (exit 3); no windows to judge latency in
    Damage("timeline-empty", _write(TL, ""), ("latency_p95", "error_rate_5xx"), "", exit_code=3),
    Damage("timeline-is-a-directory", _timeline_dir, (), TL, exit_code=64, bad_input=True),
    Damage("no-timeline", _not_a_run, (), TL, exit_code=64, bad_input=True),
    # the request rows
    Damage("requests-status-fraction", _set_line(RQ, 9, "1000.8,41,/v1/crews,POST,201.5,1,,m8,,"), CLIENT, RQ),
    Damage("requests-ok-text", _set_line(RQ, 9, "1000.8,41,/v1/crews,POST,201,yes,,m8,,"), CLIENT, RQ),
    Damage("requests-t-start-inf", _set_line(RQ, 9, "inf,41,/v1/crews,POST,201,1,,m8,,"), CLIENT, RQ),
    Damage("requests-empty-file", _write(RQ, ""), CLIENT, RQ),
    Damage("requests-without-ok-column", _drop_column(RQ, "ok"), CLIENT, RQ),
    Damage("requests-binary-garbage", _write("requests.worker-2.csv", bytes(range(256)) * 4), CLIENT,
           "requests.worker-2.csv"),
    Damage("requests-header-only", _write(RQ, REQ_HEADER), CLIENT, "", exit_code=2),  # no samples: no data
    Damage("requests-torn-last-line", _append_raw(RQ, "1130.0,41,/v1/cr"), (), "", exit_code=0),
    # the acknowledgements
    Damage("acks-renamed-column", _replace(AK, "mission_id", "mission"), ACKED, AK),
    Damage("acks-latency-text", _set_line(AK, 3, "1000.24,m2,fast,300,warm"), ACKED, AK),
    Damage("acks-not-utf8", _bytes(AK, b"warm", b"w\xe9rm"), ACKED, AK),
    Damage("acks-header-missing", lambda d: _lines(d / AK, lambda ls: ls[1:]), ACKED, AK),
    # the read-back
    Damage("readback-not-json", _write(RB, '{"found": {'), ACKED, RB),
    Damage("readback-missing-is-object", _readback({"found": {}, "missing": {"m1": 1}}), ACKED, RB),
    Damage("readback-status-number", _readback({"found": {"m0": 1}, "missing": []}), ACKED, RB),
    Damage("readback-read-at-text", _readback({"found": {}, "missing": [], "read_at": "noon"}), ACKED, RB),
    Damage("readback-not-utf8", _write(RB, b'{"found": {"m0": "compl\xffeted"}, "missing": []}'), ACKED, RB),
    # the resolved profile
    Damage("profile-not-yaml", _write(PF, "name: x\nchecks: [unclosed\n"), EVERYTHING, PF),
    Damage("profile-is-a-list", _write(PF, "- 1\n- 2\n"), EVERYTHING, PF),
    Damage("profile-checks-is-a-list", _profile(lambda p: p.__setitem__("checks", [1, 2])), EVERYTHING, PF),
    Damage("profile-not-utf8", _write(PF, b"name: caf\xe9\n"), EVERYTHING, PF),
    Damage("checks-5xx-ratio-bool", _checks("max_5xx_ratio", True), ("error_rate_5xx",), PF),
    Damage("checks-required-string", _checks("required", "latency_p95"), (), PF),
    Damage("checks-p95-infinite", _checks("p95_ms", float("inf")), ("latency_p95",), PF),
    Damage("checks-lost-acks-text", _checks("max_lost_acks", "none"), ("lost_acks",), PF),
    # Prometheus evidence and audits (not required here: judged around, never a crash)
    Damage("prometheus-csv-renamed", lambda d: (_write("prometheus/missions_per_min.json", '{"query": "q"}')(d),
                                                _write("prometheus/missions_per_min.csv", "ts,v\n1,2\n")(d)),
           ("throughput",), "", exit_code=0),
    Damage("prometheus-json-not-json", _write("prometheus/startup_p95.json", "{"), (), "", exit_code=0),
    Damage("audits-json-list", _write("audits.json", "[]"), ("audit_redis", "audit_pgbouncer"), "", exit_code=0),
    Damage("results-json-garbage", _write("results.json", "\x00\x01 not json"), (), "", exit_code=0),
    Damage("report-html-is-a-directory", lambda d: (d / "report.html").mkdir(), (), "report.html", exit_code=64,
           bad_input=True),
]
