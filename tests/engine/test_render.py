"""Renderers of a Plan: text, JSON (with its schema), Markdown. Plans are built by hand: no AWS."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.engine.render import plan_to_dict, render_json, render_text
from reconciler.engine.render_markdown import render_markdown
from reconciler.policydoc import diff_documents
from reconciler.values import thaw

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
SOURCE = "desired-state/roles/notebook-roles.yaml:17:1"

TRUST_OLD = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TRUST_NEW = {
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
READ_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
        }
    ],
}


def doc_change(path: tuple[str, ...], old: Any, new: Any, **kw: Any) -> FieldChange:
    """A document FieldChange as the differ builds it (absent sides as an empty document)."""
    return FieldChange(
        path, old, new, statements=diff_documents(old or {"Statement": []}, new or {"Statement": []}), **kw
    )


def one(change: Change, **kw: Any) -> Plan:
    return Plan(ACCOUNT, REGION, changes=(change,), **kw)


def text_of(change: Change) -> str:
    return render_text(one(change), color=False)


def mixed_plan() -> Plan:
    return Plan(
        ACCOUNT,
        REGION,
        changes=(
            Change(
                Action.UPDATE,
                "Role",
                "notebook-for-engineer-role",
                source=SOURCE,
                notes=("path: AWS cannot change it in place; the resource must be replaced",),
                fields=(
                    FieldChange(("description",), "old", "new"),
                    FieldChange(("path",), "/a/", "/b/", replaces=True),
                    FieldChange(
                        ("policies",),
                        ["arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"],
                        ["arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/C"],
                    ),
                    FieldChange(("tags",), {"team": "ml", "env": "dev"}, {"env": "prod", "owner": "me"}),
                    doc_change(("trust",), TRUST_OLD, TRUST_NEW),
                    doc_change(("inlinePolicies", "read"), None, READ_DOC),
                ),
            ),
            Change(
                Action.CREATE,
                "Policy",
                "data-read",
                source="desired-state/policies.yaml:1:1",
                fields=(
                    FieldChange(("description",), None, None),
                    FieldChange(("document",), None, READ_DOC),
                    FieldChange(("path",), None, "/"),
                    FieldChange(("tags",), None, {"managed-by": "reconciler"}),
                ),
            ),
            Change(
                Action.CREATE,
                "Group",
                "engineers",
                source="desired-state/groups.yaml:1:1",
                fields=(
                    FieldChange(("inlinePolicies",), None, {"guard": READ_DOC}),
                    FieldChange(("policies",), None, []),
                ),
            ),
            Change(
                Action.ADOPT,
                "Bucket",
                "legacy",
                source="desired-state/buckets.yaml:3:1",
                notes=(
                    "exists without the ownership tag managed-by=reconciler: converging it means taking it over "
                    "(apply --adopt)",
                ),
                fields=(FieldChange(("versioning",), False, True),),
            ),
            Change(
                Action.RELEASE,
                "Bucket",
                "archive",
                fields=(FieldChange(("tags", "managed-by"), "reconciler", None),),
                notes=("no longer in git; deletionPolicy Retain keeps it",),
            ),
            Change(
                Action.DELETE,
                "User",
                "leaver",
                fields=(FieldChange(("groups",), ["engineers"], None), FieldChange(("path",), "/", None)),
            ),
        ),
        unchanged={"Role": 2, "Policy": 1},
        notes=("prune is on",),
    )


# --- text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "symbol", "wording"),
    [
        (Action.CREATE, "+", "# create"),
        (Action.UPDATE, "~", "# update in place"),
        (Action.DELETE, "-", "# delete"),
        (Action.ADOPT, "!", "# adopt (needs --adopt)"),
        (Action.RELEASE, "~", "# release (kept, ownership tag removed)"),
    ],
)
def test_each_action_has_its_symbol_and_wording(action: Action, symbol: str, wording: str) -> None:
    change = Change(
        action, "Role", "notebook-for-engineer-role", source=SOURCE, fields=(FieldChange(("description",), "a", "b"),)
    )
    lines = text_of(change).splitlines()
    header = lines.index(f"  {symbol} Role/notebook-for-engineer-role  ({SOURCE})")
    assert lines[header + 1] == f"      {wording}"


def test_header_without_source_and_notes_follow_the_wording() -> None:
    change = Change(
        Action.RELEASE,
        "Bucket",
        "archive",
        notes=("kept: Retain",),
        fields=(FieldChange(("tags", "managed-by"), "reconciler", None),),
    )
    assert text_of(change).splitlines()[2:6] == [
        "  ~ Bucket/archive",
        "      # release (kept, ownership tag removed)",
        "      # kept: Retain",
        '      tags.managed-by: "reconciler" -> null',
    ]


def test_scalar_field() -> None:
    out = text_of(Change(Action.UPDATE, "Role", "r", fields=(FieldChange(("maxSessionDuration",), 3600, 7200),)))
    assert "      maxSessionDuration: 3600 -> 7200\n" in out


def test_list_field_shows_added_and_removed_items() -> None:
    out = text_of(
        Change(Action.UPDATE, "Role", "r", fields=(FieldChange(("policies",), ["arn:a", "arn:b"], ["arn:b", "arn:c"]),))
    )
    assert '      policies:\n        - "arn:a"\n        + "arn:c"\n' in out
    assert "arn:b" not in out


def test_list_field_from_nothing() -> None:
    out = text_of(
        Change(
            Action.UPDATE,
            "NotebookInstance",
            "n",
            fields=(FieldChange(("securityGroupIds",), None, ["sg-1"], replaces=True),),
        )
    )
    assert '      securityGroupIds:  (forces replacement)\n        + "sg-1"\n' in out


def test_mapping_field_key_by_key() -> None:
    out = text_of(
        Change(
            Action.UPDATE,
            "Role",
            "r",
            fields=(
                FieldChange(
                    ("tags",), {"team": "ml", "env": "dev", "same": "x"}, {"env": "prod", "owner": "me", "same": "x"}
                ),
            ),
        )
    )
    assert ('      tags:\n        ~ "env": "dev" -> "prod"\n        + "owner": "me"\n        - "team": "ml"\n') in out
    assert "same" not in out


def test_document_field_statement_level_not_json() -> None:
    out = text_of(Change(Action.UPDATE, "Role", "r", fields=(doc_change(("trust",), TRUST_OLD, TRUST_NEW),)))
    assert (
        "      trust:\n"
        "        - Allow sts:AssumeRole for Service=sagemaker.amazonaws.com\n"
        "        + Allow sts:AssumeRole for Service=sagemaker.amazonaws.com when StringEquals "
        f"aws:SourceAccount={ACCOUNT}\n"
    ) in out
    assert "Statement" not in out
    assert "{" not in out


def test_document_statements_are_shown_as_written_not_lower_cased() -> None:
    old = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    new = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    out = text_of(Change(Action.UPDATE, "Policy", "p", fields=(doc_change(("document",), old, new),)))
    assert "        - Allow s3:GetObject on *\n        + Allow s3:PutObject on *\n" in out


def test_new_inline_policy_is_its_statements_without_version_noise() -> None:
    out = text_of(Change(Action.UPDATE, "Role", "r", fields=(doc_change(("inlinePolicies", "read"), None, READ_DOC),)))
    assert (
        "      inlinePolicies.read: (new document)\n"
        "        + [Read] Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::data, arn:aws:s3:::data/*\n"
    ) in out
    assert "Version" not in out


def test_removed_inline_policy() -> None:
    out = text_of(Change(Action.UPDATE, "Role", "r", fields=(doc_change(("inlinePolicies", "read"), READ_DOC, None),)))
    assert "      inlinePolicies.read: (document removed)\n        - [Read] Allow s3:GetObject" in out


def test_version_change_is_shown_with_its_values() -> None:
    old = {**READ_DOC, "Version": "2008-10-17"}
    out = text_of(Change(Action.UPDATE, "Policy", "p", fields=(doc_change(("document",), old, READ_DOC),)))
    assert '        ~ Version: "2008-10-17" -> "2012-10-17"\n' in out


def test_unreadable_document_falls_back_to_compact_values() -> None:
    bad = {"Statement": [{"Effect": "Allow", "Resources": "*"}]}
    out = text_of(
        Change(Action.UPDATE, "Policy", "p", fields=(FieldChange(("document",), READ_DOC, bad, statements=None),))
    )
    assert "      document:\n        - {" in out
    assert '        + {"Statement": [{"Effect": "Allow", "Resources": "*"}]}\n' in out


def test_replaces_is_marked() -> None:
    out = text_of(Change(Action.UPDATE, "Role", "r", fields=(FieldChange(("path",), "/a/", "/b/", replaces=True),)))
    assert '      path: "/a/" -> "/b/"  (forces replacement)\n' in out
    assert "      # update: the resource must be replaced\n" in out


def test_create_is_compact_with_documents_as_statements() -> None:
    out = text_of(
        Change(
            Action.CREATE,
            "Group",
            "g",
            fields=(
                FieldChange(("inlinePolicies",), None, {"guard": TRUST_OLD, "read": READ_DOC}),
                FieldChange(("path",), None, "/"),
                FieldChange(("permissionsBoundary",), None, None),
                FieldChange(("policies",), None, ["arn:a", "arn:b"]),
                FieldChange(("tags",), None, {"managed-by": "reconciler"}),
            ),
        )
    )
    assert out.splitlines()[2:12] == [
        "  + Group/g",
        "      # create",
        "      + inlinePolicies.guard:",
        "        + Allow sts:AssumeRole for Service=sagemaker.amazonaws.com",
        "      + inlinePolicies.read:",
        "        + [Read] Allow s3:GetObject, s3:ListBucket on arn:aws:s3:::data, arn:aws:s3:::data/*",
        '      + path: "/"',
        '      + policies: ["arn:a", "arn:b"]',
        '      + tags: {"managed-by": "reconciler"}',
        "",
    ]
    assert "permissionsBoundary" not in out


def test_delete_lists_live_fields() -> None:
    out = text_of(
        Change(
            Action.DELETE,
            "Policy",
            "p",
            fields=(FieldChange(("document",), READ_DOC, None), FieldChange(("path",), "/", None)),
        )
    )
    assert "  - Policy/p\n      # delete\n      - document:\n        - [Read] Allow s3:GetObject, s3:ListBucket" in out
    assert '      - path: "/"\n' in out


def test_summary_and_plan_notes_end_the_text() -> None:
    plan = mixed_plan()
    lines = render_text(plan, color=False).splitlines()
    assert lines[-2:] == [plan.summary(), "Note: prune is on"]
    assert lines[-2] == "Plan: 2 to create, 1 to update, 1 to delete. (1 to adopt, 1 to release)"


def test_changes_are_in_plan_order() -> None:
    plan = mixed_plan()
    out = render_text(plan, color=False)
    positions = [out.index(f" {c.ref}") for c in plan.changes]
    assert positions == sorted(positions)


def test_empty_plan() -> None:
    assert render_text(Plan(ACCOUNT, REGION), color=False) == (
        "No changes. The account matches the manifests.\n\nPlan: 0 to create, 0 to update, 0 to delete.\n"
    )


def test_colour_only_when_asked() -> None:
    plan = mixed_plan()
    plain = render_text(plan, color=False)
    coloured = render_text(plan, color=True)
    assert "\x1b" not in plain
    assert "\x1b[32m+\x1b[0m Policy/data-read" in coloured  # green +
    assert "\x1b[33m~\x1b[0m Role/notebook-for-engineer-role" in coloured  # yellow ~
    assert "\x1b[31m-\x1b[0m User/leaver" in coloured  # red -
    assert "\x1b[35m!\x1b[0m Bucket/legacy" in coloured  # magenta !
    assert ANSI.sub("", coloured) == plain


def test_hostile_values_cannot_inject_terminal_codes_or_lines() -> None:
    plan = one(
        Change(
            Action.UPDATE,
            "Bucket",
            "b",
            notes=("evil\x1b[2Jnote\nsecond line",),
            fields=(
                FieldChange(("tags",), {}, {"k": "v\x1b[31m\u202e"}),
                doc_change(
                    ("policy",),
                    None,
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Sid": "x\x1b]0;title\x07", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:\nline"}
                        ],
                    },
                ),
            ),
        )
    )
    for out in (render_text(plan, color=False), render_markdown(plan)):
        assert "\x1b" not in out
        assert "\u202e" not in out
        assert "\x07" not in out
        assert "\\x1b" in out or "\\u001b" in out
        assert "second line" not in out.split("evil", 1)[1].split("\n", 1)[1]


def test_text_is_deterministic_whatever_the_insertion_order() -> None:
    def build(reverse: bool) -> Plan:
        tags = [("b", "2"), ("a", "1"), ("c", "3")]
        old, new = dict(tags[::-1] if reverse else tags), {"a": "9", "d": "4"}
        changes = (
            *mixed_plan().changes,
            Change(Action.UPDATE, "User", "u", fields=(FieldChange(("tags",), old, new),)),
        )
        return Plan(
            ACCOUNT,
            REGION,
            changes=changes[::-1] if reverse else changes,
            unchanged=dict(sorted({"Role": 2, "Policy": 1}.items(), reverse=reverse)),
            notes=("n",),
        )

    assert render_text(build(False), color=True) == render_text(build(True), color=True)
    assert render_json(build(False)) == render_json(build(True))
    assert render_markdown(build(False)) == render_markdown(build(True))


# --- JSON -------------------------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _properties_without_description(node: Any, where: str = "") -> list[str]:
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if "description" not in sub:
                missing.append(f"{where}/properties/{name}")
        for key in ("$defs",):
            for name, sub in node.get(key, {}).items():
                if "description" not in sub:
                    missing.append(f"{where}/{key}/{name}")
        for key, sub in node.items():
            missing += _properties_without_description(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            missing += _properties_without_description(sub, f"{where}/{index}")
    return missing


def test_schema_describes_every_field() -> None:
    assert "description" in SCHEMA
    assert _properties_without_description(SCHEMA) == []


@pytest.mark.parametrize("plan", [mixed_plan(), Plan(ACCOUNT, REGION)], ids=["mixed", "empty"])
def test_json_validates_against_the_schema(plan: Plan) -> None:
    data = json.loads(render_json(plan))
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    assert errors == [], [e.message for e in errors]
    verdict = data.pop("verdict")
    assert verdict == {"applies": True, "headline": "Verdict: apply makes this plan as shown.", "refusals": []}
    assert plan_to_dict(plan) == data


def test_json_shape_and_summary() -> None:
    data = plan_to_dict(mixed_plan())
    assert data["formatVersion"] == 1
    assert (data["accountId"], data["region"]) == (ACCOUNT, REGION)
    assert data["summary"] == {
        "create": 2,
        "update": 1,
        "delete": 1,
        "adopt": 1,
        "replace": 0,
        "release": 1,
        "unchanged": 3,
        "unchangedByKind": {"Policy": 1, "Role": 2},
    }
    assert [(c["action"], c["kind"], c["name"]) for c in data["changes"]] == [
        (c.action.value, c.kind, c.name) for c in mixed_plan().changes
    ]
    assert data["notes"] == ["prune is on"]
    role = next(c for c in data["changes"] if c["kind"] == "Role")
    assert role["source"] == SOURCE
    trust = next(f for f in role["fields"] if f["field"] == "trust")
    assert trust["statements"]["removed"] == [
        {"Effect": "Allow", "Action": ["sts:assumerole"], "Principal": {"Service": ["sagemaker.amazonaws.com"]}}
    ]
    assert len(trust["statements"]["added"]) == 1
    path = next(f for f in role["fields"] if f["field"] == "path")
    assert path == {"field": "path", "old": "/a/", "new": "/b/", "replaces": True, "statements": None}


def test_json_is_deterministic_with_the_verdict_first_and_every_other_key_sorted() -> None:
    first, second = render_json(mixed_plan()), render_json(mixed_plan())
    assert first == second
    assert first.endswith("}\n")

    def check_sorted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if keys[0] == "verdict":  # the top level: the verdict is the first thing a reader sees
            keys = keys[1:]
        assert keys == sorted(keys)
        return dict(pairs)

    json.loads(first, object_pairs_hook=check_sorted)
    assert first.splitlines()[1].startswith('  "verdict"')


def test_json_round_trips_values() -> None:
    plan = mixed_plan()
    data = json.loads(render_json(plan))
    for change, out in zip(plan.changes, data["changes"], strict=True):
        assert out["notes"] == list(change.notes)
        for fc, field in zip(change.fields, out["fields"], strict=True):
            assert field["field"] == fc.field
            assert field["old"] == thaw(fc.old)
            assert field["new"] == thaw(fc.new)


def test_json_makes_yaml_dates_text() -> None:
    import datetime

    doc = {"Version": datetime.date(2012, 10, 17), "Statement": []}
    plan = one(Change(Action.CREATE, "Policy", "p", fields=(FieldChange(("document",), None, doc),)))
    data = json.loads(render_json(plan))
    assert data["changes"][0]["fields"][0]["new"]["Version"] == "2012-10-17"


# --- Markdown ---------------------------------------------------------------------------------------


def test_markdown_small_plan_is_complete() -> None:
    plan = mixed_plan()
    out = render_markdown(plan)
    assert "truncated" not in out
    assert out.startswith("## ")
    assert "| Action | Count |" in out
    assert "| \\+ create | 2 |" in out
    assert "| unchanged | 3 |" in out
    assert "| \\~ update | `Role/notebook-for-engineer-role` | `desired-state/roles/notebook-roles.yaml:17:1` |" in out
    assert out.count("<details>") == len(plan.changes)
    assert "<details><summary>~ Role/notebook-for-engineer-role</summary>" in out
    assert "```diff\n~ Role/notebook-for-engineer-role  (desired-state/roles/notebook-roles.yaml:17:1)\n" in out
    # Diff symbols at column 0, where GitHub highlights them.
    assert "\n+       Allow sts:AssumeRole for Service=sagemaker.amazonaws.com when" in out
    assert '\n-       "arn:aws:iam::aws:policy/A"' in out
    assert "> **Note:** prune is on" in out
    assert "\x1b" not in out
    assert render_markdown(plan) == out


def test_markdown_empty_plan() -> None:
    out = render_markdown(Plan(ACCOUNT, REGION))
    assert "No changes. The account matches the manifests." in out
    assert "Plan: 0 to create, 0 to update, 0 to delete." in out
    assert "<details>" not in out
    assert "### Changes" not in out


def test_markdown_escapes_table_cells() -> None:
    out = render_markdown(one(Change(Action.CREATE, "Role", "r", source="odd|path.yaml:1:1")))
    assert "`odd\\|path.yaml:1:1`" in out


BIG_STATEMENTS = [
    {
        "Sid": f"S{i}",
        "Effect": "Allow",
        "Action": [f"s3:GetObject{j}" for j in range(5)],
        "Resource": [f"arn:aws:s3:::bucket-{i}/prefix-{j}/*" for j in range(5)],
    }
    for i in range(20)
]
BIG_DOCUMENT = {"Version": "2012-10-17", "Statement": BIG_STATEMENTS}


@functools.cache
def big_plan(n: int) -> Plan:
    """``n`` changes, half creates and half updates of a 20-statement document."""
    created = FieldChange(("document",), None, BIG_DOCUMENT)
    updated = doc_change(("document",), {"Version": "2012-10-17", "Statement": BIG_STATEMENTS[:3]}, BIG_DOCUMENT)
    changes = tuple(
        Change(
            Action.CREATE if i % 2 else Action.UPDATE,
            "Policy",
            f"policy-{i:05d}",
            source=f"desired-state/policies/policy-{i:05d}.yaml:1:1",
            fields=(created if i % 2 else updated,),
        )
        for i in range(n)
    )
    return Plan(ACCOUNT, REGION, changes=changes, unchanged={"Role": 7}, notes=("prune is off",))


def summary_table(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.fullmatch(r"\| [^|]+ \| [0-9,]+ \|", line)]


def test_markdown_huge_plan_stays_under_the_limit_with_a_notice() -> None:
    plan = big_plan(3000)
    out = render_markdown(plan)
    assert len(out) <= 65_000
    assert plan.summary() in out.replace("\\", "")
    assert summary_table(out) == [
        "| \\+ create | 1,500 |",
        "| \\~ update | 1,500 |",
        "| - delete | 0 |",
        "| \\! adopt | 0 |",
        "| -/\\+ replace | 0 |",
        "| \\~ release | 0 |",
        "| unchanged | 7 |",
    ]
    # Not even the table of 3,000 rows fits: every details block and the last rows go.
    notice = re.search(
        r"> ⚠ Output truncated: details of 3,000 of 3,000 resources and ([0-9,]+) of 3,000 rows "
        r"of the change table omitted \(65,536-character comment limit\)\. "
        r"Run reconciler plan locally for the full plan\.",
        out,
    )
    assert notice is not None
    rows = re.findall(r"^\| .* \| `Policy/policy-[0-9]+` \| .* \|$", out, flags=re.MULTILINE)
    assert len(rows) + int(notice.group(1).replace(",", "")) == 3000
    assert rows[0] == "| \\~ update | `Policy/policy-00000` | `desired-state/policies/policy-00000.yaml:1:1` |"
    assert "<details>" not in out
    assert "> **Note:** prune is off" in out
    assert render_markdown(plan) == out


def test_markdown_drops_details_from_the_end() -> None:
    plan = big_plan(200)
    out = render_markdown(plan)
    assert len(out) <= 65_000
    assert len(summary_table(out)) == 7
    assert len(re.findall(r"^\| .* \| `Policy/policy-[0-9]+` \| .* \|$", out, flags=re.MULTILINE)) == 200
    omitted = re.search(r"> ⚠ Output truncated: details of ([0-9,]+) of 200 resources omitted", out)
    assert omitted is not None
    assert "rows of the change table" not in out
    shown = re.findall(r"<details><summary>[~+] Policy/policy-([0-9]+)</summary>", out)
    assert shown
    assert [int(n) for n in shown] == list(range(len(shown)))  # a prefix: dropped from the end
    assert int(omitted.group(1)) == 200 - len(shown)
    assert out.count("```diff") == len(shown) == out.count("</details>")


def test_markdown_respects_a_smaller_limit() -> None:
    out = render_markdown(big_plan(200), limit=10_000)
    assert len(out) <= 10_000
    assert len(summary_table(out)) == 7
    assert "Output truncated" in out


def test_markdown_shortens_one_huge_resource() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/{i:06d}-{'x' * 80}"}
        for i in range(5000)
    ]
    plan = one(
        Change(
            Action.CREATE,
            "Policy",
            "huge",
            fields=(FieldChange(("document",), None, {"Version": "2012-10-17", "Statement": statements}),),
        )
    )
    out = render_markdown(plan)
    assert len(out) <= 65_000
    assert "<details><summary>+ Policy/huge</summary>" in out
    assert re.search(r"\.\.\. [0-9]+ more lines of this resource omitted", out)
    assert out.count("```") == 2
