"""A large account for the plan benchmark: manifests for scale N, and an emulator seeded to match them.

``generate`` writes a manifest directory (one Settings for account 123456789012 in ap-northeast-1,
then Policy, Role, Group, User, Bucket and NotebookInstance manifests, several hundred documents per
file) plus ``names.json`` next to it, which is what the floor script needs to know about git (the
names per kind, the ownership tag, the AWS managed policy ARNs referenced) without parsing YAML.

``seed`` makes a running emulator match the manifests: every resource is created from its kind's
*desired view* (``reconciler.kinds.REGISTRY[kind].desired_view``), so that the plan shows no change,
and some unowned, unnamed noise resources are added that the plan must ignore. Calls go out from a
thread pool; moto's threaded server sometimes answers HTTP 500 under concurrent IAM writes, so every
client retries (botocore standard mode), and a create that already happened (a retry after a 500
whose write went through) counts as done.

    .venv/bin/python -m bench.seed --scale 1 --out /tmp/bench-account                  # manifests only
    .venv/bin/python -m bench.seed --scale 1 --out /tmp/bench-account --endpoint http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.importer.writer import FOLDERS

ACCOUNT_ID = "123456789012"
REGION = "ap-northeast-1"
OWNERSHIP_KEY = "managed-by"
OWNERSHIP_VALUE = "reconciler"

#: AWS managed policies a few roles attach (they exist in the emulator: MOTO_IAM_LOAD_MANAGED_POLICIES).
AWS_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly",
)

#: Documents per manifest file (the loader refuses files over 4 MB).
DOCS_PER_FILE = 250

TEAMS = ("data", "platform", "research", "analytics", "ml-ops")

KIND_DIRS = FOLDERS  # the layout of the shipped example, as `reconciler import` writes it


@dataclass(frozen=True)
class Sizes:
    """How many resources of each kind git declares (scale 1: the issue's "large account")."""

    roles: int = 2000
    policies: int = 500
    users: int = 300
    groups: int = 50
    buckets: int = 100
    notebooks: int = 20

    def scaled(self, factor: float) -> Sizes:
        return Sizes(**{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)})

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def noise_sizes(sizes: Sizes, fraction: float) -> Sizes:
    """The unowned, unnamed resources added next to the declared ones (none when ``fraction`` is 0)."""
    if fraction <= 0:
        return Sizes(0, 0, 0, 0, 0, 0)
    return Sizes(**{f.name: max(1, math.ceil(getattr(sizes, f.name) * fraction)) for f in fields(sizes)})


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


def policy_name(i: int) -> str:
    return f"bench-policy-{i:05d}"


def role_name(i: int) -> str:
    return f"bench-role-{i:05d}"


def group_name(i: int) -> str:
    return f"bench-group-{i:04d}"


def user_name(i: int) -> str:
    return f"bench-user-{i:05d}"


def bucket_name(i: int) -> str:
    return f"bench-bucket-{i:05d}"


def notebook_name(i: int) -> str:
    return f"bench-notebook-{i:04d}"


# --------------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------------


def _manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def _data_document(rng: random.Random, buckets: int, sid: str) -> dict[str, Any]:
    picked = sorted({bucket_name(rng.randrange(buckets)) for _ in range(rng.randint(1, 3))})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{sid}List",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": [f"arn:aws:s3:::{b}" for b in picked],
            },
            {
                "Sid": f"{sid}Objects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{b}/*" for b in picked],
            },
        ],
    }


def _logs_document(rng: random.Random) -> dict[str, Any]:
    group = f"/aws/sagemaker/{rng.choice(TEAMS)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}*",
            }
        ],
    }


