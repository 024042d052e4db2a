"""The seed environment (tests/fixtures/seed, from ../shared/seed/README.md) and the shipped example.

The seed's policies, written as manifests, must produce exactly the findings below; together they
cover the eight mistakes an expert review finds. The corrected example in desired-state/ must produce
none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_support import SEED_DIR, seed_aws_policies

from reconciler.kinds import load_directory
from reconciler.rules import Report, Severity, evaluate

REPO = Path(__file__).resolve().parents[2]
ADMIN_ROLE = "Role/notebook-for-administrator-role"
ENGINEER_ROLE = "Role/notebook-for-engineer-role"
ADMIN_NB = "NotebookInstance/notebook-for-administrator"
ENGINEER_NB = "NotebookInstance/notebook-for-engineer"
ADMIN_GROUP_POLICY = "Policy/for_SageMakerAdministrator_Group"
ENGINEER_GROUP_POLICY = "Policy/for_SageMakerEngineer_Group"
ADMIN_NB_POLICY = "Policy/for_notebook-for-administrator"
ENGINEER_NB_POLICY = "Policy/for_notebook-for-engineer"

E, W = Severity.ERROR, Severity.WARNING

EXPECTED: list[tuple[Severity, str, str]] = sorted(
    [
        # 1. The roles trust s3.amazonaws.com: SageMaker cannot assume them; no aws:SourceAccount.
        (E, "TR002", ADMIN_ROLE),
        (E, "TR002", ENGINEER_ROLE),
        (W, "TR003", ADMIN_ROLE),
        (W, "TR003", ENGINEER_ROLE),
        # 2. "Action": "*" on bucket objects (both notebook policies).
        (E, "LP002", ADMIN_NB_POLICY),
        (E, "LP002", ENGINEER_NB_POLICY),
        # 3. s3:List* on an object ARN: ListBucket never granted.
        (E, "LP006", ENGINEER_NB_POLICY),
        # 4. arn:aws:sagemaker:::notebook-instance/NAME/* is malformed.
        (E, "LP007", ADMIN_GROUP_POLICY),
        (E, "LP007", ENGINEER_GROUP_POLICY),
        # 5. "*" on the notebook instance (UpdateNotebookInstance, DeleteNotebookInstance, tags).
        (E, "LP002", ADMIN_GROUP_POLICY),
        (E, "LP002", ENGINEER_GROUP_POLICY),
        # 6. Deny everything without MFA, no self-service exception: lock-out.
        (E, "MFA002", ADMIN_GROUP_POLICY),
        (E, "MFA002", ENGINEER_GROUP_POLICY),
        # 7. AmazonSageMakerFullAccess: object writes/deletes on every *sagemaker* bucket; sagemaker:*.
        (E, "DATA002", ADMIN_ROLE),
        (E, "DATA002", ADMIN_ROLE),
        (E, "DATA002", ENGINEER_ROLE),
        (E, "DATA002", ENGINEER_ROLE),
        (E, "LP002", ADMIN_ROLE),
        (E, "LP002", ENGINEER_ROLE),
        #    ...and iam:PassRole on any role passed to SageMaker, with sagemaker:CreateNotebookInstance: escalation.
        (E, "ESC001", ADMIN_ROLE),
        (E, "ESC001", ENGINEER_ROLE),
        # 8. Buckets: no versioning, no declared writers; notebooks: API defaults.
        (W, "BKT003", "Bucket/sagemaker-rawdata"),
        (W, "BKT003", "Bucket/sagemaker-result"),
        (W, "BKT005", "Bucket/sagemaker-rawdata"),
        (W, "BKT005", "Bucket/sagemaker-result"),
        (E, "NB001", ADMIN_NB),
        (E, "NB001", ENGINEER_NB),
        (E, "NB005", ADMIN_NB),
        (E, "NB005", ENGINEER_NB),
        (W, "NB003", ADMIN_NB),
        (W, "NB003", ENGINEER_NB),
    ]
)


@pytest.fixture(scope="module")
def seed() -> Report:
    return evaluate(load_directory(SEED_DIR, display_root="seed"), seed_aws_policies())


def _one(report: Report, rule: str, resource: str) -> str:
    found = [f for f in report.findings if f.rule == rule and f.resource == resource]
    assert found, (rule, resource)
    return " ".join(f"{f.message} hint: {f.hint}" for f in found)


def test_seed_findings_are_exactly_the_expected_ones(seed: Report) -> None:
    assert sorted((f.severity, f.rule, f.resource) for f in seed.findings) == EXPECTED
    assert seed.refuses
    assert all(f.location and f.location.startswith("seed/") for f in seed.findings)


def test_mistake_1_roles_trust_s3(seed: Report) -> None:
    text = _one(seed, "TR002", ADMIN_ROLE)
    assert "trusts s3.amazonaws.com, not sagemaker.amazonaws.com" in text
    assert "aws:SourceAccount" in _one(seed, "TR003", ADMIN_ROLE)


def test_mistake_2_star_on_objects(seed: Report) -> None:
    text = _one(seed, "LP002", ADMIN_NB_POLICY)
    for action in ("s3:PutObjectAcl", "s3:BypassGovernanceRetention", "s3:DeleteObjectVersion"):
        assert action in text


def test_mistake_3_list_star_on_objects(seed: Report) -> None:
    text = _one(seed, "LP006", ENGINEER_NB_POLICY)
    assert "s3:List* on arn:aws:s3:::sagemaker-rawdata/* allows only s3:ListMultipartUploadParts" in text
    assert "s3:ListBucket" in text and "arn:aws:s3:::sagemaker-rawdata" in text


def test_mistake_4_malformed_notebook_arn(seed: Report) -> None:
    text = _one(seed, "LP007", ADMIN_GROUP_POLICY)
    assert "the region is empty, the account is empty, a notebook-instance name cannot contain '/'" in text
    assert "arn:aws:sagemaker:ap-northeast-1:123456789012:notebook-instance/notebook-for-administrator" in text


def test_mistake_5_star_on_the_notebook(seed: Report) -> None:
    text = _one(seed, "LP002", ENGINEER_GROUP_POLICY)
    for action in ("sagemaker:UpdateNotebookInstance", "sagemaker:DeleteNotebookInstance", "sagemaker:AddTags"):
        assert action in text


def test_mistake_6_mfa_lockout(seed: Report) -> None:
    text = _one(seed, "MFA002", ADMIN_GROUP_POLICY)
    assert "locked out" in text and "requireMFA: true" in text
    assert seed.of("MFA001") == ()  # the deny does enforce MFA: too much, not too little


def test_mistake_7_sagemaker_full_access(seed: Report) -> None:
    text = _one(seed, "DATA002", ENGINEER_ROLE)
    assert "Bucket/sagemaker-rawdata" in text and "AmazonSageMakerFullAccess (arn:aws:s3:::*sagemaker*)" in text
    assert "s3:DeleteObject" in text and "s3:PutObject" in text
    assert "sagemaker:*" in _one(seed, "LP002", ENGINEER_ROLE)
    text = _one(seed, "ESC001", ENGINEER_ROLE)
    assert "iam:PassRole on arn:aws:iam::*:role/*" in text and "pass-role-notebook" in text
    assert "sagemaker:CreateNotebookInstance" in text


def test_mistake_8_buckets_and_notebook_defaults(seed: Report) -> None:
    assert "root access" in _one(seed, "NB001", ADMIN_NB)
    assert "no VPC" in _one(seed, "NB005", ADMIN_NB)
    assert "no KMS key" in _one(seed, "NB003", ADMIN_NB)
    assert "no object versions" in _one(seed, "BKT003", "Bucket/sagemaker-rawdata")


def test_without_aws_managed_documents_the_gap_is_reported(tmp_path: Path) -> None:
    report = evaluate(load_directory(SEED_DIR), {})
    assert sorted(f.resource for f in report.of("LP008")) == [ADMIN_ROLE, ENGINEER_ROLE]
    assert report.of("DATA002") == ()


def test_the_shipped_example_has_no_findings() -> None:
    report = evaluate(load_directory(REPO / "desired-state"), {})
    assert report.findings == ()
    assert not report.refuses
