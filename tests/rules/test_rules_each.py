"""Every rule on the manifests: one case where it fires, one where it does not."""

from __future__ import annotations

from typing import Any

from rules_support import ACCOUNT, Evaluator, allow, bucket, group, hits, manifest, notebook, policy, role, user

from reconciler.rules import Severity

SMFA = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
NB_ARN = f"arn:aws:sagemaker:ap-northeast-1:{ACCOUNT}:notebook-instance/nb"

# ------------------------------------------------------------------------------------------------ MFA


def test_mfa001_user_outside_mfa_groups(check: Evaluator) -> None:
    report = check(group("Open", mfa=False), group("Guarded"), user("ann", "Open"), user("ben", "Guarded"), user("cat"))
    assert hits(report, "MFA001") == ["User/ann", "User/cat"]
    assert "no group that enforces MFA (Open)" in report.of("MFA001")[0].message


def test_mfa001_a_hand_written_mfa_deny_counts(check: Evaluator) -> None:
    deny = {
        "Effect": "Deny",
        "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    report = check(policy("mfa", deny), group("Own", "mfa", mfa=False), user("ann", "Own"))
    assert hits(report, "MFA001") == []
    assert hits(report, "MFA002") == []


def test_mfa002_deny_everything_without_mfa_locks_out(check: Evaluator) -> None:
    lockout = {
        "Sid": "MFA",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Null": {"aws:MultiFactorAuthAge": True}},
    }
    report = check(policy("hard", lockout), group("G", "hard", mfa=False), user("ann", "G"))
    assert hits(report, "MFA002") == ["Policy/hard"]
    finding = report.of("MFA002")[0]
    assert finding.severity is Severity.ERROR and finding.location is not None
    assert finding.location.startswith("m/resources.yaml:")
    # ...and it still counts as enforcing MFA (too much, not too little).
    assert hits(report, "MFA001") == []


def test_mfa002_not_for_the_products_guard(check: Evaluator) -> None:
    report = check(group("G"), user("ann", "G"))
    assert report.findings == ()


# ----------------------------------------------------------------------------------- least privilege


def test_lp001_allow_star_on_star(check: Evaluator) -> None:
    report = check(policy("admin", allow("*", "*")), policy("fine", allow("s3:GetObject", "arn:aws:s3:::b/*")))
    assert hits(report, "LP001") == ["Policy/admin"]
    assert hits(report, "LP002") == []  # not reported twice


def test_lp001_aws_managed_administrator_access(check: Evaluator) -> None:
    report = check(role("ops", "arn:aws:iam::aws:policy/AdministratorAccess"))
    assert hits(report, "LP001") == ["Role/ops"]
    assert "AdministratorAccess" in report.of("LP001")[0].message


def test_lp002_service_wide_actions(check: Evaluator) -> None:
    report = check(
        policy("wide", allow("s3:*", "arn:aws:s3:::b")),
        policy("star", allow("*", "arn:aws:s3:::b/*")),
        policy("fine", allow(["s3:GetObject", "s3:Put*"], "arn:aws:s3:::b/*")),
    )
    assert hits(report, "LP002") == ["Policy/star", "Policy/wide"]
    star = next(f for f in report.of("LP002") if f.resource == "Policy/star")
    assert "s3:BypassGovernanceRetention" in star.message and "s3:PutObjectAcl" in star.message


def test_lp002_aws_managed_sagemaker_full_access(check: Evaluator) -> None:
    report = check(role("nb-role", SMFA), role("other"))
    assert hits(report, "LP002") == ["Role/nb-role"]
    assert "sagemaker:*" in report.of("LP002")[0].message


def test_lp003_passrole_on_every_role(check: Evaluator) -> None:
    scoped = allow("iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    report = check(
        policy("any", allow("iam:PassRole", "*")),
        policy("all-roles", allow("iam:Pass*", f"arn:aws:iam::{ACCOUNT}:role/*")),
        policy("scoped", scoped),
        policy("one", allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/nb-role")),
    )
    assert hits(report, "LP003") == ["Policy/all-roles", "Policy/any"]


def test_lp004_not_elements_with_allow(check: Evaluator) -> None:
    report = check(
        policy("na", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        policy("nr", {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}),
        policy("deny", {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}),
    )
    assert hits(report, "LP004") == ["Policy/na", "Policy/nr"]


def test_lp005_unknown_actions(check: Evaluator) -> None:
    report = check(
        policy("typo", allow("s3:GetObjekt", "arn:aws:s3:::b/*")),
        policy("svc", allow("s4:GetObject", "arn:aws:s3:::b/*")),
        policy("fine", allow(["s3:GetObject", "S3:getobjectversion", "s3:Get*"], "arn:aws:s3:::b/*")),
    )
    assert hits(report, "LP005") == ["Policy/svc", "Policy/typo"]
    typo = next(f for f in report.of("LP005") if f.resource == "Policy/typo")
    assert "s3:GetObject" in typo.hint
    assert report.catalog["updatedAt"] in typo.message


def test_lp006_action_that_applies_to_none_of_the_resources(check: Evaluator) -> None:
    report = check(
        policy("list-on-objects", allow("s3:ListBucket", "arn:aws:s3:::data/*")),
        policy("fine", allow("s3:ListBucket", "arn:aws:s3:::data")),
        policy("no-resource-level", allow("s3:ListAllMyBuckets", "arn:aws:s3:::data")),
    )
    assert hits(report, "LP006") == ["Policy/list-on-objects", "Policy/no-resource-level"]
    listing = next(f for f in report.of("LP006") if f.resource == "Policy/list-on-objects")
    assert "arn:aws:s3:::data" in listing.hint
    only_star = next(f for f in report.of("LP006") if f.resource == "Policy/no-resource-level")
    assert 'only applies to "*"' in only_star.message


def test_lp006_wildcard_that_grants_only_a_sliver(check: Evaluator) -> None:
    report = check(
        policy("sliver", allow(["s3:Get*", "s3:List*"], "arn:aws:s3:::data/*")),
        policy("listed", allow("s3:List*", "arn:aws:s3:::data/*"), allow("s3:ListBucket", "arn:aws:s3:::data")),
        policy("describe", allow("sagemaker:Describe*", NB_ARN)),
    )
    assert hits(report, "LP006") == ["Policy/sliver"]
    message = report.of("LP006")[0].message
    assert "s3:List* on arn:aws:s3:::data/* allows only s3:ListMultipartUploadParts" in message
    assert "s3:ListBucket" in message and "arn:aws:s3:::data" in message


def test_lp007_malformed_arns(check: Evaluator) -> None:
    report = check(
        policy("seed-style", allow("sagemaker:DescribeNotebookInstance", "arn:aws:sagemaker:::notebook-instance/nb/*")),
        policy(
            "no-account",
            allow("sagemaker:DescribeNotebookInstance", "arn:aws:sagemaker:ap-northeast-1::notebook-instance/nb"),
        ),
        policy("not-an-arn", allow("s3:GetObject", "sagemaker-rawdata/*")),
        policy(
            "fine",
            allow("sagemaker:DescribeNotebookInstance", NB_ARN),
            allow("s3:GetObject", "arn:aws:s3:::*SageMaker*"),
            allow("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/a/b"),
            allow("logs:PutLogEvents", f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/sagemaker/*:log-stream:*"),
        ),
    )
    assert hits(report, "LP007") == ["Policy/no-account", "Policy/not-an-arn", "Policy/seed-style"]
    seed = next(f for f in report.of("LP007") if f.resource == "Policy/seed-style")
    assert "the region is empty, the account is empty, a notebook-instance name cannot contain '/'" in seed.message
    assert seed.hint == f"write it as {NB_ARN}"


def test_lp008_attached_policy_without_a_document(check: Evaluator) -> None:
    report = check(role("r", SMFA, "arn:aws:iam::aws:policy/NoSuchPolicy"), aws={})
    assert hits(report, "LP008") == ["Role/r", "Role/r"]
    assert check(role("r", SMFA)).of("LP008") == ()


def test_lp009_unknown_service_condition_key(check: Evaluator) -> None:
    typo = allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefx": "a/*"}})
    fine = allow(
        "s3:ListBucket",
        "arn:aws:s3:::b",
        Condition={
            "StringLike": {"s3:prefix": "a/*", "aws:SourceVpce": "vpce-1"},
            "StringEquals": {"s3:ExistingObjectTag/team": "a", "aws:PrincipalTag/x": "y"},
        },
    )
    report = check(policy("typo", typo), policy("fine", fine))
    assert hits(report, "LP009") == ["Policy/typo"]
    assert "s3:prefix" in report.of("LP009")[0].hint


# -------------------------------------------------------------------------------------------- trust


def _trust(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_tr001_star_principal(check: Evaluator) -> None:
    report = check(
        role("open", trust=_trust("*")), role("fine", trust=_trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"}))
    )
    assert hits(report, "TR001") == ["Role/open"]


def test_tr002_notebook_role_must_trust_sagemaker(check: Evaluator) -> None:
    report = check(
        role("s3-role", services=("s3.amazonaws.com",)),
        role("sm-role"),
        notebook("a", "s3-role"),
        notebook("b", "sm-role"),
    )
    assert hits(report, "TR002") == ["Role/s3-role"]
    assert "notebook fails" in report.of("TR002")[0].message


def test_tr003_service_principal_without_source_account(check: Evaluator) -> None:
    pinned = _trust({"Service": "sagemaker.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    report = check(
        role("bare", trust=_trust({"Service": "sagemaker.amazonaws.com"})),
        role("pinned", trust=pinned),
        role("generated"),
    )
    assert hits(report, "TR003") == ["Role/bare"]
    assert report.of("TR003")[0].severity is Severity.WARNING


def test_tr004_cross_account_principals_must_be_explicit(check: Evaluator) -> None:
    report = check(
        role("whole", trust=_trust({"AWS": "111122223333"})),
        role("wild", trust=_trust({"AWS": "arn:aws:iam::111122223333:role/*"})),
        role("explicit", trust=_trust({"AWS": "arn:aws:iam::111122223333:role/deployer"})),
        role("own", trust=_trust({"AWS": ACCOUNT})),
    )
    assert hits(report, "TR004") == ["Role/whole", "Role/wild"]


# ------------------------------------------------------------------------------------- protected data

WRITE = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


def test_data001_undeclared_writers_of_a_protected_bucket(check: Evaluator) -> None:
    report = check(
        policy("writes", allow(WRITE, "arn:aws:s3:::raw/*")),
        policy("reads", allow("s3:GetObject", "arn:aws:s3:::raw/*")),
        role("writer", "writes"),
        role("reader", "reads"),
        role("sneaky", "writes"),
        role("smfa", SMFA),
        group("Humans", "writes"),
        user("ann", "Humans"),
        bucket("raw", access={"write": ["Role/writer"]}),
        bucket("sagemaker-raw", access={"write": ["Role/writer"]}),
    )
    # AmazonSageMakerFullAccess reaches sagemaker-raw by its name, and raw through object keys that contain
    # "sagemaker" (IAM's * matches "/" too): both are true of IAM.
    assert hits(report, "DATA001") == ["Group/Humans", "Role/smfa", "Role/smfa", "Role/sneaky"]
    humans = next(f for f in report.of("DATA001") if f.resource == "Group/Humans")
    assert "members of Group/Humans (ann)" in humans.message
    by_bucket = {
        f.message.split("protected ")[1].split(" ")[0]: f for f in report.of("DATA001") if f.resource == "Role/smfa"
    }
    assert "AmazonSageMakerFullAccess (arn:aws:s3:::*sagemaker*)" in by_bucket["Bucket/sagemaker-raw"].message
    assert "for the keys it matches" in by_bucket["Bucket/raw"].message
    assert "AmazonSageMakerFullAccess" in by_bucket["Bucket/raw"].hint


def test_data001_declared_group_explicit_deny_and_bucket_policy(check: Evaluator) -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::raw*"}
    extra = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/x"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::raw/*",
    }
    report = check(
        policy("writes", allow(WRITE, "arn:aws:s3:::raw/*")),
        policy("deny-raw", deny),
        group("Humans", "writes"),
        user("ann", "Humans"),
        role("denied", "writes", "deny-raw"),
        bucket("raw", access={"write": ["Group/Humans"]}, policy=[extra]),
    )
    assert hits(report, "DATA001") == ["Bucket/raw"]
    assert "arn:aws:iam::111122223333:role/x" in report.of("DATA001")[0].message


def test_data002_unprotected_bucket_reached_through_a_wildcard(check: Evaluator) -> None:
    report = check(
        policy("named", allow(WRITE, "arn:aws:s3:::sagemaker-raw/*")),
        role("named", "named"),
        role("smfa", SMFA),
        bucket("sagemaker-raw"),
        bucket("other-data"),
    )
    assert hits(report, "DATA002") == ["Role/smfa", "Role/smfa"]
    messages = sorted(f.message for f in report.of("DATA002"))
    assert "Bucket/other-data" in messages[0] and "for the keys it matches" in messages[0]
    assert "Bucket/sagemaker-raw" in messages[1] and "(arn:aws:s3:::*sagemaker*)" in messages[1]


# -------------------------------------------------------------------------------------------- buckets


def test_bkt003_versioning(check: Evaluator) -> None:
    report = check(
        role("w"),
        bucket("protected", versioning=False, access={"write": ["Role/w"]}),
        bucket("loose", versioning=False),
        bucket("versioned", access={"write": ["Role/w"]}),
    )
    severities = {f.resource: f.severity for f in report.of("BKT003")}
    assert severities == {"Bucket/protected": Severity.ERROR, "Bucket/loose": Severity.WARNING}


def test_bkt004_public_principal_in_extra_statements(check: Evaluator) -> None:
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pub/*"}
    narrowed = {
        **public,
        "Resource": "arn:aws:s3:::org/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    report = check(
        role("w"),
        bucket("pub", access={"write": ["Role/w"]}, policy=[public]),
        bucket("org", access={"write": ["Role/w"]}, policy=[narrowed]),
    )
    assert hits(report, "BKT004") == ["Bucket/pub"]


def test_bkt005_bucket_without_declared_writers(check: Evaluator) -> None:
    report = check(role("w"), bucket("loose"), bucket("tight", access={"write": ["Role/w"]}))
    assert hits(report, "BKT005") == ["Bucket/loose"]
    assert report.of("BKT005")[0].severity is Severity.WARNING


def test_bkt001_bkt002_bkt006_cannot_fire_on_manifests(check: Evaluator) -> None:
    # The product always writes Block Public Access, default encryption and the TLS-only deny.
    report = check(
        role("w"),
        manifest("KmsKey", "k", {}),
        bucket("bkt", access={"write": ["Role/w"]}, encryption={"type": "SSE-KMS", "kmsKey": "k"}),
    )
    assert report.findings == ()


# ------------------------------------------------------------------------------------------ notebooks


def test_nb001_root_access(check: Evaluator) -> None:
    report = check(role("r"), notebook("rooted", "r", rootAccess="Enabled"), notebook("fine", "r"))
    assert hits(report, "NB001") == ["NotebookInstance/rooted"]
    assert (report.of("NB001")[0].location or "").startswith("m/resources.yaml:")


def test_nb002_without_subnet(check: Evaluator) -> None:
    nb = notebook("nowhere", "r")
    del nb["spec"]["subnetId"]
    del nb["spec"]["securityGroupIds"]
    report = check(role("r"), nb, notebook("fine", "r"))
    assert hits(report, "NB002") == ["NotebookInstance/nowhere"]
    assert "names no subnet" in report.of("NB002")[0].message


def test_nb003_kms_key_recommended(check: Evaluator) -> None:
    nb = notebook("plain", "r")
    del nb["spec"]["kmsKeyId"]
    report = check(role("r"), nb, notebook("fine", "r"))
    assert hits(report, "NB003") == ["NotebookInstance/plain"]
    assert report.of("NB003")[0].severity is Severity.WARNING


def test_nb005_direct_internet_access(check: Evaluator) -> None:
    nb = notebook("open", "r", directInternetAccess="Enabled")
    del nb["spec"]["subnetId"]
    del nb["spec"]["securityGroupIds"]
    report = check(role("r"), nb, notebook("fine", "r"))
    assert hits(report, "NB005") == ["NotebookInstance/open"]
    assert hits(report, "NB002") == []
