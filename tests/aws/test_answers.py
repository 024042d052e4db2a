"""The IAM answers the factory's clients give: policy documents decoded exactly as botocore's own handler decodes
them (``json_decode_policies``), each distinct text once per answer, and the parts of an answer that cannot hold a
document left alone."""

from __future__ import annotations

import copy
import json
import urllib.parse
from typing import Any

import boto3
from botocore.handlers import json_decode_policies
from botocore.model import ServiceModel

from reconciler.aws.answers import PolicyDocumentDecoder
from reconciler.aws.clients import AwsConfig, ClientFactory

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _doc(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def _seed(iam: Any) -> str:
    for name in ("a", "b"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_TRUST), Tags=[{"Key": "k", "Value": "v"}])
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=_doc("s3:GetObject"))
    iam.create_instance_profile(InstanceProfileName="p")
    iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="a")
    iam.create_user(UserName="u", Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(UserName="u", PolicyName="inline", PolicyDocument=_doc("s3:ListBucket"))
    iam.create_group(GroupName="g")
    iam.put_group_policy(GroupName="g", PolicyName="inline", PolicyDocument=_doc("s3:PutObject"))
    arn = iam.create_policy(PolicyName="m", PolicyDocument=_doc("s3:GetObject"), Tags=[{"Key": "k", "Value": "v"}])
    iam.create_policy_version(PolicyArn=arn["Policy"]["Arn"], PolicyDocument=_doc("s3:*"), SetAsDefault=True)
    return str(arn["Policy"]["Arn"])


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_the_product_s_iam_answers_are_botocore_s(aws: AwsConfig) -> None:
    plain = boto3.client("iam")  # botocore's own handler
    arn = _seed(plain)
    product = ClientFactory(aws, read_only=True).client("iam")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_account_authorization_details", {}),
        ("get_role", {"RoleName": "a"}),
        ("list_roles", {}),
        ("get_role_policy", {"RoleName": "a", "PolicyName": "inline"}),
        ("get_user_policy", {"UserName": "u", "PolicyName": "inline"}),
        ("get_group_policy", {"GroupName": "g", "PolicyName": "inline"}),
        ("get_policy_version", {"PolicyArn": arn, "VersionId": "v1"}),
        ("list_instance_profiles", {}),
        ("list_policy_tags", {"PolicyArn": arn}),
        ("list_users", {}),
    ]
    for operation, params in calls:
        expected = _without_metadata(getattr(plain, operation)(**params))
        got = _without_metadata(getattr(product, operation)(**params))
        assert got == expected, operation
    details = product.get_account_authorization_details()
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    # decoded, and the same text is one object in one answer
    assert roles["a"]["AssumeRolePolicyDocument"] == _TRUST
    assert roles["a"]["AssumeRolePolicyDocument"] is roles["b"]["AssumeRolePolicyDocument"]
    assert roles["a"]["RolePolicyList"][0]["PolicyDocument"] is roles["b"]["RolePolicyList"][0]["PolicyDocument"]
    profile_role = roles["a"]["InstanceProfileList"][0]["Roles"][0]
    assert profile_role["AssumeRolePolicyDocument"] is roles["a"]["AssumeRolePolicyDocument"]


def _model() -> ServiceModel:
    """A service whose answer holds documents at every depth of a recursive shape, in lists of lists, and in a
    list of document strings (which botocore does not decode), next to parts that hold none."""
    return ServiceModel(
        {
            "metadata": {"protocol": "query", "apiVersion": "2010-05-08", "endpointPrefix": "iam", "serviceId": "IAM"},
            "operations": {"Op": {"name": "Op", "http": {}, "output": {"shape": "Out"}}},
            "shapes": {
                "Out": {
                    "type": "structure",
                    "members": {
                        "Root": {"shape": "Node"},
                        "Grid": {"shape": "Grid"},
                        "Texts": {"shape": "Texts"},
                        "Tags": {"shape": "Tags"},
                        "Name": {"shape": "Name"},
                    },
                },
                "Node": {
                    "type": "structure",
                    "members": {"Doc": {"shape": "policyDocumentType"}, "Next": {"shape": "Node"}},
                },
                "Grid": {"type": "list", "member": {"shape": "Row"}},
                "Row": {"type": "list", "member": {"shape": "Node"}},
                "Texts": {"type": "list", "member": {"shape": "policyDocumentType"}},
                "Tags": {"type": "list", "member": {"shape": "Tag"}},
                "Tag": {"type": "structure", "members": {"Key": {"shape": "Name"}, "Value": {"shape": "Name"}}},
                "Name": {"type": "string"},
                "policyDocumentType": {"type": "string"},
            },
        },
        service_name="iam",
    )


def test_documents_are_found_where_botocore_finds_them_and_nowhere_else() -> None:
    quoted = [urllib.parse.quote(_doc(action)) for action in ("a:1", "a:2", "a:3")]
    answer: dict[str, Any] = {
        "Root": {"Doc": quoted[0], "Next": {"Doc": quoted[1], "Next": {"Doc": quoted[0]}}},
        "Grid": [[{"Doc": quoted[2]}], [{"Next": {"Doc": "not json"}}]],
        "Texts": [quoted[1]],
        "Tags": [{"Key": quoted[0], "Value": "v"}],
        "Name": quoted[0],
    }
    operation = _model().operation_model("Op")
    expected = copy.deepcopy(answer)
    json_decode_policies(expected, operation)
    decoder = PolicyDocumentDecoder()
    decoder(answer, operation)
    assert answer == expected
    assert answer["Root"]["Doc"] == json.loads(_doc("a:1"))
    assert answer["Root"]["Next"]["Next"]["Doc"] is answer["Root"]["Doc"]
    assert answer["Grid"][1][0]["Next"]["Doc"] == "not json"
    assert answer["Tags"][0]["Key"] == quoted[0] and answer["Name"] == quoted[0]  # not documents
    # the walk's plan: what each structure holds that can lead to a document
    out: Any = operation.output_shape
    assert decoder._walked(out) == ("Root", "Grid", "Texts")
    assert decoder._walked(out.members["Tags"].member) == ()


def test_an_answer_with_no_document_shape_is_not_walked() -> None:
    tags_only = ServiceModel(
        {
            "metadata": {"protocol": "query", "apiVersion": "2010-05-08", "endpointPrefix": "iam", "serviceId": "IAM"},
            "operations": {"Tags": {"name": "Tags", "http": {}, "output": {"shape": "TagsOut"}}},
            "shapes": {
                "TagsOut": {
                    "type": "structure",
                    "members": {"Tags": {"shape": "Tags"}, "IsTruncated": {"shape": "Flag"}},
                },
                "Tags": {"type": "list", "member": {"shape": "Tag"}},
                "Tag": {"type": "structure", "members": {"Key": {"shape": "Name"}, "Value": {"shape": "Name"}}},
                "Name": {"type": "string"},
                "Flag": {"type": "boolean"},
            },
        },
        service_name="iam",
    ).operation_model("Tags")
    decoder = PolicyDocumentDecoder()
    assert decoder._walked(tags_only.output_shape) == ()
    # Nothing of it is looked at (a walk would iterate the list): ListPolicyTags costs no walk.
    answer: dict[str, Any] = {"Tags": None, "IsTruncated": False}
    decoder(answer, tags_only)
    assert answer == {"Tags": None, "IsTruncated": False}
