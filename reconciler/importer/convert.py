"""Live resources -> manifest data, one mapping per resource, as the kinds registry would read it back.

Each manifest is built so that the kind's ``desired_view`` of it equals the ``live_view`` of what
exists, apart from the ownership mark that adoption adds. What a manifest cannot say (a bucket without
Block Public Access, a user with policies of its own) is written in its secure form; the import's
self-check (a plan against the account just read) reports those fields.

Spec keys follow the order of the kind's JSON Schema, and a field equal to its schema default (or
empty) is left out. References are by name where the target is imported (a role's policies and
permissions boundary, a notebook's role, a bucket's writers), else by ARN where the schema allows it.
Nothing secret is ever read, so nothing secret can be written: users carry groups, tags, path and
whether they have a console password, never the password or access keys.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.aws.live import LiveState
from reconciler.importer.select import Selection, Skipped, role_names
from reconciler.kinds import KIND_ORDER, REGISTRY
from reconciler.kinds.base import DELETION_POLICIES, DELETION_POLICY_TAG, Context
from reconciler.kinds.bucket import Bucket, BucketAccess, LiveBucket, bucket_policy
from reconciler.kinds.group import LiveGroup
from reconciler.kinds.group.guard import GROUP_GUARD_POLICY, Group, group_guard_document
from reconciler.kinds.notebook import LiveNotebook
from reconciler.kinds.policy import LivePolicy, Policy
from reconciler.kinds.role import LiveRole, Role, trust_document
from reconciler.kinds.user import LiveUser, User
from reconciler.manifests import schema
from reconciler.manifests.loader import API_VERSION
from reconciler.manifests.model import SETTINGS, SETTINGS_SCHEMA, DesiredState, OwnershipTag, Resource, Settings
from reconciler.policydoc import PolicyDocumentError, equivalent, statements

__all__ = ["Manifest", "convert", "settings_manifest", "spec_order"]

_TOP_ORDER = ("Version", "Id", "Statement")
_STATEMENT_ORDER = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_SERVICE = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$")
_SID_CHARS = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True)
class Manifest:
    kind: str
    name: str
    data: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


# ------------------------------------------------------------------------------ schema order and defaults


def _resolve(subschema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = subschema.get("$ref")
    if not isinstance(ref, str) or "default" in subschema:
        return subschema
    file, _, pointer = ref.partition("#")
    node: Any = json.loads((schema.schema_dir() / file).read_text(encoding="utf-8"))
    for part in pointer.strip("/").split("/") if pointer else ():
        node = node[part]
    return node if isinstance(node, Mapping) else subschema


@cache
def spec_order(kind: str) -> tuple[tuple[str, Any], ...]:
    """(field, default or None) of the kind's spec, in the order of its JSON Schema."""
    path = schema.schema_dir() / (SETTINGS_SCHEMA if kind == SETTINGS else REGISTRY[kind].schema)
    properties = json.loads(path.read_text(encoding="utf-8"))["properties"]["spec"]["properties"]
    return tuple((name, _resolve(sub).get("default")) for name, sub in properties.items())


