"""``reconciler import`` of KMS keys: customer managed aliased keys become KmsKey manifests (AWS managed keys and
keys scheduled for deletion do not), buckets and notebooks encrypted with an imported key's alias name it
(``kmsKey``), and the round trip holds: ``plan --adopt`` shows only the ownership mark of the key, and after
``apply --adopt`` nothing is left to do."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import yaml
from import_support import except_errors, plan_json, read_tree, run_cli

from reconciler.aws.clients import AwsConfig

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"


def _key(alias: str, **args: object) -> str:
    kms = boto3.client("kms")
    key_id: str = kms.create_key(**args)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key_id)
    return key_id


def _encrypted_bucket(name: str, key: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )


def test_import_writes_kms_keys_and_references_them_and_round_trips(aws: AwsConfig, tmp_path: Path) -> None:
    kms = boto3.client("kms")
    # Made by hand: KMS's own default key policy (its Sid holds spaces), rotation off, a description and a tag.
    data = _key("data", Description="training data", Tags=[{"TagKey": "team", "TagValue": "ml"}])
    _key("team/logs")  # rotation off, no description; a name with a slash
    gone = _key("old")
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.enable_key_rotation(KeyId=_key("rotated"))
    _encrypted_bucket("by-alias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/data")
    _encrypted_bucket("by-key-id", data)

    out = tmp_path / "imported"
    code, text = run_cli("import", "--out", str(out))
    assert code == 0, text
    files = read_tree(out)
    kms_files = sorted(f for f in files if f.startswith("kms-keys/"))
    assert kms_files == ["kms-keys/data.yaml", "kms-keys/rotated.yaml", "kms-keys/team/logs.yaml"]  # not "old"
    assert not any("aws/" in f for f in kms_files)  # AWS managed keys are never imported
    spec = yaml.safe_load(files["kms-keys/data.yaml"])["spec"]
    assert spec["description"] == "training data"
    assert spec["rotation"] is False
    assert spec["tags"] == {"team": "ml"}
    assert spec["policy"]["Statement"][0]["Sid"] == "Enable IAM User Permissions"
    assert "rotation" not in yaml.safe_load(files["kms-keys/rotated.yaml"])["spec"]  # the default
    by_alias = yaml.safe_load(files["buckets/by-alias.yaml"])["spec"]["encryption"]
    assert by_alias == {"type": "SSE-KMS", "kmsKey": "data"}
    by_key_id = yaml.safe_load(files["buckets/by-key-id.yaml"])["spec"]["encryption"]
    assert by_key_id == {"type": "SSE-KMS", "kmsKeyId": data}
    assert run_cli("validate", str(out))[0] == 0

    _, plan = plan_json(out, "--adopt")
    keys = {c["name"]: c for c in plan["changes"] if c["kind"] == "KmsKey"}
    assert sorted(keys) == ["data", "rotated", "team/logs"]
    for change in keys.values():
        assert change["action"] == "adopt"
        (mark,) = change["fields"]  # the ownership mark, and nothing else
        assert (mark["field"], mark["new"]) == ("tags", {**(mark["old"] or {}), "managed-by": "reconciler"})
    buckets = {c["name"]: c for c in plan["changes"] if c["kind"] == "Bucket"}
    assert all("encryption" not in [f["field"] for f in c["fields"]] for c in buckets.values())

    except_errors(out, plan["invariants"])
    code, applied = run_cli("apply", "--auto-approve", str(out), "--adopt", "--no-lease")
    assert code == 0, applied
    code, final = run_cli("plan", str(out))
    assert code == 0 and "No changes." in final, final
    tags = kms.list_resource_tags(KeyId=data)["Tags"]
    assert {"TagKey": "managed-by", "TagValue": "reconciler"} in tags
    assert json.loads(kms.get_key_policy(KeyId=data, PolicyName="default")["Policy"])["Id"] == "key-default-1"
