"""The offline snapshot of the AWS managed policies (reconciler/_data/aws-managed-policies.txt.gz): it loads, it is
dated, it has the policies the example, the seed and the docs use, with the documents IAM returns."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pytest
from checkdirs import EXAMPLE, SEED

from reconciler.kinds import load_fleet
from reconciler.rules.awsmanaged import SNAPSHOT_PATH, is_aws_managed, load_snapshot, referenced, snapshot

REPO = Path(__file__).resolve().parents[2]


def test_the_snapshot_loads_and_is_dated() -> None:
    snap = load_snapshot()
    assert snap.source == "moto" and re.fullmatch(r"\d+\.\d+\.\d+.*", snap.version)
    assert date.fromisoformat(snap.updated_at) <= date.fromisoformat(snap.generated_at)
    assert len(snap) > 1_000  # every AWS managed policy, not a hand-picked few
    assert snap.describe()["policies"] == len(snap)
    assert SNAPSHOT_PATH.stat().st_size < 1_000_000
    assert snapshot() is snapshot()  # loaded once per process


def test_it_has_the_policies_the_example_the_seed_and_the_docs_use() -> None:
    snap = snapshot()
    used = set(referenced(load_fleet(EXAMPLE).states[0])) | set(referenced(load_fleet(SEED).states[0]))
    docs = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    used |= {arn for arn in re.findall(r"arn:aws:iam::aws:policy/[\w/+=,.@-]+", docs) if "NoSuch" not in arn}
    used.discard("arn:aws:iam::aws:policy/AmazonSageMakerFullAcess")  # CHK001's failing example
    assert "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess" in used
    assert {arn for arn in used if not snap.knows(arn)} == set()
    # the documents are the ones IAM returns (the seed's fixture was read from IAM's copy in moto)
    seed = json.loads((SEED / "aws-managed-policies.json").read_text(encoding="utf-8"))["policies"]
    for arn, entry in seed.items():
        assert snap.document(arn) == entry["document"], arn


def test_lookups_by_partition_and_path() -> None:
    snap = snapshot()
    assert snap.knows("arn:aws-cn:iam::aws:policy/AdministratorAccess")
    assert snap.document("arn:aws-us-gov:iam::aws:policy/AdministratorAccess") == snap.document(
        "arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert snap.knows("arn:aws:iam::aws:policy/service-role/AmazonSageMakerCanvasForecastAccess")
    assert not snap.knows("arn:aws:iam::aws:policy/AmazonSageMakerCanvasForecastAccess")  # the path counts
    assert not snap.knows("arn:aws:iam::aws:policy/NoSuchPolicy")
    assert snap.document("arn:aws:iam::aws:policy/NoSuchPolicy") is None
    assert is_aws_managed("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    assert not is_aws_managed("arn:aws:iam::123456789012:policy/mine")


def test_the_file_format_is_what_the_module_documents() -> None:
    lines = gzip.decompress(SNAPSHOT_PATH.read_bytes()).decode("utf-8").splitlines()
    meta = json.loads(lines[0])
    assert meta["count"] == len(lines) - 1
    arns = [line.split("\t", 1)[0] for line in lines[1:]]
    assert arns == sorted(arns)
    arn, version_id, document = lines[1].split("\t")
    assert is_aws_managed(arn) and re.fullmatch(r"v\d+", version_id) and json.loads(document)["Statement"]


def test_the_refresh_makes_the_same_policies_from_the_installed_moto() -> None:
    """Not the same bytes when moto is upgraded (that is the refresh); the same policies when it is not."""
    from reconciler.rules.refresh_snapshot import build_snapshot

    shipped = load_snapshot()
    if version("moto") != shipped.version:
        pytest.skip(f"moto {version('moto')} is installed, the snapshot is of {shipped.version}: refresh it")
    fresh = build_snapshot(today=shipped.generated_at)
    assert fresh == SNAPSHOT_PATH.read_bytes()