def _spec(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in schema order, without None, empty values and schema defaults."""
    unknown = set(values) - {name for name, _ in spec_order(kind)}
    assert not unknown, f"{kind}: not in the schema: {sorted(unknown)}"
    out: dict[str, Any] = {}
    for name, default in spec_order(kind):
        value = values.get(name)
        if value is None or value in ({}, []) or (default is not None and value == default):
            continue
        out[name] = value
    return out


def _envelope(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


# ------------------------------------------------------------------------------ policy documents


def _ordered(mapping: Mapping[str, Any], order: Iterable[str]) -> dict[str, Any]:
    known = [k for k in order if k in mapping]
    return {k: copy.deepcopy(mapping[k]) for k in [*known, *sorted(set(mapping) - set(known))]}


def document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a manifest holds it: IAM's element order, statements as written.

    A document without ``Version`` gets the one AWS assumes (``2008-10-17``): the loader would fill
    in the schema's default, ``2012-10-17``, which is a different policy language.
    """
    out = _ordered(doc, _TOP_ORDER)
    out.setdefault("Version", "2008-10-17")
    stmts = out.get("Statement")
    if isinstance(stmts, Mapping):
        out["Statement"] = _ordered(stmts, _STATEMENT_ORDER)
    elif isinstance(stmts, list):
        out["Statement"] = [_ordered(s, _STATEMENT_ORDER) if isinstance(s, Mapping) else s for s in stmts]
    return _ordered(out, _TOP_ORDER)


def _raw_statements(doc: Mapping[str, Any]) -> list[Any]:
    stmts = doc.get("Statement")
    return [stmts] if isinstance(stmts, Mapping) else list(stmts) if isinstance(stmts, list) else []


def _canonical(stmt: Any) -> dict[str, Any] | None:
    try:
        (canon,) = statements({"Version": "2012-10-17", "Statement": [stmt]})
    except (PolicyDocumentError, ValueError):
        return None
    return canon


def _user_tags(tags: Mapping[str, str], ctx: Context) -> dict[str, str]:
    """The tags a manifest says: not the ownership tag, nor the recorded deletion policy (``deletionPolicy``)."""
    return {k: tags[k] for k in sorted(tags) if k not in (ctx.ownership_key, DELETION_POLICY_TAG)}


def _deletion_policy(tags: Mapping[str, str]) -> str | None:
    value = tags.get(DELETION_POLICY_TAG)
    return value if value in DELETION_POLICIES else None


# ------------------------------------------------------------------------------ the converter


class _Converter:
    def __init__(self, live: LiveState, selection: Selection, ownership: OwnershipTag) -> None:
        self.live = live
        self.selection = selection
        self.imported: dict[str, set[str]] = {kind: set() for kind in KIND_ORDER}
        self.roles = role_names(live)
        # The context the kinds' documents are generated with: stubs carry the paths of what is imported,
        # so that generated ARNs (bucket writers) are the real ones.
        stubs: dict[str, dict[str, Resource]] = {
            "Policy": {n: Policy(n, None, path=live.of("Policy")[n].path) for n in selection.names.get("Policy", ())},
            "Role": {n: Role(n, None, path=live.of("Role")[n].path) for n in selection.names.get("Role", ())},
            "User": {n: User(n, None, path=live.of("User")[n].path) for n in selection.names.get("User", ())},
        }
        settings = Settings("import", None, account_id=live.account_id, ownership_tag=ownership)
        self.ctx = Context(live.account_id, live.region, ownership.key, ownership.value, DesiredState(settings, stubs))

    def _policy_ref(self, arn: str) -> str:
        name = arn.rsplit("/", 1)[-1]
        policy = self.live.of("Policy").get(name)
        if policy is not None and policy.arn == arn and name in self.imported["Policy"]:
            return name
        return arn

    def _policy_refs(self, arns: Iterable[str]) -> list[str]:
        refs = [self._policy_ref(a) for a in arns]
        return sorted(r for r in refs if not r.startswith("arn:")) + sorted(r for r in refs if r.startswith("arn:"))

    def policy(self, p: LivePolicy) -> dict[str, Any]:
        return _spec(
            "Policy",
            {
                "description": p.description,
                "path": p.path,
                "document": document(p.document),
                "deletionPolicy": _deletion_policy(p.tags),
                "tags": _user_tags(p.tags, self.ctx),
            },
        )

    def _trust(self, r: LiveRole) -> dict[str, Any]:
        stmts = _raw_statements(r.trust)
        principal = stmts[0].get("Principal") if len(stmts) == 1 and isinstance(stmts[0], Mapping) else None
        services = principal.get("Service") if isinstance(principal, Mapping) else None
        services = [services] if isinstance(services, str) else services
        if isinstance(services, list) and services and all(isinstance(s, str) and _SERVICE.match(s) for s in services):
            generated = trust_document(Role(r.name, None, trusted_services=tuple(sorted(set(services)))), self.ctx)
            try:
                if equivalent(generated, r.trust):
                    return {"trustedServices": sorted(set(services))}
            except PolicyDocumentError:
                pass
        return {"assumeRolePolicy": document(r.trust)}

    def role(self, r: LiveRole) -> dict[str, Any]:
        return _spec(
            "Role",
            {
                "description": r.description,
                **self._trust(r),
                "policies": self._policy_refs(r.attached),
                "inlinePolicies": {k: document(r.inline[k]) for k in sorted(r.inline)},
                "permissionsBoundary": self._policy_ref(r.boundary) if r.boundary else None,
                "maxSessionDuration": r.max_session_duration,
                "path": r.path,
                "deletionPolicy": _deletion_policy(r.tags),
                "tags": _user_tags(r.tags, self.ctx),
            },
        )

    def group(self, g: LiveGroup) -> dict[str, Any]:
        # The guard policy is the reconciler's ownership mark (and its MFA deny), never user content.
        # Without it the group enforces nothing of the reconciler's: requireMFA false keeps it that way.
        guard = g.inline.get(GROUP_GUARD_POLICY)
        require_mfa, retain = False, False
        for deletion_policy in ("Delete", "Retain"):
            generated = group_guard_document(
                Group(g.name, None, path=g.path, require_mfa=True, deletion_policy=deletion_policy), self.ctx
            )
            try:
                if guard is not None and equivalent(guard, generated):
                    require_mfa, retain = True, deletion_policy == "Retain"
            except PolicyDocumentError:
                pass
        return _spec(
            "Group",
            {
                "policies": self._policy_refs(g.attached),
                "inlinePolicies": {k: document(g.inline[k]) for k in sorted(g.inline) if k != GROUP_GUARD_POLICY},
                "requireMFA": require_mfa,
                "path": g.path,
                "deletionPolicy": "Retain" if retain else None,
            },
        )

    def user(self, u: LiveUser) -> dict[str, Any]:
        return _spec(
            "User",
            {
                "groups": sorted(u.groups),
                "path": u.path,
                "tags": _user_tags(u.tags, self.ctx),
                "consoleAccess": bool(u.console_access),
                "permissionsBoundary": self._policy_ref(u.boundary) if u.boundary else None,
                "deletionPolicy": _deletion_policy(u.tags),
            },
        )

    def _principal_ref(self, arn: str) -> str | None:
        for kind in ("Role", "User"):
            items = self.live.of(kind)
            name = arn.rsplit("/", 1)[-1]
            found = items.get(name)
            if found is not None and found.arn == arn and name in self.imported[kind]:
                return f"{kind}/{name}"
        return None

    def _bucket_policy(self, b: LiveBucket) -> tuple[list[str], list[dict[str, Any]]]:
        """The writers (``access.write``) and the extra statements of the live bucket policy.

        The statements the reconciler generates (TLS only; writes only by the declared writers) are
        recognised by meaning and left out; the rest are kept as written.
        """
        if not b.policy:
            return [], []
        ctx = self.ctx
        tls = _canonical(bucket_policy(Bucket(b.name, None), ctx)["Statement"][0])
        writers: list[str] = []
        extras: list[dict[str, Any]] = []
        for raw in _raw_statements(b.policy):
            canon = _canonical(raw)
            if canon is not None and canon == tls:
                continue
            refs = self._writers(b.name, canon)
            if refs and not writers:
                writers = refs
                continue
            stmt = _ordered(raw, _STATEMENT_ORDER) if isinstance(raw, Mapping) else raw
            if isinstance(stmt, dict) and isinstance(stmt.get("Sid"), str):
                stmt["Sid"] = _SID_CHARS.sub("", stmt["Sid"])  # S3 allows more than manifests (and IAM) do
                if not stmt["Sid"]:
                    del stmt["Sid"]
            extras.append(stmt)
        return writers, extras

    def _writers(self, bucket: str, canon: Mapping[str, Any] | None) -> list[str]:
        """The principals of a generated "writes only by the declared writers" statement, or []."""
        if canon is None:
            return []
        arns = canon.get("Condition", {}).get("ArnNotEquals", {}).get("aws:principalarn", [])
        refs = [self._principal_ref(a) for a in arns]
        if not refs or None in refs:
            return []
        write = sorted({r for r in refs if r is not None})
        generated = bucket_policy(Bucket(bucket, None, access=BucketAccess(write=tuple(write))), self.ctx)
        return write if _canonical(generated["Statement"][1]) == canon else []

    def bucket(self, b: LiveBucket) -> dict[str, Any]:
        writers, extras = self._bucket_policy(b)
        encryption = dict(b.encryption) if b.encryption else None
        if encryption and encryption.get("type") == "SSE-KMS" and not encryption.get("kmsKeyId"):
            encryption["kmsKeyId"] = "alias/aws/s3"  # the AWS managed key S3 uses when none is named
        return _spec(
            "Bucket",
            {
                "versioning": b.versioning == "Enabled",
                "encryption": encryption,
                "access": {"write": writers} if writers else None,
                "policy": extras,
                "deletionPolicy": _deletion_policy(b.tags),
                "tags": _user_tags(b.tags, self.ctx),
            },
        )

    def notebook(self, n: LiveNotebook) -> dict[str, Any]:
        role = self.roles.get(n.role_arn or "", "")
        return _spec(
            "NotebookInstance",
            {
                "instanceType": n.instance_type,
                "role": role,
                "rootAccess": n.root_access,
                "directInternetAccess": n.direct_internet_access,
                "subnetId": n.subnet_id,
                "securityGroupIds": sorted(n.security_group_ids),
                "kmsKeyId": n.kms_key_id,
                "volumeSizeInGB": n.volume_size_in_gb,
                "lifecycleConfigName": n.lifecycle_config_name,
                "deletionPolicy": _deletion_policy(n.tags),
                "tags": _user_tags(n.tags, self.ctx),
            },
        )

    def _refers_to_missing(self, kind: str, spec: Mapping[str, Any]) -> str | None:
        """A name reference to something that could not be imported after all."""
        targets: list[str] = []
        if kind == "User":
            targets = [f"Group/{g}" for g in spec.get("groups", ())]
        elif kind == "NotebookInstance":
            targets = [f"Role/{spec.get('role', '')}"]
        for ref in targets:
            target_kind, _, name = ref.partition("/")
            if name not in self.imported[target_kind]:
                return f"it needs {ref}, which could not be imported"
        return None

    def convert(self) -> tuple[list[Manifest], list[Skipped]]:
        build: dict[str, Callable[[Any], dict[str, Any]]] = {
            "Policy": self.policy,
            "Role": self.role,
            "Group": self.group,
            "User": self.user,
            "Bucket": self.bucket,
            "NotebookInstance": self.notebook,
        }
        manifests: list[Manifest] = []
        skipped: list[Skipped] = []
        for kind in REGISTRY:  # manifest order: what a manifest refers to comes first (a user's groups)
            for name in sorted(self.selection.names.get(kind, ())):
                spec = build[kind](self.live.of(kind)[name])
                problem = self._refers_to_missing(kind, spec) or _invalid(kind, name, spec)
                if problem:
                    skipped.append(Skipped(f"{kind}/{name}", problem))
                    continue
                manifests.append(Manifest(kind, name, _envelope(kind, name, spec)))
                self.imported[kind].add(name)
        return manifests, skipped


def _invalid(kind: str, name: str, spec: dict[str, Any]) -> str | None:
    """The first schema problem of the manifest, or None (the import never writes an invalid file)."""
    errors = schema.validate(REGISTRY[kind].schema, copy.deepcopy(_envelope(kind, name, spec)))
    if not errors:
        return None
    first = schema.describe_all(errors)[0]
    where = ".".join(str(p) for p in first.path)
    return f"cannot be written as a valid manifest: {where}: {first.message}"


def convert(live: LiveState, selection: Selection, ownership: OwnershipTag) -> tuple[list[Manifest], list[Skipped]]:
    """The manifests of the selected resources, and the ones that cannot be written (with why)."""
    return _Converter(live, selection, ownership).convert()


def settings_manifest(name: str, account_id: str, region: str, ownership: OwnershipTag) -> Manifest:
    tag = {"key": ownership.key, "value": ownership.value}
    spec = _spec("Settings", {"accountId": account_id, "region": region, "ownershipTag": tag})
    return Manifest("Settings", name, _envelope("Settings", name, spec))
