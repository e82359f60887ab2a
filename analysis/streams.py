"""The recorded rows of Arrow IPC stream files (``gameday.contract.columnar``) as one DataFrame, in
bounded memory, with the same columns and meaning as the CSV form (``gameday.analysis.recorded``).

Bounded: each batch is decoded once (zstd, one batch of a few thousand rows at a time) and cut
at once into compact per-column pieces, so the peak is about the final frame plus one batch,
not the file's text plus the parser's copies plus the frame (the CSV reader's cost):

- times and latencies: float64 (seconds, milliseconds), from the stored integer microseconds;
  a column that is null throughout (the open-model columns of a closed-model run) costs nothing
  (one NaN broadcast over the rows, read-only);
- status and ok: nullable Int16 / Int8 (the CSV reader's Int64 in a quarter of the bytes);
- names, methods, errors, pools: pandas categoricals, their codes a byte or two a row, unified
  across batches (each batch carries its own dictionary);
- mission ids: pandas ``string`` over the Arrow strings themselves, no copy.

Damage, never a traceback: a file that is not a stream, lacks a column, or ends in a torn or
damaged batch is recorded with its file; every whole batch before the tear is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gameday.analysis.damage import Damage, Evidence
from gameday.contract.columnar import LOGICAL, iter_stream

_SMALL_INT = {"status": "Int16", "ok": "Int8"}
COMPACT_ROWS = 1 << 20  # small pieces (one batch each) joined into one block every million rows


@dataclass
class _Pieces:
    """One logical column's pieces, batch after batch."""

    kind: str  # scaled | int | dictionary | string
    divisor: float = 1.0
    parts: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)  # int: True where null, beside each part
    chunks: list[pa.Array] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    any_value: bool = False
    nulls: list[tuple[int, int]] = field(default_factory=list)  # scaled: (part, rows) of all-null batches
    compacted: int = 0  # parts[:compacted] are blocks already; the rest one batch each
    pending: int = 0  # rows in parts[compacted:]

    def add(self, col: pa.Array) -> None:
        if self.kind == "scaled":
            if col.null_count == len(col):  # nothing said (a closed model's t_intended): just counted
                self.nulls.append((len(self.parts), len(col)))
                self.parts.append(np.empty(0))
            else:
                self.any_value = True
                values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)  # NaN where null
                self.parts.append(np.divide(values, self.divisor))
        elif self.kind == "int":
            self.parts.append(col.fill_null(0).to_numpy(zero_copy_only=False))
            self.masks.append(col.is_null().to_numpy(zero_copy_only=False) if col.null_count else
                              np.zeros(len(col), dtype=bool))
        elif self.kind == "dictionary":
            remap = np.array([self.categories.setdefault(v, len(self.categories))
                              for v in col.dictionary.to_pylist()], dtype="int32")
            idx = col.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            self.parts.append(np.where(idx >= 0, remap[np.maximum(idx, 0)], -1) if len(remap) else
                              np.full(len(idx), -1, dtype="int32"))
        else:
            self.chunks.append(col)
            return
        self.pending += len(col)
        if self.pending >= COMPACT_ROWS:
            self._compact()

    def _fill_nulls(self) -> None:
        """Once a scaled column has a value, its all-null batches become NaN arrays (their rows count)."""
        if self.any_value:
            for i, rows in self.nulls:
                self.parts[i] = np.full(rows, np.nan)
            self.nulls.clear()

    def _compact(self) -> None:
        """Join the last batches' pieces into one block: a batch's piece is a few kilobytes from the
        heap, which a freed piece does not give back; a block is mapped memory, given back when freed.
        Without this the pieces of ten million rows would stay resident beside the finished frame."""
        k = self.compacted
        self._fill_nulls()
        if self.nulls:  # all null so far: the placeholders hold nothing to join
            self.pending = 0
            return
        if len(self.parts) - k > 1:
            self.parts[k:] = [np.concatenate(self.parts[k:])]
            if self.masks:
                self.masks[k:] = [np.concatenate(self.masks[k:])]
        self.compacted = len(self.parts)
        self.pending = 0

    def series(self, n: int, dtype: str, name: str) -> pd.Series:
        if self.kind == "scaled":
            if not self.any_value:
                return pd.Series(np.broadcast_to(np.float64(np.nan), (n,)), copy=False)
            self._fill_nulls()
            return pd.Series(_concat(self.parts), copy=False)
        if self.kind == "int":
            values, mask = _concat(self.parts), _concat(self.masks)
            small = _SMALL_INT.get(name, dtype)  # a pandas nullable integer dtype: Int8, Int16, Int64
            return pd.Series(pd.arrays.IntegerArray(values.astype(small.lower()), mask), copy=False)
        if self.kind == "dictionary":
            codes = _concat(self.parts)
            width = "int8" if len(self.categories) < 127 else "int16" if len(self.categories) < 32767 else "int32"
            return pd.Series(pd.Categorical.from_codes(codes.astype(width), categories=list(self.categories)),
                             copy=False)
        col = pa.chunked_array(self.chunks, type=pa.string())
        self.chunks.clear()
        return pd.Series(pd.arrays.ArrowStringArray(col), copy=False)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    out = np.concatenate(parts) if len(parts) != 1 else parts[0]
    parts.clear()
    return out