def manifests(sizes: Sizes, *, seed: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The manifests of an account of ``sizes``, by kind (Settings included). Deterministic in ``seed``."""
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ("Settings", *KIND_DIRS)}
    out["Settings"].append(
        _manifest(
            "Settings",
            "bench",
            {
                "accountId": ACCOUNT_ID,
                "region": REGION,
                "ownershipTag": {"key": OWNERSHIP_KEY, "value": OWNERSHIP_VALUE},
                "prune": True,
                "maxDeletes": 10,
            },
        )
    )
    for i in range(sizes.policies):
        spec: dict[str, Any] = {
            "description": f"Benchmark policy {i}: data access for {TEAMS[i % len(TEAMS)]}",
            "document": _data_document(rng, sizes.buckets, "Data"),
            "tags": {"team": TEAMS[i % len(TEAMS)]},
        }
        if i % 10 == 9:
            spec["path"] = "/bench/"
        out["Policy"].append(_manifest("Policy", policy_name(i), spec))
    for i in range(sizes.roles):
        spec = {
            "trustedServices": ["sagemaker.amazonaws.com"]
            if i % 4
            else ["lambda.amazonaws.com", "sagemaker.amazonaws.com"],
            "policies": sorted({policy_name(rng.randrange(sizes.policies)) for _ in range(rng.randint(1, 4))}),
            "maxSessionDuration": (3600, 3600, 7200, 14400)[i % 4],
            "tags": {"team": TEAMS[i % len(TEAMS)], "cost-center": f"cc-{i % 17:03d}"},
        }
        if i % 2 == 0:
            spec["description"] = f"Benchmark role {i}"
        if i % 100 == 7:
            spec["policies"].append(AWS_MANAGED_POLICIES[(i // 100) % len(AWS_MANAGED_POLICIES)])
        if i % 5 == 0:
            spec["inlinePolicies"] = {"logs": _logs_document(rng)}
        if i % 20 == 3:
            spec["permissionsBoundary"] = policy_name(rng.randrange(sizes.policies))
        out["Role"].append(_manifest("Role", role_name(i), spec))
    for i in range(sizes.groups):
        spec = {
            "requireMFA": i % 5 != 0,
            "policies": sorted({policy_name(rng.randrange(sizes.policies)) for _ in range(rng.randint(1, 2))}),
        }
        if i % 10 == 4:
            spec["inlinePolicies"] = {"team-logs": _logs_document(rng)}
        out["Group"].append(_manifest("Group", group_name(i), spec))
    for i in range(sizes.users):
        spec = {
            "groups": sorted({group_name(rng.randrange(sizes.groups)) for _ in range(rng.randint(1, 2))}),
            "consoleAccess": i % 3 == 0,
            "tags": {"team": TEAMS[i % len(TEAMS)]},
        }
        out["User"].append(_manifest("User", user_name(i), spec))
    for i in range(sizes.buckets):
        readers = sorted({f"Role/{role_name(rng.randrange(sizes.roles))}" for _ in range(rng.randint(1, 3))})
        writers = [f"Role/{role_name(rng.randrange(sizes.roles))}"] if i % 2 else []
        if i % 10 == 5:
            writers.append(f"Group/{group_name(rng.randrange(sizes.groups))}")
        spec = {
            "versioning": i % 5 != 0,
            "encryption": (
                {"type": "SSE-KMS", "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/bench-{i:05d}"}
                if i % 4 == 0
                else {"type": "SSE-S3"}
            ),
            "access": {"read": readers, "write": sorted(set(writers))},
            "deletionPolicy": "Delete" if i % 3 == 0 else "Retain",
            "tags": {"data-classification": ("raw", "results", "features")[i % 3], "team": TEAMS[i % len(TEAMS)]},
        }
        out["Bucket"].append(_manifest("Bucket", bucket_name(i), spec))
    for i in range(sizes.notebooks):
        spec = {
            "instanceType": "ml.t3.medium",
            "role": role_name(i % sizes.roles),
            "rootAccess": "Disabled",
            "directInternetAccess": "Disabled",
            "subnetId": f"subnet-0a1b2c3d4e5f6{i % 1000:04d}",
            "securityGroupIds": [f"sg-0a1b2c3d4e5f6{i % 1000:04d}"],
            "kmsKeyId": "alias/sagemaker-notebooks",
            "volumeSizeInGB": 20,
            "tags": {"team": TEAMS[i % len(TEAMS)]},
        }
        out["NotebookInstance"].append(_manifest("NotebookInstance", notebook_name(i), spec))
    return out


def generate(workdir: Path, sizes: Sizes, *, seed: int = 1) -> Path:
    """Write ``workdir/manifests/`` (the manifest directory, returned) and ``workdir/names.json``."""
    root = workdir / "manifests"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.rglob("*.yaml"):
        old.unlink()
    by_kind = manifests(sizes, seed=seed)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    (root / "settings.yaml").write_text(yaml.dump(by_kind["Settings"][0], Dumper=dumper, sort_keys=False))
    for kind, directory in KIND_DIRS.items():
        docs = by_kind[kind]
        (root / directory).mkdir(exist_ok=True)
        for start in range(0, len(docs), DOCS_PER_FILE):
            text = yaml.dump_all(docs[start : start + DOCS_PER_FILE], Dumper=dumper, sort_keys=False)
            (root / directory / f"{directory}-{start // DOCS_PER_FILE:03d}.yaml").write_text(text)
    names = {
        "accountId": ACCOUNT_ID,
        "region": REGION,
        "ownershipTag": {"key": OWNERSHIP_KEY, "value": OWNERSHIP_VALUE},
        "names": {kind: sorted(d["metadata"]["name"] for d in by_kind[kind]) for kind in KIND_DIRS},
        "console": sorted(d["metadata"]["name"] for d in by_kind["User"] if d["spec"]["consoleAccess"]),
        "awsPolicyArns": sorted(
            {
                p
                for d in by_kind["Role"] + by_kind["Group"]
                for p in d["spec"].get("policies", [])
                if p.startswith("arn:aws:iam::aws:")
            }
        ),
        "sizes": sizes.as_dict(),
    }
    (workdir / "names.json").write_text(json.dumps(names, indent=1))
    return root


# --------------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------------


def _clients(endpoint: str, region: str, workers: int) -> dict[str, Any]:
    import boto3
    import botocore.config

    config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        max_pool_connections=workers + 4,
        connect_timeout=5,
        read_timeout=120,
    )
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    return {name: session.client(name, endpoint_url=endpoint, config=config) for name in ("iam", "s3", "sagemaker")}


#: Error codes meaning "already done" (a retried create whose first attempt went through).
_ALREADY = frozenset({"EntityAlreadyExists", "BucketAlreadyOwnedByYou", "ResourceInUse"})

#: Attempts per call, on top of botocore's own retries: moto's threaded server sometimes answers an
#: HTML "500 Internal Server Error" page under concurrent writes, which botocore cannot parse and
#: therefore does not retry.
_ATTEMPTS = 8


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """``fn(**kwargs)``, retried on HTTP 5xx and unparsable answers; "already exists" counts as done."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    for attempt in range(_ATTEMPTS):
        try:
            return fn(**kwargs)
        except ResponseParserError:
            if attempt == _ATTEMPTS - 1:
                raise
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _ALREADY or (code == "ValidationException" and "already exists" in str(exc)):
                return None
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if status < 500 or attempt == _ATTEMPTS - 1:
                raise
        time.sleep(min(1.0, 0.05 * 2**attempt))
    raise AssertionError("unreachable")


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


class _Seeder:
    """The create calls for each resource, from its desired view; one method per kind (plus noise)."""

    def __init__(self, clients: dict[str, Any], region: str) -> None:
        self.iam = clients["iam"]
        self.s3 = clients["s3"]
        self.sm = clients["sagemaker"]
        self.region = region
        self.calls = 0
        self._lock = threading.Lock()

    def _n(self, count: int) -> None:
        with self._lock:
            self.calls += count

    def policy(self, name: str, view: dict[str, Any], old_versions: int) -> None:
        rng = random.Random(name)
        documents = [_logs_document(rng) for _ in range(old_versions)] + [view["document"]]
        _call(
            self.iam.create_policy,
            PolicyName=name,
            Path=view["path"],
            PolicyDocument=json.dumps(documents[0]),
            Description=view["description"] or "",
            Tags=_tag_list(view["tags"]),
        )
        arn = f"arn:aws:iam::{ACCOUNT_ID}:policy{view['path']}{name}"
        for doc in documents[1:]:
            _call(self.iam.create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)
        self._n(len(documents))

    def role(self, name: str, view: dict[str, Any]) -> None:
        extra: dict[str, Any] = {}
        if view["description"]:
            extra["Description"] = view["description"]
        if view["permissionsBoundary"]:
            extra["PermissionsBoundary"] = view["permissionsBoundary"]
        _call(
            self.iam.create_role,
            RoleName=name,
            Path=view["path"],
            AssumeRolePolicyDocument=json.dumps(view["trust"]),
            MaxSessionDuration=view["maxSessionDuration"],
            Tags=_tag_list(view["tags"]),
            **extra,
        )
        for arn in view["policies"]:
            _call(self.iam.attach_role_policy, RoleName=name, PolicyArn=arn)
        for pname, doc in view["inlinePolicies"].items():
            _call(self.iam.put_role_policy, RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
        self._n(1 + len(view["policies"]) + len(view["inlinePolicies"]))

    def group(self, name: str, view: dict[str, Any]) -> None:
        _call(self.iam.create_group, GroupName=name, Path=view["path"])
        for arn in view["policies"]:
            _call(self.iam.attach_group_policy, GroupName=name, PolicyArn=arn)
        # the guard policy (reconciler-group-guard) is in the view: it is how a group is owned
        for pname, doc in view["inlinePolicies"].items():
            _call(self.iam.put_group_policy, GroupName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
        self._n(1 + len(view["policies"]) + len(view["inlinePolicies"]))

    def user(self, name: str, view: dict[str, Any], groups: tuple[str, ...]) -> None:
        _call(self.iam.create_user, UserName=name, Path=view["path"], Tags=_tag_list(view["tags"]))
        for group in groups:  # membership is the group's field (members); the users exist only now
            _call(self.iam.add_user_to_group, GroupName=group, UserName=name)
        if view["consoleAccess"]:
            _call(self.iam.create_login_profile, UserName=name, Password="Bench-Passw0rd!", PasswordResetRequired=True)
        self._n(1 + len(groups) + int(view["consoleAccess"]))

    def bucket(self, name: str, view: dict[str, Any]) -> None:
        _call(self.s3.create_bucket, Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        _call(self.s3.put_bucket_tagging, Bucket=name, Tagging={"TagSet": _tag_list(view["tags"])})
        if view["versioning"]:
            _call(self.s3.put_bucket_versioning, Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        enc = view["encryption"]
        default: dict[str, str] = {"SSEAlgorithm": "AES256" if enc["type"] == "SSE-S3" else "aws:kms"}
        if enc.get("kmsKeyId"):
            default["KMSMasterKeyID"] = enc["kmsKeyId"]
        _call(
            self.s3.put_bucket_encryption,
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )
        _call(self.s3.put_public_access_block, Bucket=name, PublicAccessBlockConfiguration=view["publicAccessBlock"])
        _call(self.s3.put_bucket_policy, Bucket=name, Policy=json.dumps(view["policy"]))
        self._n(5 + int(view["versioning"]))

    def notebook(self, name: str, view: dict[str, Any]) -> None:
        args: dict[str, Any] = {
            "NotebookInstanceName": name,
            "InstanceType": view["instanceType"],
            "RoleArn": view["role"],
            "RootAccess": view["rootAccess"],
            "DirectInternetAccess": view["directInternetAccess"],
            "VolumeSizeInGB": view["volumeSizeInGB"],
            "Tags": _tag_list(view["tags"]),
        }
        for key, field_name in (
            ("SubnetId", "subnetId"),
            ("KmsKeyId", "kmsKeyId"),
            ("LifecycleConfigName", "lifecycleConfigName"),
        ):
            if view[field_name]:
                args[key] = view[field_name]
        if view["securityGroupIds"]:
            args["SecurityGroupIds"] = view["securityGroupIds"]
        _call(self.sm.create_notebook_instance, **args)
        self._n(1)

    # ---- noise: not in git, not owned; the plan reads no detail of these and shows no change for them

    def noise(self, kind: str, i: int) -> None:
        other = [{"Key": "team", "Value": "someone-else"}]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        if kind == "Policy":
            _call(
                self.iam.create_policy,
                PolicyName=f"noise-policy-{i:05d}",
                PolicyDocument=json.dumps(_logs_document(random.Random(i))),
                Tags=other,
            )
        elif kind == "Role":
            name = f"noise-role-{i:05d}"
            _call(self.iam.create_role, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=other)
            _call(self.iam.attach_role_policy, RoleName=name, PolicyArn=AWS_MANAGED_POLICIES[0])
            self._n(1)
        elif kind == "Group":
            _call(self.iam.create_group, GroupName=f"noise-group-{i:04d}")
        elif kind == "User":
            name = f"noise-user-{i:05d}"
            _call(self.iam.create_user, UserName=name, Tags=other)
            if i % 2 == 0:
                _call(self.iam.create_login_profile, UserName=name, Password="Noise-Passw0rd!")
                self._n(1)
        elif kind == "Bucket":
            name = f"noise-bucket-{i:05d}"
            _call(self.s3.create_bucket, Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
            if i % 2 == 0:
                _call(self.s3.put_bucket_tagging, Bucket=name, Tagging={"TagSet": other})
                self._n(1)
        elif kind == "NotebookInstance":
            _call(
                self.sm.create_notebook_instance,
                NotebookInstanceName=f"noise-notebook-{i:04d}",
                InstanceType="ml.t3.medium",
                RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/noise-role-00000",
                Tags=other,
            )
        self._n(1)


@dataclass(frozen=True)
class SeedReport:
    seconds: float
    calls: int
    resources: int
    noise: int


def seed(
    manifest_dir: Path,
    endpoint: str,
    *,
    noise: float = 0.05,
    workers: int = 24,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Create, in the emulator at ``endpoint``, every resource of the manifests, plus noise."""
    from reconciler.engine.differ import context
    from reconciler.kinds import REGISTRY, load_directory

    started = time.monotonic()
    desired = load_directory(manifest_dir)
    region = desired.settings.region or REGION
    ctx = context(desired, region)
    seeder = _Seeder(_clients(endpoint, region, workers), region)
    declared = Sizes(
        roles=len(desired.of("Role")),
        policies=len(desired.of("Policy")),
        users=len(desired.of("User")),
        groups=len(desired.of("Group")),
        buckets=len(desired.of("Bucket")),
        notebooks=len(desired.of("NotebookInstance")),
    )
    extra = noise_sizes(declared, noise)

    def view(kind: str, name: str) -> dict[str, Any]:
        return REGISTRY[kind].desired_view(desired.of(kind)[name], ctx)

    def tasks_for(kind: str, method: Callable[..., None]) -> list[Callable[[], None]]:
        return [lambda n=name: method(n, view(kind, n)) for name in sorted(desired.of(kind))]

    def noise_tasks(kind: str, count: int) -> list[Callable[[], None]]:
        return [lambda i=i: seeder.noise(kind, i) for i in range(count)]

    policy_tasks = [
        lambda n=name, k=k: seeder.policy(n, view("Policy", n), 2 if k % 10 == 0 else 0)
        for k, name in enumerate(sorted(desired.of("Policy")))
    ]
    phases: list[tuple[str, list[Callable[[], None]]]] = [
        ("policies", policy_tasks + noise_tasks("Policy", extra.policies)),
        (
            "roles, groups, buckets, notebooks",
            tasks_for("Role", seeder.role)
            + tasks_for("Group", seeder.group)
            + tasks_for("Bucket", seeder.bucket)
            + tasks_for("NotebookInstance", seeder.notebook)
            + noise_tasks("Role", extra.roles)
            + noise_tasks("Group", extra.groups)
            + noise_tasks("Bucket", extra.buckets)
            + noise_tasks("NotebookInstance", extra.notebooks),
        ),
        (
            "users",
            [
                lambda n=name: seeder.user(n, view("User", n), desired.of("User")[n].groups)
                for name in sorted(desired.of("User"))
            ]
            + noise_tasks("User", extra.users),
        ),
    ]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
        for label, tasks in phases:
            phase_start = time.monotonic()
            for future in [pool.submit(task) for task in tasks]:
                future.result()
            if progress is not None:
                progress(
                    f"seeded {label}: {len(tasks)} resources in {time.monotonic() - phase_start:.1f}s "
                    f"({seeder.calls} calls so far)"
                )
    return SeedReport(time.monotonic() - started, seeder.calls, declared.total(), extra.total())


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """--roles, --policies, ... : the scale-1 size of each kind (multiplied by the scale)."""
    for f in fields(Sizes):
        parser.add_argument(
            f"--{f.name}", type=int, default=f.default, help=f"{f.name} at scale 1 (default {f.default})"
        )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.05,
        help="unowned, unnamed resources added per kind, as a fraction (default 0.05)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated manifests")


def sizes_from(args: argparse.Namespace) -> Sizes:
    return replace(Sizes(), **{f.name: getattr(args, f.name) for f in fields(Sizes)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size by this (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="work directory (manifests/ and names.json)")
    parser.add_argument("--endpoint", help="seed the emulator at this URL (http://127.0.0.1:PORT)")
    parser.add_argument("--workers", type=int, default=24, help="seeding threads (default 24)")
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    sizes = sizes_from(args).scaled(args.scale)
    root = generate(args.out, sizes, seed=args.seed)
    print(f"wrote {sizes.total()} manifests ({sizes.as_dict()}) to {root}", file=sys.stderr)
    if args.endpoint:
        if not args.endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
            parser.error("--endpoint must be a local emulator (http://127.0.0.1:PORT)")
        report = seed(
            root,
            args.endpoint,
            noise=args.noise,
            workers=args.workers,
            progress=lambda line: print(line, file=sys.stderr),
        )
        print(
            f"seeded {report.resources} resources + {report.noise} noise with {report.calls} calls "
            f"in {report.seconds:.1f}s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
