"""Policy language (POL001-POL005): documents IAM rejects, or reads otherwise than they are written.

They run on every document people write (customer managed and inline policies, trust policies, bucket
policies, and KMS key policies), on the manifests and in the account; statements the product generates are
not judged, but a statement people add to a generated document (a bucket policy's extras) is judged against
the whole document (its Version, the Sids already there). Unknown condition keys, global ``aws:`` ones
included, are LP009's (:mod:`reconciler.rules.ineffective`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reconciler.facts.model import Model, PolicyDoc, Statement
from reconciler.rules.base import BOTH, Hit, Rule, authored_documents
from reconciler.rules.conditions import (
    MULTIVALUED_GLOBAL_KEYS,
    close_operator,
    global_key_known,
    parse_operator,
    value_problem,
)
from reconciler.rules.findings import Severity

CURRENT_VERSION = "2012-10-17"
_VARIABLE = re.compile(r"\$\{[^}]*\}")


def _at(doc: PolicyDoc, s: Statement) -> str:
    """How a message names a statement: its Sid, or its position."""
    return f"{doc.label}, statement {s.sid!r}" if s.sid else f"{doc.label}, statement {s.index + 1}"


def _variables(doc: PolicyDoc) -> list[str]:
    """The policy variables the document's people-written statements use (Resource, NotResource, conditions)."""
    found: dict[str, None] = {}
    for s in doc.statements:
        if s.generated:
            continue
        values = [*(s.resource or ()), *(s.not_resource or ())]
        values += [v for block in s.condition.values() for vs in block.values() for v in vs]
        values += [k for block in s.condition.values() for k in block]
        for value in values:
            found.update(dict.fromkeys(_VARIABLE.findall(value)))
    return list(found)


def _documents(model: Model) -> Iterator[PolicyDoc]:
    """The documents people write (:meth:`Model.authored_documents`), and the KMS key policies: the other rules
    leave key policies to the KMS rules, but their language is the same."""
    yield from authored_documents(model)
    for name in sorted(model.keys):
        policy = model.keys[name].policy
        if policy is not None:
            yield policy


def _statements(model: Model) -> Iterator[tuple[PolicyDoc, Statement]]:
    for doc in _documents(model):
        for s in doc.statements:
            if not s.generated:
                yield doc, s


def _people_wrote(doc: PolicyDoc) -> bool:
    return any(not s.generated for s in doc.statements)


# ---------------------------------------------------------------------------------------------- POL001


def _pol001(model: Model) -> Iterator[Hit]:
    for doc in _documents(model):
        if doc.version == CURRENT_VERSION or not _people_wrote(doc) or _variables(doc):
            continue  # POL002 reports a document with policy variables
        said = "has no Version" if doc.version is None else f"has Version {doc.version}"
        yield Hit(
            doc.owner,
            doc.location,
            f"{doc.label} {said}: IAM reads it in the 2008-10-17 policy language, in which policy variables "
            "are plain text and newer features do not apply",
            f'set Version: "{CURRENT_VERSION}"',
        )


# ---------------------------------------------------------------------------------------------- POL002


def _pol002(model: Model) -> Iterator[Hit]:
    for doc in _documents(model):
        if doc.version == CURRENT_VERSION:
            continue
        variables = _variables(doc)
        if not variables:
            continue
        said = "has no Version (so 2008-10-17)" if doc.version is None else f"has Version {doc.version}"
        yield Hit(
            doc.owner,
            doc.location,
            f"{doc.label} {said} but uses {', '.join(variables)}: before 2012-10-17 a policy variable is "
            "literal text, so the statements that use it match nothing (an Allow grants nothing, a Deny "
            "denies nothing)",
            f'set Version: "{CURRENT_VERSION}"',
        )


# ---------------------------------------------------------------------------------------------- POL003


def _pol003(model: Model) -> Iterator[Hit]:
    for doc in _documents(model):
        first: dict[str, Statement] = {}
        for s in doc.statements:
            if s.sid is None:
                continue
            if s.sid not in first:
                first[s.sid] = s
                continue
            earlier = first[s.sid]
            if s.generated and earlier.generated:
                continue
            reported = earlier if s.generated else s
            yield Hit(
                doc.owner,
                reported.location or doc.location,
                f"{doc.label} has two statements with Sid {s.sid!r} (statements {earlier.index + 1} and "
                f"{s.index + 1}): IAM rejects the document (a Sid must be unique in its policy), so apply fails",
                "give each statement its own Sid, or remove the Sid",
            )


