"""deploy/iam/reconciler-policy.json against the kind registry.

Each kind declares the IAM actions its read needs (``Kind.reads``), its steps (``Kind.writes``) and the audit
(``Kind.audit_reads``); the generic machinery declares its own (the account guard, AWS managed policies, the
audit's account summary, the lease). The policy allows exactly those, no more and no fewer, and each kind's
code names only AWS operations whose actions it declares. With the suite-wide recording (``iam_coverage``:
everything the product sends is allowed by the policy), whatever a kind sends is declared by it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy.iam_coverage import actions_for, load_policy, operations_in

from reconciler.audit import AUDIT_READS
from reconciler.aws import account, lease, policies
from reconciler.kinds import REGISTRY, Kind

REPO = Path(__file__).resolve().parents[2]
KINDS = REPO / "reconciler" / "kinds"
#: What the generic machinery needs, beside the kinds.
MACHINERY = (*account.READS, *policies.READS, *AUDIT_READS, *lease.ACTIONS)


def _allowed(policy: dict[str, object]) -> set[str]:
    out: set[str] = set()
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        if statement["Effect"] == "Allow":
            actions = statement["Action"]
            out.update([actions] if isinstance(actions, str) else actions)
    return out


def declared() -> set[str]:
    return set(MACHINERY) | {a for k in REGISTRY.values() for a in (*k.reads, *k.writes, *k.audit_reads)}


def test_the_policy_allows_exactly_what_is_declared() -> None:
    allowed = _allowed(load_policy())
    assert sorted(declared() - allowed) == [], "declared by a kind or the machinery, not allowed by the policy"
    assert sorted(allowed - declared()) == [], "allowed by the policy, declared by nothing"


def _actions(paths: list[Path]) -> dict[str, str]:
    """IAM action -> where, for the operations named in ``paths``."""
    out: dict[str, str] = {}
    for (service, operation), where in operations_in(paths, REPO).items():
        for action in actions_for(service, operation) or (f"{service}:{operation}",):
            out.setdefault(action, where)
    return out


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_a_kinds_code_names_only_what_it_declares(kind: Kind) -> None:
    package = Path(type(kind).__module__.replace(".", "/"))
    read = _actions([REPO / package / "read.py"])
    steps = _actions([REPO / package / "steps.py"])
    assert read or kind.sources, "the scan finds the calls of a kind's read (or it reads a shared answer)"
    undeclared = {a: w for a, w in read.items() if a not in kind.reads}
    undeclared |= {a: w for a, w in steps.items() if a not in (*kind.reads, *kind.writes)}
    assert undeclared == {}, f"{kind.name} sends these without declaring them (Kind.reads / Kind.writes)"


def test_what_the_iam_kinds_share_is_declared_by_each_that_uses_it() -> None:
    shared_read = _actions([KINDS / "iamread.py"])
    assert list(shared_read) == ["iam:GetAccountAuthorizationDetails"]
    for kind in REGISTRY.values():
        if "iam" in kind.sources:
            assert set(shared_read) <= set(kind.reads), kind.name
    iam_writes = {a for k in REGISTRY.values() if "iam" in k.sources for a in (*k.reads, *k.writes)}
    shared_steps = _actions([KINDS / "iamsteps.py"])
    assert {a: w for a, w in shared_steps.items() if a not in iam_writes} == {}


def test_what_the_studio_kinds_share_is_declared_by_each_that_uses_it() -> None:
    """The Studio listing (``studiodomain/listing.py``) is read by both Studio kinds, and the profile's steps find
    their domain with the domain kind's ``find_domain``: each kind declares what that code sends."""
    listing = _actions([KINDS / "studiodomain" / "listing.py"])
    assert set(listing) == {"sagemaker:ListDomains", "sagemaker:ListUserProfiles", "sagemaker:ListTags"}
    users = [kind for kind in REGISTRY.values() if "studio" in kind.sources]
    assert sorted(kind.name for kind in users) == ["StudioDomain", "StudioUserProfile"]
    for kind in users:
        assert set(listing) <= set(kind.reads), kind.name
    domain_steps = _actions([KINDS / "studiodomain" / "steps.py"])
    profile = REGISTRY["StudioUserProfile"]
    assert domain_steps["sagemaker:ListDomains"]
    assert "sagemaker:ListDomains" in (*profile.reads, *profile.writes)
