"""What the embedded emulator (moto 5.2) lacks for buckets, added to it: tags given at creation.

moto's CreateBucket ignores ``CreateBucketConfiguration.Tags``; AWS (since 2025) creates the bucket with
them. Added, onto ``S3Response``:

  ~ _bucket_response_put   CreateBucket puts the configuration's tags on the new bucket

Installed by ``reconciler.sandbox`` when the first emulator starts (``Kind.install_emulator``); moto is
imported only then.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_installed = False


def install() -> None:
    """Make moto's CreateBucket honour the tags of its configuration. Idempotent."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed:
        return
    from moto.s3.responses import S3Response  # noqa: PLC0415 - moto only with the sandbox

    original_put = S3Response._bucket_response_put
    setattr(S3Response, "_bucket_response_put", _tagging_bucket_creation(original_put))  # noqa: B010
    _installed = True


def _tagging_bucket_creation(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateBucket honours ``CreateBucketConfiguration.Tags`` (AWS does since 2025; moto ignores it).

    The reconciler relies on it: a bucket is created already carrying its ownership tag, so a crash
    right after creation cannot leave an untagged bucket that the next run would see as foreign.
    """

    @functools.wraps(original)
    def bucket_response_put(self: Any, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        result = original(self, request, bucket_name, querystring)
        if not querystring and self.body:
            import xmltodict  # noqa: PLC0415 - a dependency of moto, only with the sandbox

            try:
                config = xmltodict.parse(self.body).get("CreateBucketConfiguration") or {}
            except Exception:  # noqa: BLE001 - malformed bodies were already answered by moto
                return result
            tags = (config.get("Tags") or {}).get("Tag") or []
            if isinstance(tags, dict):
                tags = [tags]
            if tags:
                self.backend.put_bucket_tagging(bucket_name, {t["Key"]: t.get("Value") or "" for t in tags})
        return result

    return bucket_response_put
