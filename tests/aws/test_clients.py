"""ClientFactory, the read-only guard, CallRecorder and translate_errors, against the embedded AWS."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.aws.operations import is_read_only_operation
from reconciler.errors import AwsAccessError, MutationRefused, ReconcilerError
from reconciler.sandbox import DEFAULT_ACCOUNT_ID, Emulator

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the read-only guard ---------------------------------------------------------------------------


def test_read_only_factory_refuses_create_role_and_sends_nothing(aws: AwsConfig) -> None:
    recorder = CallRecorder()
    read_only = ClientFactory(aws, read_only=True, recorder=recorder)
    assert read_only.read_only

    with pytest.raises(MutationRefused) as refused:
        read_only.client("iam").create_role(RoleName="intruder", AssumeRolePolicyDocument=TRUST_POLICY)

    assert (refused.value.service, refused.value.operation) == ("iam", "CreateRole")
    assert isinstance(refused.value, ReconcilerError)
    assert recorder.total() == 0
    assert recorder.total_attempts() == 0
    writable = ClientFactory(aws, read_only=False).client("iam")
    with pytest.raises(ClientError) as missing:
        writable.get_role(RoleName="intruder")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_refusal_comes_before_parameter_validation(aws: AwsConfig) -> None:
    # Even a call botocore would reject locally is refused as a mutation: the guard runs first.
    iam: Any = ClientFactory(aws, read_only=True).client("iam")
    with pytest.raises(MutationRefused):
        iam.create_role()


MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("s3", "create_bucket", {"Bucket": "intruder"}),
    ("s3", "put_bucket_policy", {"Bucket": "intruder", "Policy": "{}"}),
    (
        "sagemaker",
        "create_notebook_instance",
        {
            "NotebookInstanceName": "intruder",
            "InstanceType": "ml.t3.medium",
            "RoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/r",
        },
    ),
    ("sagemaker", "stop_notebook_instance", {"NotebookInstanceName": "nb"}),
    ("iam", "attach_role_policy", {"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ("iam", "tag_role", {"RoleName": "r", "Tags": [{"Key": "k", "Value": "v"}]}),
    ("sts", "get_session_token", {}),
    ("sts", "assume_role", {"RoleArn": f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/r", "RoleSessionName": "x1"}),
    (
        "dynamodb",
        "put_item",
        {"TableName": "locks", "Item": {"pk": {"S": "x"}}},
    ),
]


@pytest.mark.parametrize(("service", "method", "params"), MUTATIONS)
def test_read_only_factory_refuses_mutations_of_every_service(
    aws: AwsConfig, service: str, method: str, params: dict[str, Any]
) -> None:
    recorder = CallRecorder()
    client = ClientFactory(aws, read_only=True, recorder=recorder).client(service)
    with pytest.raises(MutationRefused):
        getattr(client, method)(**params)
    assert recorder.total_attempts() == 0


def test_read_only_factory_allows_reads(aws: AwsConfig) -> None:
    writable = ClientFactory(aws, read_only=False)
    writable.client("iam").create_role(RoleName="reader-test", AssumeRolePolicyDocument=TRUST_POLICY)
    writable.client("s3").create_bucket(
        Bucket="reader-test", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )

    recorder = CallRecorder()
    read_only = ClientFactory(aws, read_only=True, recorder=recorder)
    details = read_only.client("iam").get_account_authorization_details(Filter=["Role"])
    assert [r["RoleName"] for r in details["RoleDetailList"]] == ["reader-test"]
    assert [b["Name"] for b in read_only.client("s3").list_buckets()["Buckets"]] == ["reader-test"]
    assert read_only.client("sagemaker").list_notebook_instances()["NotebookInstances"] == []
    assert read_only.client("sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT_ID
    pages = list(read_only.client("iam").get_paginator("list_roles").paginate())
    assert [r["RoleName"] for page in pages for r in page["Roles"]] == ["reader-test"]
    assert read_only.client("dynamodb").list_tables()["TableNames"] == []
    assert recorder.mutating() == []


# --- the recorder ------------------------------------------------------------------------------------


def test_recorder_counts_calls_per_operation(aws: AwsConfig) -> None:
    recorder = CallRecorder()
    iam = ClientFactory(aws, read_only=False, recorder=recorder).client("iam")
    iam.create_role(RoleName="counted", AssumeRolePolicyDocument=TRUST_POLICY)
    iam.get_role(RoleName="counted")
    iam.get_role(RoleName="counted")
    iam.list_roles()

    expected = {
        ("iam", "CreateRole"): 1,
        ("iam", "GetRole"): 2,
        ("iam", "ListRoles"): 1,
    }
    assert recorder.counts() == expected
    assert recorder.attempts() == expected  # no retries
    assert recorder.total() == 4
    assert recorder.mutating() == [("iam", "CreateRole")]
    recorder.reset()
    assert recorder.counts() == {}
    assert recorder.total_attempts() == 0


def test_recorder_counts_failed_calls_and_every_retry(aws: AwsConfig) -> None:
    recorder = CallRecorder()
    unreachable = AwsConfig(
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region="ap-northeast-1",
        max_attempts=3,
        retry_mode="standard",
    )
    sts = ClientFactory(unreachable, read_only=True, recorder=recorder).client("sts")
    with pytest.raises(AwsAccessError), translate_errors():
        sts.get_caller_identity()
    assert recorder.counts() == {("sts", "GetCallerIdentity"): 1}
    assert recorder.attempts() == {("sts", "GetCallerIdentity"): 3}


def test_recorder_is_thread_safe() -> None:
    recorder = CallRecorder()

    def work() -> None:
        for _ in range(1000):
            recorder.record("iam", "GetRole")
            recorder.record_attempt("iam", "GetRole")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recorder.counts() == {("iam", "GetRole"): 8000}
    assert recorder.total_attempts() == 8000


def test_clients_are_cached_and_shared_across_threads(aws: AwsConfig) -> None:
    factory = ClientFactory(aws, read_only=True)
    seen: list[object] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def get() -> None:
        barrier.wait()
        client = factory.client("iam")
        with lock:
            seen.append(client)

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(client is seen[0] for client in seen)
    assert factory.client("s3") is factory.client("s3")
    assert factory.client("s3") is not seen[0]


def test_paginators_are_made_once_per_operation_and_page_independently(aws: AwsConfig) -> None:
    admin = boto3.client("sagemaker", endpoint_url=aws.endpoint_url, region_name=aws.region)
    for team in ("pga", "pgb"):
        for i in range(3):
            admin.create_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=f"{team}-{i}", OnStart=[{"Content": "ZWNobyBoaQ=="}]
            )
    sagemaker = ClientFactory(aws, read_only=True).client("sagemaker")
    paginator = sagemaker.get_paginator("list_notebook_instance_lifecycle_configs")
    assert sagemaker.get_paginator("list_notebook_instance_lifecycle_configs") is paginator
    assert sagemaker.get_paginator("list_notebook_instances") is not paginator

    def walk(team: str) -> Any:
        return iter(paginator.paginate(SortBy="Name", NameContains=team, PaginationConfig={"PageSize": 2}))

    # one paginator, several walks at once (threads share it): each keeps its own place
    a, b = walk("pga"), walk("pgb")
    first_a, first_b = next(a), next(b)
    pages_a, pages_b = [first_a, *a], [first_b, *b]
    key = "NotebookInstanceLifecycleConfigs"
    assert [len(p[key]) for p in pages_a] == [2, 1]
    assert [c["NotebookInstanceLifecycleConfigName"] for p in pages_a for c in p[key]] == ["pga-0", "pga-1", "pga-2"]
    assert [c["NotebookInstanceLifecycleConfigName"] for p in pages_b for c in p[key]] == ["pgb-0", "pgb-1", "pgb-2"]
    with pytest.raises(Exception, match="cannot be paginated"):
        sagemaker.get_paginator("describe_notebook_instance")  # not pageable: botocore's own error


def test_iam_documents_are_decoded_as_botocore_does_each_distinct_text_once(aws: AwsConfig) -> None:
    admin = boto3.client("iam", endpoint_url=aws.endpoint_url, region_name=aws.region)
    other_trust = TRUST_POLICY.replace("sagemaker", "lambda")
    for name, trust in (("dd-a", TRUST_POLICY), ("dd-b", TRUST_POLICY), ("dd-c", other_trust)):
        admin.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        admin.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(_S3_READ))
    iam = ClientFactory(aws, read_only=True).client("iam")
    ours = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    plain = admin.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    assert ours == plain  # the same answer as botocore's own decoding
    roles = {r["RoleName"]: r for r in ours if r["RoleName"].startswith("dd-")}
    assert roles["dd-a"]["AssumeRolePolicyDocument"] == json.loads(TRUST_POLICY)
    assert roles["dd-a"]["AssumeRolePolicyDocument"] is roles["dd-b"]["AssumeRolePolicyDocument"]
    assert roles["dd-c"]["AssumeRolePolicyDocument"] == json.loads(other_trust)
    inline = [roles[n]["RolePolicyList"][0]["PolicyDocument"] for n in ("dd-a", "dd-b", "dd-c")]
    assert inline[0] == _S3_READ and inline[0] is inline[1] is inline[2]
    # an answer with one document, outside GetAccountAuthorizationDetails
    assert iam.get_role_policy(RoleName="dd-c", PolicyName="p")["PolicyDocument"] == _S3_READ


_S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw/*"}],
}


def test_client_configuration(aws: AwsConfig) -> None:
    config = AwsConfig(endpoint_url=aws.endpoint_url, region="eu-west-1", max_attempts=4, max_pool=7)
    client = ClientFactory(config, read_only=True).client("sagemaker")
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == aws.endpoint_url
    assert client.meta.config.max_pool_connections == 7
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert client.meta.config.connect_timeout == 5
    assert client.meta.config.read_timeout == 60


def test_endpoint_defaults_to_aws_endpoint_url_from_the_environment(aws: AwsConfig) -> None:
    # The aws fixture sets AWS_ENDPOINT_URL and AWS_DEFAULT_REGION: boto3 alone must find the emulator.
    factory = ClientFactory(AwsConfig(), read_only=True)
    assert factory.client("sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT_ID
    assert factory.client("iam").list_roles()["Roles"] == []


@pytest.mark.parametrize(
    "kwargs",
    [{"retry_mode": "sometimes"}, {"max_attempts": 0}, {"max_pool": 0}],
)
def test_aws_config_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AwsConfig(**kwargs)


# --- which operations are reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "read_only"),
    [
        ("iam", "GetAccountAuthorizationDetails", True),
        ("iam", "GetRole", True),
        ("iam", "ListAttachedRolePolicies", True),
        ("iam", "GetCredentialReport", True),
        # compiles the account's credential report (changes nothing; see EXTRA_READ_OPERATIONS): plan reads with it
        ("iam", "GenerateCredentialReport", True),
        ("s3", "ListBuckets", True),
        ("s3", "HeadBucket", True),
        ("s3", "HeadObject", True),
        ("s3", "GetBucketPolicy", True),
        ("sagemaker", "DescribeNotebookInstance", True),
        ("sagemaker", "ListNotebookInstances", True),
        ("sagemaker", "Search", True),
        ("sts", "GetCallerIdentity", True),
        ("sts", "GetAccessKeyInfo", True),
        ("dynamodb", "GetItem", True),
        ("dynamodb", "Query", True),
        ("dynamodb", "DescribeTable", True),
        ("iam", "SimulatePrincipalPolicy", True),
        # mutating verbs
        ("iam", "CreateRole", False),
        ("iam", "PutRolePolicy", False),
        ("iam", "UpdateAssumeRolePolicy", False),
        ("iam", "DeleteRole", False),
        ("iam", "AttachRolePolicy", False),
        ("iam", "TagRole", False),
        ("iam", "GenerateServiceLastAccessedDetails", False),
        ("sagemaker", "StartNotebookInstance", False),
        ("sagemaker", "StopNotebookInstance", False),
        ("sagemaker", "UpdateNotebookInstance", False),
        ("sagemaker", "CreatePresignedNotebookInstanceUrl", False),
        ("s3", "PutBucketPolicy", False),
        ("s3", "PutObject", False),
        ("dynamodb", "PutItem", False),
        ("dynamodb", "UpdateItem", False),
        ("sts", "AssumeRole", False),
        # read-looking names with side effects
        ("sts", "GetSessionToken", False),
        ("sts", "GetFederationToken", False),
        ("ecr", "GetAuthorizationToken", False),
        ("kms", "GetParametersForImport", False),
        ("cognito-identity", "GetId", False),
        ("secretsmanager", "GetSecretValue", False),
        # a prefix alone is not a read
        ("x", "Get", False),
        ("x", "Listen", False),
        ("x", "Headline", False),
        ("x", "", False),
        # the extra reads are per service
        ("s3", "Query", False),
    ],
)
def test_is_read_only_operation(service: str, operation: str, read_only: bool) -> None:
    assert is_read_only_operation(service, operation) is read_only


# --- translate_errors ----------------------------------------------------------------------------------


def test_unreachable_endpoint_becomes_aws_access_error(aws: AwsConfig) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    config = AwsConfig(endpoint_url=url, region="ap-northeast-1", max_attempts=1)
    iam = ClientFactory(config, read_only=True).client("iam")
    with pytest.raises(AwsAccessError) as error, translate_errors("reading IAM"):
        iam.get_account_authorization_details(Filter=["Role"])
    message = str(error.value)
    assert "\n" not in message
    assert url in message
    assert "while reading IAM" in message
    assert error.value.retryable


def test_missing_credentials_become_aws_access_error(aws: AwsConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    sts = ClientFactory(aws, read_only=True).client("sts")
    with pytest.raises(AwsAccessError, match="no usable AWS credentials"), translate_errors():
        sts.get_caller_identity()


def test_unknown_profile_becomes_aws_access_error(aws: AwsConfig) -> None:
    factory = ClientFactory(AwsConfig(endpoint_url=aws.endpoint_url, profile="nope"), read_only=True)
    with pytest.raises(AwsAccessError, match="nope"):
        factory.client("sts")


def test_rejected_credentials_become_aws_access_error(aws: AwsConfig, emulator: Emulator) -> None:
    # Turn on moto's IAM authorization: the dummy key "testing" is then an unknown access key.
    request = urllib.request.Request(
        f"{emulator.url}/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    try:
        iam = ClientFactory(aws, read_only=True).client("iam")
        with pytest.raises(AwsAccessError) as error, translate_errors():
            iam.list_roles()
        assert "ListRoles" in str(error.value)
        assert "InvalidClientTokenId" in str(error.value)
    finally:
        emulator.reset()  # also turns authorization back off
    assert ClientFactory(aws, read_only=True).client("iam").list_roles()["Roles"] == []


def test_other_client_errors_pass_through(aws: AwsConfig) -> None:
    iam = ClientFactory(aws, read_only=True).client("iam")
    with pytest.raises(ClientError) as error, translate_errors():
        iam.get_role(RoleName="absent")
    assert error.value.response["Error"]["Code"] == "NoSuchEntity"


def test_translate_errors_works_as_a_decorator(aws: AwsConfig) -> None:
    config = AwsConfig(endpoint_url=f"http://127.0.0.1:{closed_port()}", region="ap-northeast-1", max_attempts=1)

    @translate_errors("listing buckets")
    def list_buckets() -> object:
        return boto3.client("s3", endpoint_url=config.endpoint_url, config=config.botocore_config()).list_buckets()

    call: Callable[[], object] = list_buckets
    with pytest.raises(AwsAccessError, match="while listing buckets"):
        call()
