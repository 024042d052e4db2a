"""Regenerate the offline snapshot of the AWS managed policies (``reconciler/_data/aws-managed-policies.txt.gz``)
from the installed ``moto``: ``python -m reconciler.rules.refresh_snapshot``. See :mod:`reconciler.rules.awsmanaged`
for the format; refresh it when moto is upgraded (docs/ci.md says how)."""

from __future__ import annotations

import gzip
import json
import sys
from datetime import UTC, datetime
from typing import Any

from reconciler.rules.awsmanaged import SNAPSHOT_PATH, load_snapshot


def build_snapshot(today: str | None = None) -> bytes:
    """The snapshot file's bytes, made from the installed moto (imported here only)."""
    from importlib.metadata import version  # noqa: PLC0415

    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415 - slow: only here

    data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
    policies = {
        f"arn:aws:iam::aws:policy{entry['Path']}{name}": entry for name, entry in data.items() if "Document" in entry
    }
    meta = {
        "source": "moto",
        "version": version("moto"),
        "file": "moto/iam/aws_managed_policies.py",
        "updatedAt": max(str(e["UpdateDate"]) for e in policies.values())[:10],
        "generatedAt": today or datetime.now(UTC).date().isoformat(),
        "count": len(policies),
        "format": "line 1: this JSON; then one line per policy: ARN<TAB>versionId<TAB>document (compact JSON)",
    }
    lines = [json.dumps(meta, sort_keys=True)]
    for arn, entry in sorted(policies.items()):
        document = entry["Document"]
        if isinstance(document, str):
            document = json.loads(document)
        body = json.dumps(document, separators=(",", ":"), sort_keys=True)
        lines.append(f"{arn}\t{entry['DefaultVersionId']}\t{body}")
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


def main() -> None:
    SNAPSHOT_PATH.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT_PATH.write_bytes(build_snapshot())
    fresh = load_snapshot()
    sys.stdout.write(
        f"{SNAPSHOT_PATH}: {len(fresh):,} AWS managed policies from {fresh.source} {fresh.version}, "
        f"updated through {fresh.updated_at}, {SNAPSHOT_PATH.stat().st_size:,} bytes\n"
    )


if __name__ == "__main__":
    main()
