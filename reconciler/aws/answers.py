"""Reading AWS's answers: the few facts every reader repeats, in one place."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["decode_policy_documents", "document", "error_code", "tags"]

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


def decode_policy_documents(parsed: Any, model: Any, **_: Any) -> None:
    """What botocore's ``json_decode_policies`` does to an IAM answer (an ``after-call.iam`` handler: every policy
    document, URL-encoded JSON text, decoded in place), with each distinct text decoded once per answer.

    IAM's documents repeat: at the benchmark's scale 1, GetAccountAuthorizationDetails holds 2,100 trust
    policies written 3 ways. Roles with the same text share one decoded document (nothing that reads an answer
    changes a document: the parser and the differ make their own structures), which holds the account's
    thousands of trust policies in the memory of a few, and decodes a few. A text that is not JSON stays text.
    """
    shape = model.output_shape
    if shape is not None:
        _decode(parsed, shape, {})


def _decode(parsed: Any, shape: Any, seen: dict[str, Any]) -> None:
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name not in parsed:
                continue
            if member.type_name == "string" and member.name == _POLICY_DOCUMENT_SHAPE:
                raw = parsed[name]
                if isinstance(raw, str):
                    decoded = seen.get(raw)
                    if decoded is None:
                        decoded = seen[raw] = _quoted_json(raw)
                    parsed[name] = decoded
            else:
                _decode(parsed[name], member, seen)
    elif shape.type_name == "list":
        for item in parsed:
            _decode(item, shape.member, seen)


def _quoted_json(raw: str) -> Any:
    try:
        return json.loads(urllib.parse.unquote(raw))
    except ValueError:
        return raw
