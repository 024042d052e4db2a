"""The account guard that runs before any read: the credentials must be for the account the manifests name."""

from __future__ import annotations

from reconciler.aws.clients import ClientFactory
from reconciler.aws.failures import translate_errors
from reconciler.errors import AccountMismatchError

__all__ = ["READS", "check_account"]

#: The IAM action of the account guard.
READS: tuple[str, ...] = ("sts:GetCallerIdentity",)


def check_account(factory: ClientFactory, expected: str) -> str:
    """The account guard: the credentials must belong to ``expected``. Returns the account id.

    Asked once per factory: a factory's credentials cannot move to another account (an assumed role's are
    refreshed for the same role), so a factory reused by the controller from cycle to cycle, or by ``apply``
    from its plan to its changes, is not asked again."""
    account = factory.identity
    if account is None:
        with translate_errors("checking the account (sts:GetCallerIdentity)"):
            account = str(factory.client("sts").get_caller_identity()["Account"])
        factory.identity = account
    if account != expected:
        raise AccountMismatchError(
            f"the credentials are for account {account}, but Settings.accountId is {expected}; "
            "refusing to read or change anything"
        )
    return account
