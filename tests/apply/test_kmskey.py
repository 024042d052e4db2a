"""The KmsKey kind against the embedded AWS: create, update of each field, drift repair, deletion (scheduled,
never at once) and release, adoption, an interrupted create, the import round trip, and the references of
buckets and notebooks to a key by name."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from applyenv import REGION, REPO, Env

from reconciler.aws.clients import AwsConfig, CallRecorder
from reconciler.aws.live import LiveState
from reconciler.engine.converge import PlanRefused
from reconciler.engine.differ import build_plan
from reconciler.engine.executor import Status
from reconciler.engine.plan import Action
from reconciler.errors import ManifestError
from reconciler.kinds import load_directory
from reconciler.kinds.kmskey import LiveKmsKey, default_policy

ACCOUNT = "123456789012"
OWNER = {"TagKey": "managed-by", "TagValue": "reconciler"}
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/data"


def manifest(kind: str, name: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump({"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})


@pytest.fixture
def kenv(aws: AwsConfig, tmp_path: Path) -> Env:
    """Settings of the example, and one KmsKey ``data`` (tagged, described)."""
    root = tmp_path / "ds"
    root.mkdir()
    shutil.copy(REPO / "desired-state" / "settings.yaml", root / "settings.yaml")
    env = Env(aws, root)
    write_key(env, {"description": "training data", "tags": {"team": "ml"}})
    return env


def write_key(env: Env, spec: dict[str, Any], name: str = "data") -> None:
    (env.root / "kms-keys").mkdir(exist_ok=True)
    (env.root / "kms-keys" / f"{name}.yaml").write_text(manifest("KmsKey", name, spec))


def kms() -> Any:
    return boto3.client("kms")


def key_of(alias: str = "alias/data") -> dict[str, Any]:
    meta: dict[str, Any] = kms().describe_key(KeyId=alias)["KeyMetadata"]
    return meta


def tags_of(key_id: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = kms().list_resource_tags(KeyId=key_id)["Tags"]
    return tags


def policy_of(key_id: str) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(kms().get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    return policy


def refs(env: Env) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in env.plan()]


def test_create_makes_the_key_its_alias_rotation_policy_and_tags(kenv: Env) -> None:
    (create,) = kenv.plan().changes
    assert (create.action, create.ref) == (Action.CREATE, "KmsKey/data")
    shown = {f.field: f.new for f in create.fields}
    # The default key policy is shown in the plan: it delegates to the account.
    assert shown["policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert (shown["rotation"], shown["state"]) == (True, "Enabled")
    assert kms().list_aliases()["Aliases"] == [a for a in kms().list_aliases()["Aliases"] if "aws/" in a["AliasName"]]

    result = kenv.apply()
    assert result.ok and result.done(Action.CREATE) == 1, result.summary()
    meta = key_of()
    assert (meta["KeyManager"], meta["KeyState"], meta["Description"]) == ("CUSTOMER", "Enabled", "training data")
    assert kms().get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    statement = policy_of(meta["KeyId"])["Statement"][0]
    assert (statement["Action"], statement["Principal"]["AWS"]) == ("kms:*", f"arn:aws:iam::{ACCOUNT}:root")
    tags = tags_of(meta["KeyId"])
    assert OWNER in tags and {"TagKey": "team", "TagValue": "ml"} in tags
    assert refs(kenv) == []  # converged


def test_each_field_is_updated_in_place(kenv: Env) -> None:
    assert kenv.apply().ok
    key_id = key_of()["KeyId"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Key admins",  # a key policy's Sid may hold spaces
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"},
                "Action": ["kms:Describe*", "kms:Put*"],
                "Resource": "*",
            }
        ],
    }
    write_key(kenv, {"description": "raw data", "rotation": False, "policy": policy, "tags": {"team": "data"}})
    # Rotation off is an error finding (KMS002) that refuses the apply: recorded as a deliberate exception, this
    # test being about the update of each field, not about the rules.
    kenv.edit(
        "settings.yaml",
        lambda t: (
            t.rstrip("\n")
            + "\n  exceptions:\n    - {rule: KMS002, resource: KmsKey/data, owner: ml-platform,\n"
            + '       reason: "the test turns rotation off"}\n'
        ),
    )
    (update,) = kenv.plan().changes
    assert update.action is Action.UPDATE
    assert [f.field for f in update.fields] == ["description", "policy", "rotation", "tags"]
    assert kenv.apply().ok
    meta = key_of()
    assert meta["KeyId"] == key_id  # the same key, changed in place
    assert meta["Description"] == "raw data"
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    assert policy_of(key_id)["Statement"][0]["Sid"] == "Key admins"
    tags = tags_of(key_id)
    assert {"TagKey": "team", "TagValue": "data"} in tags and OWNER in tags
    assert refs(kenv) == []


def test_drift_made_by_hand_is_repaired(kenv: Env) -> None:
    assert kenv.apply().ok
    key_id = key_of()["KeyId"]
    kms().disable_key_rotation(KeyId=key_id)
    kms().put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}],
            }
        ),
    )
    kms().untag_resource(KeyId=key_id, TagKeys=["team"])
    kms().disable_key(KeyId=key_id)
    (update,) = kenv.plan().changes
    assert [f.field for f in update.fields] == ["policy", "rotation", "state", "tags"]
    state = next(f for f in update.fields if f.field == "state")
    assert (state.old, state.new) == ("Disabled", "Enabled")
    assert any("apply enables it" in n for n in update.notes)
    assert update.blocker is None
    assert kenv.apply().ok
    meta = key_of()
    assert (meta["KeyState"], meta["Enabled"]) == ("Enabled", True)
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert policy_of(key_id)["Statement"][0]["Sid"] == "EnableIAMUserPermissions"
    assert {"TagKey": "team", "TagValue": "ml"} in tags_of(key_id)
    assert refs(kenv) == []


def test_a_deletion_scheduled_by_hand_is_cancelled(kenv: Env) -> None:
    assert kenv.apply().ok
    key_id = key_of()["KeyId"]
    kms().schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    (update,) = kenv.plan().changes
    state = next(f for f in update.fields if f.field == "state")
    assert (state.old, state.new) == ("PendingDeletion", "Enabled")
    assert any("cancels the deletion" in n for n in update.notes)
    assert kenv.apply().ok
    assert key_of()["KeyState"] == "Enabled"
    assert refs(kenv) == []


def test_delete_schedules_the_deletion_with_the_window_and_removes_the_alias(kenv: Env) -> None:
    write_key(kenv, {"deletionPolicy": "Delete", "pendingWindowDays": 7})
    assert kenv.apply().ok
    key_id = key_of()["KeyId"]
    (kenv.root / "kms-keys" / "data.yaml").unlink()
    (deletion,) = kenv.plan().changes
    assert (deletion.action, deletion.ref) == (Action.DELETE, "KmsKey/data")
    assert deletion.destroys == (
        "its alias alias/data, at once",
        f"the key {key_id}: scheduled for deletion in 7 days; data encrypted under it becomes unreadable "
        "unless the deletion is cancelled (kms:CancelKeyDeletion) before then",
    )
    before = datetime.now(UTC)
    assert kenv.apply(allow_deletes=1).ok
    meta = kms().describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"  # never deleted at once
    assert timedelta(days=6) < meta["DeletionDate"] - before < timedelta(days=8)
    assert [a for a in kms().list_aliases()["Aliases"] if a["AliasName"] == "alias/data"] == []
    assert refs(kenv) == []


def test_retain_releases_the_key_untouched(kenv: Env) -> None:
    assert kenv.apply().ok
    key_id = key_of()["KeyId"]
    (kenv.root / "kms-keys" / "data.yaml").unlink()
    (release,) = kenv.plan().changes
    assert (release.action, release.destroys) == (Action.RELEASE, ())
    assert kenv.apply(allow_deletes=1).ok
    meta = key_of()
    assert (meta["KeyId"], meta["KeyState"]) == (key_id, "Enabled")
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert tags_of(key_id) == [{"TagKey": "team", "TagValue": "ml"}]  # only the marks went
    assert refs(kenv) == []


def test_a_key_made_by_hand_is_adopted_only_with_adopt(kenv: Env) -> None:
    key_id = kms().create_key(Description="training data", Tags=[{"TagKey": "team", "TagValue": "ml"}])
    key_id = key_id["KeyMetadata"]["KeyId"]
    kms().create_alias(AliasName="alias/data", TargetKeyId=key_id)
    (adopt,) = kenv.plan().changes
    assert adopt.action is Action.ADOPT
    with pytest.raises(PlanRefused):
        kenv.apply()
    assert OWNER not in tags_of(key_id)
    assert kenv.apply(adopt=True).ok
    assert key_of()["KeyId"] == key_id
    assert OWNER in tags_of(key_id)
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert refs(kenv) == []


def test_a_create_interrupted_before_the_alias_reuses_its_key(kenv: Env) -> None:
    # What CreateKey left when the run stopped before CreateAlias: the key, with its marks, no alias.
    orphan = kms().create_key(
        Description="training data",
        Tags=[OWNER, {"TagKey": "team", "TagValue": "ml"}, {"TagKey": "reconciler/kms-alias", "TagValue": "data"}],
    )["KeyMetadata"]["KeyId"]
    before = {k["KeyId"] for k in kms().list_keys()["Keys"]}
    assert refs(kenv) == [("create", "KmsKey/data")]
    assert kenv.apply().ok
    assert key_of()["KeyId"] == orphan
    assert {k["KeyId"] for k in kms().list_keys()["Keys"]} == before  # no second key
    assert refs(kenv) == []


class OrderedRecorder(CallRecorder):
    """A call recorder that also keeps the order of the calls."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[str, str]] = []

    def record(self, service: str, operation: str) -> None:
        super().record(service, operation)
        self.order.append((service, operation))


