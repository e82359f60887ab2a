#!/bin/sh
# One scheduled game day, inside the CronJob's pod: plan (read-only, exit 64 if anything is
# outside the allow-list), then `gameday run` into a run directory on the PersistentVolumeClaim
# mounted at /runs, then (optionally) the run directory to S3. The pod's exit code is the run's:
# 0 GO, 1 NO-GO, 2 INCONCLUSIVE, 3 aborted (rollbacks played), 64 bad input.
set -u
PROFILE=/etc/gameday/profile.yaml
RUN="/runs/$(date -u +%Y%m%dT%H%M%SZ)-${GAMEDAY_RUN_NAME:-gameday}"

gameday plan "$PROFILE" || exit $?
gameday run "$PROFILE" --out "$RUN"
code=$?
ln -sfn "$(basename "$RUN")" /runs/latest || true
echo "gameday: exit $code, run directory $RUN"

if [ -n "${GAMEDAY_S3_URI:-}" ]; then
  # report.html, report.md, junit.xml, results.json, evidence: all of it (credentials from IRSA)
  python /etc/gameday/upload_s3.py "$RUN" "$GAMEDAY_S3_URI" || echo "gameday: S3 upload failed" >&2
fi
exit "$code"
