"""``reconciler demo``: the whole GitOps loop against an embedded AWS, in under a minute.

1. start the embedded emulator (an empty account) and put the example manifests in a fresh git repo;
2. the controller converges the empty account;
3. drift by hand: AdministratorAccess attached to the engineers' group, a user nobody manages added to
   the administrators' group, the raw-data bucket's public access block removed, a notebook role
   deleted — the next reconcile reverts it;
4. a commit adds a user and removes another — the next reconcile grants and revokes access;
5. a broken commit at the head: the controller reports it and keeps reverting drift meanwhile;
6. a reviewed change: ``plan --out`` saves the plan a reviewer reads, ``apply FILE`` applies exactly it;
7. an audit of the live account.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from reconciler.aws.clients import AwsConfig
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.engine.executor import Outcome
from reconciler.engine.plan import Plan
from reconciler.engine.render import render_text

ACCOUNT = "123456789012"


def example_dir() -> Path:
    packaged = resources.files("reconciler") / "_example"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "desired-state"


def _git(repo: Path, *args: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="demo",
        GIT_AUTHOR_EMAIL="demo@example.invalid",
        GIT_COMMITTER_NAME="demo",
        GIT_COMMITTER_EMAIL="demo@example.invalid",
    )
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=60)


def run_demo(out: TextIO, *, audit: Callable[[AwsConfig, Path], tuple[int, str]] | None = None) -> int:
    from reconciler.sandbox import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Emulator  # noqa: PLC0415

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    def show_plan(plan: Plan) -> None:
        if not plan.empty:
            say(render_text(plan, color=False))

    def show_outcome(outcome: Outcome) -> None:
        change = outcome.change
        say(
            f"    {change.action.value} {change.ref}: {outcome.status.value}"
            + (f" ({outcome.message})" if outcome.message else "")
        )

    work = Path(tempfile.mkdtemp(prefix="reconciler-demo-"))
    try:
        with Emulator.start(port=0) as emulator:
            os.environ.update(
                AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
                AWS_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
                AWS_DEFAULT_REGION="ap-northeast-1",
            )
            os.environ.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_SESSION_TOKEN", None)
            aws = AwsConfig(endpoint_url=emulator.url, region="ap-northeast-1")
            repo = work / "repo"
            shutil.copytree(example_dir(), repo / "desired-state")
            _git(repo, "init", "--quiet", "--initial-branch", "main")
            _git(repo, "add", "-A")
            _git(repo, "commit", "--quiet", "-m", "The secure SageMaker environment")
            say(f"Embedded AWS on {emulator.url} (account {ACCOUNT}); manifests in git at {repo}\n")
            controller = Controller(
                ControllerConfig(source=str(repo), cache_dir=work / "cache", interval=60),
                aws,
                stop=threading.Event(),
                on_plan=show_plan,
                on_outcome=show_outcome,
            )

            def reconcile(title: str) -> bool:
                say(f"== {title}")
                status = controller.reconcile_once()
                say(f"   -> reconcile exit status {status}\n")
                return status == 0

            ok = reconcile("1. The controller converges the empty account")
            clients = _clients(emulator.url)
            say("== 2. Drift, by hand in the console:")
            say(
                "   AdministratorAccess attached to SageMakerEngineer; mallory (a user nobody manages) added to "
                "SageMakerAdministrator; public access block removed from sagemaker-rawdata; role "
                "notebook-for-engineer-role deleted"
            )
            iam, s3 = clients["iam"], clients["s3"]
            iam.attach_group_policy(
                GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
            )
            iam.create_user(UserName="mallory")
            iam.add_user_to_group(GroupName="SageMakerAdministrator", UserName="mallory")
            s3.delete_public_access_block(Bucket="sagemaker-rawdata")
            for attached in iam.list_attached_role_policies(RoleName="notebook-for-engineer-role")["AttachedPolicies"]:
                iam.detach_role_policy(RoleName="notebook-for-engineer-role", PolicyArn=attached["PolicyArn"])
            iam.delete_role(RoleName="notebook-for-engineer-role")
            ok = reconcile("   The next reconcile reverts the drift") and ok
            admins = sorted(u["UserName"] for u in iam.get_group(GroupName="SageMakerAdministrator")["Users"])
            say(
                f"   SageMakerAdministrator members now: {', '.join(admins)} (mallory itself is not the reconciler's "
                "to delete: the security team deletes it)\n"
            )
            ok = ok and admins == ["alice"]
            iam.delete_user(UserName="mallory")

            users = repo / "desired-state" / "users" / "users.yaml"
            text = users.read_text()
            carol = text[text.index("---\napiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: carol") :]
            users.write_text(
                text.replace(carol, "")
                + (
                    "---\napiVersion: reconciler/v1\nkind: User\nmetadata:\n  name: dave\nspec:\n"
                    "  groups: [SageMakerEngineer]\n  consoleAccess: true\n  tags:\n    team: data-science\n"
                )
            )
            # carol's Studio profile names her (for: {user: carol}): it goes too, released (Retain)
            studio = repo / "desired-state" / "studio" / "studio.yaml"
            text = studio.read_text()
            profile = text[
                text.index("---\napiVersion: reconciler/v1\nkind: StudioUserProfile\nmetadata:\n  name: carol") :
            ]
            studio.write_text(text.replace(profile, ""))
            _git(repo, "commit", "--quiet", "-am", "Grant dave, revoke carol")
            ok = reconcile("3. A commit grants dave and revokes carol") and ok
            members = sorted(u["UserName"] for u in iam.get_group(GroupName="SageMakerEngineer")["Users"])
            say(f"   SageMakerEngineer members now: {', '.join(members)}\n")
            ok = ok and members == ["bob", "dave"]

            roles = repo / "desired-state" / "roles" / "notebook-roles.yaml"
            good_roles = roles.read_text()
            roles.write_text(good_roles.replace("- notebook-admin-data", "- notebook-admin-dat", 1))
            _git(repo, "commit", "--quiet", "-am", "A typo")
            iam.attach_group_policy(
                GroupName="SageMakerEngineer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
            )
            say("== 5. A broken commit reaches main, and AdministratorAccess is attached by hand again")
            healed = controller.reconcile_once() == 1
            readiness = controller.metrics.readiness()[1]
            attached = [
                p["PolicyName"]
                for p in iam.list_attached_group_policies(GroupName="SageMakerEngineer")["AttachedPolicies"]
            ]
            say(f"   /readyz: {readiness}")
            say(
                f"   SageMakerEngineer policies now: {', '.join(attached)} (drift reverted to the last applied "
                "commit meanwhile)\n"
            )
            ok = ok and healed and attached == ["use-notebook-for-engineer"]
            roles.write_text(good_roles)
            _git(repo, "commit", "--quiet", "-am", "Fix the typo")
            ok = reconcile("   The fix is a commit like any other") and ok

            say("== 6. A reviewed change: the plan a reviewer approves is exactly what is applied")
            manifests = repo / "desired-state"
            before, _, after = users.read_text().rpartition("team: data-science")  # dave's, the last one
            users.write_text(f"{before}team: ml-platform{after}")
            plan_file = work / "reviewed.plan"
            endpoint = ("--endpoint-url", emulator.url)
            ok = _cli(say, "plan", str(manifests), "--out", str(plan_file), *endpoint) == 2 and ok
            _git(repo, "commit", "--quiet", "-am", "dave moves to the ML platform team")
            ok = _cli(say, "apply", str(plan_file), *endpoint) == 0 and ok
            ok = reconcile("   The controller finds the commit already applied") and ok
            say("== 7. The users enrol their MFA devices; the emulator has no root account MFA, which the")
            say("   team records as a deliberate exception (Settings.exceptions, rule AUD002)")
            for user in ("alice", "bob", "dave"):
                serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]["SerialNumber"]
                iam.enable_mfa_device(
                    UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
                )
            settings = repo / "desired-state" / "settings.yaml"
            settings.write_text(
                settings.read_text()
                + (
                    "  exceptions:\n    - rule: AUD002\n      resource: Account/123456789012\n"
                    "      reason: the embedded emulator cannot enable MFA on a root account\n"
                    "      owner: ml-platform\n"
                )
            )
            _git(repo, "commit", "--quiet", "-am", "Record the emulator's root MFA exception")
            ok = reconcile("   (the exception is a commit like any other)") and ok
            say("== 8. Audit of the live account")
            status, report = (audit or _audit)(aws, controller.git.fetch().root)
            say(report)
            ok = ok and status == 0
            say("Demo " + ("succeeded: the account matches git." if ok else "FAILED."))
            return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _cli(say: Callable[[str], None], *args: str) -> int:
    """``reconciler ARGS`` in this process, its output shown indented."""
    import argparse  # noqa: PLC0415
    import io  # noqa: PLC0415

    from reconciler.commands import planapply  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="reconciler")
    planapply.register(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    say(f"   $ reconciler {' '.join(args)}")
    parsed = parser.parse_args(list(args))  # the command as the CLI runs it; logging stays as configured
    status = int(parsed.handler(parsed, out))
    for line in out.getvalue().rstrip().splitlines():
        say(f"   {line}" if line else "")
    say(f"   -> exit status {status}\n")
    return status


def _clients(url: str) -> dict[str, Any]:
    import boto3  # noqa: PLC0415

    return {name: boto3.client(name, endpoint_url=url, region_name="ap-northeast-1") for name in ("iam", "s3")}


def _audit(aws: AwsConfig, manifests: Path) -> tuple[int, str]:
    from reconciler.audit import audit  # noqa: PLC0415
    from reconciler.aws.clients import ClientFactory  # noqa: PLC0415
    from reconciler.kinds import load_directory  # noqa: PLC0415
    from reconciler.rules import render_findings_text  # noqa: PLC0415

    desired = load_directory(manifests, display_root="desired-state")
    report = audit(ClientFactory(aws, read_only=True), desired, aws.region or "ap-northeast-1")
    return (3 if report.refuses else 0), render_findings_text(report)
