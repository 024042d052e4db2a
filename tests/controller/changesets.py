"""A small account as data, changes to it as hypothesis generates them, and its manifest files, for the property
test of the targeted reconcile (``test_incremental_property.py``).

The account: customer managed policies, roles (attached and inline policies, tags, the file they are in), groups
(policies, MFA), users (groups, console access) and a bucket whose readers and writers are roles and groups, so
that a change reaches resources in other files (a user's groups are its groups' members; a role's ARN is in the
bucket's policy). Every change keeps the manifests valid (a removed role leaves the bucket's access; a removed
group leaves its users' groups).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
BUCKET = "prop-data"

#: Action lists an inline or a customer managed policy may hold (none breaks an invariant on its own).
ACTIONS = (
    ["s3:GetObject"],
    ["s3:GetObject", "s3:GetObjectVersion"],
    ["s3:GetObjectTagging"],
)


def _document(actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}],
    }


@dataclass
class Account:
    """The desired state as plain data: what the files say."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    readers: list[str] = field(default_factory=list)  # Kind/name of the bucket's readers

    @classmethod
    def base(cls) -> Account:
        account = cls()
        for i in range(3):
            account.policies[f"p{i}"] = {"actions": 0, "tags": {"n": str(i)}}
        for i in range(4):
            account.roles[f"r{i}"] = {
                "policies": [f"p{i % 3}"],
                "inline": i % 3,
                "tags": {"team": f"t{i}"},
                "file": "roles-a" if i < 2 else "roles-b",
            }
        for i in range(2):
            account.groups[f"g{i}"] = {"policies": [f"p{i}"]}
        for i in range(4):
            account.users[f"u{i}"] = {"groups": [f"g{i % 2}"], "console": i % 2 == 0}
        account.readers = ["Role/r0", "Group/g1"]
        return account

    def copy(self) -> Account:
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ the changes

    def apply(self, change: tuple[Any, ...]) -> None:
        """Make ``change`` (one of :func:`changes`); one that does not apply here is skipped."""
        op, *args = change
        getattr(self, f"_{op}")(*args)

    @staticmethod
    def _pick(names: Any, k: int) -> str | None:
        ordered = sorted(names)
        return ordered[k % len(ordered)] if ordered else None

    def _mask(self, names: Any, mask: int) -> list[str]:
        return [n for i, n in enumerate(sorted(names)) if mask >> i & 1]

    def _role_add(self, i: int, mask: int) -> None:
        self.roles[f"new-r{i}"] = {
            "policies": self._mask(self.policies, mask),
            "inline": None,
            "tags": {"team": "new"},
            "file": "roles-b",
        }

    def _role_remove(self, k: int) -> None:
        name = self._pick(self.roles, k)
        if name is not None:
            del self.roles[name]
            self.readers = [r for r in self.readers if r != f"Role/{name}"]

    def _role_inline(self, k: int, actions: int | None) -> None:
        name = self._pick(self.roles, k)
        if name is not None:
            self.roles[name]["inline"] = actions

    def _role_tags(self, k: int, value: str) -> None:
        name = self._pick(self.roles, k)
        if name is not None:
            self.roles[name]["tags"] = {"team": value}

    def _role_policies(self, k: int, mask: int) -> None:
        name = self._pick(self.roles, k)
        if name is not None:
            self.roles[name]["policies"] = self._mask(self.policies, mask)

    def _role_move(self, k: int) -> None:
        name = self._pick(self.roles, k)
        if name is not None:
            role = self.roles[name]
            role["file"] = "roles-b" if role["file"] == "roles-a" else "roles-a"

    def _policy_add(self, i: int) -> None:
        self.policies[f"new-p{i}"] = {"actions": i % len(ACTIONS), "tags": {}}

    def _policy_doc(self, k: int, actions: int) -> None:
        name = self._pick(self.policies, k)
        if name is not None:
            self.policies[name]["actions"] = actions

    def _policy_remove(self, k: int) -> None:
        name = self._pick(self.policies, k)
        if name is not None:
            del self.policies[name]
            for holder in (*self.roles.values(), *self.groups.values()):
                holder["policies"] = [p for p in holder["policies"] if p != name]

    def _group_add(self, i: int, mask: int) -> None:
        self.groups[f"new-g{i}"] = {"policies": self._mask(self.policies, mask)}

    def _group_policies(self, k: int, mask: int) -> None:
        name = self._pick(self.groups, k)
        if name is not None:
            self.groups[name]["policies"] = self._mask(self.policies, mask)

    def _group_remove(self, k: int) -> None:
        name = self._pick(self.groups, k)
        if name is not None:
            del self.groups[name]
            for user in self.users.values():
                user["groups"] = [g for g in user["groups"] if g != name]
            self.readers = [r for r in self.readers if r != f"Group/{name}"]

    def _user_add(self, i: int, mask: int) -> None:
        self.users[f"new-u{i}"] = {"groups": self._mask(self.groups, mask), "console": False}

    def _user_remove(self, k: int) -> None:
        name = self._pick(self.users, k)
        if name is not None:
            del self.users[name]

    def _user_groups(self, k: int, mask: int) -> None:
        name = self._pick(self.users, k)
        if name is not None:
            self.users[name]["groups"] = self._mask(self.groups, mask)

    def _user_console(self, k: int) -> None:
        name = self._pick(self.users, k)
        if name is not None:
            self.users[name]["console"] = not self.users[name]["console"]

    def _readers(self, mask: int) -> None:
        choices = [*(f"Role/{r}" for r in sorted(self.roles)), *(f"Group/{g}" for g in sorted(self.groups))]
        self.readers = [c for i, c in enumerate(choices) if mask >> i & 1]

    def _empty(self) -> None:
        """Most of what git declares goes (the rails refuse it, in a full plan as in a targeted one)."""
        for name in sorted(self.users)[1:]:
            del self.users[name]
        for name in sorted(self.roles)[1:]:
            self._role_remove(sorted(self.roles).index(name))

    # ------------------------------------------------------------------ the files

    def write(self, root: Path) -> None:
        """The manifest directory: settings.yaml, policies.yaml, roles-a.yaml, roles-b.yaml, people.yaml."""
        for old in root.glob("*.yaml"):
            old.unlink()
        root.mkdir(parents=True, exist_ok=True)
        settings = {"accountId": ACCOUNT, "region": REGION, "maxDeletes": 20}
        files: dict[str, list[dict[str, Any]]] = {"settings": [_manifest("Settings", "prop", settings)]}
        files["policies"] = [
            _manifest("Policy", name, {"document": _document(ACTIONS[p["actions"]]), "tags": p["tags"]})
            for name, p in sorted(self.policies.items())
        ]
        for name, role in sorted(self.roles.items()):
            spec: dict[str, Any] = {
                "trustedServices": ["sagemaker.amazonaws.com"],
                "policies": role["policies"],
                "tags": role["tags"],
            }
            if role["inline"] is not None:
                spec["inlinePolicies"] = {"data": _document(ACTIONS[role["inline"]])}
            files.setdefault(role["file"], []).append(_manifest("Role", name, spec))
        people = [
            _manifest("Group", name, {"requireMFA": True, "policies": g["policies"]})
            for name, g in sorted(self.groups.items())
        ]
        people += [
            _manifest("User", name, {"groups": u["groups"], "consoleAccess": u["console"]})
            for name, u in sorted(self.users.items())
        ]
        files["people"] = people
        access = {"read": self.readers, "write": []}
        files["buckets"] = [
            _manifest("Bucket", BUCKET, {"versioning": True, "encryption": {"type": "SSE-S3"}, "access": access})
        ]
        for name, documents in files.items():
            if documents:
                (root / f"{name}.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


_k = st.integers(0, 7)
_mask = st.integers(0, 15)
_actions = st.integers(0, len(ACTIONS) - 1)

#: One change to an account (see ``Account.apply``).
change = st.one_of(
    st.tuples(st.just("role_add"), st.integers(0, 2), _mask),
    st.tuples(st.just("role_remove"), _k),
    st.tuples(st.just("role_inline"), _k, st.none() | _actions),
    st.tuples(st.just("role_tags"), _k, st.sampled_from(["a", "b"])),
    st.tuples(st.just("role_policies"), _k, _mask),
    st.tuples(st.just("role_move"), _k),
    st.tuples(st.just("policy_add"), st.integers(0, 2)),
    st.tuples(st.just("policy_doc"), _k, _actions),
    st.tuples(st.just("policy_remove"), _k),
    st.tuples(st.just("group_add"), st.integers(0, 1), _mask),
    st.tuples(st.just("group_policies"), _k, _mask),
    st.tuples(st.just("group_remove"), _k),
    st.tuples(st.just("user_add"), st.integers(0, 2), _mask),
    st.tuples(st.just("user_remove"), _k),
    st.tuples(st.just("user_groups"), _k, _mask),
    st.tuples(st.just("user_console"), _k),
    st.tuples(st.just("readers"), st.integers(0, 63)),
    st.tuples(st.just("empty")),
)

#: A commit: one to four changes.
changes = st.lists(change, min_size=1, max_size=4)
