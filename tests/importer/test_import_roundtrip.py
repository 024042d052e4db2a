"""The round trip, on generated account states: ``import`` -> ``validate`` passes -> ``plan --adopt`` shows
only the adoption (the ownership mark) -> ``apply --adopt`` -> ``plan`` shows no change at all.

Where a manifest cannot say what exists (a bucket without Block Public Access, a user with policies of
its own), adopting the resource also changes those fields: the oracle ``not_representable`` names them
from the generated description alone, and both the import's report and ``plan --adopt`` must show
exactly those, and nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from import_accounts import (
    Account,
    BucketSpec,
    GroupSpec,
    NotebookSpec,
    PolicySpec,
    RoleSpec,
    UserSpec,
    accounts,
    build,
    not_representable,
)
from import_support import except_errors, plan_json, read_tree, run_cli

from reconciler.aws.clients import AwsConfig
from reconciler.sandbox import Emulator

GUARD = "inlinePolicies.reconciler-group-guard"


def _mark(field: dict[str, Any]) -> bool:
    """The ownership mark: the ownership tag added (nothing else of the tags), or a new group guard."""
    if field["field"] == GUARD:
        return field["old"] is None
    return field["field"] == "tags" and field["new"] == {**(field["old"] or {}), "managed-by": "reconciler"}


SEED_LIKE = Account(
    policies=(PolicySpec("data-read", 0), PolicySpec("logs.write", 1, "/team/ml/", "データ: read # raw")),
    roles=(
        RoleSpec("nb-role", 0, ("data-read", "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")),
        RoleSpec(
            "etl.role", 1, ("logs.write",), True, "logs.write", "/team/ml/", "Runs", 7200, {"team": "true"}, owned=True
        ),
    ),
    groups=(GroupSpec("Engineers", ("data-read",), True), GroupSpec("data.admins", owned=True)),
    users=(
        UserSpec("alice", ("Engineers",), console=True, access_key=True, tags={"cost-center": "1234"}),
        UserSpec("bob.smith", ("Engineers", "data.admins"), own_policy="inline", path="/team/ml/"),
    ),
    buckets=(
        BucketSpec("raw-data-1"),
        BucketSpec(
            "results.bucket",
            "Enabled",
            "SSE-KMS",
            "full",
            True,
            ("Role/etl.role", "User/bob.smith"),
            "plain",
            {"team": ""},
        ),
    ),
    notebooks=(NotebookSpec("nb-one", "etl.role", direct_internet="Disabled", kms=True, volume=20),),
    service_linked_role=True,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@example(account=SEED_LIKE)
@example(account=Account())
@given(account=accounts())
def test_import_then_adopt_round_trips(aws: AwsConfig, emulator: Emulator, account: Account) -> None:
    emulator.reset()
    secrets = build(account)
    with tempfile.TemporaryDirectory() as tmp:
        out, again = Path(tmp) / "imported", Path(tmp) / "again"
        code, text = run_cli("import", "--out", str(out))
        assert code == 0, text
        files = read_tree(out)

        # Stable: a second import gives byte-identical files; nothing secret is ever written.
        assert run_cli("import", "--out", str(again))[0] == 0
        assert read_tree(again) == files
        everything = b"".join(files.values()).decode()
        assert not [s for s in secrets if s in everything]
        refs = account.refs()
        folders = {
            "Policy": "policies",
            "Role": "roles",
            "Group": "groups",
            "User": "users",
            "Bucket": "buckets",
            "NotebookInstance": "notebooks",
        }
        assert set(files) == {"settings.yaml"} | {
            f"{folders[ref.split('/', 1)[0]]}/{ref.split('/', 1)[1]}.yaml" for ref in refs
        }

        assert run_cli("validate", str(out))[0] == 0

        # plan --adopt: the ownership mark on every resource not yet owned; other fields only where the
        # oracle says a manifest cannot hold the live value.
        oracle = not_representable(account)
        _, plan = plan_json(out, "--adopt")
        extra = {
            c["kind"] + "/" + c["name"]: {f["field"] for f in c["fields"] if not _mark(f)} for c in plan["changes"]
        }
        assert {ref: fields for ref, fields in extra.items() if fields} == oracle
        unowned = {ref for ref, owned in refs.items() if not owned}
        assert {c["kind"] + "/" + c["name"] for c in plan["changes"]} == unowned | set(oracle)
        for change in plan["changes"]:
            ref = change["kind"] + "/" + change["name"]
            if ref not in unowned:
                assert change["action"] == "update", change  # owned: only what a manifest cannot hold
            elif change["action"] == "update":  # an empty group named in git gets its guard without --adopt
                assert ref.startswith("Group/") and [f["field"] for f in change["fields"]] == [GUARD], change
            else:
                assert change["action"] == "adopt", change
        for ref, fields in oracle.items():
            assert f"{ref}: {', '.join(sorted(fields))}\n" in text, text

        # apply --adopt (the invariant errors of the hand-made state accepted as exceptions), then nothing.
        except_errors(out, plan["invariants"])
        code, applied = run_cli("apply", "--auto-approve", str(out), "--adopt", "--no-lease")
        assert code == 0, applied
        final_code, final = run_cli("plan", str(out))
        assert final_code == 0, final
        assert "No changes." in final