def test_a_bucket_encrypted_with_a_key_by_name_is_created_after_it(kenv: Env) -> None:
    (kenv.root / "buckets").mkdir()
    (kenv.root / "buckets" / "b.yaml").write_text(
        manifest("Bucket", "encrypted-data", {"encryption": {"type": "SSE-KMS", "kmsKey": "data"}})
    )
    plan = kenv.plan()
    bucket = next(c for c in plan if c.kind == "Bucket")
    assert next(f.new for f in bucket.fields if f.field == "encryption") == {"type": "SSE-KMS", "kmsKeyId": ALIAS_ARN}
    recorder = OrderedRecorder()
    assert kenv.apply(recorder=recorder, max_workers=8).ok
    assert recorder.order.index(("kms", "CreateAlias")) < recorder.order.index(("s3", "CreateBucket"))
    rule = boto3.client("s3").get_bucket_encryption(Bucket="encrypted-data")["ServerSideEncryptionConfiguration"]
    assert rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == ALIAS_ARN
    assert refs(kenv) == []


def test_a_key_whose_policy_names_a_role_waits_for_the_role(kenv: Env) -> None:
    """KMS refuses a key policy whose principals do not exist: the key depends on the roles its policy names,
    so it is created after them, and not at all when the role's create fails."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/loader"
    broken = {"trustedServices": ["sagemaker.amazonaws.com"], "policies": ["arn:aws:iam::aws:policy/NoSuchPolicyAtAll"]}
    (kenv.root / "roles").mkdir()
    (kenv.root / "roles" / "r.yaml").write_text(manifest("Role", "loader", broken))
    root = f"arn:aws:iam::{ACCOUNT}:root"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {
                "Sid": "Loader",
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": "kms:Encrypt",
                "Resource": "*",
            },
        ],
    }
    write_key(kenv, {"policy": policy})
    result = kenv.apply()
    assert [o.change.ref for o in result.of(Status.FAILED)] == ["Role/loader"]
    (skipped,) = result.of(Status.SKIPPED)
    assert skipped.change.ref == "KmsKey/data" and "Role/loader" in (skipped.message or "")
    assert all(a["AliasName"] != "alias/data" for a in kms().list_aliases()["Aliases"])
    # Once the role is right, the next apply converges the role, then makes the key.
    (kenv.root / "roles" / "r.yaml").write_text(
        manifest("Role", "loader", {"trustedServices": ["sagemaker.amazonaws.com"]})
    )
    assert kenv.apply().ok
    assert key_of()["KeyState"] == "Enabled"
    assert refs(kenv) == []


BUCKET = """\
apiVersion: reconciler/v1
kind: Bucket
metadata:
  name: encrypted-data
