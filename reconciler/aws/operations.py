"""Which AWS operations only read: the rule behind plan mode's write guard (``ClientFactory(read_only=True)``)
and behind the call accounting."""

from __future__ import annotations

__all__ = ["EXTRA_READ_OPERATIONS", "SIDE_EFFECT_READ_OPERATIONS", "is_read_only_operation"]


_READ_PREFIXES: tuple[str, ...] = ("Get", "List", "Describe", "Head")

#: Operations whose names look like reads but which are refused in read-only mode. Keyed by botocore
#: service name (``client.meta.service_model.service_name``). Chosen conservatively: plan mode only
#: needs to *observe* configuration, so anything that creates state, mints credentials or tokens, or
#: hands out secret material is refused even when AWS files it under "read".
#:
#: STS ``GetSessionToken``/``GetFederationToken`` change nothing persistent in the account, but they
#: issue new credentials (a security event of their own, logged by CloudTrail as such); plan never
#: needs them, so refusing them costs nothing and keeps "read-only" meaning "observes only".
#: ``GetCallerIdentity`` and ``GetAccessKeyInfo`` stay allowed (the account check needs the former).
SIDE_EFFECT_READ_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        # new temporary credentials or tokens
        ("sts", "GetSessionToken"),
        ("sts", "GetFederationToken"),
        ("sts", "GetWebIdentityToken"),
        ("sso", "GetRoleCredentials"),
        ("ecr", "GetAuthorizationToken"),
        ("ecr-public", "GetAuthorizationToken"),
        ("codeartifact", "GetAuthorizationToken"),
        ("emr", "GetClusterSessionCredentials"),
        ("redshift", "GetClusterCredentials"),  # may also create the database user (AutoCreate)
        ("redshift", "GetClusterCredentialsWithIAM"),
        ("redshift-serverless", "GetCredentials"),
        ("cognito-identity", "GetId"),  # creates the identity when it does not exist
        ("cognito-identity", "GetOpenIdToken"),
        ("cognito-identity", "GetOpenIdTokenForDeveloperIdentity"),
        ("cognito-identity", "GetCredentialsForIdentity"),
        ("lightsail", "GetInstanceAccessDetails"),  # creates a temporary SSH key pair
        # creates an import token and wrapping key, valid for a day
        ("kms", "GetParametersForImport"),
        # secret material; also updates the secret's LastAccessedDate
        ("secretsmanager", "GetSecretValue"),
        ("secretsmanager", "BatchGetSecretValue"),
    }
)

#: Reads whose names do not start with a read prefix. Kept short and explicit.
#:
#: IAM ``GenerateCredentialReport`` is here although its name says it makes something: it asks AWS to compile
#: the account's credential report (who has a console password, MFA, access keys), which AWS does at most once
#: every 4 hours and keeps for anyone allowed ``GetCredentialReport``. It creates, changes and deletes no
#: resource, permission or credential, and returns no secret: it only refreshes a read-only summary of facts
#: that plan reads anyway (``GetLoginProfile`` per user otherwise). Plan needs it to read console access for the
#: whole account in two calls (``reconciler/kinds/user/read.py``).
EXTRA_READ_OPERATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("iam", "GenerateCredentialReport"),
        ("dynamodb", "Query"),
        ("dynamodb", "Scan"),
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "TransactGetItems"),
        ("iam", "SimulatePrincipalPolicy"),
        ("iam", "SimulateCustomPolicy"),
        ("sts", "DecodeAuthorizationMessage"),
        ("sagemaker", "Search"),
    }
)


def is_read_only_operation(service: str, operation: str) -> bool:
    """Whether ``service``'s ``operation`` (botocore names, e.g. ``"iam"``, ``"CreateRole"``) only reads.

    An operation is a read when its name is ``Get``/``List``/``Describe``/``Head`` followed by a
    capitalised word and it is not in :data:`SIDE_EFFECT_READ_OPERATIONS`, or when it is one of the
    few :data:`EXTRA_READ_OPERATIONS`. Everything else (Create, Put, Update, Delete, Attach, Tag, Start,
    Stop, Generate, Assume, ...) counts as mutating.
    """
    key = (service, operation)
    if key in EXTRA_READ_OPERATIONS:
        return True
    if key in SIDE_EFFECT_READ_OPERATIONS:
        return False
    for prefix in _READ_PREFIXES:
        if operation.startswith(prefix) and operation[len(prefix) : len(prefix) + 1].isupper():
            return True
    return False
