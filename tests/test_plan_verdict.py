"""``plan`` predicts every refusal of ``apply``: exit 3, the verdict on the first line of every format, the
flag or edit that unblocks it; and ``apply`` then refuses the same plan before writing anything."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from clirun import REPO, cli_child, cli_here
from example_edits import remove_users
from jsonschema import Draft202012Validator

from reconciler.aws.clients import AwsConfig

ERRORS_SCHEMA = json.loads((REPO / "schemas" / "errors.schema.json").read_text())


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    return tmp_path / "ds"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def shrink_volume(ds: Path) -> None:
    edit(ds / "notebooks" / "notebooks.yaml", "volumeSizeInGB: 20", "volumeSizeInGB: 10")


def move_subnet(ds: Path) -> None:
    edit(ds / "notebooks" / "notebooks.yaml", "subnetId: subnet-0a1b2c3d4e5f60718", "subnetId: subnet-99")


def delete_two_users_with_max_deletes_1(ds: Path) -> None:
    edit(ds / "settings.yaml", "maxDeletes: 10", "maxDeletes: 1")
    remove_users(ds, "bob", "carol")  # their Studio profiles go too: released (Retain), not deleted


def admin_for_engineers(ds: Path) -> None:
    edit(
        ds / "groups" / "groups.yaml",
        "  policies:\n",
        "  policies:\n    - arn:aws:iam::aws:policy/AdministratorAccess\n",
        count=1,
    )


CASES: list[tuple[str, Callable[[Path], None], str, str, str]] = [
    (
        "volume-shrink",
        shrink_volume,
        "NotebookInstance/notebook-for-administrator: the volume of notebook notebook-for-administrator cannot shrink "
        "from 20 GB to 10 GB",
        "keep volumeSizeInGB at 20 or more in the manifest",
        "volume-shrink",
    ),
    (
        "replacement",
        move_subnet,
        "NotebookInstance/notebook-for-administrator: AWS cannot change subnetId in place, and apply replaces a "
        "resource only when asked",
        "rerun with --replace NotebookInstance/notebook-for-administrator to delete and recreate it",
        "replacement",
    ),
    (
        "max-deletes",
        delete_two_users_with_max_deletes_1,
        "the plan deletes 2 resources (User/bob, User/carol), more than the 1 allowed (Settings.maxDeletes=1)",
        "review the deletions, then rerun with --allow-deletes 2",
        "max-deletes",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_plan_says_first_what_apply_refuses_and_apply_writes_nothing(
    aws: AwsConfig, ds: Path, case: tuple[str, Callable[[Path], None], str, str, str]
) -> None:
    _, change, message, unblock, code = case
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    change(ds)
    status, text = cli_here("plan", str(ds))
    assert status == 3, text
    first, second = text.splitlines()[:2]
    assert first.startswith(f"REFUSED: apply would write nothing: {message}"), first
    assert second.startswith(f"  - {message}: ") and unblock in second, second

    status, as_json = cli_here("plan", str(ds), "--output", "json")
    assert status == 3
    verdict = json.loads(as_json)["verdict"]
    assert as_json.splitlines()[1].startswith('  "verdict"')
    assert not verdict["applies"] and [r["code"] for r in verdict["refusals"]] == [code]
    assert verdict["refusals"][0]["message"] == message

    status, markdown = cli_here("plan", str(ds), "--output", "markdown")
    assert status == 3
    assert markdown.startswith("## ⛔ Reconciler plan: refused, apply would write nothing\n\n- ")
    assert unblock.split(" ", 1)[1][:20] in markdown.split("\n\n", 2)[1]  # in the list, not in a code block

    before = _snapshot()
    status, applied = cli_here("apply", "--auto-approve", str(ds))
    assert status == 1, applied
    assert applied.startswith(f"REFUSED: apply would write nothing: {message}")
    assert applied.rstrip().endswith("Refused: nothing was changed.")
    assert _snapshot() == before


def _snapshot() -> tuple[object, ...]:
    iam, sm = boto3.client("iam"), boto3.client("sagemaker")
    notebooks = [
        sm.describe_notebook_instance(NotebookInstanceName=n["NotebookInstanceName"])
        for n in sm.list_notebook_instances()["NotebookInstances"]
    ]
    return (
        sorted(u["UserName"] for u in iam.list_users()["Users"]),
        sorted((n["NotebookInstanceName"], n["VolumeSizeInGB"], n.get("SubnetId")) for n in notebooks),
    )


def test_the_allow_deletes_flag_the_refusal_names_unblocks_it(aws: AwsConfig, ds: Path) -> None:
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    delete_two_users_with_max_deletes_1(ds)
    status, text = cli_here("plan", str(ds), "--allow-deletes", "2")
    assert status == 2, text
    assert not text.startswith("REFUSED")
    status, applied = cli_here("apply", "--auto-approve", "--allow-deletes", "2", str(ds))
    assert status == 0, applied
    assert sorted(u["UserName"] for u in boto3.client("iam").list_users()["Users"]) == ["alice"]


def test_a_checkout_that_lost_most_of_its_manifests_is_refused_by_plan_first(aws: AwsConfig, ds: Path) -> None:
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    for rel in (
        "users/users.yaml",
        "groups/groups.yaml",
        "notebooks/notebooks.yaml",
        "roles/notebook-roles.yaml",
        "policies/notebook-users.yaml",
        "buckets/buckets.yaml",
        "kms-keys/keys.yaml",
        "studio/studio.yaml",
    ):
        (ds / rel).unlink()
    edit(ds / "settings.yaml", "maxDeletes: 10", "maxDeletes: 50")
    status, text = cli_here("plan", str(ds))
    assert status == 3
    # 9 deletions (2 roles, 2 groups, 3 users, 2 policies) are fewer than half of the 22 owned resources, but the
    # 10 keys, buckets, notebooks, Studio domain and profiles are released (Retain): together most of the account
    # would leave management, which is what a broken checkout looks like.
    assert text.startswith(
        "REFUSED: apply would write nothing: the plan deletes 9 and releases 10 of the 22 resources the reconciler owns"
    )
    assert "rerun with --allow-deletes 9" in text.splitlines()[1]


def test_an_invariant_error_is_the_verdict_of_plan_and_apply(aws: AwsConfig, ds: Path) -> None:
    admin_for_engineers(ds)
    status, text = cli_here("plan", str(ds))
    assert status == 3
    assert (
        text.startswith("REFUSED: apply would write nothing: ")
        and "error finding(s) of the security invariants" in text.splitlines()[0]
    )
    status, applied = cli_here("apply", "--auto-approve", str(ds))
    assert status == 3 and "Refused: nothing was changed." in applied
    assert boto3.client("iam").list_users()["Users"] == []


def test_a_bucket_to_delete_that_holds_objects_is_refused_by_plan(aws: AwsConfig, ds: Path) -> None:
    edit(ds / "buckets" / "buckets.yaml", "deletionPolicy: Retain", "deletionPolicy: Delete", count=2)
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    s3 = boto3.client("s3")
    s3.put_bucket_policy(Bucket="sagemaker-result", Policy='{"Version":"2012-10-17","Statement":[]}')
    s3.put_object(Bucket="sagemaker-result", Key="keep-me", Body=b"data")
    text = (ds / "buckets" / "buckets.yaml").read_text()
    (ds / "buckets" / "buckets.yaml").write_text(text[: text.index("# Results")])
    status, out = cli_here("plan", str(ds))
    assert status == 3
    assert out.startswith(
        "REFUSED: apply would write nothing: Bucket/sagemaker-result: bucket sagemaker-result "
        "holds objects, and the reconciler never deletes an object"
    )
    assert "# REFUSED:" in out
    status, _ = cli_here("apply", "--auto-approve", str(ds))
    assert status == 1
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sagemaker-result")["Contents"]] == ["keep-me"]


def test_deleting_a_user_shows_every_credential_it_removes(aws: AwsConfig, ds: Path) -> None:
    assert cli_here("apply", "--auto-approve", str(ds))[0] == 0
    iam = boto3.client("iam")
    key = iam.create_access_key(UserName="carol")["AccessKey"]["AccessKeyId"]
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="carol", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    ssh = iam.upload_ssh_public_key(UserName="carol", SSHPublicKeyBody=_ssh_key())["SSHPublicKey"]["SSHPublicKeyId"]
    cert = iam.upload_signing_certificate(UserName="carol", CertificateBody=_certificate())["Certificate"]
    remove_users(ds, "carol")
    status, text = cli_here("plan", str(ds))
    assert status == 2, text
    block = text[text.index("- User/carol") :]
    assert (
        "      # deleting it also removes:\n"
        "        - login profile (console password)\n"
        f"        - access key {key} (Active)\n"
        f"        - MFA device {serial}\n"
        f"        - signing certificate {cert['CertificateId']}\n"
        f"        - SSH public key {ssh}\n"
    ) in block
    data = json.loads(cli_here("plan", str(ds), "--output", "json")[1])
    (deletion,) = [c for c in data["changes"] if c["action"] == "delete"]
    assert len(deletion["destroys"]) == 5


def test_json_output_on_failure_is_one_json_object_with_located_errors(aws: AwsConfig, ds: Path) -> None:
    (ds / "roles" / "notebook-roles.yaml").write_text(
        (ds / "roles" / "notebook-roles.yaml").read_text().replace("notebook-admin-data", "notebook-admin-dat", 1)
    )
    result = cli_child("plan", str(ds), "--output", "json", endpoint=aws.endpoint_url)
    assert result.returncode == 1
    data = json.loads(result.stdout)  # nothing but the object on stdout
    Draft202012Validator(ERRORS_SCHEMA).validate(data)
    (error,) = data["errors"]
    assert error == {
        "file": f"{ds}/roles/notebook-roles.yaml",
        "line": error["line"],
        "column": 7,
        "kind": "Role",
        "name": "notebook-for-administrator-role",
        "field": "spec.policies[0]",
        "message": "no Policy manifest named 'notebook-admin-dat' (and not a policy ARN)",
    }

    unreachable = cli_child(
        "plan", str(REPO / "desired-state"), "--output", "json", "--endpoint-url", "http://127.0.0.1:9", endpoint=None
    )
    assert unreachable.returncode == 1
    data = json.loads(unreachable.stdout)
    Draft202012Validator(ERRORS_SCHEMA).validate(data)
    assert "cannot reach AWS" in data["errors"][0]["message"]


def test_adoption_is_counted_as_adoption_everywhere(aws: AwsConfig, ds: Path) -> None:
    from handmade import build

    from reconciler.kinds import load_directory

    build(load_directory(ds), "ap-northeast-1", tag=False)
    status, planned = cli_here("plan", "--adopt", str(ds))
    assert status == 2 and "Plan: 0 to create, 0 to update, 0 to delete. (22 to adopt)" in planned
    summary = json.loads(cli_here("plan", "--adopt", "--output", "json", str(ds))[1])["summary"]
    assert (summary["adopt"], summary["update"]) == (22, 0)
    status, applied = cli_here("apply", "--auto-approve", "--adopt", str(ds))
    assert status == 0, applied
    assert "needs --adopt" not in applied
    assert "Apply: 0 created, 0 updated, 0 deleted, 22 adopted, 0 released" in applied


def _ssh_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _certificate() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reconciler test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()
