"""Adding a kind takes its package, its schema and one line in the kind list (docs/architecture.md).

The toy kind in tests/fixtures/toykind/ (an SQS queue: model, read, steps, import) is added to a temporary copy of
the package, and nothing else is changed there. The copy's command line then validates, plans, applies,
detects drift of, prunes and imports queues against the emulator, with the generic machinery alone.
"""

from __future__ import annotations

import difflib
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from clirun import child_env
from deploy.iam_coverage import RECORD_ENV

from reconciler.aws.clients import AwsConfig

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toykind"
SETTINGS = """\
apiVersion: reconciler/v1
kind: Settings
metadata:
  name: toy
spec:
  accountId: "123456789012"
  region: ap-northeast-1
"""


def queue(name: str, delay: int) -> str:
    return f"apiVersion: reconciler/v1\nkind: Queue\nmetadata:\n  name: {name}\nspec:\n  delaySeconds: {delay}\n"


def _ignore(_: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


@pytest.fixture(scope="module")
def copy_with_toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    shutil.copytree(REPO / "reconciler", root / "reconciler", ignore=_ignore)
    shutil.copytree(REPO / "schemas", root / "schemas")
    # 1. the kind's package, 2. its schema, 3. one line in the kind list
    shutil.copytree(TOY / "queue", root / "reconciler" / "kinds" / "queue", ignore=_ignore)
    shutil.copy(TOY / "queue.schema.json", root / "schemas" / "queue.schema.json")
    registry = root / "reconciler" / "kinds" / "registry.py"
    text = registry.read_text()
    assert '    "notebook",\n' in text
    registry.write_text(text.replace('    "notebook",\n', '    "notebook",\n    "queue",\n'))
    return root


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_the_toy_kind_changes_nothing_but_its_package_its_schema_and_one_line(copy_with_toy: Path) -> None:
    for tree in ("reconciler", "schemas"):
        ours, theirs = REPO / tree, copy_with_toy / tree
        added = _files(theirs) - _files(ours)
        assert _files(ours) <= _files(theirs)
        expected = {
            "schemas": {"queue.schema.json"},
            "reconciler": {f"kinds/queue/{f.name}" for f in (TOY / "queue").glob("*.py")},
        }
        assert added == expected[tree]
        changed = sorted(f for f in _files(ours) if not filecmp.cmp(ours / f, theirs / f, shallow=False))
        assert changed == (["kinds/registry.py"] if tree == "reconciler" else [])
    before = (REPO / "reconciler/kinds/registry.py").read_text().splitlines()
    after = (copy_with_toy / "reconciler/kinds/registry.py").read_text().splitlines()
    diff = [line for line in difflib.unified_diff(before, after, lineterm="", n=0) if line[:1] in "+-"]
    assert diff == ["--- ", "+++ ", '+    "queue",']


def run(copy: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The copy's ``reconciler ARGS`` (its package first on the path)."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "--log-level", "error", *args],
        cwd=copy,
        # (not recorded for deploy/iam's coverage: the toy kind's SQS calls are not the product's)
        env={k: v for k, v in child_env(endpoint, PYTHONPATH=str(copy)).items() if k != RECORD_ENV},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_generic_machinery_plans_applies_prunes_and_imports_the_toy_kind(
    copy_with_toy: Path, aws: AwsConfig, tmp_path: Path
) -> None:
    endpoint = str(aws.endpoint_url)
    manifests = tmp_path / "manifests"
    (manifests / "queues").mkdir(parents=True)
    (manifests / "settings.yaml").write_text(SETTINGS)
    (manifests / "queues" / "jobs.yaml").write_text(queue("jobs", 5))
    sqs = boto3.client("sqs")

    assert run(copy_with_toy, endpoint, "validate", str(manifests)).returncode == 0
    bad = tmp_path / "bad"
    shutil.copytree(manifests, bad)
    (bad / "queues" / "jobs.yaml").write_text(queue("jobs", 5000))  # over the schema's maximum
    refused = run(copy_with_toy, endpoint, "validate", str(bad))
    assert refused.returncode == 1 and "jobs.yaml" in refused.stderr + refused.stdout

    planned = run(copy_with_toy, endpoint, "plan", str(manifests))
    assert planned.returncode == 2, planned.stderr
    assert "Queue/jobs" in planned.stdout and "delaySeconds: 5" in planned.stdout
    assert sqs.list_queues().get("QueueUrls") is None  # plan never writes

    applied = run(copy_with_toy, endpoint, "apply", str(manifests), "--auto-approve")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]["DelaySeconds"] == "5"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"managed-by": "reconciler"}
    assert run(copy_with_toy, endpoint, "plan", str(manifests)).returncode == 0  # in sync

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "60"})  # drift, by hand
    drift = run(copy_with_toy, endpoint, "plan", str(manifests))
    assert drift.returncode == 2 and "delaySeconds: 60 -> 5" in drift.stdout, drift.stdout
    assert run(copy_with_toy, endpoint, "apply", str(manifests), "--auto-approve").returncode == 0
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]["DelaySeconds"] == "5"

    sqs.create_queue(QueueName="by-hand")  # not owned: never touched, imported on request
    imported = tmp_path / "imported"
    result = run(copy_with_toy, endpoint, "import", "--out", str(imported), "--kinds", "Queue")
    assert result.returncode == 0, result.stderr + result.stdout
    assert sorted(p.name for p in (imported / "queues").iterdir()) == ["by-hand.yaml", "jobs.yaml"]
    assert "delaySeconds: 5" in (imported / "queues" / "jobs.yaml").read_text()

    (manifests / "queues" / "jobs.yaml").unlink()  # gone from git: pruned (the kind's default is Delete)
    pruned = run(copy_with_toy, endpoint, "plan", str(manifests))
    # the guard against a checkout that lost its manifests holds for the new kind too
    assert pruned.returncode == 3 and "--allow-deletes 1" in pruned.stdout, pruned.stdout
    assert "- Queue/jobs" in pruned.stdout and "by-hand" not in pruned.stdout
    allowed = run(copy_with_toy, endpoint, "apply", str(manifests), "--auto-approve", "--allow-deletes", "1")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    names = sorted(u.rsplit("/", 1)[-1] for u in sqs.list_queues().get("QueueUrls", []))
    assert names == ["by-hand"]
