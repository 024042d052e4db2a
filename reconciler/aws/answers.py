"""Reading AWS's answers: the few facts every reader repeats, in one place."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["document", "error_code", "tags"]


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
