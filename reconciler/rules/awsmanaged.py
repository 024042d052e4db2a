"""AWS managed policies without AWS: a dated offline snapshot shipped in the package, for ``reconciler check``.

``plan`` reads the documents of the AWS managed policies the manifests attach from IAM. ``check`` has no
credentials, so it reads them from ``reconciler/_data/aws-managed-policies.txt.gz``: every AWS managed
policy with its default version's document, generated from the ``moto`` package (a runtime dependency: its
``moto/iam/aws_managed_policies.py`` carries every AWS managed policy, refreshed from AWS for each moto
release) by::

    python -m reconciler.rules.refresh_snapshot    # rewrites the file from the installed moto

The file is gzip (written with a zero timestamp, so the same moto gives the same bytes): a first line of
JSON metadata (source, moto version, the newest policy update in the data, the generation date, the count),
then one line per policy, ``ARN<TAB>versionId<TAB>document as compact JSON``, sorted by ARN. Loading splits
the lines without parsing the documents (about 10 ms); a document is parsed only when asked for. Importing
moto instead costs over a second.

Also here: CHK001, the check's own rule: a reference to an AWS managed policy that the snapshot does not know.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from reconciler.facts.model import Model
from reconciler.kinds import REGISTRY
from reconciler.manifests.model import DesiredState, Resource
from reconciler.rules.base import CHECK, Hit, Rule
from reconciler.rules.findings import Finding, Severity

__all__ = [
    "CHK001",
    "RULES",
    "SNAPSHOT_PATH",
    "Snapshot",
    "is_aws_managed",
    "load_snapshot",
    "referenced",
    "snapshot",
    "unknown_aws_policies",
]

SNAPSHOT_PATH: Final = Path(__file__).resolve().parents[1] / "_data" / "aws-managed-policies.txt.gz"
_AWS_MANAGED: Final = re.compile(r"arn:(aws[a-z-]*):iam::aws:policy(/.*)")


def is_aws_managed(arn: str) -> bool:
    """``arn:<partition>:iam::aws:policy/...``: a policy AWS manages (in any partition)."""
    return _AWS_MANAGED.fullmatch(arn) is not None


def _key(arn: str) -> str:
    """The snapshot's ARN (partition ``aws``) for an AWS managed policy ARN of any partition."""
    match = _AWS_MANAGED.fullmatch(arn)
    return f"arn:aws:iam::aws:policy{match.group(2)}" if match else arn


@dataclass(frozen=True)
class Snapshot:
    """The AWS managed policies of the snapshot, by ARN; documents parsed on demand."""

    source: str
    version: str
    updated_at: str  # the newest UpdateDate of a policy in the data
    generated_at: str
    _lines: Mapping[str, str] = field(repr=False)  # ARN -> "versionId<TAB>document JSON"

    def __len__(self) -> int:
        return len(self._lines)

    def knows(self, arn: str) -> bool:
        return _key(arn) in self._lines

    @property
    def arns(self) -> tuple[str, ...]:
        return tuple(self._lines)

    def document(self, arn: str) -> dict[str, Any] | None:
        """The default version's document of an AWS managed policy; None when the snapshot does not have it."""
        line = self._lines.get(_key(arn))
        if line is None:
            return None
        document: dict[str, Any] = json.loads(line.partition("\t")[2])
        return document

    def documents(self, arns: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{arn: document}`` for the ARNs the snapshot has, under the ARNs as given."""
        return {arn: doc for arn in sorted(set(arns)) if (doc := self.document(arn)) is not None}

    def describe(self) -> dict[str, Any]:
        """What reports print about the snapshot (``awsManagedPolicies`` in the JSON)."""
        return {
            "source": self.source,
            "version": self.version,
            "updatedAt": self.updated_at,
            "generatedAt": self.generated_at,
            "policies": len(self),
        }


def load_snapshot(path: Path = SNAPSHOT_PATH) -> Snapshot:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    head, _, body = text.partition("\n")
    meta = json.loads(head)
    lines = dict(line.split("\t", 1) for line in body.split("\n") if line)
    if len(lines) != meta["count"]:
        raise ValueError(f"{path}: {len(lines)} policies, the header says {meta['count']}")
    return Snapshot(meta["source"], meta["version"], meta["updatedAt"], meta["generatedAt"], lines)


_cache: list[Snapshot] = []
_lock = threading.Lock()


def snapshot() -> Snapshot:
    """The shipped snapshot, loaded once per process."""
    with _lock:
        if not _cache:
            _cache.append(load_snapshot())
        return _cache[0]


# ---------------------------------------------------------------------------------------------- CHK001


def _where(resource: Resource, arn: str) -> str | None:
    """Where the manifest names ``arn``: the kinds that refer to policies do it in ``spec.policies`` (Role, Group)
    and ``spec.permissionsBoundary`` (Role, User)."""
    source = resource.source
    if source is None:
        return None
    policies = getattr(resource, "policies", ())
    if arn in policies:
        return source.where("spec", "policies", list(policies).index(arn))
    if getattr(resource, "permissions_boundary", None) == arn:
        return source.where("spec", "permissionsBoundary")
    return source.where()


def referenced(desired: DesiredState) -> frozenset[str]:
    """The AWS managed policies the manifests refer to (attached, or as a permissions boundary)."""
    return frozenset(
        ref
        for resource in desired
        for ref in REGISTRY[resource.kind].policy_references(resource)
        if is_aws_managed(ref)
    )


def unknown_aws_policies(desired: DesiredState, known: Snapshot) -> list[Finding]:
    """CHK001: every reference of the manifests (attached, or a permissions boundary) to an AWS managed policy
    that the snapshot does not have: a typo, a policy AWS retired, or one newer than the snapshot."""
    rule = CHK001
    found: list[Finding] = []
    for resource in desired:
        for arn in dict.fromkeys(REGISTRY[resource.kind].policy_references(resource)):
            if not is_aws_managed(arn) or known.knows(arn):
                continue
            found.append(
                Finding(
                    rule.id,
                    rule.severity,
                    resource.ref,
                    _where(resource, arn),
                    f"{resource.ref} refers to {arn}, which is not an AWS managed policy (snapshot of "
                    f"{known.updated_at}, {len(known):,} policies): attaching it would fail, and its "
                    "permissions cannot be checked",
                    _hint(arn, known),
                )
            )
    return found


def _hint(arn: str, known: Snapshot) -> str:
    by_name: dict[str, str] = {}
    for candidate in known.arns:
        by_name.setdefault(candidate.rsplit("/", 1)[-1].lower(), candidate)
    name = arn.rsplit("/", 1)[-1].lower()
    close = [by_name[name]] if name in by_name else difflib.get_close_matches(name, by_name, n=1, cutoff=0.85)
    if close:
        suggestion = by_name.get(close[0], close[0])
        return f"did you mean {suggestion}? (some AWS managed policies live under a path such as /service-role/)"
    return (
        "check the name in the IAM console; a policy newer than the snapshot needs a newer reconciler, "
        "or a Settings.exceptions entry for CHK001 until then"
    )


def _chk001(_model: Model) -> Iterator[Hit]:
    return iter(())  # evaluated by reconciler check with the snapshot: unknown_aws_policies


CHK001 = Rule(
    "CHK001",
    Severity.ERROR,
    "Unknown AWS managed policy",
    "An ARN under arn:aws:iam::aws:policy/ that AWS does not have cannot be attached (apply would fail) and "
    "its permissions cannot be checked; it is usually a typo or a missing path (/service-role/).",
    _chk001,
    CHECK,
)

RULES: tuple[Rule, ...] = (CHK001,)
