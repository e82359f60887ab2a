"""``gameday export``: a run's columnar evidence (Arrow streams) as the CSV files older runs hold.

One CSV per stream file, same name with ``.csv``, same header and text the Locust plugin wrote
before the evidence became columnar (t_start with 6 decimals, latencies with 3, an empty field
where nothing was said), written batch by batch: memory stays one batch, whatever the run's
size. The CSV goes to its own directory (default ``RUN_DIR/export``), never beside the streams,
where the reader would count every request twice. What cannot be read (a torn last batch) is
reported, the whole batches before it exported.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gameday.contract.atomic import _FLAGS, write_atomic
from gameday.contract.columnar import LOGICAL, iter_stream
from gameday.contract.rundir import ACK_COLUMNS, ACKS_STREAM_GLOB, REQUEST_COLUMNS, REQUESTS_STREAM_GLOB, STREAM_SUFFIX


@dataclass(frozen=True)
class Exported:
    source: str  # relative to the run directory
    target: Path
    rows: int
    problem: str | None  # why the stream stopped before its end (its whole batches were exported)


def _fixed(col: pa.Array, divisor: int, decimals: int) -> list[str]:
    """Integer micro-units as exact decimal text (``12345`` µs, 3 decimals -> ``12.345``); '' for null."""
    values = col.to_numpy(zero_copy_only=False)
    valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    ints = np.where(valid, values, 0).astype("int64")
    sign = np.where(ints < 0, "-", "")
    mag = np.abs(ints)
    text = np.char.add(np.char.add(sign, (mag // divisor).astype(str)),
                       np.char.add(".", np.char.zfill((mag % divisor).astype(str), decimals)))
    out: list[str] = np.where(valid, text, "").tolist()
    return out


def _plain(col: pa.Array) -> list[str]:
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return [("" if v is None else str(v)) for v in pc.cast(col, pa.string()).to_pylist()]


_FORMAT: dict[str, Callable[[pa.Array], list[str]]] = {
    "t_start_us": lambda c: _fixed(c, 10**6, 6), "t_intended_us": lambda c: _fixed(c, 10**6, 6),
    "t_ack_us": lambda c: _fixed(c, 10**6, 6), "latency_us": lambda c: _fixed(c, 1000, 3),
    "latency_intended_us": lambda c: _fixed(c, 1000, 3), "startup_us": lambda c: _fixed(c, 1000, 3),
}
_STORAGE = {logical: storage for logical, (storage, _) in LOGICAL.items()}


def _export_one(path: Path, target: Path, header: tuple[str, ...]) -> tuple[int, str | None]:
    """Streamed (a file can be large) to a fresh randomly named temporary file, then renamed."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, _FLAGS, 0o644)  # never through a planted file or symlink (gameday.contract.atomic)
    try:
        done = _write_csv(fd, path, header)
    except BaseException:
        os.unlink(tmp)
        raise
    os.replace(tmp, target)
    return done


def _write_csv(fd: int, path: Path, header: tuple[str, ...]) -> tuple[int, str | None]:
    rows = 0
    problem = None
    with open(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for item in iter_stream(path):
            if isinstance(item, str):
                problem = item
                break
            cols = []
            for name in header:
                s = _STORAGE.get(name, name)
                col = item.column(s) if s in item.schema.names else pa.nulls(item.num_rows, pa.string())
                cols.append(_FORMAT.get(s, _plain)(col))
            w.writerows(zip(*cols, strict=True))
            rows += item.num_rows
        f.flush()
        os.fsync(f.fileno())
    return rows, problem


def export(run_dir: Path, out: Path) -> list[Exported]:
    """Every request and ack stream of ``run_dir`` as CSV in ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    done: list[Exported] = []
    for glob, header in ((REQUESTS_STREAM_GLOB, REQUEST_COLUMNS), (ACKS_STREAM_GLOB, ACK_COLUMNS)):
        for path in sorted(run_dir.glob(glob)):
            target = out / (path.name[: -len(STREAM_SUFFIX)] + ".csv")
            rows, problem = _export_one(path, target, header)
            done.append(Exported(path.relative_to(run_dir).as_posix(), target, rows, problem))
    buf = io.StringIO()
    for e in done:
        buf.write(f"{e.source}\t{e.rows}\t{e.problem or ''}\n")
    write_atomic(str(out / "EXPORTED.tsv"), buf.getvalue())
    return done