def read_streams(run_dir: Path, files: Sequence[Path], evidence: Evidence, columns: dict[str, str],
                 row: tuple[str, ...], schema: pa.Schema, sort_by: str) -> tuple[pd.DataFrame | None, list[Damage]]:
    """Every whole batch of ``files`` as one frame with ``columns`` (logical names; dtypes as
    the module says), rows lacking any of ``row`` dropped, sorted by ``sort_by``; None when no
    file gave a batch."""
    storage = {c: (LOGICAL[c][0] if c in LOGICAL else c) for c in columns}
    pieces = {c: _Pieces(_kind(schema.field(s).type, c in LOGICAL), LOGICAL.get(c, ("", 1.0))[1])
              for c, s in storage.items() if s in schema.names}
    damage: list[Damage] = []
    n = 0
    for path in files:
        name = path.relative_to(run_dir).as_posix()
        checked = False
        for item in iter_stream(path):
            if isinstance(item, str):
                damage.append(Damage(evidence, name, None, item))
                break
            if not checked:
                problem = _schema_problem(item.schema, schema, [storage[c] for c in pieces])
                if problem:
                    damage.append(Damage(evidence, name, None, problem))
                    break
                checked = True
            for c, p in pieces.items():
                p.add(item.column(storage[c]))
            n += item.num_rows
    pa.default_memory_pool().release_unused()  # the decoded batches: gone, not kept by the pool
    if n == 0:
        return None, damage
    df = pd.DataFrame({c: pieces[c].series(n, columns[c], c) if c in pieces else _absent(n, columns[c])
                       for c in columns}, copy=False)
    keep = np.ones(n, dtype=bool)
    for c in row:
        keep &= df[c].notna().to_numpy()
    if not keep.all():
        damage.append(Damage(evidence, ", ".join(sorted(p.name for p in files)), None,
                             f"{int((~keep).sum())} rows lack one of {', '.join(row)}"))
        df = df[keep]
    t = df[sort_by].to_numpy()
    if len(t) > 1 and not bool(np.all(t[1:] >= t[:-1])):  # several files: interleave them in time
        order = np.argsort(t, kind="stable")
        df = pd.DataFrame({c: df[c].take(order).reset_index(drop=True) for c in df.columns}, copy=False)
    return df.reset_index(drop=True), damage


def _absent(n: int, dtype: str) -> pd.Series:
    """A column the stream's schema lacks (only an optional one gets here: required ones are damage)."""
    if dtype == "float64":
        return pd.Series(np.broadcast_to(np.float64(np.nan), (n,)), copy=False)
    return pd.Series(pd.array([pd.NA] * n, dtype=dtype))


def _kind(t: pa.DataType, scaled: bool) -> str:
    if scaled:
        return "scaled"
    if pa.types.is_dictionary(t):
        return "dictionary"
    if pa.types.is_integer(t):
        return "int"
    return "string"


def _schema_problem(got: pa.Schema, expected: pa.Schema, want: list[str]) -> str | None:
    missing = [c for c in want if c not in got.names]
    if missing:
        return f"stream lacks {', '.join(missing)} (has: {', '.join(got.names)})"
    for c in want:
        if got.field(c).type != expected.field(c).type:
            return f"column {c} is {got.field(c).type}, expected {expected.field(c).type}"
    return None
