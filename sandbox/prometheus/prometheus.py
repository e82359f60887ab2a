"""prometheus.yml, file_sd target files and the command line for the sandbox's Prometheus.

Targets come and go as the controller schedules pods, so every scrape job reads a file_sd
JSON file that the controller rewrites (atomically, so Prometheus never reads half a file)
instead of a static list that would need a config reload per pod.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import yaml

JOBS = ("core-api", "worker", "controller")
"""Scrape jobs; alert rules and the harness's queries select on these names."""

FILE_SD_REFRESH = "1s"
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Target = tuple[str, int, dict[str, str]]
"""(host, port, labels), e.g. ("127.0.0.1", 17100, {"pod": "api-0", "node": "node-a"})."""


def duration(seconds: float) -> str:
    """A Prometheus duration: whole seconds as "1s", anything finer in milliseconds."""
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {seconds}")
    ms = round(seconds * 1000)
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{max(ms, 1)}ms"


def targets_path(file_sd_dir: Path, job: str) -> Path:
    """Where the targets of ``job`` live: ``<dir>/<job>.json``."""
    _check_job(job)
    return file_sd_dir / f"{job}.json"


def render_config(scrape_interval_s: float, rules_path: Path, file_sd_dir: Path,
                  alertmanager_port: int | None = None) -> str:
    """prometheus.yml: one interval for scraping and rule evaluation, one file_sd file per job,
    and the sandbox's Alertmanager (when ``alertmanager_port`` is given) as the alerts' destination.

    Evaluation runs at the scrape interval so that a ``for: 15s`` alert means 15 fresh
    samples, and the timeout equals the interval so a hung pod cannot overlap its scrapes.
    Paths are made absolute because Prometheus resolves relative ones against the config
    file's directory, not the caller's.
    """
    interval = duration(scrape_interval_s)
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(Path(rules_path).resolve())],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "file_sd_configs": [
                    {
                        "files": [str(targets_path(Path(file_sd_dir).resolve(), job))],
                        "refresh_interval": FILE_SD_REFRESH,
                    }
                ],
            }
            for job in JOBS
        ],
    }
    if alertmanager_port is not None:
        config["alerting"] = {"alertmanagers": [
            {"api_version": "v2", "static_configs": [{"targets": [f"127.0.0.1:{int(alertmanager_port)}"]}]}]}
    header = "# Rendered by gameday.sandbox.prometheus.prometheus.render_config; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


def write_targets(file_sd_dir: Path, job: str, targets: list[Target]) -> Path:
    """Replace the target list of ``job``; temp file + rename so a reader sees old or new.

    One entry per target because each carries its own ``pod`` and ``node`` labels. The temp
    file is a dotfile in the same directory (same filesystem, so the rename is atomic) whose
    name does not match ``<job>.json``, so Prometheus never picks it up.
    """
    path = targets_path(file_sd_dir, job)
    entries = []
    for host, port, labels in targets:
        bad = [name for name in labels if not _LABEL_NAME.match(name) or name.startswith("__")]
        if bad:
            raise ValueError(f"{job} target {host}:{port}: invalid label names {bad}")
        entries.append({"targets": [f"{host}:{int(port)}"], "labels": dict(labels)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{job}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(entries, fh, indent=2)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def init_targets(file_sd_dir: Path) -> None:
    """Write an empty target list for every job that has none yet.

    Prometheus logs an error on every refresh for a missing file_sd file; an empty list is
    the honest "nothing scheduled yet".
    """
    for job in JOBS:
        if not targets_path(file_sd_dir, job).exists():
            write_targets(file_sd_dir, job, [])


def prometheus_argv(binary: str | Path, config_path: Path, data_dir: Path, port: int) -> list[str]:
    """The command line: loopback only, a throwaway 1-day TSDB, reloadable over HTTP.

    ``--web.enable-lifecycle`` lets the controller ``POST /-/reload`` after changing the
    config and ``POST /-/quit`` to stop it cleanly (it flushes the head block; kill -9 makes
    the next start replay the WAL). Start-up needs no special flag: on a fresh data
    directory Prometheus 2.42 answers ``/-/ready`` in about 0.1 s; only WAL replay on a
    reused directory costs time. Note that Prometheus applies service-discovery changes
    at most every 5 s (fixed in 2.42), whatever the file_sd refresh interval: a new pod is
    scraped up to ~5 s after its target file is written.
    """
    return [
        str(binary),
        f"--config.file={config_path}",
        f"--web.listen-address=127.0.0.1:{int(port)}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=1d",
        "--web.enable-lifecycle",
    ]


def _check_job(job: str) -> None:
    if job not in JOBS:
        raise ValueError(f"unknown scrape job {job!r}; expected one of {', '.join(JOBS)}")
