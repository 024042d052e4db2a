"""The second validation pass: what the schemas cannot say (references between manifests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.manifests.model import (
    Bucket,
    Group,
    NotebookInstance,
    Resource,
    Role,
    User,
    is_policy_arn,
)

# report(resource, field path, message, (kind, name) of the missing target)
Report = Callable[[Resource, tuple[str | int, ...], str, tuple[str, str]], None]


def check_references(resources: Mapping[str, Mapping[str, Resource]], report: Report) -> None:
    """Report every reference to a Policy, Role, Group or User manifest that does not exist."""

    def exists(kind: str, name: str) -> bool:
        return name in resources.get(kind, {})

    def policy_refs(res: Resource, refs: tuple[str, ...], field: str) -> None:
        for i, ref in enumerate(refs):
            if not is_policy_arn(ref) and not exists("Policy", ref):
                report(
                    res, ("spec", field, i), f"no Policy manifest named '{ref}' (and not a policy ARN)", ("Policy", ref)
                )

    for role in resources.get("Role", {}).values():
        assert isinstance(role, Role)
        policy_refs(role, role.policies, "policies")
        boundary = role.permissions_boundary
        if boundary and not is_policy_arn(boundary) and not exists("Policy", boundary):
            report(
                role, ("spec", "permissionsBoundary"), f"no Policy manifest named '{boundary}'", ("Policy", boundary)
            )
    for group in resources.get("Group", {}).values():
        assert isinstance(group, Group)
        policy_refs(group, group.policies, "policies")
    for user in resources.get("User", {}).values():
        assert isinstance(user, User)
        for i, name in enumerate(user.groups):
            if not exists("Group", name):
                report(user, ("spec", "groups", i), f"no Group manifest named '{name}'", ("Group", name))
        boundary = user.permissions_boundary
        if boundary and not is_policy_arn(boundary) and not exists("Policy", boundary):
            report(
                user, ("spec", "permissionsBoundary"), f"no Policy manifest named '{boundary}'", ("Policy", boundary)
            )
    for notebook in resources.get("NotebookInstance", {}).values():
        assert isinstance(notebook, NotebookInstance)
        if not exists("Role", notebook.role):
            report(notebook, ("spec", "role"), f"no Role manifest named '{notebook.role}'", ("Role", notebook.role))
    for bucket in resources.get("Bucket", {}).values():
        assert isinstance(bucket, Bucket)
        for mode, refs in (("read", bucket.access.read), ("write", bucket.access.write)):
            for i, ref in enumerate(refs):
                kind, _, name = ref.partition("/")
                if not exists(kind, name):
                    report(bucket, ("spec", "access", mode, i), f"no {kind} manifest named '{name}'", (kind, name))
