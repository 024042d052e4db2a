"""The kinds' additions to the embedded emulator: found through the registry, installed once, idempotent."""

from __future__ import annotations

import importlib.util
from typing import Any

from reconciler.kinds import REGISTRY
from reconciler.sandbox import Emulator


def patched_classes() -> list[type]:
    """The moto classes the kinds' emulator modules patch."""
    from moto.iam.models import IAMBackend, User
    from moto.iam.responses import IamResponse
    from moto.s3.responses import S3Response
    from moto.sagemaker.models import Domain, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    return [IAMBackend, User, IamResponse, S3Response, Domain, SageMakerModelBackend, SageMakerResponse]


def test_the_kinds_that_add_to_the_emulator() -> None:
    with_additions = {
        name for name, kind in REGISTRY.items() if importlib.util.find_spec(f"{type(kind).__module__}.emulator")
    }
    assert with_additions == {"Group", "User", "Bucket", "NotebookInstance", "StudioDomain", "StudioUserProfile"}


def test_installing_again_changes_nothing(emulator: Emulator) -> None:
    # The first emulator of the process installed every kind's additions; a second install is a no-op
    # (no wrapper around a wrapper).
    before: list[dict[str, Any]] = [dict(vars(cls)) for cls in patched_classes()]
    for kind in REGISTRY.values():
        kind.install_emulator()
    after = [dict(vars(cls)) for cls in patched_classes()]
    assert after == before
