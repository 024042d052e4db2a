"""The text ``reconciler import`` prints: what was written, left out, and what adopting it would do."""

from __future__ import annotations

from reconciler.engine.plan import FieldPath
from reconciler.importer.run import ImportResult
from reconciler.kinds import REGISTRY
from reconciler.rules import render_findings_text

__all__ = ["render_import"]


def _reasons(kind: str, paths: tuple[FieldPath, ...]) -> list[str]:
    known = REGISTRY[kind].import_field_reasons
    reasons = {known.get(path[0]) for path in paths}
    return sorted(r for r in reasons if r)


def _observed(result: ImportResult) -> list[str]:
    """What ``import --observe`` wrote means: apply writes nothing; what enforcing each resource would change."""
    plan = result.plan
    total = len(plan.observed) + plan.observed_in_sync
    lines = [
        f"Observed: the {total} manifest(s) say metadata.management: observe; apply writes nothing to them, and "
        "plan, audit and the controller report their drift and findings.",
        f"Switching one to enforce (remove the line) adopts it: {plan.observed_in_sync} would get only the "
        "ownership mark" + (f"; {len(plan.observed)} would also change:" if plan.observed else "."),
    ]
    for change in plan.observed:
        lines.append(f"  {change.ref}: {', '.join(f.field for f in change.fields)}")
        lines.extend(f"    ({reason})" for reason in _reasons(change.kind, tuple(f.path for f in change.fields)))
    return lines


def render_import(result: ImportResult, display: str, *, color: bool = False) -> str:
    out: list[str] = []
    total = sum(result.counts.values())
    out.append(f"Imported {total} resource(s) from account {result.account_id} ({result.region}) into {display}:")
    out.append("  settings.yaml")
    out.extend(
        f"  {k.folder}/: {result.counts[k.name]} {k.name}" for k in REGISTRY.values() if result.counts.get(k.name)
    )
    if result.aws_policies:
        out.append(
            "AWS managed policies are referenced by ARN, not imported: "
            + ", ".join(a.rsplit("/", 1)[-1] for a in result.aws_policies)
        )
    if result.dependencies:
        out.append("Imported because an imported resource refers to it:")
        out.extend(f"  {ref}: {why}" for ref, why in result.dependencies)
    if result.skipped:
        out.append(f"Skipped {len(result.skipped)}:")
        out.extend(f"  {s.ref}: {s.reason}" for s in result.skipped)

    adoption = result.adoption
    out.append("")
    adopted = len(adoption.mark_only) + len(adoption.also_changed)
    if result.observe:
        out.extend(_observed(result))
    elif not adopted and adoption.adoption_only:
        out.append("Round trip: nothing to adopt; the manifests match the account.")
    elif adoption.adoption_only:
        out.append(
            f"Round trip: apply --adopt only adds the ownership mark to {adopted} resource(s); nothing else changes."
        )
    else:
        out.append(
            f"Round trip: apply --adopt adds the ownership mark to {adopted} resource(s); "
            f"{len(adoption.mark_only)} of them change in no other way."
        )
    if adoption.also_changed:
        out.append(f"{len(adoption.also_changed)} cannot be written as they are; adopting them also changes:")
        for ref, paths in adoption.also_changed:
            out.append(f"  {ref}: {', '.join('.'.join(p) for p in paths)}")
            out.extend(f"    ({reason})" for reason in _reasons(ref.split("/", 1)[0], paths))
    if adoption.other:
        out.append(f"The manifests in {display} also make {len(adoption.other)} other change(s):")
        for change in adoption.other:
            fields = ", ".join(f.field for f in change.fields)
            out.append(f"  {change.action.value} {change.ref}" + (f": {fields}" if fields else ""))
            out.extend(f"    ({reason})" for reason in _reasons(change.kind, tuple(f.path for f in change.fields)))

    out.append("")
    out.append(render_findings_text(result.findings, color=color))
    if result.observe:
        out.append(
            "Next: commit the files as they are (apply writes nothing to observed resources), then switch resources "
            "to enforce a few at a time, fixing or excepting their findings (docs/import.md)."
        )
        return "\n".join(out) + "\n"
    if result.findings.findings:
        out.append(
            "The findings do not fail the import: fix them in the manifests (or add Settings.exceptions) "
            "before the first apply --adopt, which refuses errors."
        )
    out.append(f"Next: review the files, then `reconciler validate {display}` and `reconciler plan --adopt {display}`.")
    return "\n".join(out) + "\n"
