"""The floor: the minimal read calls that the plan's information needs, issued bare.

No model, no diff, no documents decoded: each call is made, its answer is kept only as far as the next
calls need it (names, ARNs, the ownership tag), and everything is counted with a ``CallRecorder``.
It has the reader's shape and parallelism (its list pipelines side by side, per-resource calls on
one 16-thread pool), so that ``plan``'s wall time, calls and memory can be compared with it:

- sts GetCallerIdentity (the account guard), then
- IAM: GetAccountAuthorizationDetails (filtered to users, roles, groups and local policies, 1,000 items
  a page, following ``Marker``); ListRoles pages of 1,000 (description and session duration); ListPolicyTags per local
  policy; ListAccessKeys per user named in git or owned, and their console access: from 3 such users on,
  GenerateCredentialReport and GetCredentialReport, then GetLoginProfile for each user the report does not list,
  lists without a password, or lists with one git does not give (fewer users: GetLoginProfile each); ListMFADevices,
  ListSigningCertificates, ListSSHPublicKeys per owned user git does not name (what deleting it would
  remove); GetPolicy + GetPolicyVersion per AWS managed policy that git references;
- S3: ListBuckets; GetBucketTagging per bucket; GetBucketVersioning, GetBucketEncryption,
  GetPublicAccessBlock, GetBucketPolicy per bucket named in git or owned, and ListObjectVersions (one
  key) per owned bucket git does not name (whether deleting it is allowed);
- SageMaker: ListNotebookInstances; ListTags per notebook; DescribeNotebookInstance per notebook named
  in git or owned; ListDomains, and ListTags and ListUserProfiles per domain, ListTags per profile, and
  the details of each (DescribeDomain, ListApps, DescribeUserProfile; the benchmark accounts hold no
  Studio domain: one call);
- KMS: ListAliases; DescribeKey and ListResourceTags per aliased key; GetKeyPolicy and
  GetKeyRotationStatus per key named in git or owned (the benchmark accounts hold no key: one call).

What the floor knows of git comes from ``names.json`` (written by ``bench.seed``), so it parses no YAML.

Two floors make the same calls: through the product's client factory (its retries, its read-only guard and
call counting: ``ClientFactory``), and **bare** (``BareClients``): plain boto3 clients of one boto3 session,
boto3's defaults but for a connection pool as large as the product's (the 16 threads would otherwise wait for
one of boto3's 10 connections), and one event handler that counts the calls.

    .venv/bin/python -m bench.floor --names /tmp/bench/scale-1/names.json --endpoint http://127.0.0.1:PORT [--bare]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsConfig, CallRecorder, ClientFactory

GAAD_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]
WORKERS = 16
#: As the product reads console access (reconciler/kinds/user/read.py): the credential report from this many users.
REPORT_FROM_USERS = 3


class Clients(Protocol):
    def client(self, service_name: str) -> Any: ...


class BareClients:
    """Plain boto3 clients, one per service, from one boto3 session: no product code between the floor and
    botocore but a call counter (one ``before-call`` handler)."""

    def __init__(self, endpoint: str, region: str, *, pool: int | None = None) -> None:
        import boto3.session
        import botocore.config

        self.counts: Counter[str] = Counter()
        self._session = boto3.session.Session(region_name=region)
        self._config = botocore.config.Config(max_pool_connections=pool or AwsConfig().max_pool)
        self._endpoint = endpoint
        self._clients: dict[str, Any] = {}

    def client(self, service_name: str) -> Any:
        if service_name not in self._clients:  # made before the threads start (read_floor makes them all first)
            client = self._session.client(service_name, endpoint_url=self._endpoint, config=self._config)
            service = client.meta.service_model.service_name

            def count(event_name: str, **_: Any) -> None:
                self.counts[f"{service}:{event_name.rsplit('.', 1)[-1]}"] += 1

            client.meta.events.register("before-call", count)
            self._clients[service_name] = client
        return self._clients[service_name]


def _absent(call: Callable[[], Any], *codes: str) -> Any:
    """``call()``, or None when AWS answers one of ``codes`` (no such configuration)."""
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in codes:
            return None
        raise


def read_floor(factory: Clients, git: dict[str, Any], *, workers: int = WORKERS) -> dict[str, int]:
    """Issue the minimal reads; return how many resources of each kind were seen (a sanity check)."""
    key, value = git["ownershipTag"]["key"], git["ownershipTag"]["value"]
    named = {kind: set(names) for kind, names in git["names"].items()}
    console = set(git.get("console", ()))  # the users git gives console access
    iam, s3, sm = factory.client("iam"), factory.client("s3"), factory.client("sagemaker")
    kms = factory.client("kms")
    account = factory.client("sts").get_caller_identity()["Account"]
    if account != git["accountId"]:
        raise SystemExit(f"account {account} is not {git['accountId']}")

    def owned(tags: list[dict[str, str]] | None) -> bool:
        return any(t["Key"] == key and t.get("Value") == value for t in tags or ())

    with (
        ThreadPoolExecutor(workers, thread_name_prefix="floor") as calls,
        ThreadPoolExecutor(5, thread_name_prefix="pipeline") as pipelines,
    ):

        def aws_policy(arn: str) -> None:
            meta = iam.get_policy(PolicyArn=arn)["Policy"]
            iam.get_policy_version(PolicyArn=arn, VersionId=meta["DefaultVersionId"])

        def list_roles() -> int:
            pages = iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000})
            return sum(len(page["Roles"]) for page in pages)

        def login_profile(user: str) -> None:
            _absent(lambda: iam.get_login_profile(UserName=user), "NoSuchEntity")

        def console_access(users: list[str]) -> list[str]:
            """The users whose console access the credential report cannot tell (all of them, when few)."""
            if len(users) < REPORT_FROM_USERS:
                return users
            iam.generate_credential_report()
            text = iam.get_credential_report()["Content"].decode()
            enabled = {row["user"]: row["password_enabled"] == "true" for row in csv.DictReader(io.StringIO(text))}
            # only "a password is there", where git says so too (or says nothing), is taken from the report
            return [u for u in users if not enabled.get(u) or (u in named["User"] and u not in console)]

        def read_iam() -> dict[str, int]:
            roles_listed = calls.submit(list_roles)
            policies: list[str] = []
            users: list[dict[str, Any]] = []
            roles = groups = 0
            # 1,000 items a page, the most IAM allows (the default is 100; the emulator never pages)
            pages = iam.get_paginator("get_account_authorization_details").paginate(
                Filter=GAAD_FILTER, PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                policies.extend(p["Arn"] for p in page.get("Policies", []))
                users.extend(page.get("UserDetailList", []))
                roles += len(page.get("RoleDetailList", []))
                groups += len(page.get("GroupDetailList", []))
            waits: list[Future[Any]] = [
                calls.submit(lambda a=arn: iam.list_policy_tags(PolicyArn=a)) for arn in policies
            ]
            considered = [u["UserName"] for u in users if u["UserName"] in named["User"] or owned(u.get("Tags"))]
            waits += [calls.submit(login_profile, name) for name in console_access(considered)]
            waits += [calls.submit(lambda n=name: iam.list_access_keys(UserName=n)) for name in considered]
            deletable = [u["UserName"] for u in users if u["UserName"] not in named["User"] and owned(u.get("Tags"))]
            waits += [
                calls.submit(fn, name)
                for name in deletable
                for fn in (
                    lambda n: iam.list_mfa_devices(UserName=n),
                    lambda n: iam.list_signing_certificates(UserName=n),
                    lambda n: iam.list_ssh_public_keys(UserName=n),
                )
            ]
            for future in waits:
                future.result()
            if roles_listed.result() != roles:
                raise SystemExit(f"ListRoles saw {roles_listed.result()} roles, GAAD {roles}")
            return {"Policy": len(policies), "Role": roles, "Group": groups, "User": len(users)}

        def bucket_tags(name: str) -> Any:
            return _absent(lambda: s3.get_bucket_tagging(Bucket=name)["TagSet"], "NoSuchTagSet", "NoSuchTagSetError")

        def read_s3() -> dict[str, int]:
            names = [b["Name"] for page in s3.get_paginator("list_buckets").paginate() for b in page["Buckets"]]
            tags = [calls.submit(bucket_tags, name) for name in names]
            settings: list[Future[Any]] = []
            for name, future in zip(names, tags, strict=True):
                if name in named["Bucket"] or owned(future.result()):
                    # four calls, one future each, as the reader fans them out
                    settings += [
                        calls.submit(fn, name)
                        for fn in (
                            lambda n: s3.get_bucket_versioning(Bucket=n),
                            lambda n: _absent(
                                lambda: s3.get_bucket_encryption(Bucket=n),
                                "ServerSideEncryptionConfigurationNotFoundError",
                            ),
                            lambda n: _absent(
                                lambda: s3.get_public_access_block(Bucket=n), "NoSuchPublicAccessBlockConfiguration"
                            ),
                            lambda n: _absent(lambda: s3.get_bucket_policy(Bucket=n), "NoSuchBucketPolicy"),
                        )
                    ]
                    if name not in named["Bucket"]:  # owned, not in git: a plan may delete it
                        settings.append(calls.submit(lambda n=name: s3.list_object_versions(Bucket=n, MaxKeys=1)))
            for future in settings:
                future.result()
            return {"Bucket": len(names)}

        def read_sagemaker() -> dict[str, int]:
            listed = [
                (n["NotebookInstanceName"], n["NotebookInstanceArn"])
                for page in sm.get_paginator("list_notebook_instances").paginate()
                for n in page["NotebookInstances"]
            ]
            tags = [calls.submit(lambda a=arn: sm.list_tags(ResourceArn=a)["Tags"]) for _, arn in listed]
            described = [
                calls.submit(lambda n=name: sm.describe_notebook_instance(NotebookInstanceName=n))
                for (name, _), future in zip(listed, tags, strict=True)
                if name in named["NotebookInstance"] or owned(future.result())
            ]
            for future in described:
                future.result()
            return {"NotebookInstance": len(listed)}

        def read_kms() -> dict[str, int]:
            aliases = [
                (a["AliasName"].removeprefix("alias/"), a["TargetKeyId"])
                for page in kms.get_paginator("list_aliases").paginate()
                for a in page["Aliases"]
                if "TargetKeyId" in a and not a["AliasName"].startswith("alias/aws/")
            ]
            tags = [calls.submit(lambda k=key: kms.list_resource_tags(KeyId=k)["Tags"]) for _, key in aliases]
            described = [calls.submit(lambda k=key: kms.describe_key(KeyId=k)) for _, key in aliases]
            details = [
                calls.submit(
                    lambda k=key: (
                        kms.get_key_policy(KeyId=k, PolicyName="default"),
                        kms.get_key_rotation_status(KeyId=k),
                    )
                )
                for (name, key), future in zip(aliases, tags, strict=True)
                if name in named.get("KmsKey", ())
                or owned([{"Key": t["TagKey"], "Value": t["TagValue"]} for t in future.result()])
            ]
            for future in described + details:
                future.result()
            return {"KmsKey": len(aliases)}

        def read_studio() -> dict[str, int]:
            domains = [d for page in sm.get_paginator("list_domains").paginate() for d in page["Domains"]]
            profiles = [
                calls.submit(lambda d=domain["DomainId"]: sm.list_user_profiles(DomainIdEquals=d)["UserProfiles"])
                for domain in domains
            ]
            # Every domain and profile: its tags; those named in git or owned: their details (and a domain's apps).
            details = [calls.submit(lambda a=domain["DomainArn"]: sm.list_tags(ResourceArn=a)) for domain in domains]
            details += [calls.submit(lambda d=domain["DomainId"]: sm.describe_domain(DomainId=d)) for domain in domains]
            details += [calls.submit(lambda d=domain["DomainId"]: sm.list_apps(DomainIdEquals=d)) for domain in domains]
            count = 0
            for domain, future in zip(domains, profiles, strict=True):
                for profile in future.result():
                    count += 1
                    name = profile["UserProfileName"]
                    arn = f"{domain['DomainArn'].replace(':domain/', ':user-profile/')}/{name}"
                    details.append(calls.submit(lambda a=arn: sm.list_tags(ResourceArn=a)))
                    details.append(
                        calls.submit(
                            lambda d=domain["DomainId"], n=name: sm.describe_user_profile(DomainId=d, UserProfileName=n)
                        )
                    )
            for future in details:
                future.result()
            return {"StudioDomain": len(domains), "StudioUserProfile": count}

        aws_policies = [calls.submit(aws_policy, arn) for arn in git.get("awsPolicyArns", [])]
        seen: dict[str, int] = {}
        pipelined = (read_iam, read_s3, read_sagemaker, read_kms, read_studio)
        for pipeline in [pipelines.submit(fn) for fn in pipelined]:
            seen.update(pipeline.result())
        for future in aws_policies:
            future.result()
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=Path, required=True, help="names.json written by bench.seed")
    parser.add_argument("--endpoint", required=True, help="the emulator's URL (http://127.0.0.1:PORT)")
    parser.add_argument("--bare", action="store_true", help="plain boto3 clients, not the product's factory")
    args = parser.parse_args(argv)
    git = json.loads(args.names.read_text())
    started = time.perf_counter()
    if args.bare:
        bare = BareClients(args.endpoint, git["region"])
        seen = read_floor(bare, git)
        counts = dict(bare.counts)
    else:
        recorder = CallRecorder()
        config = AwsConfig(endpoint_url=args.endpoint, region=git["region"])
        seen = read_floor(ClientFactory(config, read_only=True, recorder=recorder), git)
        counts = {f"{s}:{o}": n for (s, o), n in recorder.counts().items()}
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "seen": seen,
                "calls": sum(counts.values()),
                "byOperation": dict(sorted(counts.items())),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