spec:
  encryption:
    type: SSE-KMS
    kmsKey: nope
"""
NOTEBOOK = """\
apiVersion: reconciler/v1
kind: NotebookInstance
metadata:
  name: nb
spec:
  instanceType: ml.t3.medium
  role: r
  kmsKey: ghost
"""


def test_a_reference_to_an_undeclared_key_is_a_located_error(kenv: Env) -> None:
    (kenv.root / "buckets").mkdir()
    (kenv.root / "buckets" / "b.yaml").write_text(BUCKET)
    (kenv.root / "notebooks").mkdir()
    (kenv.root / "notebooks" / "n.yaml").write_text(NOTEBOOK)
    with pytest.raises(ManifestError) as raised:
        load_directory(kenv.root, display_root=".")
    problems = [str(p) for p in raised.value.problems]
    assert (
        "buckets/b.yaml:8:13: Bucket/encrypted-data: spec.encryption.kmsKey: no KmsKey manifest named 'nope'"
        in problems
    )
    assert "notebooks/n.yaml:8:11: NotebookInstance/nb: spec.kmsKey: no KmsKey manifest named 'ghost'" in problems


def test_a_notebook_refers_to_a_key_by_its_alias_arn(kenv: Env) -> None:
    (kenv.root / "notebooks").mkdir()
    spec = {
        "instanceType": "ml.t3.medium",
        "role": "r",
        "kmsKey": "data",
        "subnetId": "subnet-0a1b2c3d4e5f60718",
        "securityGroupIds": ["sg-0a1b2c3d4e5f60718"],
    }
    (kenv.root / "notebooks" / "n.yaml").write_text(manifest("NotebookInstance", "nb", spec))
    (kenv.root / "roles").mkdir()
    (kenv.root / "roles" / "r.yaml").write_text(manifest("Role", "r", {"trustedServices": ["sagemaker.amazonaws.com"]}))
    notebook = next(c for c in kenv.plan() if c.kind == "NotebookInstance")
    assert next(f.new for f in notebook.fields if f.field == "kmsKeyId") == ALIAS_ARN
    assert kenv.apply().ok
    described = boto3.client("sagemaker").describe_notebook_instance(NotebookInstanceName="nb")
    assert described["KmsKeyId"] == ALIAS_ARN
    assert refs(kenv) == []


def test_plan_refuses_a_key_apply_cannot_enable(tmp_path: Path) -> None:
    """A key whose material awaits import is neither enabled nor disabled: plan says apply refuses it (no AWS)."""
    root = tmp_path / "ds"
    root.mkdir()
    shutil.copy(REPO / "desired-state" / "settings.yaml", root / "settings.yaml")
    (root / "k.yaml").write_text(manifest("KmsKey", "data", {}))
    desired = load_directory(root)
    live = LiveKmsKey(
        name="data",
        arn=ALIAS_ARN,
        key_id="k-1",
        key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1",
        state="PendingImport",
        enabled=False,
        tags={"managed-by": "reconciler"},
        detailed=True,
        policy=default_policy(ACCOUNT),
        rotation=False,
    )
    (change,) = build_plan(desired, LiveState(ACCOUNT, REGION, {"KmsKey": {"data": live}})).changes
    assert change.blocker is not None and change.blocker.code == "key-state"
    assert "PendingImport" in change.blocker.message


@pytest.mark.parametrize(
    ("name", "spec", "problem"),
    [
        ("aws/s3", {}, 'metadata.name: "aws/s3" does not match'),  # AWS's own aliases
        ("data", {"pendingWindowDays": 3}, "spec.pendingWindowDays: 3 is less than the minimum of 7"),
        ("data", {"pendingWindowDays": 31}, "spec.pendingWindowDays: 31 is greater than the maximum of 30"),
        ("data", {"rotation": "yes"}, 'spec.rotation: expected boolean, got string "yes"'),
        (
            "data",
            {"policy": {"Statement": [{"Effect": "Allow", "Resource": "*"}]}},
            "exactly one of Action or NotAction",
        ),
    ],
)
def test_invalid_kms_key_manifests_are_refused(tmp_path: Path, name: str, spec: dict[str, Any], problem: str) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    shutil.copy(REPO / "desired-state" / "settings.yaml", root / "settings.yaml")
    (root / "k.yaml").write_text(manifest("KmsKey", name, spec))
    with pytest.raises(ManifestError) as raised:
        load_directory(root)
    assert problem in str(raised.value)
