"""Privilege escalation paths: permissions that let a principal grant itself (or a principal it controls) more.

One list, used by the linter's escalation rule and by the access diff, so that both say the same thing. Each
path is a set of IAM actions that together escalate (every one must be allowed), with the resource each action
must reach for the path to work, in ARN pattern form (``*`` where any resource of the action will do). The
sources: Rhino Security Labs' "AWS IAM privilege escalation methods" and the IAM service authorization
reference; SageMaker's create-and-run actions are listed because a notebook, training or processing job runs
code with the role it is passed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ESCALATION_PATHS", "EscalationPath"]


@dataclass(frozen=True)
class EscalationPath:
    """Actions that, allowed together on the resources named, let a principal raise its own privileges."""

    id: str
    title: str
    # (action, resource pattern the action must reach): all of them must be allowed.
    needs: tuple[tuple[str, str], ...]


_ROLE = "arn:aws:iam::*:role/*"
_USER = "arn:aws:iam::*:user/*"
_GROUP = "arn:aws:iam::*:group/*"
_POLICY = "arn:aws:iam::*:policy/*"

#: Each way to escalate, by the permissions it needs.
ESCALATION_PATHS: tuple[EscalationPath, ...] = (
    EscalationPath(
        "policy-version", "create a new default version of a managed policy", (("iam:CreatePolicyVersion", _POLICY),)
    ),
    EscalationPath(
        "default-version", "switch a managed policy to another version", (("iam:SetDefaultPolicyVersion", _POLICY),)
    ),
    EscalationPath("attach-user-policy", "attach any managed policy to a user", (("iam:AttachUserPolicy", _USER),)),
    EscalationPath("attach-group-policy", "attach any managed policy to a group", (("iam:AttachGroupPolicy", _GROUP),)),
    EscalationPath("attach-role-policy", "attach any managed policy to a role", (("iam:AttachRolePolicy", _ROLE),)),
    EscalationPath("put-user-policy", "write an inline policy on a user", (("iam:PutUserPolicy", _USER),)),
    EscalationPath("put-group-policy", "write an inline policy on a group", (("iam:PutGroupPolicy", _GROUP),)),
    EscalationPath("put-role-policy", "write an inline policy on a role", (("iam:PutRolePolicy", _ROLE),)),
    EscalationPath("add-to-group", "add a user to any group", (("iam:AddUserToGroup", _GROUP),)),
    EscalationPath("login-profile", "set another user's console password", (("iam:UpdateLoginProfile", _USER),)),
    EscalationPath(
        "create-login-profile", "give another user a console password", (("iam:CreateLoginProfile", _USER),)
    ),
    EscalationPath("access-key", "create access keys for another user", (("iam:CreateAccessKey", _USER),)),
    EscalationPath(
        "trust-policy", "rewrite a role's trust policy to assume it", (("iam:UpdateAssumeRolePolicy", _ROLE),)
    ),
    EscalationPath("assume-any-role", "assume any role", (("sts:AssumeRole", _ROLE),)),
    EscalationPath(
        "pass-role-notebook",
        "pass a role to a notebook instance it creates, and run code as that role",
        (("iam:PassRole", _ROLE), ("sagemaker:CreateNotebookInstance", "*")),
    ),
    EscalationPath(
        "pass-role-training",
        "pass a role to a training job it creates",
        (("iam:PassRole", _ROLE), ("sagemaker:CreateTrainingJob", "*")),
    ),
    EscalationPath(
        "pass-role-processing",
        "pass a role to a processing job it creates",
        (("iam:PassRole", _ROLE), ("sagemaker:CreateProcessingJob", "*")),
    ),
    EscalationPath(
        "pass-role-lambda",
        "pass a role to a Lambda function it creates and invokes",
        (("iam:PassRole", _ROLE), ("lambda:CreateFunction", "*"), ("lambda:InvokeFunction", "*")),
    ),
    EscalationPath(
        "pass-role-ec2",
        "pass a role to an EC2 instance it launches",
        (("iam:PassRole", _ROLE), ("ec2:RunInstances", "*")),
    ),
)
