"""The Settings of a directory of one account, found before the directory is loaded: what an account's read needs
to start (the account, the region, the ownership tag), so that ``plan`` reads the account-wide answers while the
manifests load (``reconciler.kinds.read.EarlyRead``).

Only a head start. The file is looked for at the top of the directory (a ``settings`` file first), and the three
fields taken as written, with no further validation: the loader reads the whole directory again and is the only
judge of it, and a read started from Settings other than the ones it loads is abandoned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.manifests.files import ManifestFile, read_file, scan_directory
from reconciler.manifests.model import DEFAULT_OWNERSHIP_TAG, SETTINGS, OwnershipTag

__all__ = ["SettingsPeek", "peek_settings"]

# A document that says it is the Settings (the loader tells for sure).
_SETTINGS_LINE = re.compile(r"^kind:[ \t]*(['\"]?)Settings\1[ \t]*(#.*)?$", re.MULTILINE)
# The Settings schema's patterns (schemas/settings.schema.json): no read starts from an id that cannot be one.
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


@dataclass(frozen=True)
class SettingsPeek:
    """What the Settings say of where and what to read, as written in ``file``."""

    file: str
    account_id: str
    region: str | None
    ownership_tag: OwnershipTag


def peek_settings(root: Path | str) -> SettingsPeek | None:
    """The Settings of the directory ``root`` from the first file at its top that has them; None when none there
    has them, or the one that does holds anything unexpected (a YAML problem, two Settings, a field that is not
    what the schema allows, a ``${...}`` variable): the directory is then just loaded first."""
    root = Path(root)
    try:
        files, _ = scan_directory(root, str)
    except OSError:
        return None
    for file in sorted((f for f in files if len(f.rel.parts) == 1), key=_settings_first):
        found = read_file(file.path, str(file.rel), identity=file.identity)
        if found.text is None or not _SETTINGS_LINE.search(found.text):
            continue
        settings = [d.data for d in found.documents if isinstance(d.data, dict) and d.data.get("kind") == SETTINGS]
        if found.problems or len(settings) != 1:
            return None
        return _peeked(str(file.rel), settings[0])
    return None


def _settings_first(file: ManifestFile) -> tuple[bool, str]:
    return ("settings" not in file.rel.name.lower(), file.rel.name)


def _peeked(file: str, data: dict[str, Any]) -> SettingsPeek | None:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return None
    account_id, region, tag = spec.get("accountId"), spec.get("region"), spec.get("ownershipTag", {})
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        return None
    if region is not None and (not isinstance(region, str) or not _REGION.fullmatch(region)):
        return None
    if not isinstance(tag, dict):
        return None
    key, value = tag.get("key", DEFAULT_OWNERSHIP_TAG.key), tag.get("value", DEFAULT_OWNERSHIP_TAG.value)
    if not isinstance(key, str) or not isinstance(value, str):
        return None
    return SettingsPeek(file, account_id, region, OwnershipTag(key, value))
