"""The embedded AWS emulator: reset, the APIs the kinds add to moto, and ``run_sandbox``."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from io import StringIO
from typing import IO, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsConfig
from reconciler.errors import ReconcilerError
from reconciler.sandbox import DEFAULT_ACCOUNT_ID, Emulator, run_sandbox

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SAGEMAKER_FULL = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/notebook"
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
REGION = "ap-northeast-1"


def client(aws: AwsConfig, service: str) -> Any:
    """A plain boto3 client (no factory) for the emulator."""
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION, config=aws.botocore_config())


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


# --- reset ----------------------------------------------------------------------------------------


def populate(aws: AwsConfig) -> dict[str, str]:
    """Create some state in every service the product uses; return credentials of an assumed role."""
    iam = client(aws, "iam")
    iam.create_role(RoleName="notebook", AssumeRolePolicyDocument=TRUST_POLICY)
    iam.attach_role_policy(RoleName="notebook", PolicyArn=ADMIN)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="notebook", PolicyName="inline", PolicyDocument=json.dumps(policy))
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.attach_group_policy(GroupName="admins", PolicyArn=SAGEMAKER_FULL)
    iam.create_policy(PolicyName="mine", PolicyDocument=json.dumps(policy))
    # moto (unlike AWS) lets AWS managed policies be tagged and versioned: that must not survive reset
    iam.tag_policy(PolicyArn=ADMIN, Tags=[{"Key": "leak", "Value": "yes"}])
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=ADMIN, PolicyDocument=json.dumps(deny), SetAsDefault=True)

    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"v")

    sagemaker = client(aws, "sagemaker")
    sagemaker.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc")
    sagemaker.create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=ROLE_ARN, LifecycleConfigName="lc"
    )

    dynamodb = client(aws, "dynamodb")
    dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="locks", Item={"pk": {"S": "x"}})

    credentials: dict[str, str] = client(aws, "sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="session")[
        "Credentials"
    ]
    return credentials


def assumed_identity(aws: AwsConfig, credentials: dict[str, str]) -> str:
    sts = boto3.client(
        "sts",
        endpoint_url=aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return str(sts.get_caller_identity()["Arn"])


def test_reset_clears_every_service_and_keeps_managed_policies(aws: AwsConfig, emulator: Emulator) -> None:
    iam = client(aws, "iam")
    pristine_admin = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    credentials = populate(aws)
    assert iam.get_policy(PolicyArn=ADMIN)["Policy"]["AttachmentCount"] == 1
    assert assumed_identity(aws, credentials).endswith(":assumed-role/notebook/session")

    emulator.reset()

    scoped = iam.get_account_authorization_details(Filter=["User", "Role", "Group", "LocalManagedPolicy"])
    assert scoped["UserDetailList"] == []
    assert scoped["RoleDetailList"] == []
    assert scoped["GroupDetailList"] == []
    assert scoped["Policies"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert client(aws, "s3").list_buckets()["Buckets"] == []
    sagemaker = client(aws, "sagemaker")
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
    assert sagemaker.list_notebook_instance_lifecycle_configs()["NotebookInstanceLifecycleConfigs"] == []
    assert client(aws, "dynamodb").list_tables()["TableNames"] == []
    assert ":assumed-role/" not in assumed_identity(aws, credentials)

    admin = iam.get_policy(PolicyArn=ADMIN)["Policy"]
    assert admin["AttachmentCount"] == 0
    assert admin.get("Tags", []) == []
    assert admin["DefaultVersionId"] == pristine_admin["DefaultVersionId"]
    version = iam.get_policy_version(PolicyArn=ADMIN, VersionId=admin["DefaultVersionId"])["PolicyVersion"]
    assert version["Document"]["Statement"] == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=ADMIN)["Versions"]] == ["v1"]
    assert iam.get_policy(PolicyArn=SAGEMAKER_FULL)["Policy"]["AttachmentCount"] == 0

    # and they still attach
    iam.create_role(RoleName="again", AssumeRolePolicyDocument=TRUST_POLICY)
    iam.attach_role_policy(RoleName="again", PolicyArn=SAGEMAKER_FULL)
    attached = iam.list_attached_role_policies(RoleName="again")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SAGEMAKER_FULL]


def test_reset_restores_a_deleted_managed_policy(aws: AwsConfig, emulator: Emulator) -> None:
    iam = client(aws, "iam")
    iam.delete_policy(PolicyArn=SAGEMAKER_FULL)  # moto allows it; AWS would not
    with pytest.raises(ClientError):
        iam.get_policy(PolicyArn=SAGEMAKER_FULL)
    emulator.reset()
    assert iam.get_policy(PolicyArn=SAGEMAKER_FULL)["Policy"]["Arn"] == SAGEMAKER_FULL


def test_reset_is_fast(aws: AwsConfig, emulator: Emulator) -> None:
    iam = client(aws, "iam")
    durations = []
    for _ in range(5):
        iam.create_role(RoleName="timed", AssumeRolePolicyDocument=TRUST_POLICY)
        iam.attach_role_policy(RoleName="timed", PolicyArn=ADMIN)
        started = time.perf_counter()
        emulator.reset()
        iam.get_policy(PolicyArn=ADMIN)  # the first request after a reset pays for anything deferred
        durations.append(time.perf_counter() - started)
    # POST /moto-api/reset takes about 1.2 s here; generous bound against slow CI machines
    assert min(durations) < 0.5, durations


# --- notebook instances ---------------------------------------------------------------------------


def test_describe_notebook_instance_returns_every_field(aws: AwsConfig) -> None:
    sagemaker = client(aws, "sagemaker")
    sagemaker.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc")
    sagemaker.create_notebook_instance(
        NotebookInstanceName="locked",
        InstanceType="ml.t3.medium",
        RoleArn=ROLE_ARN,
        SubnetId="subnet-0123",
        SecurityGroupIds=["sg-0123"],
        KmsKeyId="arn:aws:kms:ap-northeast-1:123456789012:key/abc",
        LifecycleConfigName="lc",
        DirectInternetAccess="Disabled",
        VolumeSizeInGB=20,
        RootAccess="Disabled",
    )
    described = sagemaker.describe_notebook_instance(NotebookInstanceName="locked")
    assert described["NotebookInstanceStatus"] == "InService"
    assert described["RoleArn"] == ROLE_ARN
    assert described["InstanceType"] == "ml.t3.medium"
    assert described["SubnetId"] == "subnet-0123"
    assert described["SecurityGroups"] == ["sg-0123"]
    assert described["KmsKeyId"] == "arn:aws:kms:ap-northeast-1:123456789012:key/abc"
    assert described["NotebookInstanceLifecycleConfigName"] == "lc"
    assert described["DirectInternetAccess"] == "Disabled"
    assert described["VolumeSizeInGB"] == 20
    assert described["RootAccess"] == "Disabled"


def test_notebook_defaults_match_aws(aws: AwsConfig) -> None:
    sagemaker = client(aws, "sagemaker")
    sagemaker.create_notebook_instance(NotebookInstanceName="plain", InstanceType="ml.t3.medium", RoleArn=ROLE_ARN)
    described = sagemaker.describe_notebook_instance(NotebookInstanceName="plain")
    assert described["RootAccess"] == "Enabled"
    assert described["DirectInternetAccess"] == "Enabled"
    assert described["VolumeSizeInGB"] == 5
    assert "NotebookInstanceLifecycleConfigName" not in described


@pytest.fixture
def stopped_notebook(aws: AwsConfig) -> Iterator[Any]:
    sagemaker = client(aws, "sagemaker")
    sagemaker.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc-a")
    sagemaker.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="lc-b")
    sagemaker.create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=ROLE_ARN, LifecycleConfigName="lc-a"
    )
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb")
    yield sagemaker


def test_update_notebook_instance_when_stopped(stopped_notebook: Any) -> None:
    sagemaker = stopped_notebook
    before = sagemaker.describe_notebook_instance(NotebookInstanceName="nb")
    time.sleep(0.01)
    sagemaker.update_notebook_instance(
        NotebookInstanceName="nb",
        RootAccess="Disabled",
        InstanceType="ml.t3.large",
        VolumeSizeInGB=30,
        RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/other",
        LifecycleConfigName="lc-b",
    )
    after = sagemaker.describe_notebook_instance(NotebookInstanceName="nb")
    assert after["RootAccess"] == "Disabled"
    assert after["InstanceType"] == "ml.t3.large"
    assert after["VolumeSizeInGB"] == 30
    assert after["RoleArn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/other"
    assert after["NotebookInstanceLifecycleConfigName"] == "lc-b"
    assert after["NotebookInstanceStatus"] == "Stopped"
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    assert after["CreationTime"] == before["CreationTime"]

    sagemaker.update_notebook_instance(NotebookInstanceName="nb", DisassociateLifecycleConfig=True)
    after = sagemaker.describe_notebook_instance(NotebookInstanceName="nb")
    assert "NotebookInstanceLifecycleConfigName" not in after
    assert after["RootAccess"] == "Disabled"  # untouched fields stay


def test_update_notebook_instance_is_refused_unless_stopped(aws: AwsConfig) -> None:
    sagemaker = client(aws, "sagemaker")
    sagemaker.create_notebook_instance(NotebookInstanceName="busy", InstanceType="ml.t3.medium", RoleArn=ROLE_ARN)
    with pytest.raises(ClientError) as error:
        sagemaker.update_notebook_instance(NotebookInstanceName="busy", RootAccess="Disabled")
    assert error_code(error) == "ValidationException"
    assert "InService" in str(error.value)
    assert sagemaker.describe_notebook_instance(NotebookInstanceName="busy")["RootAccess"] == "Enabled"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"InstanceType": "ml.nope.huge"}, "instanceType"),
        ({"RootAccess": "Sometimes"}, "rootAccess"),
        ({"LifecycleConfigName": "absent"}, "does not exist"),
        ({"LifecycleConfigName": "lc-b", "DisassociateLifecycleConfig": True}, "cannot both"),
    ],
)
def test_update_notebook_instance_validates(stopped_notebook: Any, changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as error:
        stopped_notebook.update_notebook_instance(NotebookInstanceName="nb", **changes)
    assert error_code(error) == "ValidationException"
    assert fragment in str(error.value)


def test_update_notebook_instance_cannot_shrink_the_volume(stopped_notebook: Any) -> None:
    stopped_notebook.update_notebook_instance(NotebookInstanceName="nb", VolumeSizeInGB=50)
    with pytest.raises(ClientError) as error:
        stopped_notebook.update_notebook_instance(NotebookInstanceName="nb", VolumeSizeInGB=10)
    assert error_code(error) == "ValidationException"
    assert stopped_notebook.describe_notebook_instance(NotebookInstanceName="nb")["VolumeSizeInGB"] == 50


def test_update_unknown_notebook_instance(aws: AwsConfig) -> None:
    with pytest.raises(ClientError) as error:
        client(aws, "sagemaker").update_notebook_instance(NotebookInstanceName="ghost", RootAccess="Disabled")
    assert error_code(error) == "ValidationException"


def test_lifecycle_configs_list_and_update(aws: AwsConfig) -> None:
    sagemaker = client(aws, "sagemaker")
    for name in ("c-one", "a-two", "b-three"):
        sagemaker.create_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=name, OnStart=[{"Content": "ZWNobyBoaQ=="}]
        )
    listed = sagemaker.list_notebook_instance_lifecycle_configs(SortBy="Name", SortOrder="Ascending")
    names = [c["NotebookInstanceLifecycleConfigName"] for c in listed["NotebookInstanceLifecycleConfigs"]]
    assert names == ["a-two", "b-three", "c-one"]
    assert "NextToken" not in listed

    paginator = sagemaker.get_paginator("list_notebook_instance_lifecycle_configs")
    pages = list(paginator.paginate(SortBy="Name", NameContains="-t", PaginationConfig={"PageSize": 1}))
    paged = [c["NotebookInstanceLifecycleConfigName"] for p in pages for c in p["NotebookInstanceLifecycleConfigs"]]
    assert paged == ["a-two", "b-three"]
    assert len(pages) == 2

    sagemaker.update_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="a-two", OnStart=[{"Content": "ZWNobyBieWU="}]
    )
    described = sagemaker.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="a-two")
    assert described["OnStart"] == [{"Content": "ZWNobyBieWU="}]
    with pytest.raises(ClientError) as error:
        sagemaker.update_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="absent")
    assert error_code(error) == "ValidationException"


# --- lifecycle of the emulator itself ---------------------------------------------------------------


def test_a_second_emulator_on_a_busy_port_fails_cleanly(emulator: Emulator) -> None:
    with pytest.raises(ReconcilerError, match=str(emulator.port)):
        Emulator.start(port=emulator.port)


def test_stopped_emulator_no_longer_answers() -> None:
    with Emulator.start() as extra:
        assert extra.url == f"http://127.0.0.1:{extra.port}"
        with urllib.request.urlopen(f"{extra.url}/moto-api/data.json", timeout=10) as response:
            assert response.status == 200
    extra.stop()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{extra.url}/moto-api/data.json", timeout=2)
    with pytest.raises(ReconcilerError):
        extra.reset()


def test_importing_has_no_side_effects() -> None:
    # Neither the sandbox, nor the kinds, nor the kinds' emulator additions import moto until installed.
    code = (
        "import importlib, importlib.util, os, sys\n"
        "import reconciler.sandbox, reconciler.aws.clients, reconciler.kinds\n"
        "for kind in reconciler.kinds.REGISTRY.values():\n"
        "    name = type(kind).__module__ + '.emulator'\n"
        "    if importlib.util.find_spec(name) is not None:\n"
        "        importlib.import_module(name)\n"
        "assert 'reconciler.kinds.notebook.emulator' in sys.modules\n"
        "assert not [m for m in sys.modules if m == 'moto' or m.startswith('moto.')], 'moto imported'\n"
        "assert 'MOTO_IAM_LOAD_MANAGED_POLICIES' not in os.environ\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MOTO_IAM_LOAD_MANAGED_POLICIES"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- run_sandbox --------------------------------------------------------------------------------------


class LineReader:
    """Reads a process's output lines in a thread, so that waiting for one can time out."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def read_until(self, marker: str, timeout: float = 60) -> str:
        """The lines up to and including the first one containing ``marker``."""
        seen = ""
        deadline = time.monotonic() + timeout
        while marker not in seen:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {timeout} s; got:\n{seen}") from None
            if line is None:
                raise AssertionError(f"output ended before {marker!r}; got:\n{seen}")
            seen += line
        return seen

    def rest(self, timeout: float = 30) -> str:
        """Everything else, once the stream ends."""
        self._thread.join(timeout)
        rest = ""
        while (line := self._lines.get_nowait()) is not None:
            rest += line
        return rest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_sandbox_prints_the_environment_and_stops_on_signal(signum: int) -> None:
    code = "import sys\nfrom reconciler.sandbox import run_sandbox\nsys.exit(run_sandbox(0, out=sys.stdout))\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = LineReader(process.stdout)
    try:
        banner = output.read_until("Ctrl-C")
        match = re.search(r"^  export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:(\d+))$", banner, re.MULTILINE)
        assert match, banner
        url = match.group(1)
        assert "  export AWS_ACCESS_KEY_ID=testing\n" in banner
        assert "  export AWS_SECRET_ACCESS_KEY=testing\n" in banner
        assert "  export AWS_DEFAULT_REGION=ap-northeast-1\n" in banner
        assert DEFAULT_ACCOUNT_ID in banner

        # the printed settings work
        sts = boto3.client(
            "sts",
            endpoint_url=url,
            region_name="ap-northeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert sts.get_caller_identity()["Account"] == DEFAULT_ACCOUNT_ID

        process.send_signal(signum)
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert returncode == 0, stderr
    assert output.rest() == "AWS emulator stopped.\n"
    assert "Traceback" not in stderr


def test_run_sandbox_off_the_main_thread_stops_on_event() -> None:
    out = StringIO()
    stop = threading.Event()
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(run_sandbox(0, out=out, stop=stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while "Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in out.getvalue()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert results == [0]
    assert out.getvalue().endswith("AWS emulator stopped.\n")


def test_create_bucket_honours_tags_in_the_create_configuration(aws: AwsConfig) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="tagged-at-birth",
        CreateBucketConfiguration={
            "LocationConstraint": "ap-northeast-1",
            "Tags": [{"Key": "managed-by", "Value": "reconciler"}],
        },
    )
    assert s3.get_bucket_tagging(Bucket="tagged-at-birth")["TagSet"] == [{"Key": "managed-by", "Value": "reconciler"}]
    s3.create_bucket(Bucket="untagged-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    with pytest.raises(ClientError, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket="untagged-bucket")
