"""Privilege escalation (ESC001): the paths of ESCALATION_PATHS, on resources the principal does not own."""

from __future__ import annotations

from typing import Any

from rules_support import ACCOUNT, Evaluator, allow, group, hits, notebook, policy, role, user

from reconciler.aws.live import LiveState
from reconciler.kinds.role import LiveRole
from reconciler.rules import evaluate_model
from reconciler.rules.escalation import ESCALATION_PATHS
from reconciler.rules.fromlive import from_live
from reconciler.rules.privesc import path_kind

ROLES = f"arn:aws:iam::{ACCOUNT}:role"
TO_SAGEMAKER = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
NOTEBOOKS = f"arn:aws:sagemaker:ap-northeast-1:{ACCOUNT}:notebook-instance"


def test_every_path_has_a_kind_the_rule_knows() -> None:
    kinds = {path.id: path_kind(path) for path in ESCALATION_PATHS}
    assert kinds["attach-role-policy"] == "write" and kinds["access-key"] == "credentials"
    assert kinds["pass-role-notebook"] == "pass" and kinds["assume-any-role"] == "assume"


def test_esc001_writing_permissions(check: Evaluator) -> None:
    bounded = allow(
        "iam:AttachRolePolicy",
        f"{ROLES}/app-*",
        Condition={"StringEquals": {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary"}},
    )
    listed = allow(
        "iam:AttachRolePolicy",
        f"{ROLES}/app-*",
        Condition={"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]}},
    )
    admin = allow(
        "iam:AttachRolePolicy",
        f"{ROLES}/app-*",
        Condition={"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}},
    )
    not_bounded = allow(
        "iam:PutRolePolicy",
        f"{ROLES}/app-*",
        Condition={"StringNotEquals": {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary"}},
    )
    report = check(
        policy("attach", allow("iam:AttachRolePolicy", f"{ROLES}/*")),
        policy("not-bounded", not_bounded),
        role("nb", "not-bounded"),
        policy("version", allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/mine")),
        policy("bounded", bounded),
        policy("listed", listed),
        policy("admin", admin),
        role("a", "attach"),
        role("v", "version"),
        role("b", "bounded"),
        role("l", "listed"),
        role("x", "admin"),
    )
    assert hits(report, "ESC001") == ["Role/a", "Role/nb", "Role/v", "Role/x"]
    finding = next(f for f in report.of("ESC001") if f.resource == "Role/a")
    assert (
        "Policy/attach, statement 1 allows iam:AttachRolePolicy on arn:aws:iam::123456789012:role/*" in finding.message
    )
    assert "attach-role-policy (attach any managed policy to a role)" in finding.message
    assert "iam:PermissionsBoundary" in finding.hint


def test_esc001_credentials_of_other_users_not_ones_own(check: Evaluator) -> None:
    own = allow(["iam:CreateAccessKey", "iam:UpdateLoginProfile"], f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")
    others = allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/*")
    report = check(
        policy("own", own),
        policy("others", others),
        group("Self", "own"),
        group("Admins", "others"),
        user("ann", "Self"),
        user("ben", "Admins"),
    )
    assert hits(report, "ESC001") == ["Group/Admins"]  # reported on the group, not again on ben
    assert "access-key (create access keys for another user)" in report.of("ESC001")[0].message


def test_esc001_passing_roles(check: Evaluator) -> None:
    own = allow("iam:PassRole", f"{ROLES}/trainer", Condition=TO_SAGEMAKER)
    other = allow("iam:PassRole", f"{ROLES}/admin", Condition=TO_SAGEMAKER)
    lambda_only = allow(
        "iam:PassRole", f"{ROLES}/*", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    )
    not_lambda = allow(
        "iam:PassRole", f"{ROLES}/*", Condition={"StringNotEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    )
    train = allow("sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:ap-northeast-1:{ACCOUNT}:training-job/*")
    report = check(
        policy("not-lambda", not_lambda, train),
        role("anything-but-lambda", "not-lambda"),
        policy("own", own, train),
        policy("other", other, train),
        policy("lambda", lambda_only, train),
        policy("star", allow("iam:PassRole", "*"), train),
        role("trainer", "own"),
        role("sneaky", "other"),
        role("lambdas", "lambda"),
        role("star", "star"),
    )
    assert hits(report, "ESC001") == ["Role/anything-but-lambda", "Role/sneaky"]
    assert hits(report, "LP003") == ["Policy/star"]  # iam:PassRole on every role: LP003's, not repeated
    sneaky = next(f for f in report.of("ESC001") if f.resource == "Role/sneaky")
    assert "with sagemaker:CreateTrainingJob from Policy/other, statement 2" in sneaky.message


def test_esc001_the_role_of_the_notebook_a_group_opens_is_its_own(check: Evaluator) -> None:
    use = allow("sagemaker:CreatePresignedNotebookInstanceUrl", f"{NOTEBOOKS}/nb")
    create = allow("sagemaker:CreateNotebookInstance", f"{NOTEBOOKS}/*")
    docs: list[dict[str, Any]] = [
        policy("opens", use, allow("iam:PassRole", f"{ROLES}/nb-role", Condition=TO_SAGEMAKER), create),
        policy("other", allow("iam:PassRole", f"{ROLES}/nb-role", Condition=TO_SAGEMAKER), create),
        role("nb-role"),
        notebook("nb", "nb-role"),
        group("Users", "opens"),
        group("Others", "other"),
    ]
    assert hits(check(*docs), "ESC001") == ["Group/Others"]


def test_esc001_assuming_roles(check: Evaluator) -> None:
    report = check(
        policy("named", allow("sts:AssumeRole", f"{ROLES}/deployer")),
        policy("any", allow("sts:AssumeRole", f"{ROLES}/*")),
        role("n", "named"),
        role("a", "any"),
    )
    assert hits(report, "ESC001") == ["Role/a"]


def test_esc001_a_user_completing_a_path_from_two_groups(check: Evaluator) -> None:
    passes = allow("iam:PassRole", f"{ROLES}/*", Condition=TO_SAGEMAKER)
    create = allow("sagemaker:CreateNotebookInstance", f"{NOTEBOOKS}/*")
    report = check(
        policy("passes", passes),
        policy("creates", create),
        group("P", "passes"),
        group("C", "creates"),
        user("ann", "P", "C"),
    )
    assert hits(report, "ESC001") == ["User/ann"]


def test_esc001_not_for_administrators_denied_actions_or_unmanaged_principals(check: Evaluator) -> None:
    deny = {"Effect": "Deny", "Action": "iam:AttachRolePolicy", "Resource": "*"}
    report = check(
        role("admin", "arn:aws:iam::aws:policy/AdministratorAccess"),
        policy("denied", allow("iam:AttachRolePolicy", f"{ROLES}/*"), deny),
        role("d", "denied"),
    )
    assert hits(report, "ESC001") == []
    inline = {"p": {"Version": "2012-10-17", "Statement": [allow("iam:AttachRolePolicy", "*")]}}
    trust = {"Version": "2012-10-17", "Statement": []}
    roles = {
        "theirs": LiveRole("theirs", f"{ROLES}/theirs", "/", trust, inline=inline),
        "ours": LiveRole("ours", f"{ROLES}/ours", "/", trust, inline=inline, tags={"managed-by": "reconciler"}),
    }
    live = evaluate_model(from_live(LiveState(ACCOUNT, "ap-northeast-1", {"Role": roles})))
    assert hits(live, "ESC001") == ["Role/ours"]


def test_esc001_on_amazon_sagemaker_full_access(check: Evaluator) -> None:
    report = check(role("r", "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"))
    assert hits(report, "ESC001") == ["Role/r"]
    message = report.of("ESC001")[0].message
    assert "pass-role-notebook" in message and "AWS managed policy AmazonSageMakerFullAccess" in message
