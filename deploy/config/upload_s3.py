"""Copy a run directory to S3 (optional: the CronJob runs it when GAMEDAY_S3_URI is set).

    python upload_s3.py RUN_DIR s3://bucket/prefix

Objects land under s3://bucket/prefix/<run directory name>/...; credentials and region come
from the environment (IRSA in the pod). Needs only s3:PutObject on that prefix
(deploy/iam/gameday-s3-upload-policy.json).
"""

import sys
from pathlib import Path

import boto3


def main() -> int:
    run_dir, uri = Path(sys.argv[1]), sys.argv[2]
    if not uri.startswith("s3://"):
        print(f"upload_s3: expected s3://bucket/prefix, got {uri!r}", file=sys.stderr)
        return 64
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    s3 = boto3.client("s3")
    count = 0
    for f in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        key = "/".join(x for x in (prefix.strip("/"), run_dir.name, f.relative_to(run_dir).as_posix()) if x)
        s3.upload_file(str(f), bucket, key)
        count += 1
    print(f"upload_s3: {count} files to s3://{bucket}/{'/'.join(x for x in (prefix.strip('/'), run_dir.name) if x)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
