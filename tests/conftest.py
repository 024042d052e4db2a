"""Fixtures shared by the whole suite.

The embedded AWS: one moto server per test process (per xdist worker), reset before every test that
asks for ``aws``. Tests make real HTTP calls to it; nothing in boto3 is mocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from reconciler.aws.clients import AwsConfig
from reconciler.sandbox import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, Emulator

# Records the AWS operations the product sends during the suite; fails the run if the IAM policy in
# deploy/iam/ does not allow one (see tests/deploy/iam_coverage.py).
pytest_plugins = ["deploy.iam_coverage"]

#: The region every AWS test runs in.
TEST_REGION = "ap-northeast-1"

# Environment that could send a test's AWS calls anywhere but the emulator, or with other credentials.
_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "MOTO_ACCOUNT_ID",
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The AWS emulator of this test process, on a free 127.0.0.1 port. Prefer ``aws``, which resets it."""
    with Emulator.start(port=0, host="127.0.0.1") as running:
        yield running


@pytest.fixture
def aws(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> AwsConfig:
    """An empty emulator, and an environment in which plain boto3 talks to it.

    Resets the emulator (AWS managed IAM policies stay), points ``AWS_ENDPOINT_URL`` at it with dummy
    credentials and region ``ap-northeast-1``, isolates boto3 from ~/.aws and the instance metadata
    service, and returns an :class:`AwsConfig` for it with few retries (2 attempts, standard mode), so
    that an emulator answering HTTP 500 fails the test fast.
    """
    emulator.reset()
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    return AwsConfig(endpoint_url=emulator.url, region=TEST_REGION, max_attempts=2, retry_mode="standard")


# --------------------------------------------------------------------------------------------------
# More shared fixtures go below this line.
#
# Build on ``aws`` for anything that touches AWS (it resets the emulator and sets the environment),
# e.g.:
#
#     @pytest.fixture
#     def factory(aws: AwsConfig) -> ClientFactory:
#         return ClientFactory(aws, read_only=False)
#
# Fixtures used by one test directory only belong in that directory's own conftest.py.
# --------------------------------------------------------------------------------------------------
