"""Run directories with columnar evidence, for the tests: the corpus's healthy run
(``tests.helpers.healthy_run``) with its CSV rows rewritten as Arrow streams by the writer the Locust
plugin uses (``gameday.contract.columnar``), in batches as a process writes them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from gameday.analysis.recorded import read_acks, read_requests
from gameday.contract.columnar import ACK_SCHEMA, REQUEST_SCHEMA, AckRows, RequestRows, StreamFile


def _num(v: object) -> float:
    return math.nan if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def write_request_stream(path: Path, df: pd.DataFrame, batch_rows: int, close: bool = True) -> StreamFile:
    f = StreamFile(str(path), REQUEST_SCHEMA)
    rows = RequestRows.empty()
    for r in df.itertuples(index=False):
        rows.append(float(r.t_start), float(r.latency_ms), str(r.name), str(r.method), int(r.status), int(r.ok),
                    "" if pd.isna(r.error) else str(r.error), "" if pd.isna(r.mission_id) else str(r.mission_id),
                    _num(r.t_intended))
        if len(rows) == batch_rows:
            f.write(rows.batch())
            rows = RequestRows.empty()
    if len(rows):
        f.write(rows.batch())
    if close:
        f.close(sync=False)
    return f


def write_ack_stream(path: Path, df: pd.DataFrame, batch_rows: int) -> None:
    f = StreamFile(str(path), ACK_SCHEMA)
    rows = AckRows.empty()
    for r in df.itertuples(index=False):
        rows.append(float(r.t_ack), str(r.mission_id), float(r.latency_ms), _num(r.startup_ms),
                    "" if pd.isna(r.pool) else str(r.pool))
        if len(rows) == batch_rows:
            f.write(rows.batch())
            rows = AckRows.empty()
    if len(rows):
        f.write(rows.batch())
    f.close(sync=False)


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same rows and values (floats bit for bit, NaN = NaN), whatever the dtypes (the streams'
    reader keeps names as categoricals and status as Int16 where the CSV reader has strings, Int64)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype == "float64":
            np.testing.assert_array_equal(x.to_numpy(), y.to_numpy(), err_msg=c)
        else:
            assert x.astype("string").fillna("<NA>").tolist() == y.astype("string").fillna("<NA>").tolist(), c


def to_columnar(run_dir: Path, batch_rows: int = 100) -> Path:
    """Replace the CSV request and ack files of ``run_dir`` by streams of the same rows."""
    requests, acks = read_requests(run_dir), read_acks(run_dir)
    for f in [*run_dir.glob("requests.*.csv"), *run_dir.glob("acks.*.csv")]:
        f.unlink()
    write_request_stream(run_dir / "requests.local-1.arrows", requests, batch_rows)
    write_ack_stream(run_dir / "acks.local-1.arrows", acks, batch_rows)
    return run_dir
