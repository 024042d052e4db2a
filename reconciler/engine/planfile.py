"""Saved plans: ``plan --out FILE`` writes one, ``apply FILE`` executes exactly it and nothing else.

A plan file holds the documented JSON plan (what ``plan --output json`` prints: the verdict, the
changes, the findings) and what it was computed from: the account and region, the product version,
a fingerprint of the manifests, the options it was planned with, the settings apply needs, and for
every resource the plan touches the views apply executes and a fingerprint of the live state the plan
read. A digest over all of it detects a truncated or edited file (it is an integrity check, not a
signature: keep plan files where only the pipeline that made them can write).

``apply FILE`` refuses, with one line and before any write, a file that is not a plan file, is damaged,
was made by another product version, or is for another account; under the lease it re-reads the
resources the plan touches and refuses when any of them moved since the plan was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.clock import parse_instant
from reconciler.engine.plan import Action, Blocker, Change, FieldChange, Plan
from reconciler.engine.render import plan_to_dict
from reconciler.engine.verdict import Refusal, Verdict
from reconciler.errors import ReconcilerError
from reconciler.kinds.context import Grant, Removal, Target
from reconciler.manifests.model import Account, Expiry
from reconciler.policydoc import StatementDiff
from reconciler.rules import Report, findings_lines, findings_to_dict
from reconciler.rules.accessdiff import AccessDiff, access_from_dict, access_to_dict
from reconciler.values import thaw

__all__ = ["PLAN_FILE_FORMAT", "PlanFileError", "SavedPlan", "load_plan_file", "write_plan_file"]

PLAN_FILE_FORMAT = 3  # 2: the fields' paths are stored as lists; 3: replacements, observed resources
#: The largest plan file apply reads (a plan of the whole benchmark account is a few MB).
MAX_PLAN_FILE_BYTES = 256 * 1024 * 1024


class PlanFileError(ReconcilerError):
    """The file is not a usable plan: damaged, another version's, or another account's. Nothing was written."""


@dataclass(frozen=True)
class SavedPlan:
    """A plan with everything apply needs to execute exactly it, and to check it is still current."""

    plan: Plan
    verdict: Verdict
    target: Target
    adopt: bool = False
    allow_deletes: int | None = None
    # ``--replace`` (``Kind/name``) and ``--allow-destroy-retained`` as the plan was made with them.
    replace: frozenset[str] = frozenset()
    allow_destroy_retained: bool = False
    max_deletes: int = 10
    notebook_updates: str = "when-stopped"
    manifests: str = ""  # fingerprint of the manifest files
    directory: str = ""  # where they were (for display)
    commit: str | None = None  # the git commit they came from, when known (the controller)
    # The fleet's account the plan is for (its spoke roles: apply assumes them); None for a directory of one account.
    account: Account | None = None
    # The findings: the report when the plan was just made (rendered only when asked for: a large account
    # has thousands), or their JSON and text as a plan file holds them.
    report: Report | None = field(default=None, compare=False, repr=False)
    saved_findings: Mapping[str, Any] | None = None
    saved_findings_text: str | None = None
    # The change in effective access the plan makes (None: not computed); a plan file holds its JSON.
    access: AccessDiff | None = None
    version: str = __version__

    @cached_property
    def findings(self) -> Mapping[str, Any]:
        """The findings as JSON data (``schemas/findings.schema.json``); empty when none were evaluated."""
        if self.report is not None:
            return findings_to_dict(self.report)
        return self.saved_findings or {}

    @property
    def shown_access(self) -> AccessDiff | None:
        """The access diff as text and Markdown show it: None (no section) when neither the plan nor access
        changes, so an in-sync plan says only that; otherwise the diff (one line when access does not change)."""
        access = self.access
        if access is None or (self.plan.empty and access.empty and not access.notes):
            return None
        return access

    @cached_property
    def findings_text(self) -> str:
        """The findings as plan prints them (no colour); empty when there is nothing to say."""
        return "\n".join(self.findings_lines())

    def findings_lines(self) -> Iterator[str]:
        """:attr:`findings_text` line by line (a saved plan's text as one piece): nothing when it is empty."""
        if self.report is not None:
            yield from findings_lines(self.report, color=False, quiet_when_clean=True)
        elif self.saved_findings_text:
            yield self.saved_findings_text

    def to_data(self) -> dict[str, Any]:
        """The file's content without its digest."""
        document = plan_to_dict(self.plan)
        document["verdict"] = self.verdict.to_dict()
        if self.findings:
            document["invariants"] = thaw(self.findings)
        if self.access is not None:
            document["access"] = access_to_dict(self.access)
        data: dict[str, Any] = {
            "reconcilerPlanFile": PLAN_FILE_FORMAT,
            "reconcilerVersion": self.version,
            "plan": document,
            "computedFrom": {
                "accountId": self.target.account_id,
                "region": self.target.region,
                "ownershipTag": {"key": self.target.ownership_key, "value": self.target.ownership_value},
                "manifests": {"fingerprint": self.manifests, "directory": self.directory, "commit": self.commit},
                "options": {
                    "adopt": self.adopt,
                    "allowDeletes": self.allow_deletes,
                    "replace": sorted(self.replace),
                    "allowDestroyRetained": self.allow_destroy_retained,
                },
                "settings": {"maxDeletes": self.max_deletes, "notebookUpdates": self.notebook_updates},
                "resources": {c.ref: _resource(c) for c in self.plan.changes},
                "observedResources": {c.ref: _resource(c) for c in self.plan.observed},
            },
            "findingsText": self.findings_text,
        }
        if self.account is not None:
            a = self.account
            data["computedFrom"]["account"] = {
                "name": a.name,
                "roleArn": a.role_arn,
                "readRoleArn": a.read_role_arn,
                "externalId": a.external_id,
            }
        return data

    @cached_property
    def digest(self) -> str:
        return _digest(self.to_data())


def _resource(c: Change) -> dict[str, Any]:
    """What the JSON plan does not show of a change, and apply needs."""
    return {
        "fingerprint": c.fingerprint,
        "desired": thaw(c.desired),
        "live": thaw(c.live),
        # the fields' paths as lists (the JSON plan shows them as text, for people)
        "paths": [list(f.path) for f in c.fields],
        "retain": c.retain,
        "adopting": c.adopting,
    }


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _digest(data: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(_canonical(data)).hexdigest()


def write_plan_file(path: Path, saved: SavedPlan) -> str:
    """Write ``saved`` to ``path`` atomically (a temporary file renamed over it); return its digest."""
    data = saved.to_data()
    digest = _digest(data)
    text = json.dumps({**data, "digest": digest}, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".plan-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def load_plan_file(path: Path) -> SavedPlan:
    """Read and check a plan file. Raises PlanFileError (one line) for anything but an intact plan file
    of this product version."""
    try:
        size = path.stat().st_size
        if size > MAX_PLAN_FILE_BYTES:
            raise PlanFileError(f"{path}: not a plan file (larger than {MAX_PLAN_FILE_BYTES // 2**20} MiB)")
        data = json.loads(path.read_bytes())
    except PlanFileError:
        raise
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan file: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise PlanFileError(f"{path}: not a plan file, or a truncated one (not valid JSON)") from None
    if not isinstance(data, dict) or "reconcilerPlanFile" not in data:
        raise PlanFileError(f"{path}: not a reconciler plan file")
    if data.get("reconcilerPlanFile") != PLAN_FILE_FORMAT:
        raise PlanFileError(
            f"{path}: plan file format {data.get('reconcilerPlanFile')!r} is not supported by "
            f"reconciler {__version__} (format {PLAN_FILE_FORMAT}); plan again with this version"
        )
    recorded = data.pop("digest", None)
    if not isinstance(recorded, str) or recorded != _digest(data):
        raise PlanFileError(
            f"{path}: the plan file was modified or damaged after it was written (its digest does "
            "not match); plan again"
        )
    if data.get("reconcilerVersion") != __version__:
        raise PlanFileError(
            f"{path}: made by reconciler {data.get('reconcilerVersion')}, this is {__version__}; "
            "apply it with the version that made it, or plan again"
        )
    try:
        return _from_data(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{path}: not a usable plan file ({type(exc).__name__}: {exc})") from None


def _field(data: Mapping[str, Any], path: list[str]) -> FieldChange:
    statements = data.get("statements")
    diff = None
    if statements is not None:
        diff = StatementDiff(tuple(statements["added"]), tuple(statements["removed"]), tuple(statements["changedTop"]))
    if ".".join(path) != data["field"]:
        raise ValueError(f"field {data['field']!r} does not match its path {path!r}")
    path_value = tuple(str(p) for p in path)
    return FieldChange(path_value, data["old"], data["new"], statements=diff, replaces=bool(data["replaces"]))


def _change(data: Mapping[str, Any], resources: Mapping[str, Any]) -> Change:
    ref = f"{data['kind']}/{data['name']}"
    saved = resources[ref]
    blocker = data.get("blocker")
    return Change(
        Action(data["action"]),
        str(data["kind"]),
        str(data["name"]),
        fields=tuple(_field(f, p) for f, p in zip(data["fields"], saved["paths"], strict=True)),
        desired=saved["desired"],
        live=saved["live"],
        notes=tuple(data["notes"]),
        source=data["source"],
        destroys=tuple(data.get("destroys", ())),
        blocker=Blocker(blocker["code"], blocker["message"], blocker["unblock"]) if blocker else None,
        fingerprint=str(saved["fingerprint"]),
        retain=bool(saved["retain"]),
        adopting=bool(saved["adopting"]),
    )


def _grant(data: Mapping[str, Any]) -> Grant:
    return Grant(
        str(data["resource"]),
        str(data["entry"]),
        tuple(p if isinstance(p, int) else str(p) for p in data["path"]),
        Expiry(str(data["expiresAt"]), parse_instant(str(data["endsAt"])), data["location"]),
        tuple(Removal(str(r["ref"]), str(r["field"]), str(r["value"])) for r in data["removes"]),
    )


def _from_data(data: Mapping[str, Any]) -> SavedPlan:
    document, source = data["plan"], data["computedFrom"]
    resources = source["resources"]
    plan = Plan(
        account_id=str(source["accountId"]),
        region=str(source["region"]),
        changes=tuple(_change(c, resources) for c in document["changes"]),
        unchanged=dict(document["summary"]["unchangedByKind"]),
        notes=tuple(document["notes"]),
        observed=tuple(_change(c, source["observedResources"]) for c in document["observed"]),
        observed_in_sync=int(document["observedInSync"]),
        expired=tuple(_grant(g) for g in document["expired"]),
        expiring=tuple(_grant(g) for g in document["expiring"]),
    )
    verdict = Verdict(
        tuple(
            Refusal(r["code"], r["message"], r["unblock"], tuple(r["resources"]))
            for r in document["verdict"]["refusals"]
        )
    )
    tag = source["ownershipTag"]
    options, settings, manifests = source["options"], source["settings"], source["manifests"]
    account = None
    if "account" in source:
        a = source["account"]
        account = Account(
            str(a["name"]),
            None,
            account_id=plan.account_id,
            region=plan.region,
            role_arn=a["roleArn"],
            read_role_arn=a["readRoleArn"],
            external_id=a["externalId"],
        )
    return SavedPlan(
        plan=plan,
        verdict=verdict,
        target=Target(plan.account_id, plan.region, str(tag["key"]), str(tag["value"])),
        adopt=bool(options["adopt"]),
        allow_deletes=options["allowDeletes"],
        replace=frozenset(str(r) for r in options["replace"]),
        allow_destroy_retained=bool(options["allowDestroyRetained"]),
        max_deletes=int(settings["maxDeletes"]),
        notebook_updates=str(settings["notebookUpdates"]),
        manifests=str(manifests["fingerprint"]),
        directory=str(manifests["directory"]),
        commit=manifests["commit"],
        account=account,
        saved_findings=document.get("invariants") or {},
        saved_findings_text=str(data.get("findingsText", "")),
        access=access_from_dict(document["access"]) if "access" in document else None,
        version=str(data["reconcilerVersion"]),
    )
