"""The mission ids the target acknowledged during the load, as the Locust plugin wrote them
(``acks.*.arrows``, one Arrow stream per Locust process; ``acks.*.csv`` in older run
directories), for the read-back at the end of a run.

Collection reads what collection wrote: the judge's parser (``gameday.analysis.recorded``, pandas) is
not needed to know which missions to ask about. This reader keeps every complete row, so it
asks about at least every mission the judge will count, an empty id included (the judge also
drops rows whose numbers are damaged; asking about one more id costs nothing). A torn last
line (a process killed mid-write) is left out, as the judge leaves it out; so is a torn last
batch of a stream (its whole batches are read).
"""

from __future__ import annotations

import csv
from pathlib import Path

from gameday.contract.rundir import ACKS_GLOB, ACKS_STREAM_GLOB


def acknowledged_mission_ids(run_dir: Path) -> list[str]:
    """Every acknowledged mission id in ``run_dir``'s ack files, in file then row order.

    A file without a ``mission_id`` column, or one that cannot be read, contributes nothing: the
    judge reports that file as damaged evidence, the read-back just has nothing to ask from it.
    """
    ids: list[str] = []
    streams = sorted(run_dir.glob(ACKS_STREAM_GLOB))
    if streams:
        from gameday.contract.columnar import iter_stream  # pyarrow: only for a run that has streams

        for path in streams:
            for batch in iter_stream(path):
                if isinstance(batch, str) or "mission_id" not in batch.schema.names:
                    break
                ids += [m or "" for m in batch.column("mission_id").to_pylist()]
    for path in sorted(run_dir.glob(ACKS_GLOB)):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines.pop()  # torn
        reader = csv.DictReader(lines)
        if reader.fieldnames is None or "mission_id" not in reader.fieldnames:
            continue
        ids += [row.get("mission_id") or "" for row in reader]
    return ids
