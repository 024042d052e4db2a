"""The differ (``build_plan``) as the pure function it is: desired state + a hand-made live state -> plan.

No emulator, no network: live states are built from the kinds' live models (``livestates``), desired states are
the shipped example or small manifest directories in ``tmp_path``. What each test checks is what
docs/operations.md promises plan shows; the emulator tests (tests/engine/test_preview.py, tests/apply/) check
the same behaviour end to end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from livestates import ACCOUNT, REGION, changed, empty, in_sync, put

from reconciler.aws.live import ABSENT, LiveState, fingerprint
from reconciler.engine.differ import Documents, build_plan
from reconciler.engine.plan import Action, Change, Plan
from reconciler.engine.verdict import judge
from reconciler.kinds import KIND_ORDER, REGISTRY, load_directory
from reconciler.kinds.bucket import LiveBucket
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, GROUP_PENDING_PATH, GUARD_SID, MFA_SID
from reconciler.kinds.policy import LivePolicy
from reconciler.kinds.user import LiveUser
from reconciler.manifests import DesiredState
from reconciler.values import thaw

REPO = Path(__file__).resolve().parents[2]
OWNER = {"managed-by": "reconciler"}
RETAIN_TAG = {"reconciler/deletion-policy": "Retain"}
DELETE_TAG = {"reconciler/deletion-policy": "Delete"}

# The shipped example: 5 policies, 2 roles, 3 users, 2 groups, 3 KMS keys, 2 buckets, 2 notebooks, a Studio
# domain and 2 Studio user profiles (22 resources).
EXAMPLE_COUNTS = {
    "Policy": 5,
    "Role": 2,
    "User": 3,
    "Group": 2,
    "KmsKey": 3,
    "Bucket": 2,
    "NotebookInstance": 2,
    "StudioDomain": 1,
    "StudioUserProfile": 2,
}


@pytest.fixture(scope="module")
def example() -> DesiredState:
    return load_directory(REPO / "desired-state")


def copy_example(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "desired-state", tmp_path / "ds")
    return tmp_path / "ds"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.ref) for c in plan]


def fields(change: Change) -> list[tuple[str, Any, Any]]:
    return [(f.field, thaw(f.old), thaw(f.new)) for f in change.fields]


def only(plan: Plan) -> Change:
    assert len(plan.changes) == 1, actions(plan)
    return plan.changes[0]


def small_directory(root: Path, *documents: str, prune: bool = True) -> DesiredState:
    """A manifest directory of a Settings (the example's account, region and ownership tag) and ``documents``."""
    root.mkdir(parents=True, exist_ok=True)
    settings = f"""\
        apiVersion: reconciler/v1
        kind: Settings
        metadata: {{name: small}}
        spec:
          accountId: "{ACCOUNT}"
          region: {REGION}
          ownershipTag: {{key: managed-by, value: reconciler}}
          prune: {"true" if prune else "false"}
        """
    (root / "settings.yaml").write_text(textwrap.dedent(settings))
    (root / "resources.yaml").write_text("\n---\n".join(textwrap.dedent(d) for d in documents))
    return load_directory(root)


KEEP_POLICY = """\
    apiVersion: reconciler/v1
    kind: Policy
    metadata: {name: keep}
    spec:
      document:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: "s3:ListAllMyBuckets", Resource: "*"}
    """


# --------------------------------------------------------------------------------------------------
# in sync, create, update
# --------------------------------------------------------------------------------------------------


def test_an_account_that_matches_the_manifests_plans_no_change(example: DesiredState) -> None:
    plan = build_plan(example, in_sync(example))
    assert plan.empty, actions(plan)
    assert dict(plan.unchanged) == EXAMPLE_COUNTS
    assert plan.notes == ()
    assert plan.summary() == "Plan: 0 to create, 0 to update, 0 to delete."
    assert (plan.account_id, plan.region) == (ACCOUNT, REGION)


def test_a_missing_resource_is_created_with_every_field_it_sets(example: DesiredState) -> None:
    plan = build_plan(example, in_sync(example, skip={"Role/notebook-for-engineer-role", "User/carol"}))
    # carol is created, and so is her membership: the group's field, on the group.
    assert actions(plan) == [
        ("create", "Role/notebook-for-engineer-role"),
        ("create", "User/carol"),
        ("update", "Group/SageMakerEngineer"),
    ]
    role = plan.changes[0]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/"
    # Fields with no value (no boundary, no inline policy) are not shown; nothing has an old value.
    assert [f.field for f in role.fields] == ["description", "maxSessionDuration", "path", "policies", "tags", "trust"]
    assert all(f.old is None and not f.replaces for f in role.fields)
    shown = {f: new for f, _, new in fields(role)}
    assert shown["description"] == "Runs the engineers' notebook"
    assert shown["maxSessionDuration"] == 3600
    assert shown["policies"] == [f"{arn}notebook-engineer-data", f"{arn}notebook-logs"]
    assert shown["tags"] == OWNER
    trust = shown["trust"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["sagemaker.amazonaws.com"]}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # What apply executes, where it is in git, and "it did not exist" as the fingerprint.
    assert thaw(role.desired)["policies"] == shown["policies"] and role.live is None
    assert role.source == f"{REPO}/desired-state/roles/notebook-roles.yaml:17:1"
    assert role.fingerprint == ABSENT and role.blocker is None
    user = plan.changes[1]
    assert fields(user) == [
        ("consoleAccess", None, True),
        ("path", None, "/"),
        ("tags", None, {"team": "data-science", **OWNER}),
    ]
    assert fields(plan.changes[2]) == [("members", ["bob"], ["bob", "carol"])]


def test_an_empty_account_creates_all_twenty_two_resources(example: DesiredState) -> None:
    plan = build_plan(example, empty(example))
    assert [a for a, _ in actions(plan)] == ["create"] * 22
    assert plan.summary() == "Plan: 22 to create, 0 to update, 0 to delete."
    assert dict(plan.unchanged) == {}
    assert all(f.old is None for c in plan for f in c.fields)
    group = next(c for c in plan if c.ref == "Group/SageMakerAdministrator")
    # A managed group gets the reconciler's guard: its ownership mark, with the MFA requirement.
    assert [f.field for f in group.fields] == [f"inlinePolicies.{GROUP_GUARD_POLICY}", "members", "path", "policies"]
    sids = [s["Sid"] for s in thaw(group.desired)["inlinePolicies"][GROUP_GUARD_POLICY]["Statement"]]
    assert sids == [GUARD_SID["Delete"], MFA_SID]


ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

DRIFTS: list[tuple[str, str, dict[str, Any], tuple[str, Any, Any]]] = [
    ("Role", "notebook-for-engineer-role", {"max_session_duration": 7200}, ("maxSessionDuration", 7200, 3600)),
    (
        "Role",
        "notebook-for-engineer-role",
        {"description": "changed by hand"},
        ("description", "changed by hand", "Runs the engineers' notebook"),
    ),
    ("Bucket", "sagemaker-rawdata", {"versioning": "Suspended"}, ("versioning", False, True)),
    ("Bucket", "sagemaker-rawdata", {"public_access_block": None}, ("publicAccessBlock", None, ALL_BLOCKED)),
    (
        "User",
        "bob",
        {"tags": {"team": "hacked", **OWNER}},
        ("tags", {"team": "hacked", **OWNER}, {"team": "data-science", **OWNER}),
    ),
    ("User", "alice", {"console_access": False}, ("consoleAccess", False, True)),
    (
        "Group",
        "SageMakerEngineer",
        {
            "attached": (
                f"arn:aws:iam::{ACCOUNT}:policy/use-notebook-for-engineer",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            )
        },
        (
            "policies",
            [f"arn:aws:iam::{ACCOUNT}:policy/use-notebook-for-engineer", "arn:aws:iam::aws:policy/AdministratorAccess"],
            [f"arn:aws:iam::{ACCOUNT}:policy/use-notebook-for-engineer"],
        ),
    ),
    (
        "NotebookInstance",
        "notebook-for-administrator",
        {"root_access": "Enabled"},
        ("rootAccess", "Enabled", "Disabled"),
    ),
    (
        "NotebookInstance",
        "notebook-for-engineer",
        {"instance_type": "ml.t3.large"},
        ("instanceType", "ml.t3.large", "ml.t3.medium"),
    ),
]


@pytest.mark.parametrize(("kind", "name", "drift", "expected"), DRIFTS, ids=[f"{d[0]}-{d[3][0]}" for d in DRIFTS])
def test_a_drifted_field_is_an_update_of_exactly_that_field_with_old_and_new(
    example: DesiredState, kind: str, name: str, drift: dict[str, Any], expected: tuple[str, Any, Any]
) -> None:
    live = changed(in_sync(example), kind, name, **drift)
    change = only(build_plan(example, live))
    assert (change.action, change.ref) == (Action.UPDATE, f"{kind}/{name}")
    assert fields(change) == [expected]
    assert change.blocker is None and not change.fields[0].replaces
    # Both sides are kept for apply: the live view it read, the desired view it writes.
    assert thaw(change.live)[expected[0]] == expected[1]
    assert thaw(change.desired)[expected[0]] == expected[2]
    assert change.fingerprint == fingerprint(live.of(kind)[name])
    plan = build_plan(example, live)
    assert sum(plan.unchanged.values()) == 21


def test_a_changed_policy_document_shows_the_statements_added_and_removed(example: DesiredState) -> None:
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    live = changed(in_sync(example), "Policy", "notebook-engineer-data", document=widened)
    change = only(build_plan(example, live))
    assert change.ref == "Policy/notebook-engineer-data" and change.action is Action.UPDATE
    (document,) = change.fields
    assert document.field == "document" and thaw(document.old) == widened
    assert document.statements is not None
    assert [s["Action"] for s in document.statements.removed] == [["s3:*"]]
    assert sorted(s["Sid"] for s in document.statements.added) == ["ListBuckets", "ReadRawData", "ReadWriteResults"]


def test_a_notebook_update_while_it_runs_is_noted_as_pending(example: DesiredState) -> None:
    live = changed(in_sync(example), "NotebookInstance", "notebook-for-engineer", volume_size_in_gb=10)
    change = only(build_plan(example, live))
    assert fields(change) == [("volumeSizeInGB", 10, 20)]
    assert change.notes == (
        "pending: the notebook is InService; volumeSizeInGB will be updated by the first apply after it is "
        "stopped (Settings.notebookUpdates: restart stops it instead)",
    )
    stopped = changed(live, "NotebookInstance", "notebook-for-engineer", status="Stopped")
    assert only(build_plan(example, stopped)).notes == ()


# --------------------------------------------------------------------------------------------------
# policy documents compared by meaning
# --------------------------------------------------------------------------------------------------

# notebook-engineer-data as IAM may hand it back: statements and lists reordered, single values as lists and
# lists of one as single values, action names in another case.
ENGINEER_DATA_REWRITTEN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Resource": ["arn:aws:s3:::sagemaker-result/*"],
            "Action": ["s3:deleteobject", "S3:PutObject", "s3:GetObject"],
            "Effect": "Allow",
            "Sid": "ReadWriteResults",
        },
        {
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": ["arn:aws:s3:::sagemaker-result", "arn:aws:s3:::sagemaker-rawdata"],
        },
        {
            "Sid": "ReadRawData",
            "Effect": "Allow",
            "Action": "s3:getobject",
            "Resource": "arn:aws:s3:::sagemaker-rawdata/*",
        },
    ],
}


def test_a_document_equal_to_python_but_not_as_json_is_still_compared_by_meaning() -> None:
    # True == 1 in Python, but "true" and "1" are different condition values to IAM: the shortcut for documents
    # written as read must not take one for the other.
    def doc(value: object) -> dict[str, Any]:
        condition = {"Bool": {"aws:SecureTransport": value}}
        return {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": condition}],
        }

    assert doc(True) == doc(1)
    documents = Documents()
    assert not documents.equal(doc(True), doc(1))
    assert documents.equal(doc(True), doc(True))
    assert documents.equal(doc(True), doc("true"))  # by meaning, as before
    assert not documents.equal(doc(True), doc(False))


def test_a_live_document_shared_by_many_resources_is_compared_right_each_time() -> None:
    # IAM's answers share one object per distinct text: the plan's comparer dumps and checks it once, and must
    # still answer for each desired document it is compared with.
    live = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    same = json.loads(json.dumps(live))
    reordered = {
        "Statement": [{"Resource": ["*"], "Action": ["S3:getobject"], "Effect": "Allow"}],
        "Version": "2012-10-17",
    }
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    documents = Documents()
    assert [documents.equal(live, d) for d in (same, other, reordered, same, other, None)] == [
        True,
        False,
        True,
        True,
        False,
        False,
    ]
    # one that does not read as a policy is no policy, however often it is asked about
    broken = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Bogus": 1}]}
    twin = json.loads(json.dumps(broken))
    assert [documents.equal(broken, twin) for _ in range(3)] == [False, False, False]
    assert documents.equal(None, None)


def test_policy_documents_equal_by_meaning_are_no_change(example: DesiredState) -> None:
    live = in_sync(example)
    live = changed(live, "Policy", "notebook-engineer-data", document=ENGINEER_DATA_REWRITTEN)
    # A trust policy with a single service as a string, and the condition's account as a list.
    trust = {
        "Version": "2012-10-17",
        "Statement": {
            "Action": ["sts:AssumeRole"],
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Effect": "Allow",
            "Condition": {"StringEquals": {"aws:SourceAccount": [ACCOUNT]}},
        },
    }
    live = changed(live, "Role", "notebook-for-engineer-role", trust=trust)
    # A bucket policy with "*" written as {"AWS": "*"} and its statements in the other order.
    policy = thaw(live.of("Bucket")["sagemaker-result"].policy)
    for statement in policy["Statement"]:
        statement["Principal"] = {"AWS": "*"}
    policy["Statement"].reverse()
    live = changed(live, "Bucket", "sagemaker-result", policy=policy)
    # The group guard with its NotAction list reversed and the MFA condition's value a boolean.
    group = live.of("Group")["SageMakerEngineer"]
    guard = thaw(group.inline[GROUP_GUARD_POLICY])
    guard["Statement"][1]["NotAction"].reverse()
    guard["Statement"][1]["Condition"] = {"BoolIfExists": {"aws:MultiFactorAuthPresent": False}}
    live = changed(live, "Group", "SageMakerEngineer", inline={GROUP_GUARD_POLICY: guard})

    plan = build_plan(example, live)
    assert plan.empty, [(c.ref, [f.field for f in c.fields]) for c in plan]
    assert dict(plan.unchanged) == EXAMPLE_COUNTS

    # The control: one resource more in one of those documents is a change of that document only.
    wider = thaw(ENGINEER_DATA_REWRITTEN)
    wider["Statement"][2]["Resource"] = ["arn:aws:s3:::sagemaker-rawdata/*", "arn:aws:s3:::sagemaker-result/*"]
    change = only(build_plan(example, changed(live, "Policy", "notebook-engineer-data", document=wider)))
    assert (change.ref, [f.field for f in change.fields]) == ("Policy/notebook-engineer-data", ["document"])


# --------------------------------------------------------------------------------------------------
# what is not in git: delete, release, or nothing (prune off)
# --------------------------------------------------------------------------------------------------


def owned_leftovers(example: DesiredState) -> LiveState:
    """The account in sync, plus owned resources git no longer declares: a user (Delete, the default), a user
    whose manifest said Retain, a bucket (Retain, the default) and a bucket whose manifest said Delete."""
    live = in_sync(example)
    dave = LiveUser(
        name="dave",
        arn=f"arn:aws:iam::{ACCOUNT}:user/dave",
        path="/",
        tags={"team": "ml-platform", **OWNER},
        console_access=True,
        access_keys=("AKIAEXAMPLEDAVE (Active)",),
        mfa_devices=(f"arn:aws:iam::{ACCOUNT}:mfa/dave",),
    )
    live = put(live, "User", "dave", dave)
    erin = LiveUser(name="erin", arn=f"arn:aws:iam::{ACCOUNT}:user/erin", path="/", tags={**OWNER, **RETAIN_TAG})
    live = put(live, "User", "erin", erin)
    live = put(live, "Bucket", "old-data", LiveBucket(name="old-data", tags=dict(OWNER), detailed=True))
    scratch = LiveBucket(name="scratch", tags={**OWNER, **DELETE_TAG}, detailed=True, versioning="Enabled", empty=True)
    return put(live, "Bucket", "scratch", scratch)


def test_owned_resources_no_longer_in_git_are_deleted_or_released_as_their_deletion_policy_says(
    example: DesiredState,
) -> None:
    live = owned_leftovers(example)
    plan = build_plan(example, live)
    # Deletions and releases come after everything else, dependants first (Bucket before User), then by name.
    assert actions(plan) == [
        ("release", "Bucket/old-data"),
        ("delete", "Bucket/scratch"),
        ("delete", "User/dave"),
        ("release", "User/erin"),
    ]
    assert plan.summary() == "Plan: 0 to create, 0 to update, 2 to delete. (2 to release)"
    changes = {c.ref: c for c in plan}
    dave = changes["User/dave"]
    # The deletion shows what the account holds (new: nothing), and what deleting the user also removes.
    assert fields(dave) == [
        ("consoleAccess", True, None),
        ("path", "/", None),
        ("tags", {"team": "ml-platform", **OWNER}, None),
    ]
    assert dave.destroys == (
        "login profile (console password)",
        "access key AKIAEXAMPLEDAVE (Active)",
        f"MFA device arn:aws:iam::{ACCOUNT}:mfa/dave",
    )
    assert dave.desired is None and thaw(dave.live)["consoleAccess"] is True
    assert dave.fingerprint == fingerprint(live.of("User")["dave"]) and dave.blocker is None
    # Released: only the ownership mark (and the recorded policy) goes; the resource stays, unmanaged.
    erin = changes["User/erin"]
    assert fields(erin) == [("tags", {**OWNER, **RETAIN_TAG}, {})]
    assert "deletionPolicy Retain" in erin.notes[0]
    assert fields(changes["Bucket/old-data"]) == [("tags", OWNER, {})]
    assert changes["Bucket/scratch"].blocker is None  # empty: deletable


def test_a_bucket_to_delete_that_holds_objects_is_a_blocker(example: DesiredState) -> None:
    live = changed(owned_leftovers(example), "Bucket", "scratch", empty=False)
    change = next(c for c in build_plan(example, live) if c.ref == "Bucket/scratch")
    assert change.action is Action.DELETE
    assert change.blocker is not None and change.blocker.code == "not-empty"
    assert "holds objects" in change.blocker.message


def test_a_group_no_longer_in_git_is_released_keeping_its_mfa_requirement(example: DesiredState) -> None:
    def guard(sid: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": sid, "Effect": "Deny", "Action": "iam:DeleteGroup", "Resource": "*"},
                {"Sid": MFA_SID, "Effect": "Deny", "NotAction": ["iam:ChangePassword"], "Resource": "*"},
            ],
        }

    arn = f"arn:aws:iam::{ACCOUNT}:group/Team"
    team = LiveGroup(name="Team", arn=arn, path="/", inline={GROUP_GUARD_POLICY: guard(GUARD_SID["Retain"])})
    change = only(build_plan(example, put(in_sync(example), "Group", "Team", team)))
    assert (change.action, change.ref) == (Action.RELEASE, "Group/Team")
    assert [f.field for f in change.fields] == [f"inlinePolicies.{GROUP_GUARD_POLICY}", "inlinePolicies.require-mfa"]
    assert change.fields[0].new is None and thaw(change.fields[1].new)["Statement"][0]["Sid"] == MFA_SID
    # The same group whose guard records Delete is deleted, and its members are named as lost.
    inline = {GROUP_GUARD_POLICY: guard(GUARD_SID["Delete"])}
    team = LiveGroup(name="Team", arn=arn, path="/", inline=inline, members=("bob",))
    change = only(build_plan(example, put(in_sync(example), "Group", "Team", team)))
    assert (change.action, change.ref) == (Action.DELETE, "Group/Team")
    assert change.destroys == ("membership of User/bob",)


def test_with_prune_off_owned_resources_no_longer_in_git_are_kept_and_said_so(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    edit(root / "settings.yaml", "prune: true", "prune: false")
    desired = load_directory(root)
    plan = build_plan(desired, owned_leftovers(desired))
    assert plan.empty, actions(plan)
    assert plan.notes == (
        "prune is off: 4 owned resource(s) no longer in git are kept: "
        "User/dave, User/erin, Bucket/old-data, Bucket/scratch",
    )
    assert dict(plan.unchanged) == EXAMPLE_COUNTS


# --------------------------------------------------------------------------------------------------
# what is not the reconciler's: adopt, or nothing
# --------------------------------------------------------------------------------------------------


def test_an_unowned_resource_named_in_git_is_an_adoption_never_a_silent_update(example: DesiredState) -> None:
    live = changed(in_sync(example), "User", "alice", tags={"team": "ml-platform"})
    change = only(build_plan(example, live))
    assert (change.action, change.ref) == (Action.ADOPT, "User/alice")
    assert fields(change) == [("tags", {"team": "ml-platform"}, {"team": "ml-platform", **OWNER})]
    assert change.notes == (
        "exists without the ownership tag managed-by=reconciler: converging it means taking it over (apply --adopt)",
    )
    plan = build_plan(example, live)
    assert plan.summary() == "Plan: 0 to create, 0 to update, 0 to delete. (1 to adopt)"
    # apply refuses the plan unless --adopt is given.
    verdict = judge(plan, None, max_deletes=10)
    assert [(r.code, r.resources) for r in verdict.refusals] == [("adopt", ("User/alice",))]
    assert not judge(plan, None, max_deletes=10, adopt=True).refused


def test_an_unowned_resource_carrying_another_owners_tag_is_not_ours(example: DesiredState) -> None:
    live = changed(in_sync(example), "Role", "notebook-for-engineer-role", tags={"managed-by": "terraform"})
    change = only(build_plan(example, live))
    assert (change.action, change.ref) == (Action.ADOPT, "Role/notebook-for-engineer-role")
    assert fields(change) == [("tags", {"managed-by": "terraform"}, OWNER)]


def test_unowned_resources_not_in_git_are_invisible_even_with_prune(example: DesiredState) -> None:
    live = in_sync(example)
    live = put(live, "User", "someone", LiveUser(name="someone", arn=f"arn:aws:iam::{ACCOUNT}:user/someone", path="/"))
    live = put(live, "Bucket", "their-bucket", LiveBucket(name="their-bucket", tags={"managed-by": "terraform"}))
    theirs = LiveGroup(name="Theirs", arn=f"arn:aws:iam::{ACCOUNT}:group/Theirs", path="/", members=("bob",))
    live = put(live, "Group", "Theirs", theirs)
    plan = build_plan(example, live)
    assert plan.empty and plan.notes == ()
    assert dict(plan.unchanged) == EXAMPLE_COUNTS


def test_an_empty_group_left_by_an_interrupted_create_is_converged_without_adopt(example: DesiredState) -> None:
    shell = LiveGroup(name="SageMakerEngineer", arn=f"arn:aws:iam::{ACCOUNT}:group/SageMakerEngineer", path="/")
    change = only(build_plan(example, put(in_sync(example), "Group", "SageMakerEngineer", shell)))
    assert (change.action, change.ref) == (Action.UPDATE, "Group/SageMakerEngineer")
    assert [f.field for f in change.fields] == [f"inlinePolicies.{GROUP_GUARD_POLICY}", "members", "policies"]
    # With anything in it (a member added by hand), it is someone's group: adoption.
    used = LiveGroup(name="SageMakerEngineer", arn=shell.arn, path="/", members=("bob",))
    assert only(build_plan(example, put(in_sync(example), "Group", "SageMakerEngineer", used))).action is Action.ADOPT
    # At the reserved pending path (a create killed before the guard), it is ours even with a policy attached.
    pending = LiveGroup(
        name="SageMakerEngineer",
        arn=f"arn:aws:iam::{ACCOUNT}:group{GROUP_PENDING_PATH}SageMakerEngineer",
        path=GROUP_PENDING_PATH,
        attached=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
    )
    change = only(build_plan(example, put(in_sync(example), "Group", "SageMakerEngineer", pending)))
    assert change.action is Action.UPDATE
    assert ("path", GROUP_PENDING_PATH, "/") in fields(change)


# --------------------------------------------------------------------------------------------------
# replacements are refused; exclusive group membership
# --------------------------------------------------------------------------------------------------

REPLACEMENTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("Policy", "notebook-logs", {"description": "old words"}, "description"),
    ("Policy", "notebook-logs", {"path": "/legacy/"}, "path"),
    ("Role", "notebook-for-engineer-role", {"path": "/legacy/"}, "path"),
    ("NotebookInstance", "notebook-for-engineer", {"subnet_id": "subnet-0000000000000000"}, "subnetId"),
    ("NotebookInstance", "notebook-for-engineer", {"security_group_ids": ("sg-1",)}, "securityGroupIds"),
    ("NotebookInstance", "notebook-for-engineer", {"kms_key_id": None}, "kmsKeyId"),
    ("NotebookInstance", "notebook-for-engineer", {"direct_internet_access": "Enabled"}, "directInternetAccess"),
]


@pytest.mark.parametrize(("kind", "name", "drift", "field"), REPLACEMENTS, ids=[f"{r[0]}-{r[3]}" for r in REPLACEMENTS])
def test_a_field_aws_cannot_change_in_place_is_a_blocker_apply_refuses(
    example: DesiredState, kind: str, name: str, drift: dict[str, Any], field: str
) -> None:
    plan = build_plan(example, changed(in_sync(example), kind, name, **drift))
    change = only(plan)
    assert (change.action, change.ref) == (Action.UPDATE, f"{kind}/{name}")
    assert [(f.field, f.replaces) for f in change.fields] == [(field, True)]
    assert change.blocker is not None
    assert change.blocker.code == "replacement"
    assert (
        change.blocker.message == f"AWS cannot change {field} in place, and apply replaces a resource only when asked"
    )
    # The plan names the flag that would make the change, before the kind's other way out.
    assert change.blocker.unblock == (
        f"rerun with --replace {kind}/{name} to delete and recreate it, or: {REGISTRY[kind].replace_hint}"
    )
    verdict = judge(plan, None, max_deletes=10, adopt=True, allow_deletes=100)
    assert [(r.code, r.resources) for r in verdict.refusals] == [("replacement", (f"{kind}/{name}",))]
    assert verdict.headline().startswith("REFUSED: apply would write nothing: ")


@pytest.mark.parametrize(("kind", "name", "drift", "field"), REPLACEMENTS, ids=[f"{r[0]}-{r[3]}" for r in REPLACEMENTS])
def test_replace_asked_for_deletes_and_recreates_and_counts_as_a_deletion(
    example: DesiredState, kind: str, name: str, drift: dict[str, Any], field: str
) -> None:
    ref = f"{kind}/{name}"
    plan = build_plan(example, changed(in_sync(example), kind, name, **drift), replace=frozenset({ref}))
    change = only(plan)
    assert (change.action, change.ref, change.blocker) == (Action.REPLACE, ref, None)
    assert [(f.field, f.replaces) for f in change.fields] == [(field, True)]
    assert any("--replace" in note for note in change.notes)
    retained = example.get(kind, name).deletion_policy == "Retain"  # type: ignore[union-attr]
    assert change.retain is retained
    assert change.adopting is False
    if kind == "NotebookInstance":
        assert change.destroys and "storage volume" in change.destroys[0]
    # A replacement is a deletion for the rails: with maxDeletes 0 it is refused until --allow-deletes 1.
    rails = judge(plan, None, max_deletes=0, allow_destroy_retained=True)
    assert [(r.code, r.resources) for r in rails.refusals] == [("max-deletes", (ref,))]
    verdict = judge(plan, None, max_deletes=10)
    if retained:
        assert [(r.code, r.resources) for r in verdict.refusals] == [("retained", (ref,))]
        assert "--allow-destroy-retained" in verdict.refusals[0].unblock
        verdict = judge(plan, None, max_deletes=10, allow_destroy_retained=True)
    assert not verdict.refused


def test_replacing_a_resource_without_the_ownership_mark_takes_it_over_and_needs_adopt(example: DesiredState) -> None:
    live = changed(in_sync(example), "Role", "notebook-for-engineer-role", tags={}, path="/old/")
    ref = "Role/notebook-for-engineer-role"
    plan = build_plan(example, live, replace=frozenset({ref}))
    change = only(plan)
    assert (change.action, change.adopting) == (Action.REPLACE, True)
    assert [r.code for r in judge(plan, None, max_deletes=10).refusals] == ["adopt"]
    assert not judge(plan, None, max_deletes=10, adopt=True).refused


def test_an_adoption_that_needs_a_replacement_is_refused_like_an_update(example: DesiredState) -> None:
    live = changed(in_sync(example), "Policy", "notebook-logs", tags={}, description="old words")
    plan = build_plan(example, live)
    change = only(plan)
    assert (change.action, [(f.field, f.replaces) for f in change.fields]) == (
        Action.ADOPT,
        [("description", True), ("tags", False)],
    )
    assert change.blocker is not None and change.blocker.code == "replacement"
    assert judge(plan, None, max_deletes=10, adopt=True).refused


def test_fields_that_change_in_place_are_no_blocker(example: DesiredState) -> None:
    live = in_sync(example)
    live = changed(live, "Group", "SageMakerEngineer", path="/ml/")  # groups move (UpdateGroup)
    live = changed(live, "User", "bob", path="/people/")
    live = changed(live, "Role", "notebook-for-engineer-role", description="by hand")
    plan = build_plan(example, live)
    assert sorted(c.ref for c in plan) == ["Group/SageMakerEngineer", "Role/notebook-for-engineer-role", "User/bob"]
    assert all(c.blocker is None and not any(f.replaces for f in c.fields) for c in plan)
    assert not judge(plan, None, max_deletes=10).refused


def test_a_notebook_volume_that_would_shrink_is_a_blocker(example: DesiredState) -> None:
    live = changed(in_sync(example), "NotebookInstance", "notebook-for-engineer", volume_size_in_gb=50)
    change = only(build_plan(example, live))
    assert fields(change) == [("volumeSizeInGB", 50, 20)]
    assert change.blocker is not None and change.blocker.code == "volume-shrink"
    assert change.blocker.unblock == "keep volumeSizeInGB at 50 or more in the manifest"


def test_a_user_added_to_a_managed_group_by_hand_is_a_change_of_the_groups_members(example: DesiredState) -> None:
    live = in_sync(example)
    # mallory is nobody's user (not even read as a user); bob is managed, but git puts him in the other group.
    live = changed(live, "Group", "SageMakerAdministrator", members=("alice", "bob", "mallory"))
    live = changed(live, "User", "bob", groups=("SageMakerAdministrator", "SageMakerEngineer"))
    change = only(build_plan(example, live))
    assert (change.action, change.ref) == (Action.UPDATE, "Group/SageMakerAdministrator")
    assert fields(change) == [("members", ["alice", "bob", "mallory"], ["alice"])]
    assert change.notes == (
        "member(s) not declared in git, removed from the group (the users themselves are kept): bob, mallory",
    )
    # The users are never touched: no change of User/bob, none for mallory.
    assert change.destroys == () and change.blocker is None


def test_a_user_git_adds_to_a_group_is_a_new_member_of_the_group_and_no_change_of_the_user(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    users = root / "users" / "users.yaml"
    bob = "  name: bob\nspec:\n  groups: [SageMakerEngineer]\n"
    edit(users, bob, bob.replace("[SageMakerEngineer]", "[SageMakerEngineer, SageMakerAdministrator]"))
    desired = load_directory(root)
    live = in_sync(load_directory(REPO / "desired-state"))
    change = only(build_plan(desired, live))
    assert (change.action, change.ref) == (Action.UPDATE, "Group/SageMakerAdministrator")
    assert fields(change) == [("members", ["alice"], ["alice", "bob"])]
    assert change.notes == ()  # nobody undeclared leaves


# --------------------------------------------------------------------------------------------------
# order
# --------------------------------------------------------------------------------------------------


def test_the_kind_order_follows_every_kinds_declared_dependencies() -> None:
    assert sorted(KIND_ORDER) == sorted(REGISTRY)
    for kind in REGISTRY.values():
        for before in kind.after:
            assert KIND_ORDER.index(before) < KIND_ORDER.index(kind.name), (kind.name, before)
    assert KIND_ORDER == (
        "Policy",
        "Role",
        "User",
        "Group",
        "KmsKey",
        "Bucket",
        "NotebookInstance",
        "StudioDomain",
        "StudioUserProfile",
    )


def test_creates_follow_the_kind_order_and_deletions_go_the_other_way(example: DesiredState, tmp_path: Path) -> None:
    created = build_plan(example, empty(example))
    kinds = [c.kind for c in created]
    assert kinds == sorted(kinds, key=KIND_ORDER.index)
    example_kinds = [k for k in KIND_ORDER if example.of(k)]
    assert example_kinds == list(KIND_ORDER)  # the example has every kind
    assert list(dict.fromkeys(kinds)) == example_kinds
    # Everything of the example is owned and recorded as Delete; git now holds one other policy only.
    live = in_sync(example)
    for kind in ("KmsKey", "Bucket", "NotebookInstance", "StudioDomain", "StudioUserProfile"):
        for name, model in live.of(kind).items():
            live = changed(live, kind, name, tags={**model.tags, **DELETE_TAG})
    desired = small_directory(tmp_path / "small", KEEP_POLICY)
    plan = build_plan(desired, live)
    assert plan.changes[0].ref == "Policy/keep" and plan.changes[0].action is Action.CREATE
    removed = plan.changes[1:]
    assert {c.action for c in removed} == {Action.DELETE} and len(removed) == 22
    kinds = [c.kind for c in removed]
    assert list(dict.fromkeys(kinds)) == list(reversed(example_kinds))
    # Within a kind, by name: a stable order for reviewers and for the executor.
    for kind in KIND_ORDER:
        names = [c.name for c in removed if c.kind == kind]
        assert names == sorted(names)


def test_a_deleted_policy_lists_the_principals_it_is_detached_from(example: DesiredState, tmp_path: Path) -> None:
    live = in_sync(example)
    desired = small_directory(tmp_path / "small", KEEP_POLICY, prune=True)
    plan = build_plan(desired, live)
    logs = next(c for c in plan if c.ref == "Policy/notebook-logs")
    assert logs.action is Action.DELETE
    assert logs.destroys == (
        "detached from Role/notebook-for-administrator-role",
        "detached from Role/notebook-for-engineer-role",
    )


# --------------------------------------------------------------------------------------------------
# determinism and fingerprints
# --------------------------------------------------------------------------------------------------


def drifted(example: DesiredState) -> LiveState:
    """An account with a create, an update, an adoption, a deletion and a release to plan."""
    live = in_sync(example, skip={"User/carol"})
    live = changed(live, "Role", "notebook-for-engineer-role", max_session_duration=7200)
    live = changed(live, "Policy", "notebook-logs", tags={})
    return owned_leftovers_of(live)


def owned_leftovers_of(live: LiveState) -> LiveState:
    old = LivePolicy(
        name="old",
        arn=f"arn:aws:iam::{ACCOUNT}:policy/old",
        path="/",
        document={"Version": "2012-10-17", "Statement": []},
        default_version_id="v1",
        tags=dict(OWNER),
    )
    live = put(live, "Policy", "old", old)
    return put(live, "Bucket", "old-data", LiveBucket(name="old-data", tags=dict(OWNER), detailed=True))


def test_identical_live_input_gives_an_identical_plan_and_fingerprints(example: DesiredState) -> None:
    first = build_plan(example, drifted(example))
    second = build_plan(example, drifted(example))  # built anew: equal values, other objects
    assert sorted(a for a, _ in actions(first)) == ["adopt", "create", "delete", "release", "update", "update"]
    assert first == second
    assert [c.fingerprint for c in first] == [c.fingerprint for c in second]
    live = drifted(example)
    for change in first:
        assert change.fingerprint == fingerprint(live.of(change.kind).get(change.name))
        assert (change.fingerprint == ABSENT) == (change.action is Action.CREATE)
        assert change.fingerprint == ABSENT or change.fingerprint.startswith("sha256:")


def test_the_fingerprint_ignores_mapping_order_and_sees_anything_read(example: DesiredState) -> None:
    live = drifted(example)
    role = live.of("Role")["notebook-for-engineer-role"]
    plan = build_plan(example, live)
    before = {c.ref: c.fingerprint for c in plan}
    # The same tags in another insertion order: the same resource, the same fingerprint.
    one = changed(live, "Role", role.name, tags={"x": "1", **role.tags})
    two = changed(live, "Role", role.name, tags={**role.tags, "x": "1"})
    assert list(one.of("Role")[role.name].tags) != list(two.of("Role")[role.name].tags)
    assert build_plan(example, one) == build_plan(example, two)
    assert fingerprint(one.of("Role")[role.name]) == fingerprint(two.of("Role")[role.name])
    # A field no view shows (the role's instance profiles) still moves the fingerprint: apply re-reads the
    # resource and must see that it changed since the plan; the other changes keep theirs.
    moved = changed(live, "Role", role.name, instance_profiles=("by-hand",))
    after = {c.ref: c.fingerprint for c in build_plan(example, moved)}
    assert after.keys() == before.keys()
    assert {ref for ref in before if before[ref] != after[ref]} == {"Role/notebook-for-engineer-role"}


FINGERPRINTS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from livestates import in_sync, changed
from reconciler.engine.differ import build_plan
from reconciler.kinds import load_directory
desired = load_directory(sys.argv[2])
live = changed(in_sync(desired, skip={"User/carol"}), "Role", "notebook-for-engineer-role", tags={"b": "2", "a": "1"})
print(json.dumps([[c.ref, c.fingerprint] for c in build_plan(desired, live)]))
"""


def test_fingerprints_are_the_same_in_every_process(example: DesiredState) -> None:
    """A saved plan is applied by another process, which compares what it reads again with the plan's
    fingerprints: they must not depend on the process (hash randomisation, set order)."""
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", FINGERPRINTS, str(Path(__file__).parent), str(REPO / "desired-state")],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert [ref for ref, _ in outputs[0]] == [
        "Role/notebook-for-engineer-role",
        "User/carol",
        "Group/SageMakerEngineer",
    ]


# --------------------------------------------------------------------------------------------------
# pure at run time
# --------------------------------------------------------------------------------------------------

PURE = """
import json, sys
import reconciler.engine.differ as differ
from reconciler.aws.live import LiveState
from reconciler.kinds import load_directory
desired = load_directory(sys.argv[1])
plan = differ.build_plan(desired, LiveState(desired.settings.account_id, "ap-northeast-1"))
sdk = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer", "moto"))
print(json.dumps({"changes": len(plan.changes), "sdk": sdk, "differ": "reconciler.engine.differ" in sys.modules}))
"""


def test_building_a_plan_loads_no_aws_sdk_and_no_emulator() -> None:
    """The import contract (pyproject.toml) covers imports; this covers what actually runs: loading the
    manifests and building a plan of the whole example, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PURE, str(REPO / "desired-state")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {"changes": 22, "sdk": [], "differ": True}


DEEPDIFF = """
import json, sys
from reconciler.engine.differ import diff_fields
from reconciler.kinds import REGISTRY
role = REGISTRY["Role"]
same = diff_fields(role, {"path": "/", "policies": ["a", "b"]}, {"path": "/", "policies": ["a", "b"]})
loaded = "deepdiff" in sys.modules
moved = diff_fields(role, {"path": "/", "policies": ["a", "b"]}, {"path": "/", "policies": ["b", "a"]})
changed = diff_fields(role, {"path": "/", "policies": ["a"]}, {"path": "/", "policies": ["b"]})
print(json.dumps({"same": len(same), "before": loaded, "moved": len(moved), "changed": len(changed)}))
"""


def test_deepdiff_is_loaded_only_when_a_plain_field_differs() -> None:
    """A plan that changes nothing never imports deepdiff (its largest import); a list in another order is
    still no change, and a different one still is."""
    done = subprocess.run(
        [sys.executable, "-c", DEEPDIFF], cwd=REPO, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"same": 0, "before": False, "moved": 0, "changed": 1}