# ---------------------------------------------------------------------------------------------- POL004


def _operator_hits(doc: PolicyDoc, s: Statement) -> Iterator[Hit]:
    for written, block in s.condition.items():
        op = parse_operator(written)
        where = f"{_at(doc, s)}: condition operator {written}"
        if op.base is None:
            close = close_operator(written)
            yield Hit(
                doc.owner,
                s.location,
                f"{where} does not exist: IAM rejects the document, so apply fails",
                f"did you mean {close}?" if close else "use one of IAM's condition operators (StringEquals...)",
            )
            continue
        if op.base == "Null" and op.if_exists:
            yield Hit(
                doc.owner,
                s.location,
                f"{where} does not exist: Null already tests whether the key is present, IfExists cannot modify it",
                "write Null",
            )
        if op.base == "Null" and op.set_prefix:
            yield Hit(
                doc.owner,
                s.location,
                f"{where} does not exist: {op.set_prefix} cannot be combined with Null, which tests whether "
                "the key is present, not its values",
                "write Null",
            )
        if op.base == "Null" or not op.set_prefix:
            continue
        single = [k for k in block if global_key_known(k) and k.lower() not in MULTIVALUED_GLOBAL_KEYS]
        if not single:
            continue
        opens = op.set_prefix == "ForAllValues:" and s.allow
        consequence = (
            "ForAllValues is true when the request does not carry the key at all, so this Allow applies "
            "to every such request"
            if op.set_prefix == "ForAllValues:"
            else "it behaves like the plain operator and misleads the reader"
        )
        yield Hit(
            doc.owner,
            s.location,
            f"{where} applies a set operator to {', '.join(single)}, which holds a single value: {consequence}",
            f"write {written[len(op.set_prefix) :]}",
            Severity.ERROR if opens else Severity.WARNING,
        )


def _pol004(model: Model) -> Iterator[Hit]:
    for doc, s in _statements(model):
        yield from _operator_hits(doc, s)


# ---------------------------------------------------------------------------------------------- POL005


def _pol005(model: Model) -> Iterator[Hit]:
    for doc, s in _statements(model):
        for written, block in s.condition.items():
            op = parse_operator(written)
            if op.value_type is None:
                continue  # POL004
            for key, values in block.items():
                wrong = [v for v in values if value_problem(op.value_type, v) is not None]
                expected = value_problem(op.value_type, wrong[0]) if wrong else None
                if expected is None:
                    continue
                shown = ", ".join(repr(v) for v in wrong)
                yield Hit(
                    doc.owner,
                    s.location,
                    f"{_at(doc, s)}: {written} {key} compares {shown}, but {op.base} expects {expected}: the "
                    "condition can never match as written (or IAM rejects the document)",
                    f"write {expected}",
                )


RULES: tuple[Rule, ...] = (
    Rule(
        "POL001",
        Severity.WARNING,
        "Policy without Version 2012-10-17",
        "Without Version, or with 2008-10-17, IAM applies the 2008-10-17 policy language, in which policy "
        'variables are plain text; every document should say Version: "2012-10-17".',
        _pol001,
        BOTH,
    ),
    Rule(
        "POL002",
        Severity.ERROR,
        "Policy variables without Version 2012-10-17",
        "Policy variables (${aws:username}...) exist only in the 2012-10-17 language; under 2008-10-17 (or no "
        "Version) they are literal text and the statement matches nothing.",
        _pol002,
        BOTH,
    ),
    Rule(
        "POL003",
        Severity.ERROR,
        "Duplicate Sid",
        "IAM rejects a policy in which two statements have the same Sid: apply fails.",
        _pol003,
        BOTH,
    ),
    Rule(
        "POL004",
        Severity.ERROR,
        "Condition operator that does not exist or cannot be combined",
        "IAM rejects unknown operators and NullIfExists / ForAnyValue:Null; a set operator (ForAllValues, "
        "ForAnyValue) on a single-valued key misleads, and ForAllValues is true when the key is absent.",
        _pol004,
        BOTH,
    ),
    Rule(
        "POL005",
        Severity.ERROR,
        "Condition value of the wrong type for its operator",
        "Bool takes true/false, Numeric a number, Date a date, IpAddress a CIDR, Arn operators an ARN: any other "
        "value never matches (or IAM rejects the document).",
        _pol005,
        BOTH,
    ),
)
