"""Reading AWS's answers: the few facts every reader repeats, in one place."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["PolicyDocumentDecoder", "document", "error_code", "tags"]

#: The shape IAM gives every policy document in its answers (URL-encoded JSON text).
_POLICY_DOCUMENT_SHAPE = "policyDocumentType"


def document(value: Any) -> dict[str, Any]:
    """A policy document as AWS returns it: a dict (boto3 decodes IAM's), or JSON text, URL-encoded or not."""
    if isinstance(value, dict):
        return value
    text = str(value)
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        loaded = json.loads(urllib.parse.unquote(text))
    return loaded if isinstance(loaded, dict) else {}


def tags(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """``[{"Key": k, "Value": v}, ...]`` as a mapping."""
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or ()}


def error_code(exc: ClientError) -> str:
    """The error code of an AWS error answer (``NoSuchEntity``, ``Throttling``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


class PolicyDocumentDecoder:
    """What botocore's ``json_decode_policies`` does to an IAM answer (an ``after-call.iam`` handler, one per client:
    every policy document, URL-encoded JSON text, decoded in place), with each distinct text decoded once per answer,
    and only the parts of an answer that can hold a document walked.

    IAM's documents repeat: at the benchmark's scale 1, GetAccountAuthorizationDetails holds 2,100 trust
    policies written 3 ways. Roles with the same text share one decoded document (nothing that reads an answer
    changes a document: the parser and the differ make their own structures), which holds the account's
    thousands of trust policies in the memory of a few, and decodes a few. A text that is not JSON stays text.

    Which members of a shape can hold a document (a ``policyDocumentType`` string, reached through structures and
    lists, as botocore looks for them) is worked out once per shape name and kept with the client's handler: a
    ListPolicyTags answer is not walked at all, and a role's tags, last use and attached policies are skipped.
    """

    def __init__(self) -> None:
        self._carriers: dict[str, tuple[str, ...]] = {}

    def __call__(self, parsed: Any, model: Any, **_: Any) -> None:
        shape = model.output_shape
        if shape is not None and self._walked(shape):
            _decode(parsed, shape, self._walked, {})

    def _walked(self, shape: Any) -> tuple[str, ...]:
        """The members of structure ``shape`` that are documents or can hold one (empty for other shapes)."""
        found = self._carriers.get(shape.name)
        if found is None:
            found = ()
            if shape.type_name == "structure":
                found = tuple(name for name, member in shape.members.items() if _holds_document(member, set()))
            self._carriers[shape.name] = found
        return found


def _holds_document(shape: Any, visited: set[str]) -> bool:
    """Whether ``shape`` is a policy document or reaches one through structures and lists."""
    if shape.type_name == "string":
        return bool(shape.name == _POLICY_DOCUMENT_SHAPE)
    if shape.name in visited:  # a recursive shape: its other members are looked at where it was first met
        return False
    visited.add(shape.name)
    if shape.type_name == "list":
        return _holds_document(shape.member, visited)
    if shape.type_name == "structure":
        return any(_holds_document(member, visited) for member in shape.members.values())
    return False


def _decode(parsed: Any, shape: Any, walked: Callable[[Any], tuple[str, ...]], seen: dict[str, Any]) -> None:
    if shape.type_name == "structure":
        members = shape.members
        for name in walked(shape):
            if name not in parsed:
                continue
            member = members[name]
            if member.type_name == "string":  # a policy document: the only strings walked
                raw = parsed[name]
                if isinstance(raw, str):
                    decoded = seen.get(raw)
                    if decoded is None:
                        decoded = seen[raw] = _quoted_json(raw)
                    parsed[name] = decoded
            else:
                _decode(parsed[name], member, walked, seen)
    elif shape.type_name == "list":
        member = shape.member
        if member.type_name in ("structure", "list"):  # a list of documents: botocore decodes none of them
            for item in parsed:
                _decode(item, member, walked, seen)


def _quoted_json(raw: str) -> Any:
    try:
        return json.loads(urllib.parse.unquote(raw))
    except ValueError:
        return raw
