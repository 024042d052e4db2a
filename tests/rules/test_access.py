"""The access diff on small models: manifests written on the fly (before and after), and hand-made live states."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from rules_support import ACCOUNT, Loader, allow, bucket, group, notebook, policy, role, seed_aws_policies, user

from reconciler.aws.live import LiveState
from reconciler.facts.model import Model
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.policy import LivePolicy
from reconciler.kinds.role import LiveRole
from reconciler.kinds.user import LiveUser
from reconciler.rules.access import Access, Category, Entitlement, access_of
from reconciler.rules.accessdiff import (
    NO_CHANGE,
    AccessDiff,
    access_from_dict,
    access_to_dict,
    diff_access,
    render_access_markdown,
    render_access_text,
)
from reconciler.rules.fromdesired import from_desired
from reconciler.rules.planmodels import account_model, after_apply

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
OWNERSHIP = ("managed-by", "reconciler")
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}
RAW = "sagemaker-rawdata"
RAW_OBJECTS = f"arn:aws:s3:::{RAW}/*"


@pytest.fixture
def access(load: Loader) -> Any:
    """``access(*manifests, aws=...)``: the access of the manifests' model."""

    def _access(*docs: Mapping[str, Any], aws: Mapping[str, Any] | None = None) -> Access:
        return access_of(from_desired(load(*docs), aws if aws is not None else seed_aws_policies()))

    return _access


def texts(diff: AccessDiff) -> list[str]:
    return [("+ " if line.change == "gain" else "- ") + line.text for line in diff.lines]


def engineers(*policies: str) -> list[dict[str, Any]]:
    """Group/SageMakerEngineer with hanako and jiro, and the raw data bucket."""
    return [
        group("SageMakerEngineer", *policies),
        user("hanako", "SageMakerEngineer"),
        user("jiro", "SageMakerEngineer"),
        role("admin-notebook"),
        bucket(RAW, access={"write": ["Role/admin-notebook"]}),
    ]


RAW_WRITE = policy("raw-write", allow("s3:PutObject", RAW_OBJECTS))


# --- protected data -------------------------------------------------------------------------------


