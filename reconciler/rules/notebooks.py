"""Notebooks (NB001-NB005): root access, network path, volume encryption, execution role."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.facts.model import Model, NotebookView, where
from reconciler.rules.base import BOTH, Hit, Rule
from reconciler.rules.findings import Severity


def _notebooks(model: Model) -> Iterator[NotebookView]:
    for name in sorted(model.notebooks):
        nb = model.notebooks[name]
        if nb.detailed:
            yield nb


def _nb001(model: Model) -> Iterator[Hit]:
    for nb in _notebooks(model):
        if nb.root_access == "Enabled":
            yield Hit(
                nb.ref,
                where(nb.source, "spec", "rootAccess") or nb.location,
                f"{nb.ref} gives its users root access: they can change the instance, its packages and "
                "its lifecycle, and read whatever the instance can",
                "rootAccess: Disabled",
            )


def _nb002(model: Model) -> Iterator[Hit]:
    for nb in _notebooks(model):
        if nb.direct_internet_access == "Disabled" and not nb.subnet_id:
            yield Hit(
                nb.ref,
                where(nb.source, "spec", "directInternetAccess") or nb.location,
                f"{nb.ref} disables direct internet access but names no subnet: SageMaker refuses to create "
                "it (its only network would be the VPC)",
                "set subnetId and securityGroupIds",
            )


def _nb003(model: Model) -> Iterator[Hit]:
    for nb in _notebooks(model):
        if not nb.kms_key_id:
            yield Hit(
                nb.ref,
                nb.location,
                f"{nb.ref} has no KMS key: its storage volume is encrypted with an AWS "
                "owned key you cannot audit or revoke",
                "kmsKeyId: a customer managed key (alias or ARN)",
            )


def _nb004(model: Model) -> Iterator[Hit]:
    for nb in _notebooks(model):
        role = model.roles.get(nb.role_name or "")
        if role is None or not role.managed:
            yield Hit(
                nb.ref,
                where(nb.source, "spec", "role") or nb.location,
                f"{nb.ref} runs as {nb.role_arn or 'no role'}, which is not a Role managed by the reconciler: "
                "its permissions are not reviewed here",
                "run the notebook as a Role manifest",
            )


def _nb005(model: Model) -> Iterator[Hit]:
    for nb in _notebooks(model):
        if nb.direct_internet_access == "Enabled":
            no_vpc = "" if nb.subnet_id else " and it is in no VPC"
            yield Hit(
                nb.ref,
                where(nb.source, "spec", "directInternetAccess") or nb.location,
                f"{nb.ref} has direct internet access{no_vpc}: data can leave without passing any network control",
                "directInternetAccess: Disabled, with subnetId and securityGroupIds",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "NB001",
        Severity.ERROR,
        "Root access enabled",
        "Root on the notebook lets its users change the environment and bypass its controls "
        "(Security Hub SageMaker.3).",
        _nb001,
        BOTH,
    ),
    Rule(
        "NB002",
        Severity.ERROR,
        "No direct internet access but no subnet",
        "DirectInternetAccess Disabled requires a VPC subnet; SageMaker rejects the create otherwise.",
        _nb002,
        BOTH,
    ),
    Rule(
        "NB003",
        Severity.WARNING,
        "No KMS key for the notebook volume",
        "A customer managed KMS key makes access to the volume auditable and revocable.",
        _nb003,
        BOTH,
    ),
    Rule(
        "NB004",
        Severity.ERROR,
        "Notebook role is not a managed Role",
        "The notebook's permissions are its role's; a role outside the manifests escapes review.",
        _nb004,
        BOTH,
    ),
    Rule(
        "NB005",
        Severity.ERROR,
        "Direct internet access enabled",
        "A notebook with direct internet access can send data anywhere (Security Hub SageMaker.1, "
        "SageMaker.2: launch it in a VPC).",
        _nb005,
        BOTH,
    ),
)
