"""A fleet for the fleet benchmark: a manifest directory of N accounts, and their live state in an emulator.

``write_fleet`` copies the shipped example (``desired-state/``) and makes it a fleet, as
``tests/fleetdir.py`` does for the tests (the bench imports nothing from ``tests/``): the example's
account id becomes ``${account.id}``, its bucket names ``${account.name}-...`` (S3 bucket names are
global, in the emulator too), the Settings lose their ``accountId``, and ``accounts.yaml`` lists N
``Account`` manifests: ``acct-000``, ``acct-001``, ... with ids ``100000000000 + i``, labels ``env``
(dev / prod, alternating) and ``team``, and a spoke role (``roleArn``, ``readRoleArn``, ``externalId``).

The emulator answers sts:AssumeRole for any account id, even when the role does not exist, with
credentials whose calls read and write that account's own state: the whole fleet lives in one emulator.
``seed_extra_roles`` creates unmanaged roles in every account through such assumed credentials (boto3,
as ``bench.seed`` does; moto's backends live in the emulator's own process, out of reach).

    .venv/bin/python -m bench.fleet_seed --accounts 10 --out /tmp/fleet     # the directory only
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.seed import _call

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "desired-state"
EXAMPLE_ACCOUNT = "123456789012"
FIRST_ACCOUNT_ID = 100_000_000_000
SPOKE_ROLE = "reconciler-spoke"
TEAMS = ("ml", "data", "platform")

#: A trust policy for the extra roles: not the reconciler's, not owned, not in git.
EXTRA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class FleetAccount:
    name: str
    account_id: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{SPOKE_ROLE}"

    @property
    def read_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{SPOKE_ROLE}-read"


def fleet_accounts(count: int) -> list[FleetAccount]:
    """``count`` accounts: ``acct-000``.. (wider names past 1,000), ids from 100000000000, env alternating."""
    width = max(3, len(str(count - 1)))
    return [
        FleetAccount(
            f"acct-{i:0{width}d}",
            str(FIRST_ACCOUNT_ID + i),
            {"env": ("dev", "prod")[i % 2], "team": TEAMS[i % len(TEAMS)]},
        )
        for i in range(count)
    ]


def account_manifests(accounts: Iterable[FleetAccount]) -> str:
    docs = []
    for a in accounts:
        labels = "".join(f"\n    {k}: {v}" for k, v in sorted(a.labels.items()))
        docs.append(
            f"apiVersion: reconciler/v1\nkind: Account\nmetadata:\n  name: {a.name}\n  labels:{labels or ' {}'}\n"
            f'spec:\n  accountId: "{a.account_id}"\n  roleArn: {a.role_arn}\n  readRoleArn: {a.read_role_arn}\n'
            f"  externalId: fleet-bench-{a.name}\n"
        )
    return "---\n".join(docs)


def fleet_text(text: str, *, settings: bool) -> str:
    """One file of the example made per account (what ``write_fleet`` does to each file)."""
    text = text.replace(EXAMPLE_ACCOUNT, "${account.id}")
    text = text.replace("sagemaker-rawdata", "${account.name}-sagemaker-rawdata")
    text = text.replace("sagemaker-result", "${account.name}-sagemaker-result")
    if settings:
        text = "\n".join(line for line in text.splitlines() if "accountId" not in line) + "\n"
    return text


def write_fleet(root: Path, accounts: int | list[FleetAccount], *, example: Path = EXAMPLE) -> list[FleetAccount]:
    """The example as a fleet under ``root`` (replaced if it exists) of ``accounts`` (or of the first that many
    of :func:`fleet_accounts`); its accounts."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(example, root)
    for path in root.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(fleet_text(text, settings=path.name == "settings.yaml"), encoding="utf-8")
    if isinstance(accounts, int):
        accounts = fleet_accounts(accounts)
    (root / "accounts.yaml").write_text(account_manifests(accounts), encoding="utf-8")
    return accounts


def floor_names(desired: Any) -> dict[str, Any]:
    """What ``bench.floor.read_floor`` needs to know of git for one account's ``DesiredState``."""
    from reconciler.kinds import KIND_ORDER
    from reconciler.manifests.model import is_policy_arn

    tag = desired.settings.ownership_tag
    referenced = {
        p for r in desired for p in (*getattr(r, "policies", ()), getattr(r, "permissions_boundary", None) or "")
    }
    return {
        "accountId": desired.settings.account_id,
        "region": desired.settings.region,
        "ownershipTag": {"key": tag.key, "value": tag.value},
        "names": {kind: sorted(desired.of(kind)) for kind in KIND_ORDER},
        "console": sorted(name for name, user in desired.of("User").items() if getattr(user, "console_access", False)),
        "awsPolicyArns": sorted(p for p in referenced if p and is_policy_arn(p) and ":iam::aws:" in p),
    }


# --------------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------------


def assumed_session(endpoint: str, account: FleetAccount, region: str) -> Any:
    """A boto3 session with the credentials of the account's spoke role, as the emulator hands them out."""
    import boto3

    hub = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    creds = _call(
        hub.client("sts", endpoint_url=endpoint).assume_role,
        RoleArn=account.role_arn,
        RoleSessionName="fleet-bench-seed",
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def extra_role_name(i: int) -> str:
    return f"unmanaged-role-{i:04d}"


def seed_extra_roles(
    endpoint: str,
    accounts: list[FleetAccount],
    per_account: int,
    *,
    region: str = "ap-northeast-1",
    workers: int = 8,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """``per_account`` unmanaged roles (no tags, a trust policy of their own) in every account; returns the
    calls made and the seconds taken. One assumed session per account, its roles created from a pool."""
    import botocore.config

    if per_account <= 0 or not accounts:
        return {"calls": 0, "seconds": 0.0}
    config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": 3}, max_pool_connections=workers + 4, read_timeout=120
    )
    trust = json.dumps(EXTRA_TRUST)
    started = time.monotonic()
    lock = threading.Lock()
    done = [0]

    def one_account(account: FleetAccount) -> None:
        iam = assumed_session(endpoint, account, region).client("iam", endpoint_url=endpoint, config=config)
        for i in range(per_account):
            _call(iam.create_role, RoleName=extra_role_name(i), AssumeRolePolicyDocument=trust, Description="extra")
        with lock:
            done[0] += 1
            if progress and (done[0] % 10 == 0 or done[0] == len(accounts)):
                progress(f"extra roles: {done[0]}/{len(accounts)} accounts ({time.monotonic() - started:.0f}s)")

    # One thread per account at a time: an account's roles go in order, accounts side by side.
    with ThreadPoolExecutor(workers, thread_name_prefix="seed") as pool:
        for future in [pool.submit(one_account, a) for a in accounts]:
            future.result()
    return {"calls": len(accounts) * (per_account + 1), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="the fleet directory to write (replaced)")
    parser.add_argument("--endpoint", help="also create --extra-roles in every account of the emulator at this URL")
    parser.add_argument("--extra-roles", type=int, default=300)
    args = parser.parse_args(argv)
    accounts = write_fleet(args.out, args.accounts)
    print(f"wrote a fleet of {len(accounts)} accounts to {args.out}", file=sys.stderr)
    if args.endpoint:
        report = seed_extra_roles(
            args.endpoint, accounts, args.extra_roles, progress=lambda line: print(line, file=sys.stderr)
        )
        print(f"seeded {report['calls']:.0f} calls in {report['seconds']:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
