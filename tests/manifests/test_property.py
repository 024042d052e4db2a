"""Property tests of the manifest loader: whatever the files hold, ``load_directory`` either returns a
``DesiredState`` or raises ``ManifestError`` (never anything else), and every problem it reports is
located: ``line >= 1`` and ``col >= 1`` inside a file, ``0:0`` only for directory-level problems.
"""

from __future__ import annotations

import copy
import re
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.errors import ManifestError, ManifestProblem
from reconciler.kinds import REGISTRY, load_directory
from reconciler.manifests import DesiredState

KINDS = ("Settings", *REGISTRY)

# The whole file runs in well under 30 s; no deadline, the first example also compiles the schemas.
# PyYAML's pure-Python parser is most of the cost: ~10 ms per small file.
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DIRECTORY_LEVEL = {
    "no *.yaml or *.yml manifest found",
    "no Settings manifest found; exactly one is required",
}
PROBLEM_SHAPE = re.compile(r"^[^:\n]+:\d+:\d+: ")


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


SETTINGS = _doc(
    "Settings",
    "env",
    {
        "accountId": "123456789012",
        "region": "ap-northeast-1",
        "ownershipTag": {"key": "managed-by", "value": "reconciler"},
        "exceptions": [{"rule": "LP003", "resource": "Role/r", "reason": "ok", "owner": "ml-platform"}],
    },
)
POLICY = _doc(
    "Policy",
    "p",
    {
        "description": "read data",
        "path": "/ml/",
        "tags": {"team": "ml"},
        "document": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": "arn:aws:s3:::bkt/*",
                    "Condition": {"Bool": {"aws:SecureTransport": True}},
                },
                {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::bkt"]},
            ],
        },
    },
)
ROLE = _doc(
    "Role",
    "r",
    {
        "description": "runs the notebook",
        "trustedServices": ["sagemaker.amazonaws.com"],
        "policies": ["p", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "inlinePolicies": {"logs": {"Statement": {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}}},
        "permissionsBoundary": "p",
        "maxSessionDuration": 7200,
        "path": "/",
        "tags": {"team": "ml"},
    },
)
TRUST_ROLE = _doc(
    "Role",
    "trust",
    {
        "assumeRolePolicy": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                }
            ]
        },
    },
)
GROUP = _doc(
    "Group",
    "g",
    {
        "policies": ["p"],
        "requireMFA": True,
        "path": "/",
        "inlinePolicies": {"deny": {"Statement": {"Effect": "Deny", "Action": "*"}}},
    },
)
USER = _doc("User", "u", {"groups": ["g"], "consoleAccess": True, "tags": {"team": "ml"}})
BUCKET = _doc(
    "Bucket",
    "bkt",
    {
        "region": "ap-northeast-1",
        "versioning": True,
        "encryption": {"type": "SSE-KMS", "kmsKeyId": "alias/k"},
        "access": {"read": ["Role/r", "Group/g", "User/u"], "write": ["Role/r"]},
        "policy": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
        "deletionPolicy": "Retain",
        "tags": {"data": "raw"},
    },
)
NOTEBOOK = _doc(
    "NotebookInstance",
    "nb",
    {
        "instanceType": "ml.t3.medium",
        "role": "r",
        "rootAccess": "Disabled",
        "directInternetAccess": "Disabled",
        "subnetId": "subnet-0a1b",
        "securityGroupIds": ["sg-0a1b"],
        "kmsKeyId": "alias/k",
        "volumeSizeInGB": 20,
        "lifecycleConfigName": "on-start",
        "tags": {"team": "ml"},
    },
)
KMS_KEY = _doc(
    "KmsKey",
    "k",
    {
        "description": "encrypts raw data",
        "policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        "rotation": True,
        "tags": {"team": "ml"},
        "deletionPolicy": "Delete",
        "pendingWindowDays": 7,
    },
)
STUDIO_DOMAIN = _doc(
    "StudioDomain",
    "sd",
    {
        "authMode": "IAM",
        "appNetworkAccessType": "VpcOnly",
        "vpcId": "vpc-0a1b",
        "subnetIds": ["subnet-0a1b", "subnet-0c1d"],
        "securityGroupIds": ["sg-0a1b"],
        "defaultExecutionRole": "r",
        "deletionPolicy": "Delete",
        "tags": {"team": "ml"},
    },
)
STUDIO_PROFILE = _doc(
    "StudioUserProfile",
    "sp",
    {"domain": "sd", "executionRole": "r", "for": {"user": "u"}, "tags": {"team": "ml"}},
)
VALID = [SETTINGS, POLICY, ROLE, TRUST_ROLE, GROUP, USER, KMS_KEY, BUCKET, NOTEBOOK, STUDIO_DOMAIN, STUDIO_PROFILE]
MUTABLE = [POLICY, ROLE, TRUST_ROLE, KMS_KEY, BUCKET, NOTEBOOK, GROUP, USER, STUDIO_DOMAIN, STUDIO_PROFILE, SETTINGS]

# Words the loader and the schemas care about, so that generated data reaches past the first checks.
WORDS = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "reconciler/v1",
    *KINDS,
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "Condition",
    "Allow",
    "Deny",
    "policies",
    "groups",
    "trustedServices",
    "assumeRolePolicy",
    "accountId",
    "access",
    "read",
    "write",
    "Role/r",
    "Group/g",
    "*",
    "2012-10-17",
    "sagemaker.amazonaws.com",
    "123456789012",
    "ml.t3.medium",
    "",
    " ",
    "yes",
    "~",
    "<<",
]


# --------------------------------------------------------------------------------------------------
# The check every example goes through
# --------------------------------------------------------------------------------------------------


def _yaml_lines(text: str) -> int:
    """An upper bound of the lines YAML sees (str.splitlines knows every YAML line break, and more)."""
    return len(text.splitlines()) + 1


def check_problem(problem: ManifestProblem, files: dict[str, str | bytes]) -> None:
    assert isinstance(problem.line, int)
    assert isinstance(problem.col, int)
    assert isinstance(problem.message, str)
    assert problem.message
    assert PROBLEM_SHAPE.match(str(problem)), str(problem)
    # Exactly one line, whatever the names, keys and values hold (control characters are escaped).
    assert len(str(problem).splitlines()) == 1, str(problem)
    if problem.message in DIRECTORY_LEVEL:
        assert (problem.file, problem.line, problem.col) == ("m", 0, 0)
        return
    assert problem.file.startswith("m/"), problem
    content = files[problem.file[2:]]
    assert problem.line >= 1, problem
    assert problem.col >= 1, problem
    if isinstance(content, str):
        assert problem.line <= _yaml_lines(content), problem


def load_files(files: dict[str, str | bytes]) -> DesiredState | ManifestError:
    """Write ``files`` into a fresh directory and load it; anything but the two outcomes fails the test."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in files.items():
            path = root / rel
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8"))
        try:
            state = load_directory(root, display_root="m")
        except ManifestError as error:
            assert error.problems, "ManifestError without problems"
            where = [(p.file, p.line, p.col) for p in error.problems]
            assert where == sorted(where), "problems are not in file:line:col order"
            for problem in error.problems:
                check_problem(problem, files)
            return error
    assert isinstance(state, DesiredState)
    assert isinstance(state.settings.account_id, str)
    for resource in state:
        assert resource.source is not None
        assert resource.source.line >= 1
    return state


def dump(*docs: Any, flow: bool | None = None, unicode: bool = True) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False, default_flow_style=flow, allow_unicode=unicode)


SETTINGS_TEXT = dump(SETTINGS)
# Small targets for the references of the manifests above (Policy p, Role r, Group g, User u).
TARGETS = [
    _doc("Policy", "p", {"document": {"Statement": {"Effect": "Allow", "Action": "s3:ListAllMyBuckets"}}}),
    _doc("Role", "r", {"trustedServices": ["sagemaker.amazonaws.com"]}),
    _doc("Group", "g", {}),
    _doc("User", "u", {}),
    _doc("StudioDomain", "sd", {"vpcId": "vpc-0a1b", "subnetIds": ["subnet-0a1b"], "defaultExecutionRole": "r"}),
]


def targets_text(but: dict[str, Any]) -> str:
    """The reference targets, except the one with the kind and name of ``but``."""
    return dump(*(t for t in TARGETS if (t["kind"], t["metadata"]["name"]) != (but["kind"], but["metadata"]["name"])))


# --------------------------------------------------------------------------------------------------
# (a) arbitrary text
# --------------------------------------------------------------------------------------------------

YAML_CHARS = (
    string.ascii_letters[:12]
    + string.digits[:4]
    + ":-[]{}#&*!|>'\"%@`,?.~/\\ \t\n\r"
    + "\x00\x01\x08\x1b\x7f\x85\x9f\xa0\ufeff\ufffe\u2028\u2029\U0001f600é"
)
FRAGMENTS = [
    "kind: Role",
    "kind: Policy",
    "kind: Settings",
    "kind: Bucket",
    "metadata:",
    "  name: r",
    "  name: bkt",
    "spec:",
    "spec: {}",
    "  trustedServices: [sagemaker.amazonaws.com]",
    "  policies: [p, p]",
    "  document:",
    "    Statement:",
    "      - Effect: Allow",
    "        Action: '*'",
    '  accountId: "123456789012"',
    "- a",
    "  - b",
    "&a x: 1",
    "<<: *a",
    "<<: [*a]",
    "*a",
    "? complex",
    ": value",
    "!!str x",
    "!!binary aGk=",
    "!!set {a}",
    "!!python/tuple [1]",
    "!!timestamp 2001-12-14",
    "key: |",
    "  block",
    "key: >-",
    "\tindented: tab",
    "'unterminated",
    '"esc \\u00e9 \\x41"',
    "Null: ~",
    "on: off",
    "0x1F: 0o17",
    "1_000: 1:20",
    ".inf: .nan",
    "apiVersion: reconciler/v1",
    "apiVersion: v2",
    "apiversion: reconciler/v1",
    "x: !!bool maybe",
    "x: !!int ''",
    "x: !!float",
    "x: 0x" + "f" * 40,
    "---",
    "...",
]
fragment_lines = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=YAML_CHARS, max_size=12)), max_size=25)


def settings_file(with_settings: bool) -> dict[str, str | bytes]:
    return {"settings.yaml": SETTINGS_TEXT} if with_settings else {}


@FAST
@given(text=st.text(), with_settings=st.booleans())
@example(text="", with_settings=True)
@example(text="\x00", with_settings=True)
@example(text="\x01", with_settings=True)
@example(text="\ufeffkind: Role\n", with_settings=True)
@example(text="a:\n\tb: 1\n", with_settings=False)
@example(text="a\u2028b\x85c: [\n", with_settings=True)
def test_arbitrary_text(text: str, with_settings: bool) -> None:
    """Any text: control characters, tabs, NUL, unicode, odd line breaks."""
    load_files({"x.yaml": text} | settings_file(with_settings))


@FAST
@given(text=st.text(alphabet=YAML_CHARS, max_size=200), with_settings=st.booleans())
def test_arbitrary_yaml_like_text(text: str, with_settings: bool) -> None:
    load_files({"x.yaml": text} | settings_file(with_settings))


@FAST
@given(parts=fragment_lines, with_settings=st.booleans())
def test_arbitrary_lines_of_manifest_fragments(parts: list[str], with_settings: bool) -> None:
    load_files({"x.yaml": "\n".join(parts) + "\n"} | settings_file(with_settings))


@SLOW
@given(raw=st.binary(max_size=200))
@example(raw=b"\xff\xfe")
@example(raw=b"\xef\xbb\xbfkind: Group\n")
def test_arbitrary_bytes(raw: bytes) -> None:
    """Bytes: not UTF-8, a BOM, NUL, control characters."""
    load_files({"x.yaml": raw, "settings.yaml": SETTINGS_TEXT})


@FAST
@given(valid=st.sampled_from(VALID), cut=st.integers(min_value=0), insert=st.text(alphabet=YAML_CHARS, max_size=3))
def test_valid_manifest_text_with_a_splice(valid: dict[str, Any], cut: int, insert: str) -> None:
    """A valid manifest's text with a few characters inserted anywhere (a typo, a tab, a quote, a control)."""
    text = dump(valid)
    at = cut % (len(text) + 1)
    load_files({"x.yaml": text[:at] + insert + text[at:], "settings.yaml": SETTINGS_TEXT})


# --------------------------------------------------------------------------------------------------
# (b) arbitrary YAML-able structures, and mutations of valid manifests
# --------------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(WORDS), st.text(max_size=10), st.integers(), st.booleans())
anything = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


def manifest_like(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings shaped like a manifest of ``kind`` with arbitrary metadata and spec."""
    return st.fixed_dictionaries(
        {"kind": st.just(kind)},
        optional={
            "apiVersion": st.one_of(st.just("reconciler/v1"), scalars),
            "metadata": st.one_of(
                st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["r", "p", "bkt", "nb", "g"]), scalars)}),
                anything,
            ),
            "spec": st.one_of(st.dictionaries(st.sampled_from(WORDS), anything, max_size=6), anything),
            "extra": anything,
        },
    )


@FAST
@given(
    docs=st.lists(anything, min_size=1, max_size=3),
    flow=st.sampled_from([None, True, False]),
    unicode=st.booleans(),
    with_settings=st.booleans(),
)
def test_arbitrary_structures(docs: list[Any], flow: bool | None, unicode: bool, with_settings: bool) -> None:
    text = dump(*docs, flow=flow, unicode=unicode)
    load_files({"x.yaml": text} | settings_file(with_settings))


@settings(FAST, max_examples=60)
@given(
    docs=st.lists(st.sampled_from(KINDS).flatmap(manifest_like), min_size=1, max_size=3),
    flow=st.sampled_from([None, True]),
)
def test_arbitrary_manifest_shaped_structures(docs: list[dict[str, Any]], flow: bool | None) -> None:
    load_files({"x.yaml": dump(*docs, flow=flow), "settings.yaml": SETTINGS_TEXT})


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``node``: mapping keys and list indexes, the root excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


OPERATIONS = ["replace", "delete", "insert", "duplicate", "rename"]


def mutate(doc: dict[str, Any], path: tuple[Any, ...], operation: str, value: Any) -> None:
    """Apply one edit at ``path``: replace the node, delete it, insert a sibling, duplicate it, rename it."""
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "replace":
        parent[last] = value
    elif operation == "delete":
        del parent[last]
    elif operation == "insert":
        if isinstance(parent, list):
            parent.insert(last, value)
        else:
            parent[f"{last}x"] = value
    elif operation == "duplicate":
        if isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        else:
            parent[repr(value)] = copy.deepcopy(parent[last])
    elif operation == "rename":
        if isinstance(parent, dict):
            parent[repr(value)] = parent.pop(last)
        else:
            parent[last] = repr(value)


@settings(FAST, max_examples=60)
@given(st.data())
def test_mutated_valid_manifests(drawn: st.DataObject) -> None:
    """A valid manifest, next to the targets of its references, with one to three random edits."""
    base = drawn.draw(st.sampled_from(VALID), label="manifest")
    doc = copy.deepcopy(base)
    for _ in range(drawn.draw(st.integers(min_value=1, max_value=3), label="edits")):
        candidates = list(paths(doc))
        if not candidates:
            break
        path = drawn.draw(st.sampled_from(candidates), label="path")
        operation = drawn.draw(st.sampled_from(OPERATIONS), label="operation")
        mutate(doc, path, operation, drawn.draw(anything, label="value"))
    files: dict[str, str | bytes] = {"x.yaml": dump(doc), "targets.yaml": targets_text(base)}
    if base is not SETTINGS:
        files["settings.yaml"] = SETTINGS_TEXT
    outcome = load_files(files)
    if doc == base:
        assert isinstance(outcome, DesiredState)


def test_the_valid_manifests_are_valid() -> None:
    """The starting point of the mutations loads, with every kind present."""
    outcome = load_files({"all.yaml": dump(*VALID)})
    assert isinstance(outcome, DesiredState), outcome
    assert outcome.count() == len(VALID) - 1
    assert {r.kind for r in outcome} == set(KINDS[1:])


@settings(SLOW, max_examples=25)
@given(st.data())
def test_loading_is_deterministic(drawn: st.DataObject) -> None:
    base = drawn.draw(st.sampled_from(VALID))
    doc = copy.deepcopy(base)
    path = drawn.draw(st.sampled_from(list(paths(doc))))
    mutate(doc, path, "replace", drawn.draw(anything))
    files: dict[str, str | bytes] = {"x.yaml": dump(doc), "targets.yaml": targets_text(base)}
    if base is not SETTINGS:
        files["settings.yaml"] = SETTINGS_TEXT
    first, second = load_files(files), load_files(files)
    if isinstance(first, ManifestError):
        assert isinstance(second, ManifestError)
        assert first.problems == second.problems
    else:
        assert isinstance(second, DesiredState)
        assert first.count() == second.count()


# --------------------------------------------------------------------------------------------------
# (c) where problems are located: inside a file >= 1:1, directory-level problems 0:0
# --------------------------------------------------------------------------------------------------


def test_directory_level_problems_are_at_0_0() -> None:
    empty = load_files({})
    assert isinstance(empty, ManifestError)
    assert [(p.file, p.line, p.col, p.message) for p in empty.problems] == [
        ("m", 0, 0, "no *.yaml or *.yml manifest found"),
    ]
    no_settings = load_files({"x.yaml": dump(_doc("Group", "g", {}))})
    assert isinstance(no_settings, ManifestError)
    assert [(p.file, p.line, p.col, p.message) for p in no_settings.problems] == [
        ("m", 0, 0, "no Settings manifest found; exactly one is required"),
    ]


def test_root_that_is_not_a_directory_is_at_0_0(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_directory(tmp_path / "nope", display_root="m")
    [problem] = caught.value.problems
    assert (problem.line, problem.col, problem.message) == (0, 0, "not a directory")


@FAST
@given(name=st.text(max_size=5), spec_key=st.text(max_size=5), value=scalars)
def test_problems_in_a_file_are_at_1_1_or_later(name: str, spec_key: str, value: Any) -> None:
    doc = _doc("User", name, {"groups": value, spec_key: value} if spec_key else {"groups": [value, value]})
    outcome = load_files({"x.yaml": dump(doc), "settings.yaml": SETTINGS_TEXT})
    assert isinstance(outcome, ManifestError)
    assert all(p.line >= 1 and p.col >= 1 for p in outcome.problems)
    assert all(p.file == "m/x.yaml" for p in outcome.problems)


# Line breaks str.splitlines() knows, an escape, a bidi override, a lone surrogate, ordinary letters.
NASTY = st.text(alphabet="\n\r\x0b\x0c\x1c\x85\u2028\u2029\x1b\u202e\ud800\x00\tab/ é", max_size=6)


@FAST
@given(kind=st.one_of(st.sampled_from(KINDS), NASTY), name=NASTY, key=NASTY, value=NASTY)
def test_every_problem_is_one_printable_line(kind: str, name: str, key: str, value: str) -> None:
    """Control characters in a kind, a name, a key or a value are escaped: one problem, one line."""
    doc = {
        "apiVersion": "reconciler/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {key or "k": value, "tags": {key: value}},
    }
    outcome = load_files({"x.yaml": dump(doc), "settings.yaml": SETTINGS_TEXT})
    assert isinstance(outcome, ManifestError)
    text = str(outcome)
    assert len(text.splitlines()) == len(outcome.problems), text
    assert text.encode("utf-8")  # no lone surrogate left
    assert "\x1b" not in text and "\u202e" not in text, text


# --------------------------------------------------------------------------------------------------
# Inputs that used to raise something else than ManifestError
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param("x: !!bool maybe\n", [(1, 4)], id="bool-tag-not-a-bool"),  # was KeyError
        pytest.param("x: !!bool ''\n", [(1, 4)], id="bool-tag-empty"),
        pytest.param("x: !!int ''\n", [(1, 4)], id="int-tag-empty"),  # was IndexError
        pytest.param("x: !!float ''\n", [(1, 4)], id="float-tag-empty"),
        pytest.param("%TAG ! tag:yaml.org,2002:\n---\nkind: !bool x\n", [(3, 7)], id="bool-tag-via-TAG-directive"),
        # was ValueError (Exceeds the limit (4300 digits) for integer string conversion) when a message quoted it
        pytest.param("kind: 0x" + "f" * 3600 + "\n", [(1, 7)], id="huge-hex-int-kind"),
        pytest.param(
            "apiVersion: 0x" + "f" * 3600 + "\nkind: Group\nmetadata: {name: g}\nspec: {}\n",
            [(1, 13)],
            id="huge-hex-int-in-a-schema-message",
        ),
        pytest.param("kind: Group\x1b[0m\n", [(1, 12)], id="escape-character"),  # was yaml.reader.ReaderError
        pytest.param("\x08", [(1, 1)], id="backspace"),
        pytest.param("a: 1\nb: \ufffe\n", [(2, 4)], id="U+FFFE"),
        # was TypeError: problems with and without a field at the same position could not be sorted
        pytest.param(
            "apiversion: reconciler/v1\nkind: Group\nmetadata:\n  name: g\nspec: {}\n",
            [(1, 1), (1, 1)],
            id="apiversion-typo",
        ),
    ],
)
def test_hostile_input_is_a_located_problem(text: str, where: list[tuple[int, int]]) -> None:
    outcome = load_files({"x.yaml": text, "settings.yaml": SETTINGS_TEXT})
    assert isinstance(outcome, ManifestError)
    assert [(p.file, p.line, p.col) for p in outcome.problems] == [("m/x.yaml", *w) for w in where]


@FAST
@given(
    tag=st.sampled_from(["!!bool", "!!int", "!!float", "!!null", "!!str"]),
    value=st.text(alphabet="yesno01-+.x_ :", max_size=4),
)
@example(tag="!!bool", value="maybe")
def test_explicitly_tagged_scalars(tag: str, value: str) -> None:
    load_files({"x.yaml": f"x: {tag} '{value}'\n", "settings.yaml": SETTINGS_TEXT})
