"""The corpus of the linter benchmark: one case a file in ``bench/lint_corpus/``, read and checked here.

The fields of a case file are described in :mod:`bench.lint_bench`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "bench" / "lint_corpus"
CATEGORIES = {
    "language": "Policy language (POL001-POL005, LP009)",
    "mfa": "MFA conditions that fail open (MFA004)",
    "escalation": "Privilege escalation (ESC001, LP003)",
    "resources": "NotAction/NotResource, wildcard resources, ARN types, malformed ARNs (LP004, LP010, LP006, LP007)",
    "quotas": "IAM quotas (QTA001-QTA004)",
}
WHERE = ("identity", "inline", "trust", "bucket")
SIDES = ("manifests", "account")
HOLDERS = ("Role", "Group", "User")


class CorpusError(ValueError):
    """A case file that does not follow the format."""


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    category: str
    where: str
    side: str
    holder: str
    expect: tuple[str, ...]  # empty: clean
    document: Mapping[str, Any]
    attach: int | tuple[str, ...] = 0
    holder_name: str = "case"
    manifests: tuple[Mapping[str, Any], ...] = ()
    require_mfa: bool = True

    @property
    def clean(self) -> bool:
        return not self.expect


# ------------------------------------------------------------------------------------------------ corpus


def _field(raw: Mapping[str, Any], name: str, path: Path, allowed: Sequence[str] | None = None) -> Any:
    if name not in raw:
        raise CorpusError(f"{path.name}: no {name}")
    value = raw[name]
    if allowed is not None and value not in allowed:
        raise CorpusError(f"{path.name}: {name} {value!r} is not one of {', '.join(allowed)}")
    return value


def load_case(path: Path) -> Case:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path.name}: not YAML ({exc})") from exc
    if not isinstance(raw, Mapping):
        raise CorpusError(f"{path.name}: not a mapping")
    known = {
        "description",
        "category",
        "where",
        "side",
        "holder",
        "expect",
        "document",
        "attach",
        "holder_name",
        "manifests",
        "require_mfa",
    }
    if set(raw) - known:
        raise CorpusError(f"{path.name}: unknown field(s) {', '.join(sorted(set(raw) - known))}")
    expect = _field(raw, "expect", path)
    if expect == "clean":
        expect = []
    if not isinstance(expect, list) or (not expect and raw["expect"] != "clean"):
        raise CorpusError(f"{path.name}: expect must be 'clean' or a non-empty list of rule ids")
    document = _field(raw, "document", path)
    if not isinstance(document, Mapping):
        raise CorpusError(f"{path.name}: document must be a mapping")
    attach = raw.get("attach", 0)
    return Case(
        name=path.stem,
        description=str(_field(raw, "description", path)),
        category=_field(raw, "category", path, tuple(CATEGORIES)),
        where=_field(raw, "where", path, WHERE),
        side=raw.get("side", "manifests"),
        holder=raw.get("holder", "Role"),
        expect=tuple(str(r) for r in expect),
        document=document,
        attach=attach if isinstance(attach, int) else tuple(attach),
        holder_name=str(raw.get("holder_name", "case")),
        manifests=tuple(raw.get("manifests", ())),
        require_mfa=bool(raw.get("require_mfa", True)),
    )


def load_corpus(directory: Path = CORPUS) -> list[Case]:
    cases = [load_case(path) for path in sorted(directory.glob("*.yaml"))]
    for case in cases:
        if case.side not in SIDES:
            raise CorpusError(f"{case.name}: side {case.side!r} is not one of {', '.join(SIDES)}")
        if case.holder not in HOLDERS:
            raise CorpusError(f"{case.name}: holder {case.holder!r} is not one of {', '.join(HOLDERS)}")
        if case.side == "manifests" and case.holder == "User" and case.where in ("identity", "inline"):
            raise CorpusError(f"{case.name}: manifests cannot give a User policies (use side: account)")
    return cases