def test_members_of_a_group_gain_a_write_as_the_issue_says(access: Any) -> None:
    before = access(*engineers(), RAW_WRITE)
    after = access(*engineers("raw-write"), RAW_WRITE)
    diff = diff_access(before, after)
    assert texts(diff) == [
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain s3:PutObject on sagemaker-rawdata/* "
        "via Policy/raw-write"
    ]
    assert diff.notes == ()
    back = diff_access(after, before)
    assert texts(back) == [
        "- members of Group/SageMakerEngineer (hanako, jiro) lose s3:PutObject on sagemaker-rawdata/* "
        "via Policy/raw-write"
    ]


def test_a_member_who_could_already_write_is_not_shown_gaining(access: Any) -> None:
    own = policy("hanako-write", allow(["s3:PutObject"], RAW_OBJECTS))
    hanako_role = role("hanako-role", "hanako-write")  # unrelated; hanako's own write comes from a second group
    docs = [*engineers(), RAW_WRITE, own, hanako_role, group("Writers", "hanako-write")]
    docs[1] = user("hanako", "SageMakerEngineer", "Writers")
    before = access(*docs)
    docs[0] = group("SageMakerEngineer", "raw-write")
    diff = diff_access(before, access(*docs))
    assert texts(diff) == [
        "+ members of Group/SageMakerEngineer (jiro) gain s3:PutObject on sagemaker-rawdata/* via Policy/raw-write"
    ]


def test_a_wildcard_grant_names_its_pattern_and_bucket_control_actions_count(access: Any) -> None:
    wide = policy("wide", allow(["s3:PutBucketPolicy", "s3:DeleteObject"], "arn:aws:s3:::sagemaker-*"))
    before = access(*engineers(), wide)
    after = access(*engineers("wide"), wide)
    assert texts(diff_access(before, after)) == [
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain s3:PutBucketPolicy on sagemaker-rawdata via "
        "Policy/wide (arn:aws:s3:::sagemaker-*)",
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain s3:DeleteObject on sagemaker-rawdata/* via "
        "Policy/wide (arn:aws:s3:::sagemaker-*)",
    ]


def test_unprotected_buckets_are_not_shown(access: Any) -> None:
    docs = [role("etl", "w"), bucket("scratch")]
    before = access(*docs, policy("w", allow("s3:GetObject", "arn:aws:s3:::scratch/*")))
    after = access(*docs, policy("w", allow("s3:PutObject", "arn:aws:s3:::scratch/*")))
    assert diff_access(before, after).empty


def test_protecting_a_bucket_does_not_show_its_writers_as_new(access: Any) -> None:
    docs = [role("etl", "w"), policy("w", allow("s3:PutObject", "arn:aws:s3:::scratch/*"))]
    before = access(*docs, bucket("scratch"))
    after = access(*docs, bucket("scratch", access={"write": ["Role/etl"]}))
    diff = diff_access(before, after)
    assert diff.lines == ()
    assert diff.notes == ("Bucket/scratch becomes protected (declares access.write)",)
    assert diff_access(after, before).notes == ("Bucket/scratch is no longer protected",)


def test_a_bucket_policy_grant_to_another_account(access: Any) -> None:
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": "111122223333"},
        "Action": "s3:PutObject",
        "Resource": RAW_OBJECTS,
    }
    before = access(*engineers())
    after = access(*engineers()[:-1], bucket(RAW, access={"write": ["Role/admin-notebook"]}, policy=[grant]))
    assert texts(diff_access(before, after)) == [
        "+ account 111122223333 gains s3:PutObject on sagemaker-rawdata/* via bucket policy of Bucket/sagemaker-rawdata"
    ]


def test_only_an_unconditional_deny_takes_a_write_away(access: Any) -> None:
    deny = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::*"}
    conditional = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    base = [role("etl", "w", "d"), bucket(RAW, access={"write": ["Role/etl"]})]
    grant = allow("s3:PutObject", RAW_OBJECTS)
    open_ = access(*base, policy("w", grant), policy("d", conditional))
    shut = access(*base, policy("w", grant), policy("d", deny))
    assert texts(diff_access(open_, shut)) == [
        "- Role/etl loses s3:PutObject on sagemaker-rawdata/* via Policy/w",
    ]


def test_a_role_is_named_with_what_runs_as_it(access: Any) -> None:
    docs = [role("nb-role", "w"), notebook("nb", "nb-role"), bucket(RAW, access={"write": ["Role/nb-role"]})]
    before = access(*docs, policy("w", allow("s3:GetObject", RAW_OBJECTS)))
    after = access(*docs, policy("w", allow(["s3:GetObject", "s3:PutObject"], RAW_OBJECTS)))
    assert texts(diff_access(before, after)) == [
        "+ Role/nb-role (runs NotebookInstance/nb) gains s3:PutObject on sagemaker-rawdata/* via Policy/w"
    ]


# --- administrator access -------------------------------------------------------------------------


def test_administrator_access_through_a_group(access: Any) -> None:
    before = access(*engineers())
    after = access(*engineers(ADMIN))
    diff = diff_access(before, after)
    assert [line for line in texts(diff) if "administrator" in line] == [
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain administrator access via AWS managed policy "
        "AdministratorAccess"
    ]
    # With the document, "*" on "*" also writes the raw data and opens every escalation path.
    assert {line.category for line in diff.lines} == {Category.DATA, Category.ADMIN, Category.ESCALATION}


def test_administrator_access_by_name_when_the_document_was_not_read(access: Any) -> None:
    before = access(*engineers(), aws={})
    after = access(*engineers(ADMIN), aws={})
    diff = diff_access(before, after)
    assert texts(diff) == [
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain administrator access via AWS managed policy "
        "AdministratorAccess"
    ]
    assert diff.notes == (
        "Group/SageMakerEngineer attaches arn:aws:iam::aws:policy/AdministratorAccess (after only), whose "
        "document was not read: only the administrator access it names is counted",
    )


def test_star_on_star_in_an_inline_policy_is_administrator_access(access: Any) -> None:
    star = {"Version": "2012-10-17", "Statement": [allow("*", "*")]}
    before = access(role("ops"))
    after = access(role("ops", inlinePolicies={"all": star}))
    admin = diff_access(before, after).of(Category.ADMIN)
    assert [line.text for line in admin] == ["Role/ops gains administrator access via inline policy 'all' of Role/ops"]


# --- trust ----------------------------------------------------------------------------------------


def _trust(*principals: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}],
    }


def test_who_can_newly_assume_a_role(access: Any) -> None:
    other = "arn:aws:iam::111122223333:role/deployer"
    before = access(role("target", trust=_trust(f"arn:aws:iam::{ACCOUNT}:role/ci")), role("ci"))
    after = access(role("target", trust=_trust(f"arn:aws:iam::{ACCOUNT}:role/ci", other)), role("ci"))
    assert texts(diff_access(before, after)) == [f"+ {other} can newly assume Role/target"]
    assert texts(diff_access(after, before)) == [f"- {other} can no longer assume Role/target"]


def test_trusting_the_account_means_whoever_its_policies_allow(access: Any) -> None:
    assume = policy("assume", allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/target"))
    docs = [assume, group("Ops", "assume"), user("hanako", "Ops")]
    before = access(*docs, role("target"))
    after = access(*docs, role("target", trust=_trust(ACCOUNT)))
    assert texts(diff_access(before, after)) == [
        "+ members of Group/Ops (hanako) can newly assume Role/target via Policy/assume",
        f"+ account {ACCOUNT} can newly assume Role/target",
        "- service sagemaker.amazonaws.com can no longer assume Role/target",
    ]


# --- escalation -----------------------------------------------------------------------------------


def test_pass_role_with_a_notebook_is_an_escalation_path(access: Any) -> None:
    pass_role = allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/nb-role")
    create = allow("sagemaker:CreateNotebookInstance", "*")
    before = access(role("ci", "p"), policy("p", pass_role))
    after = access(role("ci", "p"), policy("p", pass_role, create))
    assert texts(diff_access(before, after)) == [
        "+ Role/ci gains privilege escalation: pass-role-notebook (pass a role to a notebook instance it creates, "
        "and run code as that role) via Policy/p"
    ]


def test_a_users_own_credentials_are_not_an_escalation(access: Any) -> None:
    own = allow(["iam:CreateAccessKey", "iam:UpdateLoginProfile"], "arn:aws:iam::*:user/${aws:username}")
    others = allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/*")
    before = access(group("G", "p"), user("hanako", "G"), policy("p", allow("s3:GetObject", "*")))
    mine = access(group("G", "p"), user("hanako", "G"), policy("p", own))
    theirs = access(group("G", "p"), user("hanako", "G"), policy("p", others))
    assert diff_access(before, mine).empty
    assert texts(diff_access(before, theirs)) == [
        "+ members of Group/G (hanako) gain privilege escalation: access-key (create access keys for another user) "
        "via Policy/p"
    ]


# --- the account after apply ----------------------------------------------------------------------


def _live_user(name: str, *groups: str) -> LiveUser:
    return LiveUser(name, f"arn:aws:iam::{ACCOUNT}:user/{name}", "/", groups=groups)


def test_after_apply_keeps_the_accounts_other_principals(load: Loader) -> None:
    """mallory was made by hand, and added by hand to a managed group and to a group of her own: apply keeps
    her and her group, and takes her out of the managed one (it converges its members)."""
    desired = from_desired(load(*engineers("raw-write"), RAW_WRITE), seed_aws_policies())
    guard = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:DeleteGroup", "Resource": "*"}]}
    groups = {
        "SageMakerEngineer": LiveGroup(
            "SageMakerEngineer",
            f"arn:aws:iam::{ACCOUNT}:group/SageMakerEngineer",
            "/",
            attached=(ADMIN,),
            inline={"reconciler-group-guard": guard},
        ),
        "Ops": LiveGroup("Ops", f"arn:aws:iam::{ACCOUNT}:group/Ops", "/", attached=(ADMIN,)),
    }
    users = {
        "hanako": _live_user("hanako", "SageMakerEngineer"),
        "mallory": _live_user("mallory", "Ops", "SageMakerEngineer"),
        "gone": _live_user("gone"),
    }
    live = LiveState(ACCOUNT, "ap-northeast-1", {"Group": groups, "User": users})
    changed = {"Group/SageMakerEngineer", "Policy/raw-write", "Role/admin-notebook", "User/jiro", "User/gone"}
    before = account_model(desired, live, changed | {"Bucket/sagemaker-rawdata"}, ownership=OWNERSHIP)
    after = after_apply(desired, before, {"User/gone"})
    assert sorted(after.users) == ["hanako", "jiro", "mallory"]
    assert after.users["mallory"].groups == ("Ops",) and "Ops" in after.groups
    diff = diff_access(access_of(before), access_of(after))
    assert texts(diff) == [
        "+ members of Group/SageMakerEngineer (hanako, jiro) gain s3:PutObject on sagemaker-rawdata/* via "
        "Policy/raw-write",
        "- members of Group/SageMakerEngineer (hanako) lose administrator access via AWS managed policy "
        "AdministratorAccess",
        "+ service sagemaker.amazonaws.com can newly assume Role/admin-notebook",  # a role the plan creates
    ]
    assert diff.notes == (
        "Bucket/sagemaker-rawdata is new and protected (declares access.write)",
        "Group/SageMakerEngineer attaches arn:aws:iam::aws:policy/AdministratorAccess (before only), whose "
        "document was not read: only the administrator access it names is counted",
    )


def test_the_account_model_shares_what_the_plan_leaves_unchanged(load: Loader) -> None:
    """Policy/w changes (git adds s3:PutObject); role etl attaches it and is itself unchanged, as is role ro."""
    read = allow("s3:GetObject", RAW_OBJECTS)
    docs = [role("etl", "w"), role("ro", "r"), policy("r", read), bucket(RAW, access={"write": ["Role/etl"]})]
    desired = from_desired(load(*docs, policy("w", allow("s3:PutObject", RAW_OBJECTS))), seed_aws_policies())

    def live_policy(name: str) -> LivePolicy:
        document = {"Version": "2012-10-17", "Statement": [read]}
        return LivePolicy(name, f"arn:aws:iam::{ACCOUNT}:policy/{name}", "/", document, "v1")

    def live_role(name: str, policy_name: str) -> LiveRole:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        return LiveRole(name, arn, "/", SAGEMAKER_TRUST, attached=(f"arn:aws:iam::{ACCOUNT}:policy/{policy_name}",))

    live = LiveState(
        ACCOUNT,
        "ap-northeast-1",
        {
            "Policy": {n: live_policy(n) for n in ("r", "w")},
            "Role": {"etl": live_role("etl", "w"), "ro": live_role("ro", "r")},
        },
    )
    before = account_model(desired, live, {"Policy/w"}, ownership=OWNERSHIP)
    assert before.roles["ro"] is desired.roles["ro"] and before.policies["r"] is desired.policies["r"]
    assert before.roles["etl"].attachments[0].document is before.policies["w"] is not desired.policies["w"]
    diff = diff_access(access_of(before), access_of(after_apply(desired, before, ())))
    assert texts(diff) == ["+ Role/etl gains s3:PutObject on sagemaker-rawdata/* via Policy/w"]


# --- rendering, JSON, determinism -----------------------------------------------------------------


def test_the_renderings_and_the_json_round_trip(access: Any) -> None:
    diff = diff_access(access(*engineers()), access(*engineers("raw-write", ADMIN), RAW_WRITE))
    assert diff == diff_access(access(*engineers()), access(*engineers("raw-write", ADMIN), RAW_WRITE))
    data = json.loads(json.dumps(access_to_dict(diff)))
    assert access_from_dict(data) == diff
    assert [c["text"] for c in data["changes"]] == [line.text for line in diff.lines]
    text = render_access_text(diff)
    assert text.startswith("Access changes:\n  Protected data (write, delete or re-open objects):\n    + members of")
    assert "  Administrator access:\n    + members of Group/SageMakerEngineer (hanako, jiro) gain admin" in text
    markdown = render_access_markdown(diff)
    assert markdown.startswith("### Access changes\n\n```diff\n# Protected data (write, delete or re-open objects)\n+ ")
    assert markdown.endswith("```\n\n")
    short = render_access_markdown(diff, limit=600)
    assert len(short) < 900 and "more lines omitted" in short


def test_no_change_is_one_line_everywhere(access: Any) -> None:
    same = access(*engineers())
    diff = diff_access(same, same)
    assert render_access_text(diff) == NO_CHANGE + "\n"
    assert render_access_markdown(diff).count("\n") == 4  # heading, blank, one line, blank
    assert access_to_dict(diff) == {"changes": [], "notes": []}
    assert render_access_text(None) == render_access_markdown(None) == ""


def test_hostile_names_are_escaped() -> None:
    diff = AccessDiff((), ("Bucket/x\x1b[31m is newly protected",))
    assert "\x1b" not in render_access_text(diff) and "\\x1b" in render_access_text(diff)


def test_entries_are_sorted(access: Any) -> None:
    result = access(*engineers(ADMIN))
    assert list(result.entries) == sorted(result.entries)
    assert Entitlement(Category.ADMIN, "User/hanako", "*", "*") in result.entries


def test_an_empty_model_has_no_access() -> None:
    assert access_of(Model("desired", ACCOUNT)).entries == {}


# --- the incremental diff -------------------------------------------------------------------------


def test_a_grant_that_repeats_what_a_principal_could_already_do_changes_nothing(access: Any) -> None:
    """Only the bucket policy and the trust policy change: the role and the user, whose own policies already
    allow what the new statements grant, are analysed all the same (and nothing changes)."""
    etl_arn = f"arn:aws:iam::{ACCOUNT}:role/etl"
    hanako_arn = f"arn:aws:iam::{ACCOUNT}:user/hanako"
    grant = {"Effect": "Allow", "Principal": {"AWS": etl_arn}, "Action": "s3:PutObject", "Resource": RAW_OBJECTS}
    docs = [
        role("etl", "w"),
        policy("w", allow("s3:PutObject", RAW_OBJECTS), allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/t")),
        group("G", "w"),
        user("hanako", "G"),
    ]
    before = access(*docs, bucket(RAW, access={"write": ["Role/etl"]}), role("t", trust=_trust(ACCOUNT)))
    after = access(
        *docs, bucket(RAW, access={"write": ["Role/etl"]}, policy=[grant]), role("t", trust=_trust(ACCOUNT, hanako_arn))
    )
    assert diff_access(before, after) == diff_access(before, after, incremental=False)
    assert texts(diff_access(before, after)) == []


def test_what_a_principal_gains_that_a_policy_of_the_resource_already_granted_is_no_change(access: Any) -> None:
    """etl's and hanako's own policies change; what they gain, the bucket's policy and the role's trust (which
    do not change) already granted them: no change (the unchanged policies are analysed all the same)."""
    etl_arn, hanako_arn = f"arn:aws:iam::{ACCOUNT}:role/etl", f"arn:aws:iam::{ACCOUNT}:user/hanako"
    grant = {"Effect": "Allow", "Principal": {"AWS": [etl_arn, hanako_arn]}, "Action": "s3:PutObject"}
    docs = [
        role("etl", "we"),
        group("G", "wh"),
        user("hanako", "G"),
        bucket(RAW, access={"write": ["Role/etl"]}, policy=[{**grant, "Resource": RAW_OBJECTS}]),
        role("t", trust=_trust(ACCOUNT, hanako_arn)),
    ]
    read = allow("s3:GetObject", RAW_OBJECTS)
    before = access(*docs, policy("we", read), policy("wh", read))
    write = allow("s3:PutObject", RAW_OBJECTS)
    after = access(*docs, policy("we", write), policy("wh", write, allow("sts:AssumeRole", "arn:aws:iam::*:role/t")))
    assert diff_access(before, after) == diff_access(before, after, incremental=False)
    assert [line for line in texts(diff_access(before, after)) if "privilege escalation" not in line] == []


def test_a_role_that_comes_to_trust_its_account_is_assumable_by_whom_its_policies_allow(access: Any) -> None:
    docs = [policy("assume", allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/t")), role("ops", "assume")]
    before = access(*docs, role("t"))
    after = access(*docs, role("t", trust=_trust(ACCOUNT)))
    assert diff_access(before, after) == diff_access(before, after, incremental=False)
    assert "+ Role/ops can newly assume Role/t via Policy/assume" in texts(diff_access(before, after))
