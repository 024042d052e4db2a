"""The pure parts of the import: YAML output, policy documents, schema order and defaults, adoption."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.engine.adoption import adoption_note, adoption_report, is_ownership_mark, render_adoption
from reconciler.engine.plan import Action, Change, FieldChange, Plan
from reconciler.importer.convert import spec_order
from reconciler.importer.yamlout import dump_documents
from reconciler.kinds import REGISTRY
from reconciler.kinds.importing import document
from reconciler.kinds.kmskey import decrypters
from reconciler.manifests.model import SETTINGS_SCHEMA
from reconciler.manifests.schema import schema_dir
from reconciler.manifests.yamlsource import parse_documents
from reconciler.policydoc import equivalent

KIND_SCHEMAS = {"Settings": SETTINGS_SCHEMA, **{name: kind.schema for name, kind in REGISTRY.items()}}

SCALARS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "123456789012",
            "2012-10-17",
            "*",
            "true",
            "no",
            "on",
            "null",
            "~",
            "- x",
            "a: b",
            "#c",
            "0x1F",
            "1e3",
            "1.5",
            "",
            " lead",
            "trail ",
            "データ",
            "line\nbreak",
            "tab\there",
            "'q'",
        ]
    ),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.none(),
)
KEYS = st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(["Null", "on", "yes", "123", "*", "a: b"]))
DATA = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=12
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(KEYS, DATA, max_size=4))
def test_what_is_written_reads_back_as_the_same_data(data: dict[str, Any]) -> None:
    text = dump_documents([data], header=["a comment"])
    docs, problems = parse_documents(text, "x.yaml")
    assert not problems
    assert docs[0].data == data
    assert list(docs[0].data) == list(data)  # key order kept
    assert dump_documents([data], header=["a comment"]) == text


def test_yaml_style_quotes_only_when_needed_and_never_uses_aliases() -> None:
    shared = ["s3:GetObject"]
    text = dump_documents(
        [
            {
                "a": shared,
                "b": shared,
                "account": "123456789012",
                "version": "2012-10-17",
                "star": "*",
                "plain": "arn:aws:s3:::bucket/*",
                "flag": "true",
                "n": 1,
                "Null": {"aws:MultiFactorAuthAge": True},
            }
        ]
    )
    assert text == (
        "a:\n  - s3:GetObject\nb:\n  - s3:GetObject\n"
        'account: "123456789012"\nversion: "2012-10-17"\nstar: "*"\nplain: arn:aws:s3:::bucket/*\n'
        'flag: "true"\nn: 1\n"Null":\n  aws:MultiFactorAuthAge: true\n'
    )


def test_documents_get_iam_element_order_and_keep_their_meaning() -> None:
    raw = {
        "Statement": {
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            "Action": ["s3:GetObject"],
            "Effect": "Allow",
            "Sid": "Read",
        }
    }
    out = document(raw)
    assert list(out) == ["Version", "Statement"]
    assert list(out["Statement"]) == ["Sid", "Effect", "Action", "Resource", "Condition"]
    # No Version: AWS reads the document as 2008-10-17, and so must the manifest (the schema default is
    # 2012-10-17, which the loader would fill in).
    assert out["Version"] == "2008-10-17"
    assert equivalent(out, raw)
    listed = document(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}
    )
    assert listed == {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}


@pytest.mark.parametrize("kind", [k for k in KIND_SCHEMAS if k != "Settings"] + ["Settings"])
def test_spec_order_and_defaults_come_from_the_schemas(kind: str) -> None:
    schema = json.loads((schema_dir() / KIND_SCHEMAS[kind]).read_text(encoding="utf-8"))
    names = [name for name, _ in spec_order(kind)]
    assert names == list(schema["properties"]["spec"]["properties"])
    defaults = dict(spec_order(kind))
    if kind == "Role":
        assert defaults["maxSessionDuration"] == 3600 and defaults["path"] == "/" and defaults["policies"] == []
    if kind == "NotebookInstance":
        assert defaults["rootAccess"] == "Disabled" and defaults["volumeSizeInGB"] == 5


def _plan(*changes: Change) -> Plan:
    return Plan(account_id="123456789012", region="ap-northeast-1", changes=changes)


def test_adoption_splits_the_ownership_mark_from_other_changes() -> None:
    mark = FieldChange(("tags",), {"team": "ml"}, {"team": "ml", "managed-by": "reconciler"})
    retag = FieldChange(("tags",), {"team": "ml"}, {"team": "ai", "managed-by": "reconciler"})
    guard = FieldChange(("inlinePolicies", "reconciler-group-guard"), None, {"Statement": []})
    assert is_ownership_mark(mark, "managed-by", "reconciler")
    assert not is_ownership_mark(retag, "managed-by", "reconciler")
    assert is_ownership_mark(guard, "managed-by", "reconciler")
    assert not is_ownership_mark(FieldChange(("inlinePolicies", "x"), None, {}), "managed-by", "reconciler")
    report = adoption_report(
        _plan(
            Change(Action.ADOPT, "Role", "a", fields=(mark,)),
            Change(Action.ADOPT, "Bucket", "b", fields=(FieldChange(("publicAccessBlock",), None, {"x": True}), mark)),
            Change(Action.UPDATE, "Group", "empty", fields=(guard,)),
            Change(Action.ADOPT, "Role", "c", fields=(retag,)),
            Change(Action.CREATE, "Role", "d", fields=(mark,)),
        ),
        "managed-by",
        "reconciler",
    )
    assert report.mark_only == ("Role/a", "Group/empty")
    assert report.also_changed == (("Role/c", (("tags",),)), ("Bucket/b", (("publicAccessBlock",),)))  # plan order
    assert [c.ref for c in report.other] == ["Role/d"]
    assert not report.adoption_only
    assert render_adoption(report) == (
        "Adoption: 4 resource(s) taken over; 2 get only the ownership mark, 2 also change:\n"
        "  Role/c: tags\n  Bucket/b: publicAccessBlock\n"
        "Besides adoption, the plan makes 1 other change(s) (shown above)."
    )
    assert adoption_note(report) == (
        "Adoption: 4 resource(s) taken over; 2 get only the ownership mark, 2 also change: "
        "Role/c: tags; Bucket/b: publicAccessBlock"
    )
    assert render_adoption(adoption_report(_plan(), "k", "v")) == "Adoption: nothing to take over."


def test_the_docs_and_readme_describe_the_command() -> None:
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    docs = (repo / "docs" / "import.md").read_text(encoding="utf-8")
    assert "reconciler import" in readme and "docs/import.md" in readme
    for option in ("--out", "--kinds", "--include", "--exclude", "--exclude-tag", "--force", "plan --adopt"):
        assert option in docs, option


def test_a_keys_decrypters_are_who_its_policy_itself_lets_decrypt() -> None:
    """What ``import`` writes as a bucket's ``access.read`` when its key is imported (the account does not record
    readers): Allow statements whose actions match kms:Decrypt, their AWS principals but the account and "*"."""
    role = "arn:aws:iam::123456789012:role/"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*"},
            {"Effect": "Allow", "Principal": {"AWS": [f"{role}b", f"{role}a"]}, "Action": "kms:Decrypt"},
            {"Effect": "Allow", "Principal": {"AWS": f"{role}c"}, "Action": ["kms:Encrypt", "KMS:De*"]},
            {"Effect": "Allow", "Principal": {"AWS": f"{role}writer"}, "Action": "kms:GenerateDataKey"},
            {"Effect": "Deny", "Principal": {"AWS": f"{role}d"}, "Action": "kms:Decrypt"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"},
            {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt"},
        ],
    }
    assert decrypters(policy) == [f"{role}a", f"{role}b", f"{role}c"]
    assert decrypters(None) == []
