"""SageMaker Studio (SM001-SM004): domains in VPC-only mode with storage under a customer managed key, and
execution roles that are reviewed here and never hold the full-access managed policy.

The least-privilege and protected-data rules (LP*, DATA*) already judge every role, execution roles included;
TR002 checks that every execution role trusts SageMaker.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model, StudioDomainView, Workload, where
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity

FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


def _domains(model: Model) -> Iterator[StudioDomainView]:
    for name in sorted(model.domains):
        yield model.domains[name]


def _studio_roles(model: Model) -> Iterator[Workload]:
    """Studio domains and user profiles with their execution roles (not notebooks: NB004 is theirs)."""
    for workload in model.execution_roles():
        if workload.ref.startswith("Studio"):
            yield workload


def _sm001(model: Model) -> Iterator[Hit]:
    for domain in _domains(model):
        if domain.app_network_access_type != "VpcOnly":
            yield Hit(
                domain.ref,
                where(domain.source, "spec", "appNetworkAccessType") or domain.location,
                f"{domain.ref} lets its apps reach the internet directly ({domain.app_network_access_type}): "
                "data can leave without passing any network control of the VPC",
                "appNetworkAccessType: VpcOnly",
            )


def _sm002(model: Model) -> Iterator[Hit]:
    for domain in _domains(model):
        if not domain.kms_key_id:
            yield Hit(
                domain.ref,
                domain.location,
                f"{domain.ref} encrypts its storage (the home volumes of its users) with an AWS owned key you "
                "cannot audit or revoke",
                "kmsKey: a KmsKey manifest",
            )


def _sm003(model: Model) -> Iterator[Hit]:
    reported: set[str] = set()
    for workload in _studio_roles(model):
        role = model.roles.get(workload.role_name or "")
        if role is None or role.ref in reported:
            continue
        attachment = next((a for a in role.attachments if a.arn == FULL_ACCESS), None)
        if attachment is not None:
            reported.add(role.ref)
            yield Hit(
                role.ref,
                attachment.location or role.location,
                f"{role.ref} runs {workload.ref} and holds AmazonSageMakerFullAccess: every Studio user of it "
                "may create and delete any SageMaker resource and read every bucket whose name contains 'sagemaker'",
                "attach a policy with the actions and buckets the users' work needs",
            )


def _sm004(model: Model) -> Iterator[Hit]:
    for workload in _studio_roles(model):
        role = model.roles.get(workload.role_name or "")
        if role is None or not role.managed:
            yield Hit(
                workload.ref,
                workload.location,
                f"{workload.ref} runs as {workload.role_arn or 'no role'}, which is not a Role managed by the "
                "reconciler: its permissions are not reviewed here",
                "run it as a Role manifest",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "SM001",
        Severity.ERROR,
        "Studio domain not in VpcOnly mode",
        "In PublicInternetOnly mode Studio apps reach the internet directly, around the VPC's controls.",
        _sm001,
        BOTH,
    ),
    Rule(
        "SM002",
        Severity.ERROR,
        "Studio domain without a customer managed key",
        "The domain's storage holds its users' work; a customer managed key makes access to it auditable and "
        "revocable.",
        _sm002,
        BOTH,
    ),
    Rule(
        "SM003",
        Severity.ERROR,
        "Studio execution role with AmazonSageMakerFullAccess",
        "The execution role is what every Studio user of it can do; the full-access policy is far beyond an ML "
        "user's work.",
        _sm003,
        BOTH,
    ),
    Rule(
        "SM004",
        Severity.ERROR,
        "Studio execution role is not a managed Role",
        "A domain's or user profile's permissions are its execution role's; a role outside the manifests "
        "escapes review.",
        _sm004,
        BOTH,
    ),
)
