"""The plain values every kind's code shares: the target account, the context views are made in, what apply
would refuse (a blocker), and how a resource records its deletion policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.manifests.model import DesiredState, Expiry, Resource, is_policy_arn

__all__ = [
    "DELETION_POLICIES",
    "DELETION_POLICY_TAG",
    "Blocker",
    "Context",
    "Exists",
    "Grant",
    "Removal",
    "Report",
    "Target",
]


# A resource carries its deletion policy as this tag when it is not its kind's default, so that once the
# manifest is gone the reconciler still knows whether pruning deletes it or releases it: the policy in
# force is the one recorded when the resource was last applied. (Groups cannot be tagged: their guard
# policy records it.)
DELETION_POLICY_TAG = "reconciler/deletion-policy"
DELETION_POLICIES = ("Retain", "Delete")


#: The code of the blocker of a change AWS cannot make in place (``--replace`` makes it).
REPLACEMENT = "replacement"


@dataclass(frozen=True)
class Blocker:
    """Why apply will not make a change, and what unblocks it (a flag, or an edit)."""

    code: str  # stable identifier, e.g. REPLACEMENT, "not-empty"
    message: str  # one line: what apply would refuse
    unblock: str  # one line: the flag or edit that unblocks it


@dataclass(frozen=True)
class Target:
    """The account a plan is for, as the AWS steps need it: no manifests (a saved plan has none)."""

    account_id: str
    region: str
    ownership_key: str
    ownership_value: str

    def owns(self, tags: Mapping[str, str]) -> bool:
        return tags.get(self.ownership_key) == self.ownership_value


@dataclass(frozen=True)
class Context(Target):
    """What views need beyond the resource itself: the target and the whole desired state."""

    desired: DesiredState

    def _path(self, kind: str, name: str) -> str:
        return str(getattr(self.desired.get(kind, name), "path", "/"))

    def policy_arn(self, ref: str) -> str:
        """The ARN of a policy reference: an ARN as is, or the ARN of the Policy manifest named so."""
        if is_policy_arn(ref):
            return ref
        return f"arn:aws:iam::{self.account_id}:policy{self._path('Policy', ref)}{ref}"

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self._path('Role', name)}{name}"

    def user_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user{self._path('User', name)}{name}"

    def kms_key_arn(self, name: str) -> str:
        """How a manifest that names a KmsKey (``kmsKey: NAME``) refers to it in AWS: the ARN of its alias
        ``alias/NAME``, known before the key exists (so plan shows it) and stable when the key is replaced."""
        return f"arn:aws:kms:{self.region}:{self.account_id}:alias/{name}"

    def owned_tags(self, tags: Mapping[str, str]) -> dict[str, str]:
        """The tags a resource must carry: its own plus the ownership tag."""
        return {**tags, self.ownership_key: self.ownership_value}


@dataclass(frozen=True)
class Removal:
    """What leaves the views when a grant ends: ``value`` from the list ``field`` of ``ref``'s view (a group's
    ``members``, a role's ``policies``), or, with ``field`` empty, the resource ``ref`` itself."""

    ref: str
    field: str = ""
    value: str = ""


@dataclass(frozen=True)
class Grant:
    """An entry of a manifest that ends at its ``expiresAt``: a user, a membership, a policy attachment."""

    resource: str  # Kind/name of the manifest that declares it
    entry: str  # what ends, for people: "User/alice", "membership of Group/x", "attachment of policy p"
    path: tuple[str | int, ...]  # where it is in the manifest (() for the whole manifest): what `expired --write` cuts
    expiry: Expiry
    removes: tuple[Removal, ...]  # what leaves the views once it ended


#: exists(kind, name): whether the manifests declare that resource.
Exists = Callable[[str, str], bool]
#: report(resource, field path, message, (kind, name) of the missing target).
Report = Callable[[Resource, tuple[str | int, ...], str, tuple[str, str]], None]
