"""Helpers for the import tests: the CLI run in-process (against the emulator the ``aws`` fixture resets)."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path
from typing import Any

import yaml

from reconciler.cli import run
from reconciler.kinds import load_directory


def run_cli(*argv: str) -> tuple[int, str]:
    """``reconciler ARGV`` in this process: (exit status, what it printed).

    ``apply`` installs SIGINT/SIGTERM handlers (finish the changes in flight): they are put back after,
    so that Ctrl-C still stops the test run.
    """
    out = io.StringIO()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = run(["--log-level", "error", *argv], out)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return code, out.getvalue()


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def plan_json(directory: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, text = run_cli("plan", str(directory), "--output", "json", *extra)
    assert code in (0, 2, 3), text
    return code, json.loads(text)


def except_errors(directory: Path, findings: dict[str, Any]) -> None:
    """Add a Settings.exceptions entry for every error finding (the user accepting them, for the test)."""
    path = directory / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = sorted({(f["rule"], f["resource"]) for f in findings["findings"] if f["severity"] == "error"})
    settings["spec"]["exceptions"] = [
        {"rule": r, "resource": res, "reason": "accepted in the test", "owner": "ml-platform"} for r, res in pairs
    ]
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


def seed_by_hand(seed_dir: Path, region: str) -> None:
    """The seed's environment as the blog post built it in the console (buckets: a name and nothing else)."""
    import boto3
    from handmade import build

    seed = load_directory(seed_dir)
    build(seed, region, skip={f"Bucket/{b}" for b in seed.of("Bucket")}, tag=False)
    s3 = boto3.client("s3")
    for name in seed.of("Bucket"):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
