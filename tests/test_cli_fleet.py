"""The commands over a fleet of emulated accounts, each reached through its spoke role (sts:AssumeRole)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import jsonschema
import pytest
from clirun import cli_here
from fleetdir import ACCOUNTS, example_fleet, role_names, small_fleet
from referencing import Registry, Resource

from reconciler.aws.clients import AssumedRole, AwsConfig, ClientFactory
from reconciler.cli import _parser
from reconciler.commands.accounts import aws_config, shard_defaults
from reconciler.engine.plan import Action
from reconciler.engine.planfile import SavedPlan
from reconciler.engine.render_fleet import AccountPlan, render_fleet_markdown
from reconciler.engine.verdict import Verdict
from reconciler.kinds import load_fleet
from reconciler.kinds.context import Target

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
DEV, PROD = ACCOUNTS["dev"][0], ACCOUNTS["prod"][0]
HOME = "123456789012"  # the credentials' own account: the hub


def test_a_factory_reaches_the_account_of_its_assumed_role(aws: AwsConfig) -> None:
    role = AssumedRole(f"arn:aws:iam::{DEV}:role/reconciler-spoke", "reconciler-plan-0123456789ab", "x-1")
    sts = ClientFactory(AwsConfig(endpoint_url=aws.endpoint_url, region="eu-west-1", assume=role), read_only=True)
    identity = sts.client("sts").get_caller_identity()
    assert identity["Account"] == DEV
    assert identity["Arn"].endswith(":assumed-role/reconciler-spoke/reconciler-plan-0123456789ab")


def test_session_names_say_who_and_which_commit() -> None:
    assert AssumedRole.session_name_for("apply", "0a1b2c3d4e5f6a7b8c9d") == "reconciler-apply-0a1b2c3d4e5f"
    assert AssumedRole.session_name_for("plan") == "reconciler-plan"
    assert len(AssumedRole.session_name_for("x" * 100, "f" * 40)) == 64


def test_each_account_is_read_with_its_read_role_and_written_with_its_role(tmp_path: Path) -> None:
    fleet = load_fleet(small_fleet(tmp_path / "f"))
    args = _parser().parse_args(["plan", str(tmp_path / "f")])
    dev = fleet.states[0]
    read = aws_config(args, dev.account, "eu-west-1", read_only=True, mode="plan", commit=None)
    write = aws_config(args, dev.account, "eu-west-1", read_only=False, mode="apply", commit="ab" * 20)
    assert read.assume == AssumedRole(f"arn:aws:iam::{DEV}:role/reconciler-spoke-read", "reconciler-plan", "fleet-dev")
    assert write.assume == AssumedRole(
        f"arn:aws:iam::{DEV}:role/reconciler-spoke", "reconciler-apply-abababababab", "fleet-dev"
    )


def test_shard_defaults_come_from_kubernetes() -> None:
    assert shard_defaults({}) == (0, 1)
    assert shard_defaults({"RECONCILER_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "2"}) == (2, 4)
    assert shard_defaults({"RECONCILER_SHARD_COUNT": "4", "HOSTNAME": "reconciler-fleet-3"}) == (3, 4)
    # an empty variable (a pod-index label Kubernetes did not set) counts as unset
    env = {"RECONCILER_SHARD_COUNT": "4", "RECONCILER_SHARD_INDEX": "", "HOSTNAME": "reconciler-fleet-1"}
    assert shard_defaults(env) == (1, 4)
    assert shard_defaults({"HOSTNAME": "web-7"}) == (0, 1)  # one shard: a hostname is not an index


def test_plan_a_fleet_then_apply_it(aws: AwsConfig, tmp_path: Path) -> None:
    root = str(small_fleet(tmp_path / "f"))
    status, text = cli_here("plan", root)
    assert status == 2
    lines = text.splitlines()
    assert lines[0] == "Fleet: 2 account(s): 2 changes."
    assert lines[2].split()[:4] == ["ACCOUNT", "ID", "REGION", "STATUS"]
    assert lines[3].split()[:5] == ["dev", DEV, "ap-northeast-1", "changes", "2"]
    assert lines[4].split()[:5] == ["prod", PROD, "eu-west-1", "changes", "2"]
    assert f"=== Account dev ({DEV}, ap-northeast-1): changes ===" in text
    assert f"=== Account prod ({PROD}, eu-west-1): changes ===" in text

    status, text = cli_here("apply", root, "--auto-approve")
    assert status == 0, text
    assert "Fleet: 2 account(s) applied, 0 refused, 0 failed." in text
    assert role_names(DEV) == ["analyst-ml"]
    assert role_names(PROD) == ["analyst-ml"]
    assert "analyst-ml" not in role_names(HOME)  # nothing in the hub's own account
    # each account's lease and its items are the hub's, keyed by the account id
    assert boto3.client("dynamodb").describe_table(TableName="reconciler-state")["Table"]["TableName"]

    status, text = cli_here("plan", root)
    assert status == 0, text
    assert text.startswith("Fleet: 2 account(s): 2 in sync.")


def test_accounts_selects_by_name_and_label(aws: AwsConfig, tmp_path: Path) -> None:
    root = str(small_fleet(tmp_path / "f"))
    status, text = cli_here("apply", root, "--auto-approve", "--accounts", "env=prod")
    assert status == 0, text
    assert role_names(PROD) == ["analyst-ml"]
    assert role_names(DEV) == []
    status, text = cli_here("validate", root, "--accounts", "dev")
    assert (status, text.splitlines()[0]) == (0, f"{root}: valid: a fleet of 2 account(s), 1 selected")
    status, text = cli_here("plan", root, "--accounts", "nobody")
    assert status == 1
    assert "--accounts nobody matches none of the 2 account(s): dev, prod" in text


def test_a_refused_account_never_stops_the_others(aws: AwsConfig, tmp_path: Path) -> None:
    root = small_fleet(tmp_path / "f")
    # prod only: a policy that gives everything to everyone (refused by the invariants)
    (root / "prod-admin.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Policy\nmetadata:\n  name: everything\n  accounts: [prod]\nspec:\n"
        "  document:\n    Version: '2012-10-17'\n    Statement:\n      - Effect: Allow\n        Action: '*'\n"
        "        Resource: '*'\n",
        encoding="utf-8",
    )
    status, text = cli_here("apply", str(root), "--auto-approve")
    assert status == 3, text  # the worst: refused
    assert "Fleet: 1 account(s) applied, 1 refused, 0 failed (refused: prod)." in text
    assert role_names(DEV) == ["analyst-ml"]
    assert role_names(PROD) == []


def test_an_unreachable_account_never_stops_the_others(aws: AwsConfig, tmp_path: Path) -> None:
    root = small_fleet(tmp_path / "f")
    text = (root / "accounts.yaml").read_text(encoding="utf-8")
    # prod's role is in another account than prod itself: the account guard refuses it
    (root / "accounts.yaml").write_text(
        text.replace(f"arn:aws:iam::{PROD}:role/reconciler-spoke-read", "arn:aws:iam::999999999999:role/x"),
        encoding="utf-8",
    )
    status, text = cli_here("plan", str(root), "--output", "json")
    assert status == 1
    fleet = json.loads(text)
    by_name = {a["name"]: a for a in fleet["accounts"]}
    assert by_name["dev"]["status"] == "changes"
    assert by_name["prod"]["status"] == "error"
    assert "999999999999" in by_name["prod"]["error"]
    assert fleet["summary"] == {
        "accounts": 2,
        "byStatus": {"in sync": 0, "changes": 1, "refused": 0, "error": 1},
        "exitStatus": 1,
    }
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.schema.json")
    )
    schema = json.loads((SCHEMAS / "fleetplan.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(fleet)


def test_a_saved_plan_is_for_one_account_and_applies_through_its_role(aws: AwsConfig, tmp_path: Path) -> None:
    root = str(small_fleet(tmp_path / "f"))
    status, text = cli_here("plan", root, "--out", str(tmp_path / "all.plan"))
    assert status == 1
    assert "a saved plan is for one account, and 2 are selected" in text
    status, _ = cli_here("plan", root, "--accounts", "prod", "--out", str(tmp_path / "prod.plan"))
    assert status == 2
    status, text = cli_here("apply", str(tmp_path / "prod.plan"))
    assert status == 0, text
    assert f"for account {PROD} (eu-west-1)" in text
    assert role_names(PROD) == ["analyst-ml"]
    assert role_names(DEV) == []


def test_shards_split_the_fleet_without_overlap(aws: AwsConfig, tmp_path: Path) -> None:
    accounts = {f"a{i}": (f"{i + 1:012d}", {"env": "x"}, None) for i in range(6)}
    root = str(small_fleet(tmp_path / "f", accounts))
    seen: list[list[str]] = []
    for index in range(3):
        status, text = cli_here("validate", root, "--shard-index", str(index), "--shard-count", "3")
        assert status == 0
        seen.append([line.split()[0] for line in text.splitlines()[1:]])
    flat = sorted(name for shard in seen for name in shard)
    assert flat == sorted(accounts)  # every account in exactly one shard
    status, text = cli_here("validate", root, "--shard-index", "3", "--shard-count", "3")
    assert status == 1
    assert "--shard-index must be 0..2" in text


def test_the_example_as_a_fleet_applies_in_every_account(aws: AwsConfig, tmp_path: Path) -> None:
    root = str(example_fleet(tmp_path / "fleet"))
    status, text = cli_here("apply", root, "--auto-approve", "--account-workers", "2")
    assert status == 0, text
    for account_id in (DEV, PROD):
        assert "notebook-for-engineer-role" in role_names(account_id)
    status, text = cli_here("plan", root)
    assert status == 0, text
    status, text = cli_here("audit", root, "--output", "json")
    reports = json.loads(text)["accounts"]
    assert [(r["name"], r["accountId"]) for r in reports] == [("dev", DEV), ("prod", PROD)]
    assert status == 3  # the emulated root users have no MFA device
    assert all(any(f["rule"] == "AUD002" for f in r["findings"]["findings"]) for r in reports)


def test_import_a_fleet_writes_one_directory_per_account(aws: AwsConfig, tmp_path: Path) -> None:
    root = str(small_fleet(tmp_path / "f"))
    assert cli_here("apply", root, "--auto-approve")[0] == 0
    out = tmp_path / "imported"
    status, text = cli_here("import", "--fleet", root, "--out", str(out), "--kinds", "Role,Policy")
    assert status == 0, text
    for name, account_id in (("dev", DEV), ("prod", PROD)):
        assert f"=== Account {name} ({account_id}) ===" in text
        status, text_one = cli_here("validate", str(out / name))
        assert status == 0, text_one
        assert account_id in (out / name / "settings.yaml").read_text(encoding="utf-8")


def _account_plan(name: str, changes: int) -> AccountPlan:
    from reconciler.engine.plan import Change, Plan

    plan = Plan(
        account_id="1" * 12,
        region="eu-west-1",
        changes=tuple(Change(Action.CREATE, "Role", f"role-{i:04d}", source=f"roles.yaml:{i}") for i in range(changes)),
        unchanged={},
        notes=(),
    )
    saved = SavedPlan(plan=plan, verdict=Verdict(), target=Target("1" * 12, "eu-west-1", "managed-by", "reconciler"))
    return AccountPlan(name, "1" * 12, "eu-west-1", 2, saved)


@pytest.mark.parametrize("accounts", [3, 400])
def test_the_markdown_of_a_fleet_fits_one_comment_and_says_what_it_left_out(accounts: int) -> None:
    plans = [_account_plan(f"account-{i:03d}", 300) for i in range(accounts)]
    text = render_fleet_markdown(plans)
    assert len(text) <= 65_000
    assert f"**Fleet: {accounts} account(s): {accounts} changes.**" in text
    if accounts == 3:
        assert text.count("<summary>Account <b>") == 3
        assert "left out" not in text
    else:
        assert "the plan does not fit in one comment" in text
        assert "more account(s) not shown in this table" in text
        assert 0 < text.count("<summary>Account <b>") < accounts
